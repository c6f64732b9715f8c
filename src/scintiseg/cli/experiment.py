"""``scintiseg experiment``: reproduce a paper table/figure (train + evaluate every cell, resumable).

Every row is scored on one shared held-out phantom test set (``--test-patients``, default 200 patients,
both views), generated once beside the experiment folder and reused; tables hold paired bootstrap
intervals between rows (:mod:`scintiseg.experiments.paired`). ``report`` writes the tables and plots of
experiment folders again from their run folders.

Example::

    scintiseg experiment paper-a-table2 --data data/crops --runs 2 --epochs 20 --out runs/a2
    scintiseg experiment paper-b-labels --data data/crops --runs 1 --epochs 10 -m width=8 --set batch_size=8
    scintiseg experiment report runs/a2 runs/b-labels
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scintiseg.cli.arguments import seed
from scintiseg.config import parse_key_values
from scintiseg.errors import ScintisegError
from scintiseg.experiments.specs import EXPERIMENTS, PAPER_B_AUGMENTATION
from scintiseg.gan.config import LESION_AWARE

#: Paper B's augmentation comparison builds its own D1/D2/D3 data sets
#: (:mod:`scintiseg.experiments.paper_b_augmentation`).
AUGMENTATION_EXPERIMENT = PAPER_B_AUGMENTATION.name
#: ``scintiseg experiment report DIR...``: tables and plots again from run folders.
REPORT = "report"
#: Default size of the shared phantom test set (issue 17: at least 200 patients).
TEST_PATIENTS = 200
#: Default cohort seed of the shared test set (:data:`scintiseg.experiments.test_set.TEST_SET_SEED`).
TEST_SEED = 17_000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg experiment``."""
    names = [*EXPERIMENTS, AUGMENTATION_EXPERIMENT, REPORT]
    listing = "; ".join(f"{spec.name}: {spec.title}" for spec in [*EXPERIMENTS.values(), PAPER_B_AUGMENTATION])
    parser = subparsers.add_parser(
        "experiment",
        help="run one of the papers' experiments (table + CSV + plot beside the paper's numbers)",
        description=f"Experiments: {listing}. Finished cells are skipped, so rerunning resumes. "
        f"`scintiseg experiment {REPORT} DIR...` writes the tables and plots of experiment folders again.",
    )
    parser.add_argument("name", choices=names, metavar="NAME", help=", ".join(names))
    parser.add_argument("folders", nargs="*", type=Path, metavar="DIR", help=f"{REPORT} only: experiment folders")
    parser.add_argument("--data", type=Path, default=None, help="data-set folder with splits.json (training patients)")
    parser.add_argument("--runs", type=int, default=None, help="training runs per row (default: paper A's 5; 3 for paper B, which averages 10)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default: the paper's 200)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default runs/experiments/NAME)")
    parser.add_argument("--model-arg", "-m", action="append", metavar="KEY=VALUE",
                        help="model argument for every row (e.g. width=8)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", dest="settings",
                        help="any TrainConfig field for every cell (e.g. batch_size=8, normalisation=zscore)")
    test = parser.add_argument_group("shared test set")
    test.add_argument("--test-patients", type=int, default=TEST_PATIENTS,
                      help=f"phantom test patients, both views, shared by every row (default {TEST_PATIENTS}; "
                      "0: the data set's own test split)")
    test.add_argument("--test-profile", default="default", help="phantom profile of the test patients (default: default)")
    test.add_argument("--test-seed", type=seed, default=TEST_SEED, help=f"cohort seed of the test patients (default {TEST_SEED})")
    test.add_argument("--test-sets", type=Path, default=None,
                      help="folder where phantom test sets are generated and reused (default OUT/../test-sets)")
    test.add_argument("--test-data", type=Path, default=None,
                      help="test on every case of this data set instead of a phantom cohort (e.g. a real-background set)")
    test.add_argument("--workers", type=int, default=None, help="processes generating the test set (default: every CPU)")
    group = parser.add_argument_group(f"{AUGMENTATION_EXPERIMENT} only")
    group.add_argument("--factor", type=int, default=None, help="D2 / D1 size ratio; D3 gets as many GAN samples (paper B: 20)")
    group.add_argument("--gan-run", type=Path, default=None, help="a trained `scintiseg gan train` run to sample D3 from "
                       "(trained on DATA's fold-0 training patients: `gan train --held-out-fold 0`); default: train one")
    group.add_argument("--gan-set", action="append", metavar="KEY=VALUE", help="GanConfig field of the GAN trained here")
    group.add_argument("--gan-lesion-aware", action="store_true", help="train the GAN with the lesion-aware settings (docs/gan.md)")
    group.add_argument("--gan-minutes", type=float, default=None, help="wall-clock bound of the GAN training")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _report(args: argparse.Namespace) -> int:
    from scintiseg.experiments.runner import report_experiment  # lazy: start-up time

    if not args.folders:
        raise ScintisegError(f"{REPORT} needs at least one experiment folder")
    for folder in args.folders:
        print(f"table written to {report_experiment(folder)}")
    return 0


def _test_set(args: argparse.Namespace):
    """The ``test_set`` argument of :func:`~scintiseg.experiments.runner.run_experiment` from the flags."""
    from scintiseg.experiments.test_set import PhantomTestSet  # lazy: start-up time (imports torch)

    if args.test_data is not None:
        return args.test_data
    if args.test_patients < 0:
        raise ScintisegError(f"--test-patients must be 0 or more, got {args.test_patients}")
    if args.test_patients == 0:
        return None
    return PhantomTestSet(patients=args.test_patients, profile=args.test_profile, seed=args.test_seed)


def run(args: argparse.Namespace) -> int:
    if args.name == REPORT:
        return _report(args)
    if args.folders:
        raise ScintisegError(f"folders after the name are for `{REPORT}` only: {' '.join(map(str, args.folders))}")
    if args.data is None:
        raise ScintisegError("--data is required")
    from scintiseg.experiments.runner import run_experiment  # lazy: start-up time

    settings = parse_key_values(args.settings, "--set")
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    if args.model_arg:
        settings["model_args"] = parse_key_values(args.model_arg, "--model-arg")
    if args.runs is not None and args.runs < 1:
        raise ScintisegError(f"--runs must be at least 1, got {args.runs}")
    if args.workers is not None and args.workers < 1:
        raise ScintisegError(f"--workers must be at least 1, got {args.workers}")
    test_set = _test_set(args)
    test_options = {"test_set": test_set, "test_sets": args.test_sets, "workers": args.workers}
    gan_only = {"--factor": args.factor, "--gan-run": args.gan_run, "--gan-set": args.gan_set,
                "--gan-lesion-aware": args.gan_lesion_aware or None, "--gan-minutes": args.gan_minutes}
    if args.name == AUGMENTATION_EXPERIMENT:
        from scintiseg.experiments.paper_b_augmentation import (  # lazy: start-up time
            PAPER_B_FACTOR,
            run_paper_b_augmentation,
        )

        gan_settings = {**(LESION_AWARE if args.gan_lesion_aware else {}), **parse_key_values(args.gan_set, "--gan-set")}
        if args.gan_minutes is not None:
            gan_settings.setdefault("epochs", 100000)  # the time bound ends training
        augmentation_options = dict(runs=args.runs, settings=settings, progress=not args.no_progress,
                                    factor=args.factor or PAPER_B_FACTOR, gan_settings=gan_settings,
                                    gan_run=args.gan_run, gan_minutes=args.gan_minutes)
        table = run_paper_b_augmentation(args.data, args.out, **augmentation_options, **test_options)
    elif any(value is not None for value in gan_only.values()):
        used = next(flag for flag, value in gan_only.items() if value is not None)
        raise ScintisegError(f"{used} applies only to {AUGMENTATION_EXPERIMENT}")
    else:
        table = run_experiment(args.name, args.data, args.out, runs=args.runs, settings=settings,
                               progress=not args.no_progress, **test_options)
    print(f"table written to {table}")
    return 0
