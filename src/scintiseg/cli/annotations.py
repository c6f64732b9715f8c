"""``scintiseg annotations``: ``consensus A.json B.json C.json`` (three-reader consensus, paper B §2.2) and
``from-boxes IMAGES --boxes DIR --out DIR`` (hot-spot boxes, BS-80K's, turned into LabelMe outlines) and
``from-masks IMAGES --masks DIR --out DIR`` (another tool's masks, nnU-Net's ``labelsTr``, as LabelMe outlines)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
from pathlib import Path

from PIL import Image

from scintiseg.cli.arguments import seed
from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.atomic import same_file, write_text_atomic
from scintiseg.io.file_keys import output_stem
from scintiseg.io.labelme import read_labelme, write_labelme
from scintiseg.io.reader_labels import LESION_LABEL, label_kind, reader_lesions
from scintiseg.io.voc import annotation_of, box_kind, read_voc_folder
from scintiseg.prepare.consensus import DEFAULT_THRESHOLD, consensus
from scintiseg.scan import Annotation


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``annotations`` with its ``consensus``, ``from-boxes`` and ``from-masks`` subcommands."""
    parser = subparsers.add_parser(
        "annotations",
        help="work with physicians' LabelMe annotations (reader consensus; outlines from boxes or masks)",
        description="Work with physicians' LabelMe annotations.",
    )
    sub = parser.add_subparsers(dest="annotations_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    cmd = sub.add_parser(
        "consensus",
        help="accept one reader's labels at random when all readers agree, else flag for re-annotation",
        description="Paper B §2.2: the area difference (1 - IoU) between every pair of readers' lesion curves "
        "must be within the threshold; then one reader's labels are chosen at random as ground truth (drawn "
        "from --seed and the image's identity, so each image draws its own reader and a re-run draws the same), "
        "otherwise the image is flagged for re-annotation. Each closed curve is a lesion (curves of one reader "
        "that overlap are one), matched one to one between readers; the files must annotate one view of one "
        "image. See docs/io.md. Prints (or writes with --out) the decision and the pairwise table as JSON.",
    )
    cmd.add_argument("readers", nargs="+", metavar="READER.json", help="one LabelMe file per reader (2 or more)")
    cmd.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="largest area difference (default 0.05)")
    cmd.add_argument("--seed", type=seed, default=0, help="seed of the random choice of reader, drawn with the image's identity: each "
                     "image its own reader (default 0)")
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
    masks = sub.add_parser(
        "from-masks",
        help="LabelMe outlines from another tool's masks (nnU-Net's labelsTr, 0/1 PNG): for `dataset import --labels`",
        description="For each one-view image with a mask in DIR (<stem>.nii.gz, .nii or .png, nnU-Net's label of "
        "<stem>_0000.nii.gz too; every non-zero label a lesion), write the mask's outlines as OUT/<image stem>.json, "
        "a LabelMe file with the image embedded, for `scintiseg dataset import IMAGES --labels OUT`: a data set "
        "prepared for nnU-Net, or any tool's masks, becomes a scintiseg data set. Images without a mask are passed "
        "over; a mask of another size than its image is listed, not written.",
    )
    masks.add_argument("inputs", nargs="+", metavar="IMAGE", help="image files or folders (as `predict` reads them)")
    masks.add_argument("--masks", required=True, metavar="DIR", help="the folder of masks")
    masks.add_argument("--out", required=True, metavar="DIR", help="folder for the LabelMe files")
    masks.add_argument("--label", default="lesion", help="label of the outlines (default: lesion)")
    masks.set_defaults(func=run_from_masks)


def run_consensus(args: argparse.Namespace) -> int:
    if args.out and any(same_file(args.out, path) for path in args.readers):
        # (the decision replaced that reader's outlines: session 61)
        raise ScintisegError("is one of the readers' files: the decision would replace its outlines; give --out a "
                             "new file", path=args.out)
    annotations = [read_labelme(path, root=args.root) for path in args.readers]
    if not args.label:  # each reader's lesions by the names readers give them (scintiseg.io.reader_labels)
        annotations = [reader_lesions(annotation, path) for annotation, path in zip(annotations, args.readers)]
    decision = consensus(annotations, threshold=args.threshold, seed=args.seed, labels=args.label or [LESION_LABEL],
                         files=args.readers, embedded=[_embedded_pixels(path) for path in args.readers])
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


def _embedded_pixels(path: str) -> str | None:
    """SHA-256 of the pixels of the image a LabelMe file embeds (``imageData``), None when it embeds none: two
    files embedding the same pixels annotate one image, whatever their ``imagePath`` names. Called after
    :func:`~scintiseg.io.labelme.read_labelme` accepted the file (its size bounded, its image decodable)."""
    data = json.loads(Path(path).read_bytes()).get("imageData")
    if not isinstance(data, str) or not data:
        return None
    with Image.open(io.BytesIO(base64.b64decode(data)), formats=("PNG", "JPEG")) as image:
        digest = hashlib.sha256(f"{image.mode} {image.size}\n".encode())
        digest.update(image.tobytes())
    return digest.hexdigest()


def _outline_images(inputs: list[str], out: Path, label: str, source, outline) -> tuple[int, int, list[str]]:
    """Write ``out/<image stem>.json`` for each one-view image ``source(path)`` finds something for (None: passed
    over), with the outlines of the mask ``outline(path, found, image)`` gives; never two images' files on one name.

    Returns:
        ``(files written, outlines, skipped lines)``: an image that cannot be read, has two views or whose
        ``outline`` raises a :class:`~scintiseg.errors.ScintisegError` is skipped with its reason.
    """
    from scintiseg.report.batch import expand_inputs  # lazy: only these subcommands

    if label_kind(label) != "lesion":  # `dataset import` and `review` would refuse or drop every outline
        raise ScintisegError(f"--label {label!r} does not name a lesion (lesion, metastasis, mets, abnormal, tumour, "
                             "...): the outlines would not be read as lesions")
    written = outlines = 0
    skipped: list[str] = []
    stems: set[str] = set()
    for path in expand_inputs(inputs):
        found = source(path)
        if found is None:
            continue
        stem = output_stem(path)
        if stem in stems:  # OUT/<stem>.json is taken: never overwrite another image's outlines
            skipped.append(f"{path}: another image of this run is also named {stem!r}")
            continue
        try:
            scan = read_scan(path, view="name")
            if len(scan.view_names) != 1:
                raise ScintisegError(f"{len(scan.view_names)} views (outlines are placed on one-view images)")
            view = scan.view_names[0]
            mask = outline(path, found, scan.view(view))
        except ScintisegError as exc:
            skipped.append(str(exc) if exc.path else f"{path}: {exc.problem}")
            continue
        labelled = Annotation.from_mask(mask, label=label, view=view)
        write_labelme(labelled, out / f"{stem}.json", image=scan.view(view))
        stems.add(stem)
        written += 1
        outlines += len(labelled.shapes)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    return written, outlines, skipped


def run_from_boxes(args: argparse.Namespace) -> int:
    from scintiseg.prepare.box_outlines import outlines_from_boxes  # lazy: only this subcommand

    found = read_voc_folder(args.boxes)  # checked before any image: a bad file is one line
    boxes = {"lesion": 0, "empty": 0}

    def outline(path, annotation, image):
        if annotation.shape is not None and tuple(image.shape) != annotation.shape:
            raise ScintisegError(f"the image is {image.shape[1]} x {image.shape[0]}, {annotation.path.name} "
                                 f"declares {annotation.shape[1]} x {annotation.shape[0]}", path=path)
        mask, none = outlines_from_boxes(image, annotation.boxes)
        boxes["lesion"] += sum(box_kind(box) == "lesion" for box in annotation.boxes)
        boxes["empty"] += none
        return mask

    out = Path(args.out)
    written, outlines, skipped = _outline_images(args.inputs, out, args.label, lambda path: annotation_of(found, path),
                                                 outline)
    print(f"{written} LabelMe file(s) written to {out}: {outlines} outline(s) from {boxes['lesion']} lesion box(es), "
          f"{boxes['empty']} box(es) with no hot spot; {len(skipped)} image(s) skipped", file=sys.stderr)
    return 1 if skipped else 0


def run_from_masks(args: argparse.Namespace) -> int:
    from scintiseg.io.nnunet import mask_of, read_nnunet_mask  # lazy: only this subcommand

    folder, out = Path(args.masks), Path(args.out)
    if not folder.is_dir():
        raise ScintisegError("no such folder of masks", path=folder)
    without = []

    def source(path):
        mask_path = mask_of(path, folder)
        if mask_path is None:
            without.append(path)
        return mask_path

    written, outlines, skipped = _outline_images(args.inputs, out, args.label, source,
                                                 lambda path, mask_path, image: read_nnunet_mask(mask_path, image.shape))
    print(f"{written} LabelMe file(s) written to {out}: {outlines} outline(s); {len(without)} image(s) without a mask, "
          f"{len(skipped)} skipped", file=sys.stderr)
    return 1 if skipped else 0
