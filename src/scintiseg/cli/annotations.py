"""``scintiseg annotations``: ``consensus A.json B.json C.json`` (three-reader consensus, paper B §2.2) and
``from-boxes IMAGES --boxes DIR --out DIR`` (hot-spot boxes, BS-80K's, turned into LabelMe outlines)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.labelme import read_labelme
from scintiseg.io.reader_labels import LESION_LABEL, reader_lesions
from scintiseg.prepare.consensus import DEFAULT_THRESHOLD, consensus


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``annotations`` with its ``consensus`` subcommand."""
    parser = subparsers.add_parser(
        "annotations",
        help="work with physicians' LabelMe annotations (reader consensus)",
        description="Work with physicians' LabelMe annotations.",
    )
    sub = parser.add_subparsers(dest="annotations_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    cmd = sub.add_parser(
        "consensus",
        help="accept one reader's labels at random when all readers agree, else flag for re-annotation",
        description="Paper B §2.2: the area difference (1 - IoU) between every pair of readers' lesion curves "
        "must be within the threshold; then one reader's labels are chosen at random (seeded) as ground "
        "truth, otherwise the image is flagged for re-annotation. Lesions are matched between readers; see "
        "docs/io.md. Prints (or writes with --out) the decision and the pairwise table as JSON.",
    )
    cmd.add_argument("readers", nargs="+", metavar="READER.json", help="one LabelMe file per reader (2 or more)")
    cmd.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="largest area difference (default 0.05)")
    cmd.add_argument("--seed", type=int, default=0, help="seed of the random choice of reader (default 0)")
    cmd.add_argument("--label", action="append", default=None,
                     help="lesion label(s), exactly (default: a reader's lesion by any common name: lesion, Lesion, "
                     "metastasis, mets, ...; a finding labelled normal, bladder, degenerative, ... is none; any other "
                     "label is refused)")
    cmd.add_argument("--root", default=None, help="folder imagePath must stay inside (default: each JSON's folder)")
    cmd.add_argument("--out", default=None, help="write the decision JSON here instead of printing it")
    cmd.set_defaults(func=run_consensus)
    boxes = sub.add_parser(
        "from-boxes",
        help="LabelMe outlines from hot-spot boxes (Pascal VOC, BS-80K's Abnormal boxes): the hot spot in each box",
        description="For each one-view image with a Pascal VOC file (docs/io.md), outline the hot spot of each lesion "
        "box (its half-maximum extent above the box's border, scintiseg.prepare.box_outlines) and write the "
        "outlines as OUT/<image stem>.json, a LabelMe file with the image embedded, for a physician to correct and "
        "for `scintiseg dataset import --labels OUT`. Benign (Normal) boxes get no outline: they stay background.",
    )
    boxes.add_argument("inputs", nargs="+", metavar="IMAGE", help="image files or folders (as `predict` reads them)")
    boxes.add_argument("--boxes", required=True, metavar="DIR", help="a folder of Pascal VOC XML (or one file)")
    boxes.add_argument("--out", required=True, metavar="DIR", help="folder for the LabelMe files")
    boxes.add_argument("--label", default="lesion", help="label of the outlines (default: lesion)")
    boxes.set_defaults(func=run_from_boxes)


def run_consensus(args: argparse.Namespace) -> int:
    annotations = [read_labelme(path, root=args.root) for path in args.readers]
    if not args.label:  # each reader's lesions by the names readers give them (scintiseg.io.reader_labels)
        annotations = [reader_lesions(annotation, path) for annotation, path in zip(annotations, args.readers)]
    decision = consensus(annotations, threshold=args.threshold, seed=args.seed, labels=args.label or [LESION_LABEL])
    decision["files"] = [str(Path(p)) for p in args.readers]
    if decision["ground_truth_reader"] is not None:
        decision["ground_truth_file"] = decision["files"][decision["ground_truth_reader"]]
    text = json.dumps(decision, indent=1) + "\n"
    if args.out:
        write_text_atomic(args.out, text)
        print(f"{decision['decision']}: {args.out}")
    else:
        print(text, end="")
    return 0


def run_from_boxes(args: argparse.Namespace) -> int:
    import sys

    from scintiseg.errors import ScintisegError  # lazy: only this subcommand
    from scintiseg.io import read_scan  # lazy: only this subcommand
    from scintiseg.io.labelme import write_labelme  # lazy: only this subcommand
    from scintiseg.io.voc import annotation_of, box_kind, read_voc_folder  # lazy: only this subcommand
    from scintiseg.prepare.box_outlines import outlines_from_boxes  # lazy: only this subcommand
    from scintiseg.report.batch import expand_inputs  # lazy: only this subcommand
    from scintiseg.scan import Annotation  # lazy: only this subcommand

    found = read_voc_folder(args.boxes)  # checked before any image: a bad file is one line
    out = Path(args.out)
    written = outlines = lesion_boxes = empty = 0
    skipped: list[str] = []
    stems: set[str] = set()
    for path in expand_inputs(args.inputs):
        annotation = annotation_of(found, path)
        if annotation is None:
            continue
        if path.stem in stems:  # OUT/<stem>.json is taken: never overwrite another image's outlines
            skipped.append(f"{path}: another image of this run is also named {path.stem!r}")
            continue
        try:
            scan = read_scan(path, view="name")
        except ScintisegError as exc:
            skipped.append(f"{path}: {exc.problem}")
            continue
        if len(scan.view_names) != 1:
            skipped.append(f"{path}: {len(scan.view_names)} views (boxes are placed on one-view images)")
            continue
        view = scan.view_names[0]
        image = scan.view(view)
        if annotation.shape is not None and tuple(image.shape) != annotation.shape:
            skipped.append(f"{path}: the image is {image.shape[1]} x {image.shape[0]}, {annotation.path.name} "
                           f"declares {annotation.shape[1]} x {annotation.shape[0]}")
            continue
        mask, none = outlines_from_boxes(image, annotation.boxes)
        lesion_boxes += sum(box_kind(box) == "lesion" for box in annotation.boxes)
        empty += none
        labelled = Annotation.from_mask(mask, label=args.label, view=view)
        write_labelme(labelled, out / f"{path.stem}.json", image=image)
        stems.add(path.stem)
        written += 1
        outlines += len(labelled.shapes)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    print(f"{written} LabelMe file(s) written to {out}: {outlines} outline(s) from {lesion_boxes} lesion box(es), "
          f"{empty} box(es) with no hot spot; {len(skipped)} image(s) skipped", file=sys.stderr)
    return 1 if skipped else 0
