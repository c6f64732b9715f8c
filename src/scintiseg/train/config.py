"""The training configuration: one typed dataclass, loaded from YAML, every field a CLI flag.

Precedence, lowest first: the paper defaults below < ``--config FILE.yaml`` < flags given on the
command line. The resolved configuration is written to ``RUN/config.yaml`` (and stored in every
checkpoint) so a run can be repeated exactly with ``scintiseg train --config RUN/config.yaml``.

Defaults follow paper A Table 1 (Adam, learning rate 1e-4, batch 32, 200 epochs), which paper B's
Table 2 would give for paper B (lost from its text; we use paper A's); paper B's loss constants are alpha = 0.4 and,
in Chan & Vese's notation, an area weight nu = 0.004 and a length weight mu = 0 (:mod:`scintiseg.losses.chan_vese`).

Example::

    config = TrainConfig(data="data/crops", out="runs/dpunet", model="dpunet",
                         model_args={"pooling": "fusion", "dac": "dac2", "rmp": True}, epochs=20)
    config.save_yaml("runs/dpunet/config.yaml")
    assert TrainConfig.from_yaml("runs/dpunet/config.yaml") == config
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from scintiseg.config import Config, option
from scintiseg.errors import ScintisegError
from scintiseg.phantom.config import PhantomConfig, profile, profile_with
from scintiseg.phantom.regions import REGION_CLASSES
from scintiseg.prepare.intensity import METHODS
from scintiseg.prepare.model_input import INPUT_MODES

#: Intensity normalisations (:func:`scintiseg.prepare.intensity.normalise`).
NORMALISATIONS: tuple[str, ...] = METHODS
_SUPERVISED_LOSSES = ("bce", "dice", "dice_bce")


@dataclass
class TrainConfig(Config):
    """Everything one training run needs. Each field is the CLI flag ``--field-name``.

    Args:
        data: data-set folder (the layout of :mod:`scintiseg.io.dataset`, usually thoracic crops) with
            a ``splits.json`` from ``scintiseg dataset split``.
        out: run folder (config, checkpoints, CSV log).
        model: registry name for :func:`scintiseg.models.create_model`; an unknown name, or ``model_args`` the
            network cannot be built with, is refused when the configuration is made (:meth:`check_network`).
        model_args: keyword arguments of the model (``--model-arg pooling=fusion``); ``in_channels`` is
            set from ``input_mode``.
        input_mode: ``ant``; ``post`` (mirrored and aligned to ANT); ``aggregate`` (I_Ant + Mirr(I_Post),
            paper B Eq. 4); ``two_channel`` (ANT and aligned mirrored POST as two channels).
        normalisation: intensity normalisation of the model input.
        views: which views of a data set of crops (partial views) are images: ``first``, one per case (ANT, else its
            one view; the default, as runs before session 63 trained), or ``each``, every view its own image, POST
            mirrored into ANT's orientation (input mode ``ant``): the papers' image sets, which hold both views of
            each patient (paper A §2.1: 410 images of 205 patients; paper B §3.4.2: 2,280 images in D2, 1,140
            aggregated in D2_Agg). Whole-body data sets read every view either way. Validation and
            ``scintiseg evaluate`` read the same views.
        epochs: training epochs (paper A: 200).
        batch_size: images per optimiser step, over all processes (paper A: 32).
        lr: learning rate (paper A: 1e-4).
        optimizer: ``adam`` (papers), ``adamw`` or ``sgd`` (momentum 0.9).
        weight_decay: L2 weight decay.
        loss: ``bce``, ``dice``, ``dice_bce`` (default; paper A does not state its loss) or ``chan_vese``
            (paper B: l_S + alpha l_U).
        supervised_loss: l_S of the ``chan_vese`` loss.
        alpha: weight of paper B's unsupervised term (0.4).
        area_weight: Chan-Vese area weight, Chan & Vese's nu (paper B: 0.004). Read from ``mu`` in a file or
            checkpoint written before session 63, which called the area weight ``mu``.
        length_weight: Chan-Vese length weight, Chan & Vese's mu (paper B: 0). Read from ``nu`` in a file or
            checkpoint written before session 63, which called the length weight ``nu`` (and set it to 0.004).
        alpha_rampup: fraction of training over which alpha ramps up (sigmoid schedule); 0 disables it.
        labelled: share of the *training patients* with labels (a person's or pseudo-labels) whose labels are
            used, drawn among those patients (session 63: before, among every training patient, so a data set half
            unannotated labelled about half the share asked for). With a supervised loss the other patients are
            left out; with ``chan_vese`` they contribute l_U only. Paper B's shares are of all its samples, 70 % of
            which train: its 37 % is 0.53 here (:func:`scintiseg.experiments.specs.paper_b_labelled`).
        fold: use ``folds[fold]`` of ``splits.json`` for train/validation; None holds out
            ``val_fraction`` of the training patients instead (seeded, patient-level).
        val_fraction: share of training patients held out for validation when ``fold`` is None.
        seed: seeds weight initialisation, data order, label selection and augmentation.
        augment: random flips / small rotations and translations on the fly (paper B §3.2.1).
        gain_jitter: spread of a random gain on each normalised training input (:mod:`scintiseg.prepare.gain`).
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        amp: bfloat16 autocast on CUDA (ignored on the CPU, where it is slower).
        channels_last: channels-last memory format for the model and batches.
        threads: torch intra-op threads on the CPU (0: leave PyTorch's default).
        early_stopping: stop after this many epochs without improvement of ``monitor`` (0: off).
        monitor: validation quantity that picks the best checkpoint.
        threshold: probability above which a pixel is predicted lesion.
        max_train_images: cap on training *cases* after the split (0: no cap; for smoke runs): the first N in
            the split's order, each giving one image, or two with ``views="each"``, or a whole-body scan's windows.
        head_prior: initial lesion probability of every pixel, set through the bias of the network's
            1-channel output convolution, ``b = -log((1 - p) / p)`` (the prior initialisation of Lin et al.
            2017, RetinaNet §4.1). Lesions cover under 1 % of a thoracic crop; from PyTorch's default
            init (p about 0.5) the BCE term spends hundreds of steps pushing everything to background
            before the Dice term moves (measured in docs/demo.md). 0 keeps PyTorch's initialisation.
        tensorboard: also log to ``RUN/tensorboard`` (needs the ``tensorboard`` package).
        progress: show a tqdm progress bar (rank 0 only).
        synthetic: a phantom profile (``randomised`` for domain randomisation, issue 13): training and
            validation windows are generated on the fly (:mod:`scintiseg.train.synthetic`) and ``data``
            is not read. Only ``input_mode="ant"``.
        synthetic_config: a YAML file of phantom settings laid over the ``synthetic`` profile, nested like
            ``phantom_config.json`` (what ``scintiseg phantom --config`` reads), e.g.
            ``scripts/phantom_lower_legs.yaml``: a pose or a lesion site no profile draws, for one run, without a
            new profile (session 69: the region network learns the hands-on-thighs pose from it). The file is
            read when a run starts (:meth:`phantom_settings`; a missing file or a bad key or value is one line
            naming it), not when a recorded configuration is loaded; ``config.yaml`` records its path and the run
            folder the phantom it drew from (``synthetic_phantom.json``), which a resumed run must still match.
        pool_patients: synthetic patients whose windows make one epoch.
        refresh: share of those patients replaced by new ones before each epoch (1: all new every epoch).
        windows_per_view: training windows cut from each view of each synthetic patient.
        val_patients: synthetic validation patients (fixed for the run).
        degrade: random degradations of real archives on every synthetic view (matrix, framing,
            8-bit/JPEG export, flips; :func:`scintiseg.prepare.degrade.random_degradation`).
        degrade_data: the same degradations on a whole-body data set's training scans, drawn anew every epoch
            (:mod:`scintiseg.train.degraded_data`; input mode ``ant``; validation stays undegraded).
        pixel_mm: the model's pixel size: synthetic views and a data set's whole-body scans are resampled to it,
            and prediction resamples every scan to it (recorded in the checkpoint).
        window_size: side of the square training window of synthetic views and of a data set's whole-body scans
            (:mod:`scintiseg.train.data`, "Whole-body data sets"); prediction tiles the whole view with it.
        generator_workers: processes generating synthetic patients while the network trains (0: none,
            generate between epochs in the training process).
        task: ``lesions`` (the papers' binary lesion mask) or ``regions`` (issue 15: the skeleton-region
            map, 27 classes, from synthetic phantoms only; the network needs a ``classes`` argument, e.g.
            ``unet``; no flips, no head prior; ``val_dsc`` is the mean Dice over the regions).
        init: a checkpoint whose network weights start this run (fine-tuning; the architecture must match).
            Optimiser state, epochs and history start afresh. Empty: random initialisation from ``seed``. On the
            command line (``scintiseg train --init``, or ``shipped``) the checkpoint's recipe fills the fields no
            flag or ``--config`` sets (:func:`scintiseg.train.loop.init_recipe`).
        freeze_norm: keep every normalisation layer (BatchNorm, InstanceNorm with running statistics) in
            evaluation mode while training: its running statistics stay those of ``init`` and batches are
            normalised with them, while its affine weights still learn. For fine-tuning on small or mixed
            batches (``scintiseg adapt``, issue 16): a batch half made of another camera's windows would
            otherwise move the statistics every labelled window is normalised with (statistics frozen as
            when detectors are fine-tuned with small batches, Detectron2's ``FrozenBatchNorm2d``, which
            also freezes the affine weights; here they stay trainable).
        freeze: names of the network's top-level modules (``named_children``: RDINet's ``stem``, ``encoders``,
            ``downs``, ``bottleneck``, ``ups``, ``decoders``, ``head``) whose weights stay those of ``init`` and whose
            normalisation layers stay in evaluation mode; the optimiser gets the other modules' parameters only.
            Empty (default): every weight learns. Why: fine-tuning every weight of a pretrained network can
            distort the features it learned and lose what transferred out of distribution (Kumar et al., ICLR
            2022, "Fine-tuning can distort pretrained features"); training only the layers nearest the shift
            is "surgical fine-tuning" (Lee et al., ICLR 2023). Here the encoder of the GPU-trained model is kept
            and the decoder alone learns a new operating point (docs/robustness.md, "The decoder alone").
        save_every: also keep ``checkpoints/epoch_NNNN.pt`` every N epochs (0: off), so that a checkpoint can
            be chosen afterwards by a measure the validation does not see. Why: a CPU fine-tune of the shipped
            lesion model (docs/robustness.md, session 9) raised the phantom validation DSC while quadrupling
            the false positives on the NM1 real background; ``benchmarks/bench_wholebody.py --source nm1
            --model RUN/checkpoints/epoch_NNNN.pt`` measures each kept checkpoint there.
    """

    kind: ClassVar[str] = "training configuration"
    #: Until session 62 the length weight was called ``nu`` and the area weight ``mu``, the other way round from
    #: Chan & Vese's notation (:mod:`scintiseg.losses.chan_vese`, "The regularisers"): read for what they meant.
    renamed: ClassVar[dict[str, str]] = {"nu": "length_weight", "mu": "area_weight"}

    data: str = option("", help="data-set folder with dataset.json and splits.json (usually thoracic crops)")
    out: str = option("", help="run folder (config.yaml, checkpoints/, log.csv)")
    model: str = option("dpunet", help="network name (see `scintiseg models`)")
    model_args: dict[str, Any] = option(
        default_factory=dict, flags=("--model-arg", "-m"),
        help="model keyword argument, repeatable (e.g. -m pooling=fusion -m dac=dac2 -m rmp=true)",
    )
    input_mode: str = option("ant", choices=INPUT_MODES, help="model input built from the views")
    normalisation: str = option("percentile", choices=NORMALISATIONS, help="intensity normalisation of the input")
    views: str = option("first", choices=("first", "each"),
                        help="a data set of crops: train on each case's first view (ANT) or on each view, POST "
                        "mirrored (the papers' image sets)")
    epochs: int = 200
    batch_size: int = 32
    lr: float = 1e-4
    optimizer: str = option("adam", choices=("adam", "adamw", "sgd"))
    weight_decay: float = 0.0
    loss: str = option("dice_bce", choices=(*_SUPERVISED_LOSSES, "chan_vese"))
    supervised_loss: str = option("dice_bce", choices=_SUPERVISED_LOSSES)
    alpha: float = 0.4
    # paper B's constants as scintiseg.losses holds them (not imported: this module stays free of torch)
    area_weight: float = option(0.004, help="Chan-Vese area weight (Chan & Vese's nu; paper B: 0.004)")
    length_weight: float = option(0.0, help="Chan-Vese length weight (Chan & Vese's mu; paper B: 0)")
    alpha_rampup: float = 0.0
    labelled: float = option(1.0, help="share of the training patients with labels whose labels are used (paper B's "
                             "37 percent of all samples is 0.53 of its training patients)")
    fold: int | None = option(None, help="use folds[FOLD] of splits.json for train/validation")
    val_fraction: float = 0.2
    seed: int = 0
    augment: bool = False
    gain_jitter: float = option(0.0, help="multiply each training input by a log-uniform gain in [exp(-G), exp(G)] "
                                "after the normalisation (0: off; prepare.gain)")
    device: str = option("auto", choices=("auto", "cpu", "cuda"))
    amp: bool = True
    channels_last: bool = False
    threads: int = 0
    early_stopping: int = option(0, help="stop after this many epochs without improvement (0: off)")
    monitor: str = option("val_dsc", choices=("val_dsc", "val_dsc_image", "val_loss"))
    threshold: float = 0.5
    max_train_images: int = option(0, help="cap on training cases after the split, the first N (0: no cap; smoke runs)")
    head_prior: float = 0.0
    tensorboard: bool = False
    progress: bool = True
    synthetic: str = option("", help="phantom profile to generate training data from on the fly (e.g. randomised)")
    synthetic_config: str = option("", help="YAML of phantom settings laid over --synthetic's profile (nested like "
                                   "phantom_config.json, as scintiseg phantom --config reads it)")
    pool_patients: int = 64
    refresh: float = 0.25
    windows_per_view: int = 2
    val_patients: int = 12
    degrade: bool = True
    degrade_data: bool = option(False, help="degrade a whole-body data set's training scans like real archives, "
                                "drawn anew every epoch (train.degraded_data)")
    pixel_mm: float = 2.26
    window_size: int = 256
    generator_workers: int = 1
    task: str = option("lesions", choices=("lesions", "regions"), help="what the network learns")
    init: str = option("", help="checkpoint whose network weights start the run (fine-tuning; 'shipped': the shipped "
                                "lesion model); its network, input mode, normalisation and pixel size too, unless set")
    freeze_norm: bool = option(False, help="keep normalisation layers' running statistics fixed (fine-tuning)")
    freeze: list[str] = option(default_factory=list,
                               help="the network's top-level modules kept fixed, e.g. stem,encoders,downs,bottleneck")
    save_every: int = option(0, help="also keep checkpoints/epoch_NNNN.pt every N epochs (0: off)")

    def validate(self) -> None:
        """Raise :class:`ScintisegError` naming the first field with an impossible value."""
        super().validate()
        checks = [
            ("epochs", self.epochs >= 1),
            ("batch_size", self.batch_size >= 1),
            ("lr", self.lr > 0),
            ("weight_decay", self.weight_decay >= 0),  # (torch refused -1 with a traceback, after the data were read)
            ("labelled", 0.0 <= self.labelled <= 1.0),
            ("val_fraction", 0.0 < self.val_fraction < 1.0),
            ("alpha", self.alpha >= 0),
            ("alpha_rampup", 0.0 <= self.alpha_rampup <= 1.0),
            ("threshold", 0.0 < self.threshold < 1.0),
            ("early_stopping", self.early_stopping >= 0),
            ("threads", self.threads >= 0),
            ("max_train_images", self.max_train_images >= 0),
            ("head_prior", 0.0 <= self.head_prior < 1.0),
            ("pool_patients", self.pool_patients >= 1),
            ("refresh", 0.0 <= self.refresh <= 1.0),
            ("windows_per_view", self.windows_per_view >= 1),
            ("val_patients", self.val_patients >= 1),
            ("pixel_mm", 0.2 <= self.pixel_mm <= 10.0),
            ("window_size", 16 <= self.window_size <= 2048),
            ("generator_workers", self.generator_workers >= 0),
            ("save_every", self.save_every >= 0),
            ("gain_jitter", 0.0 <= self.gain_jitter <= 1.386),
        ]
        for name, ok in checks:
            if not ok:
                raise ScintisegError(f"{name} has an impossible value: {getattr(self, name)!r}")
        if not isinstance(self.model_args, dict):
            raise ScintisegError(f"model_args must be a mapping, got {self.model_args!r}")
        if self.synthetic:
            profile(self.synthetic)  # an unknown profile is one line naming the choices
        if self.synthetic_config and not self.synthetic:
            raise ScintisegError("--synthetic-config lays phantom settings over a profile: give --synthetic PROFILE")
        if self.synthetic and self.input_mode != "ant":
            raise ScintisegError(f"synthetic training makes single-view windows: --input-mode ant, not {self.input_mode!r}")
        if self.views == "each" and self.input_mode != "ant":
            raise ScintisegError(f"--views each reads each view as a single-view image: --input-mode ant, not "
                                 f"{self.input_mode!r}")
        if self.degrade_data and self.synthetic:
            raise ScintisegError("--degrade-data degrades a data set's scans; synthetic views are degraded by "
                                 "--degrade")
        if self.degrade_data and self.input_mode != "ant":
            raise ScintisegError("--degrade-data degrades each view on its own: --input-mode ant, not "
                                 f"{self.input_mode!r}")
        if self.task == "regions" and not self.synthetic:
            raise ScintisegError("--task regions learns from the phantom's region maps: give --synthetic PROFILE")
        if self.task == "regions" and self.augment:
            raise ScintisegError("--task regions cannot use --augment (its flips would swap the patient's sides)")
        if self.task == "regions" and self.loss == "chan_vese":
            raise ScintisegError("--task regions is supervised: the Chan-Vese loss is for lesions")
        if self.loss != "chan_vese" and self.labelled == 0.0:
            raise ScintisegError("labelled = 0 leaves nothing to learn with a supervised loss; use --loss chan_vese")
        self.check_network()

    def network_arguments(self, in_channels: int | None = None) -> dict[str, Any]:
        """The keyword arguments the run's network is built with (``create_model(self.model, **them)``):
        ``model_args``, the input channels (``in_channels``, what the data give; default :attr:`in_channels`, the
        input mode's) and, for ``task="regions"``, one output channel per region class.

        Raises:
            ScintisegError: ``model_args`` gives other input channels (session 61: they were replaced without a word).
        """
        in_channels = self.in_channels if in_channels is None else in_channels
        arguments = dict(self.model_args)
        if arguments.get("in_channels", in_channels) != in_channels:
            raise ScintisegError(f"model_args in_channels {arguments['in_channels']!r}: the data give the network "
                                 f"{in_channels} input channel(s) (--input-mode {self.input_mode}); leave it out")
        arguments["in_channels"] = in_channels
        if self.task == "regions":
            arguments["classes"] = len(REGION_CLASSES)
        return arguments

    def check_network(self) -> None:
        """Refuse an unknown ``model``, or ``model_args`` it cannot be built with, in the registry's one line
        (:func:`scintiseg.models.create_model`), by building the network on PyTorch's meta device: shapes only, no
        weights allocated (under 0.07 s for the paper presets; MONAI's DynUNet takes about 2 s the first time in a
        process). It runs with :meth:`validate`, on construction, so :func:`scintiseg.train.train` stops before it
        writes anything (API audit 74: a bad name was found only once ``splits.json`` was saved into the data
        folder). A network some operation of which has no meta version is left to the real build.
        """
        import torch  # lazy: start-up time (`scintiseg train --help` reads this module's fields; torch takes ~1 s)

        from scintiseg.models import create_model  # lazy: start-up time (imports torch)

        arguments = self.network_arguments()
        try:
            with torch.device("meta"):
                create_model(self.model, **arguments)
        except NotImplementedError:  # an operation without a meta version: the real build judges the arguments
            pass

    def phantom_settings(self) -> PhantomConfig:
        """The phantom a ``synthetic`` run generates: its profile with ``synthetic_config`` laid over it, the file
        read now (a missing file, or a bad key or value in it, is one :class:`ScintisegError` naming the file)."""
        return profile_with(self.synthetic, self.synthetic_config)

    @property
    def in_channels(self) -> int:
        """Channels of the model input for ``input_mode``."""
        return 2 if self.input_mode == "two_channel" else 1


#: Fields only synthetic training reads (:func:`scintiseg.train.loop.prepare_synthetic_data`).
SYNTHETIC_ONLY: tuple[str, ...] = ("synthetic", "synthetic_config", "pool_patients", "refresh", "windows_per_view",
                                   "val_patients", "degrade", "generator_workers")
#: Fields a data set's run reads only of whole-body scans (:mod:`scintiseg.train.data`, "Whole-body data sets").
WHOLE_BODY_ONLY: tuple[str, ...] = ("pixel_mm", "window_size", "degrade_data")
#: Fields only the Chan-Vese loss reads (:class:`scintiseg.losses.SegmentationLoss`).
CHAN_VESE_ONLY: tuple[str, ...] = ("supervised_loss", "alpha", "alpha_rampup", "area_weight", "length_weight")


def unread_fields(settings: dict[str, Any], whole_body: bool | None = None) -> dict[str, str]:
    """The fields of a resolved configuration (``TrainConfig.to_dict()``, or a run's recorded one) that its run does
    not read, each with the setting that leaves it unread, so that a settings listing can set them apart (researcher
    audit 74: an experiment's table listed ``pixel_mm``, ``window_size``, ``degrade`` and ``pool_patients`` for cells
    trained on crops, and a reader could not tell what applied).

    Args:
        settings: field -> value; a field it lacks is not named.
        whole_body: whether the data set is of whole-body scans (``scintiseg dataset check``'s field of view); None
            (not known, e.g. an experiment folder written before its record kept it) names none of the fields that
            depend on it.

    Returns:
        field -> why it is not read, grouped by the reason: the synthetic-only fields
        without ``synthetic``; the whole-body-only ones (``pixel_mm``, ``window_size``, ``degrade_data``) of a run on a
        data set of crops; ``views`` of one on whole-body scans (every view is read either way); the Chan-Vese
        weights under another loss; ``val_fraction`` beside a ``fold``.
    """
    unread: dict[str, str] = {}
    if not settings.get("synthetic"):
        unread.update(dict.fromkeys(SYNTHETIC_ONLY, "synthetic training only (no synthetic profile)"))
        if whole_body is False:
            unread.update(dict.fromkeys(WHOLE_BODY_ONLY, "whole-body scans only (a data set of crops)"))
        elif whole_body:
            unread["views"] = "crops only (every view of a whole-body scan is read)"
    if settings.get("loss") != "chan_vese":
        unread.update(dict.fromkeys(CHAN_VESE_ONLY, f"the chan_vese loss only (loss {settings.get('loss')})"))
    if settings.get("fold") is not None:
        unread["val_fraction"] = f"no fold only (fold {settings.get('fold')})"
    return {key: why for key, why in unread.items() if key in settings}
