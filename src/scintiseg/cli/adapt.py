"""``scintiseg adapt``: fine-tune a lesion model on a site's scans (unlabelled: paper B's Chan-Vese term; normal
scans: labelled negatives and the background of inserted lesions, :mod:`scintiseg.train.hybrid_site`).

Example::

    scintiseg dataset import /archive/bonescans --out data/site            # optional: DICOM -> data set
    scintiseg adapt --unlabelled data/site --out runs/site --epochs 8       # the shipped model, adapted
    scintiseg predict /archive/bonescans --model runs/site --out predictions
    scintiseg adapt --unlabelled data/site --out runs/site --resume         # continue an interrupted run
    scintiseg adapt --normals /archive/normal --out runs/site-normals      # normal scans, lesions inserted
    scintiseg adapt --unlabelled /archive/read --boxes /archive/read_boxes --out runs/site-boxes  # readers' boxes
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scintiseg.cli.arguments import seed
from scintiseg.config import add_arguments, from_args
from scintiseg.errors import ScintisegError
from scintiseg.train.adapt_config import AdaptSettings

HELP = "adapt a lesion model to a site's own scans (unlabelled: paper B's Chan-Vese loss; normal: inserted lesions)"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg adapt``: the model, the site's scans and the run folder, then one flag per
    :class:`AdaptSettings` field (``--quiet`` turns its ``progress`` off, as on every command)."""
    parser = subparsers.add_parser(
        "adapt", help=HELP,
        description="Fine-tune a model on a site's scans without outlines: paper B's Chan-Vese term on the site's "
        "windows, the supervised term on phantom windows of the model's own recipe (and on the labelled cases of "
        "a data set, e.g. predictions corrected in LabelMe), so the model does not drift into segmenting bone; and/or on "
        "the site's normal scans as labelled negatives with lesions inserted anew each epoch (hybrid images); and/or "
        "on readers' hot-spot boxes of the scans (--boxes), taught as boxes, not as outlines. "
        "Writes a run folder that `scintiseg predict --model RUN` reads.",
    )
    parser.add_argument("--model", default=None,
                        help="run folder or checkpoint (.pt) to start from; default: the shipped phantom-trained model")
    parser.add_argument("--unlabelled", type=Path, metavar="DIR",
                        help="the site's scans: a folder of DICOM/PNG/TIFF files or a data set (dataset import output)")
    parser.add_argument("--out", required=True, type=Path, metavar="RUN", help="run folder to write")
    # a bad --seed is argparse's usage error, as on every command (cli.arguments.seed); numbers are argparse's too
    add_arguments(parser, AdaptSettings, typed=True, types={"seed": seed})
    parser.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def resolve_settings(args: argparse.Namespace) -> AdaptSettings:
    """The flags' :class:`AdaptSettings`; ``--alpha`` by default paper B's with unlabelled scans, 0 without (the term
    is there to learn from them: ``--normals`` alone has no unlabelled window)."""
    values = {"progress": not args.quiet}
    if args.unlabelled is None and "normals" in args:
        values["alpha"] = 0.0
    return from_args(AdaptSettings, args, values)  # its messages name the flags (AdaptSettings.said_as_flags)


def run(args: argparse.Namespace) -> int:
    from scintiseg.predict.loader import SHIPPED_WEIGHTS  # lazy: start-up time
    from scintiseg.predict.pipeline import region_labeller, upright_reader  # lazy: start-up time
    from scintiseg.train.adapt import adapt  # lazy: start-up time

    settings = resolve_settings(args)
    result = adapt(args.model or SHIPPED_WEIGHTS, args.unlabelled, args.out, settings, resume=args.resume,
                   orient=upright_reader(), regions=region_labeller() if settings.normals else None)
    started = f"--model {args.model}" if args.model else "the shipped model"
    if result.epochs_run:
        print(f"adapted: lowest validation loss {result.best_value:.4f} at epoch {result.best_epoch}; "
              f"run in {result.run_dir} (scintiseg predict SCANS --model {result.run_dir})")
    if settings.normals and settings.check_cases:  # also on --resume of a finished run: a check stopped is made again
        check_site(args, settings, result, started)
    if result.epochs_run:
        print(f"before using it, predict cases your readers outlined with it and with {started}, then "
              "`scintiseg evaluate --predictions ADAPTED --against BEFORE --data DATA`: it can find fewer lesions "
              "(docs/own-data.md)")
    return 0


def check_site(args: argparse.Namespace, settings: AdaptSettings, result, started: str) -> None:
    """The check after adapting on normal scans (:mod:`scintiseg.experiments.site_check`): printed, and written to
    ``RUN/site_check.md`` and ``.json``. The run folder is complete by then, so a check that cannot be made (no
    patient held out, no free skeleton, a file that cannot be written) is one line and the command still succeeds;
    stopped (Ctrl-C, SIGTERM), the command says the adapted model is complete and ``--resume`` makes the check."""
    if not result.held_out_normals:
        print("no site check: under 5 patients' normal scans, none was held out of adaptation to check it on")
        return
    from tqdm import tqdm  # lazy: start-up time

    from scintiseg.experiments.site_check import check_adaptation, site_check_lines, write_site_check  # lazy: start-up
    from scintiseg.predict.loader import load_model  # lazy: start-up time

    scans = len(result.held_out_normals)
    bar = tqdm(total=scans, desc="site check", unit="scan", disable=not settings.progress, leave=False)
    try:
        check = check_adaptation(load_model(args.model), load_model(result.run_dir), result.held_out_normals,
                                 cases=settings.check_cases, seed=settings.seed, names=(started, str(result.run_dir)),
                                 progress=lambda done, _total: bar.update(1))
        written = write_site_check(check, result.run_dir)
    except ScintisegError as exc:  # the adaptation stands: its run folder is complete
        print(f"no site check: {exc}")
        return
    except OSError as exc:
        print(f"no site check written: {exc.strerror or exc} ({exc.filename or result.run_dir})")
        return
    except KeyboardInterrupt as exc:
        exc.add_note(f"the adapted model in {result.run_dir} is complete; its site check was not finished "
                     "(the same command with --resume makes it)")
        raise
    finally:
        bar.close()
    print("\n".join(site_check_lines(check)))
    print(f"written to {written}")
