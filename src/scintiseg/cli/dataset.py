"""``scintiseg dataset check|split|import|export-nnunet`` (and the preparation subcommands of
:mod:`scintiseg.cli.dataset_prepare`)."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

from scintiseg.cli import dataset_prepare
from scintiseg.cli.arguments import seed
from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import SPLITS_NAME, check_dataset, views_text
from scintiseg.io.images import parse_pixel_spacing
from scintiseg.prepare.splits import patient_folds, split_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dataset`` with ``check``, ``split``, ``import`` and ``export-nnunet``; ``dataset_prepare`` adds ``augment`` and ``crop``."""
    parser = subparsers.add_parser(
        "dataset",
        help="check, split, prepare and export a data set folder (dataset.json layout)",
        description="Work on a data set folder with a dataset.json manifest (see docs/io.md).",
    )
    dataset_subparsers = parser.add_subparsers(dest="dataset_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: _help(parser))

    check = dataset_subparsers.add_parser(
        "check",
        help="validate every file, size and id of a data set",
        description="Validate a data set: missing files, size mismatches between images and labels, duplicate "
        "ids, mask values, points outside the image, labels that say neither a lesion nor a "
        "finding that is no lesion. Prints every problem on one line and "
        "a summary table (views outlined, views with lesions, cases without outlines, what the test split can score). Exit 0 when valid (warnings allowed), 2 when there are errors.",
    )
    check.add_argument("dir", help="data set folder (holding dataset.json)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=run_check)

    split = dataset_subparsers.add_parser(
        "split",
        help="patient-level train/test split (and folds), written to splits.json",
        description="Split a data set by patient: one patient's images never fall on both sides (also across "
        "folds); GAN and augmented cases always go to train. Writes DIR/splits.json.",
    )
    split.add_argument("dir", help="data set folder (holding dataset.json)")
    split.add_argument("--test", type=float, default=0.2, help="share of patients held out for test (default 0.2)")
    split.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    split.add_argument("--folds", type=int, default=None, help="K-fold cross-validation of the training part")
    split.set_defaults(func=run_split)

    importer = dataset_subparsers.add_parser(
        "import",
        help="make a data set from folders of scans (DICOM, 16-bit PNG/TIFF) and LabelMe files",
        description="Walk folders of scans and write a data set folder that `scintiseg dataset check` passes. "
        "LabelMe files are matched to scans by file stem (<stem>.json, <stem>_ANT.json, <stem>_POST.json), by "
        "imagePath, or by scintiseg's \"view\" key. Cases are grouped by DICOM Patient ID, else by "
        "--patient-from. Unreadable files and unmatched LabelMe files are listed, one line each. A study's ANT and POST stored as two files become one case. Re-running adds "
        "new files only. Folders written by `scintiseg predict` give only their LabelMe files corrected in LabelMe "
        "(marked reviewed); with --pseudo-labels P also the unedited ones the model was confident on (every "
        "lesion's peak probability >= P, a lesion-free view's largest probability <= 1 - P), as pseudo-labels. "
        "See docs/own-data.md.",
    )
    importer.add_argument("sources", nargs="+", metavar="SRC", help="scan files or folders (walked recursively)")
    importer.add_argument("--out", required=True, help="data set folder to write (an existing one is extended)")
    importer.add_argument("--labels", default=None, metavar="LABELME_DIR", help="folder of LabelMe .json files")
    importer.add_argument("--link", action="store_true", help="hard-link the images instead of copying them (no second copy on disk)")
    importer.add_argument(
        "--patient-from", default="stem", metavar="RULE",
        help="patient id of files without a DICOM Patient ID: stem (file name, default), parent (folder name) "
        "or regex:PATTERN (its one group, searched in the file name)",
    )
    importer.add_argument(
        "--pseudo-labels", type=float, default=None, metavar="P",
        help="take unedited predictions as pseudo-labels when the model was confident on the whole view "
        "(P in [0.5, 1), e.g. 0.9); others stay unlabelled and are listed with the reason. Default: never",
    )
    importer.add_argument(
        "--read-normal", action="store_true",
        help="every view of a new scan without a LabelMe file was read and found free of lesions: it gets an empty "
        "outline, a negative for training and evaluation (by default such a view's lesions are unknown: adaptation "
        "reads it unlabelled, training and evaluation pass over it)",
    )
    importer.add_argument(
        "--pixel-spacing", default=None, metavar="MM",
        help="pixel size of scans without one (PNG, JPEG, TIFF, .npy; a DICOM without Pixel Spacing), as scintiseg "
        "predict takes it: MM or ROWxCOL; default: a whole-body view's 2.3 m over its rows, else 2.26 mm, with a "
        "warning per file, recorded in the case (meta pixel_spacing_assumed); DICOM files keep their own",
    )
    importer.add_argument(
        "--no-join-views", action="store_true",
        help="a case per file, even for a study's ANT and POST stored as two files (by default one ANT+POST case, "
        "found as `scintiseg predict` finds them)",
    )
    importer.add_argument(
        "--as-stored", action="store_true",
        help="import every scan as stored (by default, as `scintiseg predict` reads them, a body stored lying is "
        "written standing, a page of ANT and POST side by side is written as its two views, and the region network "
        "finds scans stored head-down, which the data set records so that train and evaluate read them upright; "
        "outlines drawn on the file as stored follow)",
    )
    importer.set_defaults(func=run_import)

    nnunet = dataset_subparsers.add_parser(
        "export-nnunet",
        help="write a data set as nnU-Net v2's raw data set, with folds by patient",
        description="Write DIR as nnU-Net v2's raw data set OUT/Dataset<ID>_<NAME>: one 2-D case per annotated view "
        "(NIfTI, counts as stored, the pixel size in the header), the data set's test patients as imagesTs / "
        "labelsTs, and splits_final.json with folds by patient (the data set's own folds, else --folds seeded "
        "by --seed) to copy into nnUNet_preprocessed/Dataset<ID>_<NAME>/ after planning. A data set without "
        "splits.json gets one as `scintiseg train` makes it (20 % of patients held out, --seed), so both see the "
        "same test patients. --fuse two_channel|aggregate writes one case per study instead, ANT and POST fused as "
        "scintiseg's network of that input mode reads them (paper B's view fusion). Score nnU-Net's predictions with "
        "`scintiseg evaluate --predictions`. See docs/own-data.md.",
    )
    nnunet.add_argument("dir", type=Path, help="data set folder (holding dataset.json)")
    nnunet.add_argument("--out", type=Path, required=True, help="nnU-Net's raw folder (nnUNet_raw)")
    nnunet.add_argument("--id", type=int, default=501, dest="dataset_id", help="nnU-Net data-set id, 1-999 (default 501)")
    nnunet.add_argument("--name", default="BoneScan", help="nnU-Net data-set name (default BoneScan)")
    nnunet.add_argument("--folds", type=int, default=5, help="folds by patient where the data set has none (default 5)")
    nnunet.add_argument("--seed", type=seed, default=0, help="seeds the folds, and the split where there is none (default 0)")
    nnunet.add_argument("--fuse", choices=("none", "two_channel", "aggregate"), default="none",
                        help="none: one case per annotated view (default); two_channel: one case per study with both "
                        "views outlined, channels ANT and POST mirrored and aligned to it; aggregate: their sum, one "
                        "channel (paper B Eq. 4); the label the union of both views' outlines on ANT's grid")
    nnunet.set_defaults(func=run_export_nnunet)

    dataset_prepare.register(dataset_subparsers)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_check(args: argparse.Namespace) -> int:
    report = check_dataset(args.dir, progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps({"valid": report.valid, "summary": report.summary,
                          "problems": [vars(p) for p in report.problems]}, indent=1))
        return 0 if report.valid else 2
    for problem in report.problems:
        print(problem)
    if report.summary:
        if report.problems:
            print()
        width = max(len(key) for key in report.summary)
        for key, value in report.summary.items():
            print(f"{key:<{width}}  {value}")
    print(f"\n{'valid' if report.valid else 'INVALID'}: {len(report.errors)} errors, {len(report.warnings)} warnings")
    return 0 if report.valid else 2


def run_split(args: argparse.Namespace) -> int:
    if args.folds is not None and args.folds < 2:
        raise ScintisegError(f"--folds must be at least 2, got {args.folds}")
    splits = split_dataset(args.dir, test=args.test, seed=args.seed, folds=args.folds)
    print(f"train {len(splits['train'])} cases, test {len(splits['test'])} cases "
          f"({len(splits['test_patients'])} patients), {len(splits['folds'])} folds -> {args.dir}/{SPLITS_NAME}")
    return 0


def run_export_nnunet(args: argparse.Namespace) -> int:
    from scintiseg.io.nnunet import export_nnunet, export_target  # lazy: start-up time (nibabel, tqdm)
    from scintiseg.train.data import training_splits  # lazy: start-up time (torch)

    export_target(args.out, args.dataset_id, args.name)  # a bad id, name or folder refused before a split is made
    if args.folds < 2:
        raise ScintisegError(f"--folds must be at least 2, got {args.folds}")
    fusion = None
    if args.fuse != "none":
        from scintiseg.io.nnunet import Fusion  # lazy: start-up time (as above)
        from scintiseg.prepare.model_input import FUSED_CHANNELS, fused_counts  # lazy: start-up time (scipy)

        fusion = Fusion(args.fuse, FUSED_CHANNELS[args.fuse], partial(fused_counts, input_mode=args.fuse))
    splits = training_splits(args.dir, args.seed)
    done = export_nnunet(args.dir, args.out, splits, dataset_id=args.dataset_id, name=args.name, folds=args.folds,
                         seed=args.seed, progress=sys.stderr.isatty(), fusion=fusion, deal_folds=patient_folds)
    left = f"; {done.unannotated_views} view(s) without annotation left out" if done.unannotated_views else ""
    left += (f"; {done.unpaired_cases} stud{'ies' if done.unpaired_cases != 1 else 'y'} with one view outlined left out"
             if done.unpaired_cases else "")
    pseudo = ("view", "views") if fusion is None else ("study", "studies")
    left += (f"; {done.pseudo_test} pseudo-labelled test {pseudo[done.pseudo_test != 1]} left out (no person's truth "
             "to score on)" if done.pseudo_test else "")
    unit = "views" if fusion is None else f"studies ({args.fuse})"
    print(f"{len(done.training)} training and {len(done.test)} test {unit}, {len(done.folds)} folds by patient "
          f"-> {done.folder}{left}")
    print(f"after nnUNetv2_plan_and_preprocess -d {args.dataset_id}: cp {done.folder / 'splits_final.json'} "
          f"$nnUNet_preprocessed/{done.folder.name}/")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from scintiseg.io.importer import VIEW_SOURCES, import_dataset  # lazy: start-up time (tqdm, pydicom, PIL)
    from scintiseg.predict.view_labels import swapped_note  # lazy: start-up time (scipy, scikit-image)

    spacing = None if args.pixel_spacing is None else parse_pixel_spacing(args.pixel_spacing)  # before any model loads

    orient = None
    if not args.as_stored:
        from scintiseg.predict.pipeline import upright_reader  # lazy: start-up time (torch)

        orient = upright_reader()
    report = import_dataset(args.sources, args.out, labels_dir=args.labels, link=args.link,
                            patient_from=args.patient_from, pseudo_labels=args.pseudo_labels,
                            join=not args.no_join_views, orient=orient, check_views=swapped_note,
                            progress=sys.stderr.isatty(), read_normal=args.read_normal, pixel_spacing=spacing)
    for path, message in report.warnings:
        print(f"warning: {path}: {message}")
    for path, reason in report.skipped:
        print(f"skipped: {path}: {reason}")
    for path, reason in report.unmatched_labels:
        print(f"unmatched labels: {path}: {reason}")
    for path, how in report.stood:
        print(f"stood: {path}: stored lying; the case's image is written standing, turned a quarter {how.split('_')[1]} "
              "(meta stood)")
    for path, column in report.split:
        print(f"split: {path}: a page of ANT (left) and POST (right) side by side; the case's image is the two views, "
              f"cut at column {column} (meta split_at_column)")
    for path, views in report.mirrored:
        print(f"mirrored back: {path}: its DICOM header says {' and '.join(views)} stored mirrored left-right; the case's "
              "image is written as read, the patient's sides as named (meta mirrored)")
    for path, how in report.turned:
        print(f"read turned: {path}: stored {how.replace('_', '-')}; the case is read upright (meta read_turned)")
    if report.manifest is None:
        skipped = f" ({len(report.skipped)} file(s) skipped, listed above)" if report.skipped else ""
        raise ScintisegError(f"no scan found to import{skipped}: no data set written", path=", ".join(map(str, args.sources)))
    labelled = sum(1 for case in report.added if case.labels)
    patients = len({case.patient_id for case in report.added})
    joined = sum(1 for case in report.added if VIEW_SOURCES in case.meta)
    pairs = f", {joined} joined from a study's ANT and POST files" if joined else ""
    if report.view_cases:  # each view's cases, not only the views every case holds (the manifest's "views")
        print(f"views: {views_text(report.view_cases, report.kept + len(report.added))}")
    print(f"added {len(report.added)} cases ({labelled} labelled, {patients} patients{pairs}), kept {report.kept}, "
          f"skipped {len(report.skipped)} files, {len(report.unmatched_labels)} LabelMe files unmatched "
          f"-> {report.manifest}")
    if report.updated:
        what = "corrected labels (marked reviewed)" + (" or pseudo-labels" if report.pseudo else "")
        print(f"updated {len(report.updated)} cases with {what}: {', '.join(case.case_id for case in report.updated)}")
    if args.read_normal:
        print(f"read normal: {report.read_normal} views without a LabelMe file given an empty outline (no lesion)")
    if args.pseudo_labels is not None:
        views = ", ".join(f"{case}/{view}" for case, view in report.pseudo)
        print(f"pseudo-labelled {len(report.pseudo)} views (confidence {args.pseudo_labels:g}){': ' + views if views else ''}")
    return 0
