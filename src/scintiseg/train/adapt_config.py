"""The settings of a site-adaptation run (``scintiseg adapt``): a light module, so ``adapt --help`` needs no torch.

The recipe and the reason for every default are in :mod:`scintiseg.train.adapt`; the site windows and the
mix in :mod:`scintiseg.train.unlabelled`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from scintiseg.config import Config, option, path_text
from scintiseg.errors import ScintisegError

#: Share of site windows in an epoch's training windows (:mod:`scintiseg.train.unlabelled`, "The mix").
SITE_SHARE = 0.5
#: Defaults of an adaptation run (:mod:`scintiseg.train.adapt` gives the reasons).
EPOCHS = 8
LEARNING_RATE = 1e-4
POOL_PATIENTS = 16
VAL_PATIENTS = 8
#: Hybrid copies with lesions per held-out normal scan in the check after adapting
#: (:mod:`scintiseg.experiments.site_check`).
CHECK_CASES = 4
#: The phantom profile of the supervised term when the model's checkpoint names none.
FALLBACK_PROFILE = "randomised"


@dataclass
class AdaptSettings(Config):
    """What an adaptation run may change; the rest comes from the model's checkpoint (:mod:`scintiseg.train.adapt`).

    Each field is a ``scintiseg adapt`` flag but ``progress``, which ``--quiet`` turns off. Checked when made
    (:meth:`validate`), each message naming the flag.

    Attributes:
        normals: a folder of the site's normal scans (:mod:`scintiseg.train.hybrid_site`; "" = none).
        placement: where lesions are inserted into the normal scans: ``sites`` (by metastatic site on each scan's
            learned region map, its normal hot bone open; session 71) or ``uniform`` (uniformly on the estimated
            skeleton away from every hot spot, as before session 71: more false calls cut, more lesions lost;
            docs/own-data.md "Where the inserted lesions go").
        boxes: folders (or files) of Pascal VOC hot-spot boxes of the site's scans, which then label them
            (:mod:`scintiseg.train.unlabelled`, "Hot-spot boxes"; empty = none).
        check_cases: after adapting with ``normals`` of at least five patients, the adapted model and the one it
            started from read the held-out patients' scans as acquired and this many copies of each with inserted
            lesions, and are compared (:mod:`scintiseg.experiments.site_check`; 0: no check).
        include_test: adapt on a data set's test split too (:mod:`scintiseg.train.adapt`, "The test split";
            default False: its cases are left out, so ``evaluate --split test`` measures scans adaptation never saw).
        epochs: adaptation epochs.
        alpha: weight of the Chan-Vese term (paper B: 0.4; ``scintiseg adapt`` gives 0 with normal scans alone).
        share: share of site windows in each epoch.
        lr: learning rate.
        pool_patients: phantom patients per epoch.
        val_patients: phantom validation patients.
        synthetic: phantom profile of the supervised term ("" = the model's own).
        freeze_norm: keep the model's normalisation statistics fixed (``TrainConfig.freeze_norm``).
        seed: seeds the phantom patients, the site windows and the data order.
        threads: torch threads on the CPU (0: PyTorch's default).
        generator_workers: processes generating phantom patients (0: in the training process).
        device: ``auto``, ``cpu`` or ``cuda``.
        progress: progress bars on stderr.
    """

    kind: ClassVar[str] = "adaptation settings"
    said_as_flags: ClassVar[bool] = True

    normals: str = option(
        "", metavar="DIR", parse=path_text, default_help="none",
        help="the site's normal scans (reported free of metastases; counts as acquired): each is a labelled "
             "negative, and each epoch the real background of new inserted lesions (hybrid images)")
    placement: str = option(
        "sites", choices=("sites", "uniform"),
        help="where --normals' inserted lesions go: 'sites' by metastatic site on the learned region map (spine, "
             "pelvis, ribs most; a normal scan's hot bone included), 'uniform' anywhere on the skeleton away from "
             "its hot spots (cuts more false calls, loses more lesions)")
    boxes: list[str] = option(
        default_factory=list, metavar="DIR", repeat=True, default_help="none",
        help="the readers' hot-spot boxes of the --unlabelled scans (a folder of Pascal VOC XML, BS-80K's Abnormal / "
             "Normal; repeat for several): each annotated view is taught 'a lesion lies in this box' and 'nothing "
             "outside the lesion boxes' (the box tightness prior), not an outline")
    check_cases: int = option(
        CHECK_CASES, metavar="N",
        help="after adapting on --normals of 5 or more patients, compare the adapted model with the one it started "
             "from on the held-out patients' scans and N copies of each with inserted lesions (RUN/site_check.md; "
             "0: no check)")
    include_test: bool = option(
        False, help="adapt on a data set's test split too (without it, its test patients are left out, image and "
                    "outline, so `evaluate --split test` measures scans the adapted model never saw)")
    epochs: int = option(EPOCHS, help="adaptation epochs")
    alpha: float = option(
        0.4, default_help="paper B's 0.4 with --unlabelled; 0 with --normals alone, where no window is unlabelled",
        help="weight of the Chan-Vese term")
    share: float = option(SITE_SHARE, help="share of site windows in each epoch")
    lr: float = option(LEARNING_RATE, help="learning rate")
    pool_patients: int = option(POOL_PATIENTS, help="phantom patients per epoch")
    val_patients: int = option(VAL_PATIENTS, help="phantom validation patients")
    synthetic: str = option("", metavar="PROFILE", default_help="the model's own",
                            help="phantom profile of the supervised term")
    freeze_norm: bool = option(False, help="keep the model's BatchNorm statistics fixed while adapting")
    seed: int = option(0, help="seeds the phantom patients, the site windows and the data order")
    threads: int = option(0, help="torch threads on the CPU (0: PyTorch's default)")
    generator_workers: int = option(1, help="processes generating phantom patients (0: none)")
    device: str = option("auto", choices=("auto", "cpu", "cuda"))
    progress: bool = option(True, flags=())

    def validate(self) -> None:
        """Refuse a share of site windows outside [0, 1) (:func:`scintiseg.train.adapt.adapt`'s line), then the
        checks of every configuration (:meth:`Config.validate`, naming flags), then a negative ``check_cases``. The
        rest is checked with the model's recipe (:func:`scintiseg.train.adapt.adaptation_config`)."""
        if not 0.0 <= self.share < 1.0:
            raise ScintisegError(f"--share must lie in [0, 1), got {self.share}")
        super().validate()
        if self.check_cases < 0:
            raise ScintisegError(f"--check-cases must be 0 or more, got {self.check_cases}")
