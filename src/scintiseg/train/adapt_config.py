"""The settings of a site-adaptation run (``scintiseg adapt``): a light module, so ``adapt --help`` needs no torch.

The recipe and the reason for every default are in :mod:`scintiseg.train.adapt`; the site windows and the
mix in :mod:`scintiseg.train.unlabelled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Share of site windows in an epoch's training windows (:mod:`scintiseg.train.unlabelled`, "The mix").
SITE_SHARE = 0.5
#: Defaults of an adaptation run (:mod:`scintiseg.train.adapt` gives the reasons).
EPOCHS = 8
LEARNING_RATE = 1e-4
POOL_PATIENTS = 16
VAL_PATIENTS = 8
#: The phantom profile of the supervised term when the model's checkpoint names none.
FALLBACK_PROFILE = "randomised"


@dataclass
class AdaptSettings:
    """What an adaptation run may change; the rest comes from the model's checkpoint (:mod:`scintiseg.train.adapt`).

    Attributes:
        epochs: adaptation epochs.
        alpha: weight of the Chan-Vese term (paper B: 0.4).
        share: share of site windows in each epoch.
        lr: learning rate.
        pool_patients: phantom patients per epoch.
        val_patients: phantom validation patients.
        synthetic: phantom profile of the supervised term ("" = the model's own).
        seed: seeds the phantom patients, the site windows and the data order.
        threads: torch threads on the CPU (0: PyTorch's default).
        generator_workers: processes generating phantom patients (0: in the training process).
        device: ``auto``, ``cpu`` or ``cuda``.
        progress: progress bars on stderr.
        freeze_norm: keep the model's normalisation statistics fixed (``TrainConfig.freeze_norm``).
        normals: a folder of the site's normal scans (:mod:`scintiseg.train.hybrid_site`; "" = none).
        boxes: folders (or files) of Pascal VOC hot-spot boxes of the site's scans, which then label them
            (:mod:`scintiseg.train.unlabelled`, "Hot-spot boxes"; empty = none).
        include_test: adapt on a data set's test split too (:mod:`scintiseg.train.adapt`, "The test split";
            default False: its cases are left out, so ``evaluate --split test`` measures scans adaptation never saw).
    """

    epochs: int = EPOCHS
    alpha: float = 0.4
    share: float = SITE_SHARE
    lr: float = LEARNING_RATE
    pool_patients: int = POOL_PATIENTS
    val_patients: int = VAL_PATIENTS
    synthetic: str = ""
    seed: int = 0
    threads: int = 0
    generator_workers: int = 1
    device: str = "auto"
    progress: bool = True
    freeze_norm: bool = False
    normals: str = ""
    boxes: list[str] = field(default_factory=list)
    include_test: bool = False
