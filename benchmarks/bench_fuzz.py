"""Fuzz every reader the command line uses with mutated files; count clean errors, accepts and the rest.

    python benchmarks/bench_fuzz.py --n 10000 --seed 0 --json fuzz.json       # every kind
    python benchmarks/bench_fuzz.py --n 300 --kinds dicom png tiff npy raw    # the scan readers only
    python benchmarks/bench_fuzz.py --replay dicom:123 --seed 0 --save DIR    # one input again, in-process

Each input is a valid file of one *kind* (below), mutated one to three times, and read by the library
function the CLI calls for that kind. The outcome is one of

* ``clean``: a :class:`~scintiseg.errors.ScintisegError` (what the CLI prints as one line, exit 2);
* ``accept``: the reader returned;
* ``unexpected``: any other exception -- a traceback for the user. Distinct ones (type and the
  innermost scintiseg frame) are listed with their first traceback line and a reproducer;
* ``hang``: no answer within ``--timeout`` seconds (the worker is killed and replaced);
* ``crash``: the worker process died (a segfault in a C decoder, or the memory limit).

Inputs run in ``--workers`` spawned worker processes, each with a ``--memory-gb`` limit on its heap
(``RLIMIT_DATA``), its working directory and ``HOME`` in an empty sandbox folder. After every input the
worker lists the sandbox and the input's own folder: a reader that writes anything (a cache, a temp file,
a pickle payload's file) is reported under ``writes``. The launch folder and the real ``HOME`` are also
listed (two levels deep) before and after the whole run; differences there are reported but may come
from other processes.

Kinds and their readers (the functions the CLI calls):

==========  ==============================================================  ======================
kind        valid seeds                                                     reader
==========  ==============================================================  ======================
dicom       NM multi-frame and single-frame in explicit/implicit little      ``read_scan``
            endian, explicit big endian, deflated, RLE, JPEG-LS (pyjpegls),
            hand-encapsulated JPEG baseline and JPEG 2000 (Pillow) fragments,
            an undecodable JPEG-lossless fragment, JPEG Lossless and JPEG
            2000 files written by GDCM; the real NEMA NM1 file, also as
            JPEG Lossless
png         16-bit and 8-bit grey PNG                                       ``read_scan``
jpeg        8-bit JPEG exports: grey, progressive, grey stored as colour     ``read_scan``
tiff        2-D, two-view stack, float32, zlib-compressed TIFF               ``read_scan``
npy         2-D uint16, (2, rows, cols) float32, big-endian int32            ``read_scan``
raw         headerless matrices with their --shape/--dtype/--byteorder       ``read_scan(shape=...)``
labelme4    LabelMe 4.5 JSON, imagePath to a PNG beside it                   ``read_labelme`` + mask
labelme5    LabelMe 5 JSON with embedded imageData                           ``read_labelme`` + mask
dataset     a two-patient data-set folder (DICOM, LabelMe, mask PNG)         ``load_manifest`` +
                                                                            ``check_dataset``
splits      the same folder's splits.json                                   ``load_splits``
checkpoint  a tiny U-Net in the scintiseg checkpoint format (torch.save)     ``load_model_from_
                                                                            checkpoint``
yaml        a training configuration (TrainConfig.save_yaml)                 ``TrainConfig.from_yaml``
voc         Pascal VOC hot-spot boxes: BS-80K-like, and written by write_voc ``read_voc`` + boxes
                                                                            scored on a mask
interfile   an Interfile header and its data file: one big-endian uint16     ``read_scan``
            view, two little-endian float32 views (session 21)
metaimage   MetaImage: a .mhd header and its .raw data file (uint16), an    ``read_scan``
            .mha with two zlib-compressed int16 planes (session 23)
nifti       NIfTI-1 .nii (uint16, rows first), NIfTI-2 .nii.gz (two          ``read_scan``
            float32 views, columns first) (session 23)
npz         NumPy archives: ant + post uint16 views, a mask and a pixel     ``read_scan``
            size; one compressed (2, rows, cols) float32 array (session 38)
labels      image-level labels: a CSV with a header, BS-80K's per-folder    ``read_label_files``
            list (session 52)
sidecar     an ONNX export's ``model.onnx.json`` beside a tiny ONNX file    ``load_onnx_model``
            (a whole-view model, a two-channel adapted one; session 66)
gan-        a GAN run's ``normalisation.json`` beside its config.yaml and   ``gan.sample.load_run``
normalis-   generator.pt (a set output size; one read from the crops')      (``read_normalisation``)
ation
run-split   a training run's ``split.json``, read for --split val / train   ``cases_of_split``
scores-csv  a cell's ``per_image.csv`` (test set) and ``per_case.csv``      ``read_image_scores``
            (evaluate), each by its writer
report-     a prediction folder of ``scintiseg predict`` (phantom 7, the    ``is_edited`` +
json        shipped model): report.json, LabelMe files, masks, the scan     ``predict_again`` up to
                                                                            the lesion network
review      the same folder, its LabelMe files edited as a reader or a      ``scintiseg review
            buggy tool would (session 66)                                   FOLDER --out OUT``
                                                                            (``cli.main``), a
                                                                            stand-in network
==========  ==============================================================  ======================

Mutations: truncation, bit flips, extreme integers over length and offset fields, deleted / repeated /
inserted byte runs, and format-aware ones -- DICOM header values (Rows, frames, bits, spacing, rescale,
detector vector, photometric interpretation, nested sequences, transfer syntax that lies about the
encoding, RLE/fragment headers, removed delimiters), PNG chunks with valid CRCs (IHDR fields, IDAT
data, unknown critical chunks), TIFF IFD entries (sizes, types, counts, offsets, loops), .npy headers
(shape, dtype, version), raw parameters, and for JSON/YAML/checkpoints a random node of the document
replaced by a hostile value (NaN, infinities, huge or negative numbers, wrong types, path traversal,
deep nesting, long lists), plus YAML tags, alias bombs and invalid UTF-8. Records a command wrote and a later one
reads back (session 66: sidecar, gan-normalisation, run-split, report-json) also get each key's value of another JSON
type, keys removed or added, integers beyond a float (10**400), NaN and infinities, deep nesting
(:func:`mutate_record`); a scores CSV, values ``float()`` overflows on or cannot read and misaligned columns.
A review input's LabelMe files get what a reader or their tool does to them (:func:`mutate_review_labelme`): shapes
deleted, relabelled, duplicated or drawn (polygons, rectangles, circles), shape keys missing or of another type,
unknown labels, points of the wrong shape or type, NaN, huge or off the image, 0-2 point and self-intersecting
polygons, odd ``group_id``/``flags``, ``imageHeight``/``imageWidth`` changed, ``imageData`` damaged; a review is
``accept`` only with a complete ``OUT/report.json``, ``clean`` when the command exits 2 (or 1, a batch's failures)
with one line, and a refusal that leaves anything in ``OUT`` or beside it is listed under ``writes``.

Every input is deterministic in ``(--seed, kind, index)``; ``--replay kind:index`` regenerates one and
runs it in this process with its full traceback. Results of a full run go to docs/robustness-fuzz.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib
import io
import json
import logging
import multiprocessing
import os
import re
import resource
import shutil
import struct
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable

import nibabel
import numpy as np
import pydicom
import pydicom.config
import tifffile
import yaml
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import Case, DatasetManifest, check_dataset, load_manifest, load_splits, save_manifest
from scintiseg.io.dicom import scan_to_dataset, write_dicom
from scintiseg.io.images import write_mask_png, write_png16
from scintiseg.io.labelme import read_labelme, write_labelme
from scintiseg.io.voc import VocBox, read_voc, write_voc
from scintiseg.prepare.splits import split_dataset
from scintiseg.report.box_labels import score_image
from scintiseg.report.image_labels import read_label_files
from scintiseg.scan import Annotation, Scan
from scintiseg.train.config import TrainConfig

try:
    import gdcm  # the JPEG Lossless and JPEG 2000 seeds (python-gdcm); without it they are left out
except ImportError:  # pragma: no cover
    gdcm = None

ROOT = Path(__file__).resolve().parents[1]
REAL_NM1 = ROOT / ".." / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"

#: Every kind of file the harness knows, in the order inputs are dealt out.
KINDS: tuple[str, ...] = (
    "dicom", "png", "tiff", "npy", "raw", "labelme4", "labelme5", "dataset", "splits", "checkpoint", "yaml", "jpeg",
    "voc", "interfile", "metaimage", "nifti", "npz", "labels",
    # records an earlier command wrote, read back by a later one (session 66)
    "sidecar", "gan-normalisation", "run-split", "scores-csv", "report-json",
    # the physician's correction loop: the whole of ``scintiseg review`` after a reader's edits (session 66)
    "review",
)
#: The scan readers (scintiseg.io.dicom and scintiseg.io.images); tests/io/test_fuzz_harness.py holds them to 0.
SCAN_KINDS: tuple[str, ...] = ("dicom", "png", "tiff", "npy", "raw", "jpeg", "interfile", "metaimage", "nifti", "npz")
OUTCOMES: tuple[str, ...] = ("clean", "accept", "unexpected", "hang", "crash")


# ================================================================================================ seeds


def _counts(rng: np.random.Generator, shape: tuple[int, ...], mean: float = 40.0) -> np.ndarray:
    return rng.poisson(mean, shape).astype(np.uint16)


def _write_seed(folder: Path, files: dict[str, bytes], target: str, **args: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / "seed.json").write_text(json.dumps({"target": target, "args": args}))


def _dicom_seeds(out: Path, rng: np.random.Generator) -> None:
    two = Scan({"ANT": _counts(rng, (64, 32)), "POST": _counts(rng, (64, 32), 30)}, patient_id="FUZZ2")
    one = Scan({"VIEW": _counts(rng, (48, 24))}, patient_id="FUZZ1")
    uid = pydicom.uid

    def save(name: str, ds, **kwargs) -> None:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(buffer, enforce_file_format=True, **kwargs)
        _write_seed(out / name, {"seed.dcm": buffer.getvalue()}, "seed.dcm")

    for scan, tag in ((two, "nm2"), (one, "nm1")):
        save(f"{tag}-explicit-le", scan_to_dataset(scan))
        ds = scan_to_dataset(scan)
        ds.file_meta.TransferSyntaxUID = uid.ImplicitVRLittleEndian
        save(f"{tag}-implicit-le", ds)
        ds = scan_to_dataset(scan)
        ds.file_meta.TransferSyntaxUID = uid.ExplicitVRBigEndian
        ds.PixelData = np.stack(list(scan.views.values())).astype(">u2").tobytes()
        save(f"{tag}-explicit-be", ds)
        ds = scan_to_dataset(scan)
        ds.file_meta.TransferSyntaxUID = uid.DeflatedExplicitVRLittleEndian
        save(f"{tag}-deflated", ds)
        ds = scan_to_dataset(scan)
        ds.compress(uid.RLELossless)
        save(f"{tag}-rle", ds)
        try:
            ds = scan_to_dataset(scan)
            ds.compress(uid.JPEGLSLossless)
            save(f"{tag}-jpegls", ds)
        except Exception:  # noqa: BLE001 - the JPEG-LS encoder is optional (pyjpegls)
            pass
        frames = np.stack(list(scan.views.values()))
        # Hand-made encapsulated fragments, one per frame, from Pillow's encoders.
        for syntax, fmt, bits, options in (
            (uid.JPEGBaseline8Bit, "JPEG", 8, {"quality": 95}),
            (uid.JPEG2000Lossless, "JPEG2000", 16, {"irreversible": False, "no_jp2": True}),
        ):
            fragments = []
            for frame in frames:
                buffer = io.BytesIO()
                image = frame.astype(np.uint8) if bits == 8 else frame
                Image.fromarray(image).save(buffer, format=fmt, **options)
                fragments.append(buffer.getvalue())
            ds = scan_to_dataset(scan)
            ds.file_meta.TransferSyntaxUID = syntax
            ds.BitsAllocated = ds.BitsStored = bits
            ds.HighBit = bits - 1
            ds.PixelData = encapsulate(fragments)
            ds["PixelData"].VR = "OB"
            ds["PixelData"].is_undefined_length = True
            save(f"{tag}-{fmt.lower()}", ds)
    # A JPEG Lossless fragment that is no JPEG stream (a start-of-frame and zeros): reading must fail cleanly.
    ds = scan_to_dataset(two)
    ds.file_meta.TransferSyntaxUID = uid.JPEGLosslessSV1
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xc3" + bytes(200) + b"\xff\xd9"] * 2)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    save("nm2-jpeg-lossless-undecodable", ds)
    # Valid JPEG Lossless (Process 14 SV1) and JPEG 2000 files as GDCM writes them (session 21: JPEG Lossless is
    # decoded by GDCM in a child process, scintiseg.io.isolated_decode).
    for scan, tag in ((two, "nm2"), (one, "nm1")):
        ds = scan_to_dataset(scan)
        del ds.DetectorInformationSequence  # GDCM's reader aborts on detector items without a position
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        for syntax in ("JPEGLosslessProcess14_1", "JPEG2000Lossless"):
            encoded = _gdcm_encoded(buffer.getvalue(), syntax)
            if encoded is not None:
                _write_seed(out / f"{tag}-gdcm-{syntax.lower()}", {"seed.dcm": encoded}, "seed.dcm")
    if REAL_NM1.is_file():
        _write_seed(out / "real-nm1", {"seed.dcm": REAL_NM1.read_bytes()}, "seed.dcm")
        encoded = _gdcm_encoded(REAL_NM1.read_bytes(), "JPEGLosslessProcess14_1")
        if encoded is not None:
            _write_seed(out / "real-nm1-jpeg-lossless", {"seed.dcm": encoded}, "seed.dcm")


def _gdcm_encoded(data: bytes, syntax: str) -> bytes | None:
    """A DICOM file's bytes re-encoded by GDCM in ``syntax`` (a ``gdcm.TransferSyntax`` name); None without GDCM."""
    if gdcm is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "in.dcm", Path(scratch) / "out.dcm"
        source.write_bytes(data)
        reader = gdcm.ImageReader()
        reader.SetFileName(str(source))
        if not reader.Read():
            return None
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, syntax)))
        change.SetInput(reader.GetImage())
        if not change.Change():
            return None
        writer = gdcm.ImageWriter()
        writer.SetFileName(str(target))
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        return target.read_bytes() if writer.Write() else None


def _image_seeds(out: Path, rng: np.random.Generator) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_png16(_counts(rng, (64, 32), 300), Path(tmp) / "a.png")
        _write_seed(out / "png" / "grey16", {"seed.png": (Path(tmp) / "a.png").read_bytes()}, "seed.png")
    buffer = io.BytesIO()
    Image.fromarray(_counts(rng, (40, 20)).astype(np.uint8)).save(buffer, format="PNG")
    _write_seed(out / "png" / "grey8", {"seed.png": buffer.getvalue()}, "seed.png")
    # Its own generator, so that the seeds of the other kinds stay those of the runs recorded before it existed.
    grey = np.clip(_counts(np.random.default_rng(20261201), (48, 24)) * 3, 0, 255).astype(np.uint8)
    for name, image, kwargs in (
        ("grey", Image.fromarray(grey), {"quality": 90}),
        ("progressive", Image.fromarray(grey), {"quality": 75, "progressive": True}),
        ("rgb-grey", Image.fromarray(grey).convert("RGB"), {"quality": 95}),
    ):
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", **kwargs)
        _write_seed(out / "jpeg" / name, {"seed.jpg": buffer.getvalue()}, "seed.jpg")

    for name, array, kwargs in (
        ("plain", _counts(rng, (64, 32)), {}),
        ("two-views", np.stack([_counts(rng, (48, 24)), _counts(rng, (48, 24))]), {}),
        ("float32", _counts(rng, (32, 32)).astype(np.float32), {}),
        ("zlib", _counts(rng, (64, 32)), {"compression": "zlib"}),
    ):
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, array, **kwargs)
        _write_seed(out / "tiff" / name, {"seed.tif": buffer.getvalue()}, "seed.tif")

    for name, array in (
        ("uint16", _counts(rng, (64, 32))),
        ("two-views-float32", np.stack([_counts(rng, (32, 16)), _counts(rng, (32, 16))]).astype(np.float32)),
        ("int32-big-endian", _counts(rng, (32, 32)).astype(">i4")),
    ):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        _write_seed(out / "npy" / name, {"seed.npy": buffer.getvalue()}, "seed.npy")

    for name, shape, dtype, order in (
        ("uint16-le", (64, 32), "uint16", "<"),
        ("int16-be", (32, 32), "int16", ">"),
        ("float32-two-views", (2, 32, 16), "float32", "<"),
    ):
        array = _counts(rng, shape).astype(np.dtype(dtype).newbyteorder(order))
        _write_seed(out / "raw" / name, {"seed.raw": array.tobytes()}, "seed.raw",
                    shape="x".join(map(str, shape)), dtype=dtype, byteorder=order)


def _labelme_seeds(out: Path, rng: np.random.Generator) -> None:
    image = _counts(rng, (64, 32))
    mask = np.zeros(image.shape, dtype=bool)
    mask[10:18, 5:12] = True
    mask[40:44, 20:27] = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_labelme(Annotation.from_mask(mask, view="ANT"), tmp / "case_ANT.json", image=image)
        v5 = json.loads((tmp / "case_ANT.json").read_text())
        write_png16(image, tmp / "case_ANT.png")
        png = (tmp / "case_ANT.png").read_bytes()
    _write_seed(out / "labelme5" / "embedded", {"case_ANT.json": json.dumps(v5).encode()}, "case_ANT.json")
    v5_rect = dict(v5, shapes=v5["shapes"] + [
        {"label": "lesion", "points": [[3.5, 50.0], [9.0, 56.5]], "shape_type": "rectangle", "group_id": 1,
         "description": "", "flags": {}},
        {"label": "lesion", "points": [[20.0, 5.0], [23.0, 7.0]], "shape_type": "circle", "group_id": None,
         "description": "", "flags": {}},
        {"label": "note", "points": [[1.0, 1.0]], "shape_type": "point", "group_id": None, "description": "",
         "flags": {}},
    ])
    _write_seed(out / "labelme5" / "shape-types", {"case_ANT.json": json.dumps(v5_rect).encode()}, "case_ANT.json")
    # LabelMe 4.5: colours per shape, no description, image beside the JSON instead of embedded.
    v4 = {
        "version": "4.5.13", "flags": {}, "lineColor": [0, 255, 0, 128], "fillColor": [255, 0, 0, 128],
        "shapes": [
            {"label": s["label"], "line_color": None, "fill_color": None, "points": s["points"],
             "group_id": None, "shape_type": s["shape_type"], "flags": {}}
            for s in v5["shapes"]
        ],
        "imagePath": "case_ANT.png", "imageData": None, "imageHeight": 64, "imageWidth": 32,
    }
    _write_seed(out / "labelme4" / "image-beside", {"case_ANT.json": json.dumps(v4).encode(), "case_ANT.png": png},
                "case_ANT.json")
    v4_sizeless = {k: v for k, v in v4.items() if k not in ("imageHeight", "imageWidth")}
    _write_seed(out / "labelme4" / "size-from-image",
                {"case_ANT.json": json.dumps(v4_sizeless).encode(), "case_ANT.png": png}, "case_ANT.json")


def _dataset_seeds(out: Path, rng: np.random.Generator) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        cases = []
        for p in range(3):
            case_id = f"P{p:03d}"
            scan = Scan({"ANT": _counts(rng, (32, 16)), "POST": _counts(rng, (32, 16))}, patient_id=case_id)
            write_dicom(scan, root / "images" / f"{case_id}.dcm")
            mask = np.zeros((32, 16), dtype=bool)
            mask[4 + p : 9 + p, 3:8] = True
            write_labelme(Annotation.from_mask(mask, view="ANT"), root / "labels" / f"{case_id}_ANT.json",
                          image=scan.view("ANT"))
            write_mask_png(mask, root / "masks" / f"{case_id}_POST.png")
            cases.append(Case(case_id=case_id, patient_id=case_id, image=f"images/{case_id}.dcm",
                              labels={"ANT": f"labels/{case_id}_ANT.json"},
                              masks={"POST": f"masks/{case_id}_POST.png"}))
        save_manifest(DatasetManifest(name="fuzz", views=["ANT", "POST"], pixel_spacing=(2.26, 2.26), cases=cases),
                      root)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            split_dataset(root, test=0.34, seed=0, folds=2)
        files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    _write_seed(out / "dataset" / "three-patients", files, "dataset.json")
    _write_seed(out / "splits" / "three-patients", files, "splits.json")


def _checkpoint_seeds(out: Path) -> None:
    import torch  # lazy: only this kind needs torch

    from scintiseg.models import create_model  # lazy: start-up time: it imports torch, which only this kind needs

    torch.manual_seed(0)
    model = create_model("unet", width=4, depth=2)
    state = {
        "format": "scintiseg-checkpoint", "version": 1, "epoch": 1,
        "model": model.state_dict(), "model_config": dict(model.config),
        "config": {"model": "unet", "epochs": 1}, "history": [{"epoch": 1, "train_loss": 0.5, "val_dsc": 0.1}],
        "best": {"epoch": 1, "value": 0.1, "monitor": "val_dsc"}, "early_stopping_wait": 0,
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _write_seed(out / "checkpoint" / "unet-w4-d2", {"best.pt": buffer.getvalue()}, "best.pt")


def _yaml_seeds(out: Path) -> None:
    config = TrainConfig(data="data/crops", out="runs/fuzz", model="dpunet",
                         model_args={"pooling": "fusion", "dac": "dac2", "rmp": True, "width": 8}, epochs=3)
    text = yaml.safe_dump(config.to_dict(), sort_keys=False)
    _write_seed(out / "yaml" / "train-config", {"config.yaml": text.encode()}, "config.yaml")


def _voc_seeds(out: Path) -> None:
    bs80k = (b"<annotation><folder>JPEGImages</folder><filename>0001.jpg</filename><source><database>BS-80K"
             b"</database></source><size><width>64</width><height>256</height><depth>3</depth></size><segmented>0"
             b"</segmented><object><name>Abnormal</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0"
             b"</difficult><bndbox><xmin>10</xmin><ymin>40</ymin><xmax>18.5</xmax><ymax>52</ymax></bndbox></object>"
             b"<object><name>Normal</name><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>200</ymin><xmax>64"
             b"</xmax><ymax>256</ymax></bndbox></object></annotation>")
    _write_seed(out / "voc" / "bs80k-like", {"0001.xml": bs80k}, "0001.xml")
    with tempfile.TemporaryDirectory() as tmp:
        write_voc(Path(tmp) / "crop.xml", "crop.jpg", (154, 68),
                  [VocBox("Abnormal", (3, 9), (0, 5)), VocBox("Normal", (100, 120), (30, 67)),
                   VocBox("Abnormal", (50, 50), (20, 20), difficult=True)])
        _write_seed(out / "voc" / "written", {"crop.xml": (Path(tmp) / "crop.xml").read_bytes()}, "crop.xml")


def _labels_seeds(out: Path) -> None:
    """Image-level labels as ``predict --labels`` reads them: a CSV with a header, and BS-80K's per-folder list."""
    csv_text = ("file,label\nscans/0001.dcm,abnormal\nscans/0002.dcm,normal\n\"scans/a, b.png\",1\n"
                "scans/0004.jpg,no\n")
    _write_seed(out / "labels" / "csv", {"labels.csv": csv_text.encode()}, "labels.csv")
    _write_seed(out / "labels" / "bs80k-list", {"wholeBodyANT.txt": b"0001.jpg 1\n0002.jpg 0\n0003.jpg 0\n"},
                "wholeBodyANT.txt")


def _interfile_seeds(out: Path, rng: np.random.Generator) -> None:
    """An Interfile header and its data file: one big-endian uint16 view with its pixel size, and two
    little-endian float32 views without one (as a simulator writes them)."""
    header = ("!INTERFILE :=\n!imaging modality := nucmed\n!version of keys := 3.3\n!name of data file := scan.a00\n"
              "patient name := Fuzz^Patient\n!patient ID := FUZZ\nimagedata byte order := {order}\n"
              "!number format := {fmt}\n!number of bytes per pixel := {size}\n!matrix size [1] := 32\n"
              "!matrix size [2] := 64\n{spacing}!total number of images := {images}\ndata offset in bytes := 0\n"
              "!END OF INTERFILE :=\n")
    one = _counts(rng, (64, 32))
    _write_seed(out / "interfile" / "one-be-u16", {
        "scan.h00": header.format(order="BIGENDIAN", fmt="unsigned integer", size=2, images=1,
                                  spacing="scaling factor (mm/pixel) [1] := 2.4\nscaling factor (mm/pixel) [2] := 2.4\n").encode(),
        "scan.a00": one.astype(">u2").tobytes()}, "scan.h00")
    two = np.stack([_counts(rng, (64, 32)), _counts(rng, (64, 32), 30)]).astype("<f4")
    _write_seed(out / "interfile" / "two-le-f32", {
        "scan.h00": header.format(order="LITTLEENDIAN", fmt="short float", size=4, images=2, spacing="").encode(),
        "scan.a00": two.tobytes()}, "scan.h00")


def _metaimage_seeds(out: Path, rng: np.random.Generator) -> None:
    """A ``.mhd`` header with its ``.raw`` data file (one uint16 view, its pixel size) and an ``.mha`` holding two
    zlib-compressed big-endian int16 planes after its header (as ITK and GATE write them)."""
    one = _counts(rng, (64, 32))
    _write_seed(out / "metaimage" / "mhd-raw-u16", {
        "scan.mhd": (b"ObjectType = Image\nNDims = 2\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
                     b"CompressedData = False\nElementSpacing = 2.4 2.4\nDimSize = 32 64\nElementType = MET_USHORT\n"
                     b"ElementDataFile = scan.raw\n"),
        "scan.raw": one.astype("<u2").tobytes()}, "scan.mhd")
    two = np.stack([_counts(rng, (64, 32)), _counts(rng, (64, 32), 30)]).astype(">i2").tobytes()
    packed = zlib.compress(two)
    header = ("ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = True\nCompressedData = True\n"
              f"CompressedDataSize = {len(packed)}\nElementSpacing = 2.26 2.26 1\nDimSize = 32 64 2\n"
              "ElementType = MET_SHORT\nElementDataFile = LOCAL\n").encode()
    _write_seed(out / "metaimage" / "mha-local-zlib", {"scan.mha": header + packed}, "scan.mha")


def _nifti_seeds(out: Path, rng: np.random.Generator) -> None:
    """A NIfTI-1 ``.nii`` of one uint16 view stored rows first (a NumPy array saved as it is), and a gzipped
    NIfTI-2 of two float32 views stored columns first (as ITK writes them), in metres."""
    with tempfile.TemporaryDirectory() as tmp:
        one = nibabel.Nifti1Image(_counts(rng, (64, 32)), np.diag([2.26, 2.26, 1.0, 1.0]))
        nibabel.save(one, Path(tmp) / "scan.nii")
        views = np.stack([_counts(rng, (64, 32)).T, _counts(rng, (64, 32), 30).T], axis=-1).astype(np.float32)
        two = nibabel.Nifti2Image(views, np.diag([0.0024, 0.0024, 1.0, 1.0]))
        two.header.set_xyzt_units("meter")
        nibabel.save(two, Path(tmp) / "scan.nii.gz")
        _write_seed(out / "nifti" / "n1-u16", {"scan.nii": (Path(tmp) / "scan.nii").read_bytes()}, "scan.nii")
        _write_seed(out / "nifti" / "n2-gz-f32", {"scan.nii.gz": (Path(tmp) / "scan.nii.gz").read_bytes()}, "scan.nii.gz")


def _npz_seeds(out: Path, rng: np.random.Generator) -> None:
    """A phantom's archive (``ant`` and ``post`` uint16 views, a boolean mask, a pixel size, a patient id; stored) and
    one compressed ``(2, rows, cols)`` float32 array with no names (``np.savez_compressed``)."""
    named, plain = io.BytesIO(), io.BytesIO()
    np.savez(named, ant=_counts(rng, (64, 32)), post=_counts(rng, (64, 32), 30), ant_mask=_counts(rng, (64, 32)) > 45,
             pixel_spacing=np.array([2.26, 2.4]), patient_id="FUZZ1")
    np.savez_compressed(plain, np.stack([_counts(rng, (64, 32)), _counts(rng, (64, 32))]).astype(np.float32))
    _write_seed(out / "npz" / "named-u16", {"scan.npz": named.getvalue()}, "scan.npz")
    _write_seed(out / "npz" / "stack-f32-deflated", {"scan.npz": plain.getvalue()}, "scan.npz")


def _tiny_onnx(in_channels: int) -> bytes:
    """A 1 x 1 convolution from ``in_channels`` to one logit, built with onnx.helper (no torch, no export): input
    ``image`` (batch, C, height, width), output ``logits`` (batch, 1, height, width), opset 17, as export writes."""
    import onnx  # lazy: only the sidecar kind needs onnx
    from onnx import TensorProto, helper  # lazy: as above

    from scintiseg.predict.export import OPSET  # lazy: start-up time (onnxruntime behind it)

    weight = helper.make_tensor("w", TensorProto.FLOAT, (1, in_channels, 1, 1), [1.0 / in_channels] * in_channels)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["logits"])], "fuzz",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", in_channels, "height", "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1, "height", "width"])],
        initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _sidecar_seeds(out: Path) -> None:
    """An exported model's sidecar (``model.onnx.json``) beside a tiny ONNX file, as ``scintiseg export`` writes it
    (:mod:`scintiseg.cli.export`: ``data``, ``model_config``, ``shipped``, ``exported_from``, plus the format tags
    :func:`~scintiseg.predict.export.export_onnx` adds): a whole-view ANT model trained on phantoms, and a two-channel
    thoracic-crop model adapted to a site's scans (session 66)."""
    from scintiseg import __version__  # lazy: with the kind's other imports
    from scintiseg.predict.export import OPSET, SIDECAR_FORMAT, SIDECAR_VERSION  # lazy: start-up time (onnxruntime)

    tags = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "scintiseg_version": __version__, "opset": OPSET}
    whole = {
        "data": {"input_mode": "ant", "normalisation": "robust", "window_size": 256, "window": "whole", "pixel_mm": 2.26},
        "model_config": {"name": "dpunet", "in_channels": 1, "width": 4, "depth": 4},
        "shipped": {"name": "dpunet", "epoch": 8, "trained_on": "phantom patients made on the fly (profile default)",
                    "synthetic": True},
        "exported_from": "runs/fuzz", **tags, "in_channels": 1,
    }
    adapted = {
        "data": {"input_mode": "two_channel", "normalisation": "percentile", "window_size": 128, "window": "thoracic",
                 "real_scans": True, "adapted_on": ["site/scans"]},
        "model_config": {"name": "unet", "in_channels": 2, "width": 4, "depth": 2},
        "shipped": {"name": "unet", "epoch": 3, "trained_on": "data/crops, adapted to the scans in site/scans",
                    "synthetic": False, "real_scans": True, "adapted_on": ["site/scans"]},
        "exported_from": "runs/adapted/checkpoints/best.pt", **tags, "in_channels": 2,
    }
    for name, sidecar, channels in (("whole-ant", whole, 1), ("adapted-two-channel", adapted, 2)):
        _write_seed(out / "sidecar" / name, {"model.onnx": _tiny_onnx(channels),
                                             "model.onnx.json": (json.dumps(sidecar, indent=1) + "\n").encode()},
                    "model.onnx.json", onnx="model.onnx")


def _gan_normalisation_seeds(out: Path) -> None:
    """A tiny GAN run folder (``config.yaml``, ``checkpoints/generator.pt``, ``normalisation.json``) as
    ``scintiseg gan train`` writes it: one sampling at a set output size with the record tests/gan/conftest.py writes,
    one whose output size is the crops' (``source_size`` read back) with the full record of ``train_gan``."""
    import torch  # lazy: only this kind needs torch

    from scintiseg.gan.config import GanConfig  # lazy: start-up time (torch)
    from scintiseg.gan.train import CONFIG_NAME, GENERATOR_NAME, NORMALISATION_NAME, GanTrainer, save_trainer  # lazy: as above

    records = {
        "set-size": ({"output_size": 64}, {"views": ["ANT", "POST"], "scales": [50.0, 80.0, 120.0],
                                           "pixel_spacing": [2.26, 2.26], "source_size": 64}),
        "size-from-crops": ({"output_size": 0}, {
            "views": ["ANT", "POST"], "scales": [41.5, 77.25, 130.0, 96.0], "pixel_spacing": [2.26, 2.26],
            "source_size": 64, "training_cases": ["P000", "P001", "P002", "P003"],
            "training_patients": ["P000", "P001", "P002", "P003"], "held_out_patients": [], "held_out_fold": -1,
            "data": "/data/crops"}),
    }
    for name, (changes, record) in records.items():
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp)
            torch.manual_seed(0)
            config = GanConfig(**{**dict(views=["ANT", "POST"], native_size=32, latent_dim=16, base_width=8,
                                         batch_size=4, seed=3), **changes})
            config.save_yaml(run / CONFIG_NAME)
            save_trainer(GanTrainer(config), run)
            files = {CONFIG_NAME: (run / CONFIG_NAME).read_bytes(), GENERATOR_NAME: (run / GENERATOR_NAME).read_bytes(),
                     NORMALISATION_NAME: (json.dumps(record, indent=1) + "\n").encode()}
        _write_seed(out / "gan-normalisation" / name, files, NORMALISATION_NAME)


def _run_split_seeds(out: Path) -> None:
    """A training run's ``split.json`` as :func:`scintiseg.train.loop.train` writes it, read for ``evaluate --split
    val`` and for ``--split train``."""
    split = {"train": ["P000", "P001", "P003", "P004"], "val": ["P002"], "test": ["P005", "P006"],
             "labelled": ["P000", "P001", "P002", "P003", "P004", "P005", "P006"]}
    text = (json.dumps(split, indent=1) + "\n").encode()
    _write_seed(out / "run-split" / "val", {"split.json": text}, "split.json", split="val")
    _write_seed(out / "run-split" / "train", {"split.json": text}, "split.json", split="train")


def _scores_csv_seeds(out: Path) -> None:
    """A cell's per-image scores as ``experiment report`` reads them: a test set's ``per_image.csv``
    (:class:`~scintiseg.experiments.test_set.TestSetEvaluator`) and an evaluation's ``per_case.csv``
    (:func:`scintiseg.train.evaluate.evaluate_run`: TP from the DSC and the pixel counts), each by its writer."""
    from scintiseg.experiments.test_set import _per_image_csv  # lazy: start-up time (torch)
    from scintiseg.train.evaluate import _csv_text  # lazy: as above

    records = [{"image_id": f"P{p:03d}/{view}", "case_id": f"P{p:03d}", "patient_id": f"P{p:03d}", "view": view,
                "tp": tp, "fp": fp, "fn": fn, "dsc": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"),
                "recall": tp / (tp + fn) if tp + fn else float("nan"), "cpa": tp / (tp + fp) if tp + fp else float("nan"),
                "iou": tp / (tp + fp + fn) if tp + fp + fn else float("nan"), "lesions": lesions,
                "detected": detected, "false_positives": extra}
               for p, view, tp, fp, fn, lesions, detected, extra in ((0, "ANT", 40, 5, 7, 2, 2, 0),
                                                                     (0, "POST", 0, 0, 0, 0, 0, 0),
                                                                     (1, "ANT", 12, 30, 2, 1, 1, 2))]
    _write_seed(out / "scores-csv" / "per-image", {"per_image.csv": _per_image_csv(records).encode()}, "per_image.csv")
    rows = [{"case_id": f"P{p:03d}", "patient_id": f"P{p:03d}", "dsc": dsc, "recall": recall, "cpa": cpa, "iou": iou,
             "lesion_pixels": lesion, "predicted_pixels": predicted, "lesions": lesions, "detected": detected,
             "false_positives": extra}
            for p, dsc, recall, cpa, iou, lesion, predicted, lesions, detected, extra in (
                (0, 0.8, 0.851064, 0.888889, 0.666667, 47, 45, 2, 2, 0), (1, float("nan"), float("nan"), float("nan"),
                                                                         float("nan"), 0, 0, 0, 0, 0),
                (2, 0.4, 0.857143, 0.285714, 0.25, 14, 42, 1, 1, 2))]
    _write_seed(out / "scores-csv" / "per-case", {"per_case.csv": _csv_text(rows).encode()}, "per_case.csv")


#: Where a prediction folder's report.json names its scan: replaced by the input's own folder once it is mutated.
FOLDER_MARK = "@FUZZ_FOLDER@"


def _report_json_seeds(out: Path) -> None:
    """One scan's prediction folder as ``scintiseg predict`` writes it (phantom patient 7, ANT + POST DICOM, the
    shipped model): ``report.json``, the LabelMe files and masks, and the scan, which the report names by
    :data:`FOLDER_MARK` (several seconds: the model runs once)."""
    from scintiseg.cli import main as cli_main  # lazy: start-up time: the whole command line, for this kind only
    from scintiseg.phantom import generate_patient, profile  # lazy: as above

    with tempfile.TemporaryDirectory() as tmp:
        write_dicom(generate_patient(7, profile("default"), patient_id="PID-7").scan, Path(tmp) / "scan.dcm")
        with _quiet_generation(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            if cli_main(["predict", str(Path(tmp) / "scan.dcm"), "--out", str(Path(tmp) / "out"), "--quiet"]) != 0:
                raise RuntimeError("scintiseg predict failed on the report-json seed's scan")
        folder = Path(tmp) / "out" / "scan"
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
                 if p.name == "report.json" or p.name.endswith((".labelme.json", "_mask.png"))}
        files["report.json"] = files["report.json"].replace(str(Path(tmp) / "scan.dcm").encode(),
                                                            f"{FOLDER_MARK}/scan.dcm".encode())
        files["scan.dcm"] = (Path(tmp) / "scan.dcm").read_bytes()
    _write_seed(out / "report-json" / "predicted", files, "report.json")


def _review_seeds(out: Path) -> None:
    """The report-json kind's prediction folder (:func:`_report_json_seeds`, built when that kind's is not), as a
    reader gets it to correct in LabelMe."""
    if not (out / "report-json" / "predicted").is_dir():
        _report_json_seeds(out)
    shutil.copytree(out / "report-json" / "predicted", out / "review" / "predicted")


#: Single-kind seed builders that draw from build_seeds' generator, in the order they draw.
_RNG_SEEDS = {"interfile": _interfile_seeds, "metaimage": _metaimage_seeds, "nifti": _nifti_seeds, "npz": _npz_seeds}
#: Single-kind seed builders that draw nothing (review's builds report-json's seed first where it is missing).
_FIXED_SEEDS = {"checkpoint": _checkpoint_seeds, "yaml": _yaml_seeds, "voc": _voc_seeds, "labels": _labels_seeds,
                "sidecar": _sidecar_seeds, "gan-normalisation": _gan_normalisation_seeds,
                "run-split": _run_split_seeds, "scores-csv": _scores_csv_seeds, "report-json": _report_json_seeds,
                "review": _review_seeds}


def build_seeds(out: Path, kinds: tuple[str, ...] = KINDS) -> Path:
    """Write the valid seed files of ``kinds`` under ``out/<kind>/<variant>/``; returns ``out``."""
    rng = np.random.default_rng(20240514)  # the builders that draw from it, in this order (the seeds depend on it)
    if "dicom" in kinds:
        _dicom_seeds(out / "dicom", rng)
    if set(kinds) & {"png", "tiff", "npy", "raw", "jpeg"}:
        _image_seeds(out, rng)
    if set(kinds) & {"labelme4", "labelme5"}:
        _labelme_seeds(out, rng)
    if set(kinds) & {"dataset", "splits"}:
        _dataset_seeds(out, rng)
    for kind, builder in _RNG_SEEDS.items():
        if kind in kinds:
            builder(out, rng)
    for kind, builder in _FIXED_SEEDS.items():
        if kind in kinds:
            builder(out)
    return out


# ============================================================================================ mutations
# Each mutation takes the bytes (or a parsed document) and the input's generator and returns the new
# content and a short description for the reproducer.

EXTREME_INTS = (0, 1, 2, 3, 15, 16, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
                0xFFFFFFFF, 0xFFFFFFFE)


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def truncate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    if not data:
        return data, "truncate (empty)"
    # Half the cuts near the end (a lost tail), half anywhere (a lost body).
    cut = int(rng.integers(max(0, len(data) - 64), len(data))) if rng.random() < 0.5 else int(rng.integers(len(data)))
    return data[:cut], f"truncate to {cut} of {len(data)} bytes"


def flip_bits(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    if not data:
        return data, "flip (empty)"
    blob = bytearray(data)
    where = sorted(int(i) for i in rng.integers(0, len(blob), int(rng.integers(1, 9))))
    for i in where:
        blob[i] ^= 1 << int(rng.integers(8))
    return bytes(blob), f"flip bits at {where[:8]}"


def overwrite_int(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    if len(data) < 8:
        return data, "int (short)"
    size = _pick(rng, (2, 4, 8))
    at = int(rng.integers(0, len(data) - size))
    value = _pick(rng, EXTREME_INTS) % (1 << (8 * size))
    order = _pick(rng, ("little", "big"))
    blob = bytearray(data)
    blob[at : at + size] = value.to_bytes(size, order)
    return bytes(blob), f"{size}-byte {order}-endian {value:#x} at {at}"


def splice(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    if len(data) < 4:
        return data + bytes(rng.integers(0, 256, 16, dtype=np.uint8)), "append 16 random bytes"
    a = int(rng.integers(len(data)))
    n = int(rng.integers(1, min(256, len(data) - a) + 1))
    how = _pick(rng, ("delete", "repeat", "insert", "zero", "ff"))
    if how == "delete":
        return data[:a] + data[a + n :], f"delete {n} bytes at {a}"
    if how == "repeat":
        times = int(rng.integers(2, 50))
        return data[:a] + data[a : a + n] * times + data[a + n :], f"repeat {n} bytes at {a} x{times}"
    if how == "insert":
        return data[:a] + bytes(rng.integers(0, 256, n, dtype=np.uint8)) + data[a:], f"insert {n} random bytes at {a}"
    fill = b"\0" if how == "zero" else b"\xff"
    return data[:a] + fill * n + data[a + n :], f"{how} {n} bytes at {a}"


BYTE_MUTATIONS: tuple[Callable, ...] = (truncate, flip_bits, overwrite_int, splice)


# ---------------------------------------------------------------------------------------------- DICOM

_DICOM_HOSTILE_INTS = (0, 1, -1, 2, 3, 7, 12, 15, 17, 24, 65535, 2**31 - 1, 2**31, 10**9, "", "abc", "1.5", "NaN")
_DICOM_HOSTILE_DS = ("nan", "inf", "-inf", "-1", "0", "1e308", "-1e-308", "abc", "", "1\\2\\3")


@contextlib.contextmanager
def _pydicom_writes_anything():
    """Let pydicom store invalid values while the harness builds hostile files (reading is untouched)."""
    settings = pydicom.config.settings
    saved = settings.writing_validation_mode
    settings.writing_validation_mode = pydicom.config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        settings.writing_validation_mode = saved


def _dicom_structure(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    ds = pydicom.dcmread(io.BytesIO(data))
    syntax = ds.file_meta.TransferSyntaxUID
    op = _pick(rng, ("int", "int", "spacing", "rescale", "detector", "photometric", "nested", "many-items",
                     "delete", "syntax-lie", "private", "uid", "float-pixels"))
    what = ""
    with _pydicom_writes_anything():
        if op == "int":
            keyword = _pick(rng, ("Rows", "Columns", "NumberOfFrames", "BitsAllocated", "BitsStored", "HighBit",
                                  "PixelRepresentation", "SamplesPerPixel", "NumberOfDetectors"))
            value = _pick(rng, _DICOM_HOSTILE_INTS)
            vr = {"NumberOfFrames": "IS"}.get(keyword, "US")
            if vr == "US" and not (isinstance(value, int) and 0 <= value < 65536):
                ds.add_new(pydicom.datadict.tag_for_keyword(keyword), "IS" if isinstance(value, str) else "UL",
                           value if not isinstance(value, int) else value % 2**32)
            else:
                ds.add_new(pydicom.datadict.tag_for_keyword(keyword), vr, value)
            what = f"{keyword} = {value!r}"
        elif op == "spacing":
            value = [_pick(rng, _DICOM_HOSTILE_DS) for _ in range(int(rng.integers(0, 4)))]
            ds.PixelSpacing = value
            what = f"PixelSpacing = {value!r}"
        elif op == "rescale":
            keyword = _pick(rng, ("RescaleSlope", "RescaleIntercept"))
            value = _pick(rng, _DICOM_HOSTILE_DS)
            setattr(ds, keyword, value)
            what = f"{keyword} = {value!r}"
        elif op == "detector":
            value = _pick(rng, ([], [0, 3], [1, 1], [2, 2], [3], [1, 2, 3], [2**31 - 1, 1], [-1, 2]))
            ds.DetectorVector = value
            what = f"DetectorVector = {value!r}"
        elif op == "photometric":
            value = _pick(rng, ("RGB", "YBR_FULL", "PALETTE COLOR", "MONOCHROME1", "", "XYZ"))
            ds.PhotometricInterpretation = value
            what = f"PhotometricInterpretation = {value!r}"
        elif op == "nested":
            depth = int(rng.integers(2, 60))
            inner = Dataset()
            inner.CodeValue = "399348003"
            for _ in range(depth):
                outer = Dataset()
                outer.ViewCodeSequence = Sequence([inner])
                inner = outer
            ds.DetectorInformationSequence = Sequence([inner, Dataset()])
            what = f"DetectorInformationSequence nested {depth} deep"
        elif op == "many-items":
            count = int(rng.integers(3, 2000))
            ds.DetectorInformationSequence = Sequence([Dataset() for _ in range(count)])
            what = f"DetectorInformationSequence with {count} empty items"
        elif op == "delete":
            keyword = _pick(rng, ("Rows", "Columns", "BitsAllocated", "PixelData", "NumberOfFrames", "DetectorVector",
                                  "PixelSpacing", "PhotometricInterpretation", "SamplesPerPixel"))
            if keyword in ds:
                delattr(ds, keyword)
            what = f"delete {keyword}"
        elif op == "private":
            block = ds.private_block(0x0011, "GEMS_GENIE_1", create=True)
            value = _pick(rng, ("WB_E", "WB_F", "\0" * 8, "x" * 64, ""))
            block.add_new(0x12, "LO", value)
            what = f"GE dataset name = {value!r}"
        elif op == "uid":
            keyword = _pick(rng, ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"))
            value = _pick(rng, ("1.2.abc", "", "0" * 80, "1..2", "é"))
            ds.add_new(pydicom.datadict.tag_for_keyword(keyword), "UI", value)
            what = f"{keyword} = {value!r}"
        elif op == "float-pixels" and "PixelData" in ds and not syntax.is_compressed:
            rows, cols = int(ds.Rows), int(ds.Columns)
            frames = int(ds.get("NumberOfFrames", 1) or 1)
            values = rng.normal(10, 20, frames * rows * cols).astype("<f4")
            values[int(rng.integers(values.size))] = _pick(rng, (np.nan, np.inf, -5.0))
            del ds.PixelData
            for keyword in ("BitsStored", "HighBit", "PixelRepresentation"):
                if keyword in ds:
                    delattr(ds, keyword)
            ds.BitsAllocated = 32
            ds.FloatPixelData = values.astype(">f4" if not syntax.is_little_endian else "<f4").tobytes()
            what = "float pixel data with NaN/inf/negative"
        else:  # "syntax-lie" (and float-pixels on compressed data): the meta names another transfer syntax
            uid = pydicom.uid
            lies = [u for u in (uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.ExplicitVRBigEndian,
                                uid.RLELossless, uid.JPEGBaseline8Bit, uid.DeflatedExplicitVRLittleEndian,
                                uid.JPEG2000Lossless, "1.2.3.4.5") if u != syntax]
            lie = _pick(rng, lies)
            buffer = io.BytesIO()
            ds.file_meta.TransferSyntaxUID = lie
            pydicom.dcmwrite(buffer, ds, implicit_vr=syntax.is_implicit_VR, little_endian=syntax.is_little_endian,
                             force_encoding=True)
            return buffer.getvalue(), f"file meta says {lie}, data set encoded as {syntax.name}"
        buffer = io.BytesIO()
        if syntax.is_deflated or not syntax.is_little_endian:
            pydicom.dcmwrite(buffer, ds, implicit_vr=syntax.is_implicit_VR, little_endian=syntax.is_little_endian,
                             force_encoding=True)
        else:
            ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue(), what


_EXPLICIT_SHORT = re.compile(rb"[\x00-\xff]{4}(AE|AS|AT|CS|DA|DS|DT|FL|FD|IS|LO|LT|PN|SH|SL|SS|ST|TM|UI|UL|US)")
_EXPLICIT_LONG = re.compile(rb"[\x00-\xff]{4}(OB|OW|OF|SQ|UT|UN|UC|UR|OD|OL|OV|SV|UV)\x00\x00")
_DELIMITERS = (b"\xfe\xff\xdd\xe0\x00\x00\x00\x00", b"\xfe\xff\x0d\xe0\x00\x00\x00\x00")
_ITEM = b"\xfe\xff\x00\xe0"


def _dicom_bytes(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    op = _pick(rng, ("length", "length", "delimiter", "fragment", "fragment-header", "preamble"))
    blob = bytearray(data)
    if op == "length":
        short = [(m.start(), 6, 2) for m in _EXPLICIT_SHORT.finditer(data, 132)]
        long = [(m.start(), 8, 4) for m in _EXPLICIT_LONG.finditer(data, 132)]
        candidates = short + long
        if candidates:
            start, offset, size = _pick(rng, candidates)
            value = _pick(rng, EXTREME_INTS) % (1 << (8 * size))
            blob[start + offset : start + offset + size] = value.to_bytes(size, "little")
            return bytes(blob), f"element at {start}: length {value:#x}"
    if op == "delimiter":
        places = [m.start() for d in _DELIMITERS for m in re.finditer(re.escape(d), data)]
        if places:
            at = _pick(rng, places)
            return data[:at] + data[at + 8 :], f"remove delimiter at {at}"
    if op in ("fragment", "fragment-header"):
        items = [m.start() for m in re.finditer(re.escape(_ITEM), data)]
        if items:
            at = _pick(rng, items)
            if op == "fragment":
                value = _pick(rng, EXTREME_INTS)
                blob[at + 4 : at + 8] = value.to_bytes(4, "little")
                return bytes(blob), f"item at {at}: length {value:#x}"
            # The first bytes of a fragment: the RLE segment count and offsets, or the JPEG markers.
            word = int(rng.integers(0, 16))
            value = _pick(rng, (0, 1, 2, 3, 15, 16, 99, 0xFFFFFFFF, 64, 1 << 20))
            where = at + 8 + 4 * word
            if where + 4 <= len(blob):
                blob[where : where + 4] = value.to_bytes(4, "little")
                return bytes(blob), f"fragment at {at}: word {word} = {value:#x}"
    if op == "preamble":
        return bytes(rng.integers(0, 256, 128, dtype=np.uint8)) + data[128:], "random preamble"
    return overwrite_int(data, rng)


def mutate_dicom(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    if rng.random() < 0.5:
        try:
            return _dicom_structure(data, rng)
        except Exception as exc:  # noqa: BLE001 - a mutation pydicom cannot write: fall back to bytes
            return _dicom_bytes(data, rng)[0], f"(structure op failed: {type(exc).__name__}) bytes"
    return _dicom_bytes(data, rng)


# ---------------------------------------------------------------------------------------------- PNG

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_chunks(data: bytes) -> list[list]:
    chunks, at = [], 8
    while at + 8 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        chunks.append([kind, data[at + 8 : at + 8 + length]])
        at += 12 + length
    return chunks


def _png_join(chunks: list[list]) -> bytes:
    out = [PNG_MAGIC]
    for kind, body in chunks:
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body)))
    return b"".join(out)


def mutate_png(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    chunks = _png_chunks(data)
    if not chunks or chunks[0][0] != b"IHDR" or rng.random() < 0.3:
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    op = _pick(rng, ("ihdr-size", "ihdr-size", "ihdr-format", "idat", "idat-truncate", "chunk", "order"))
    ihdr = bytearray(chunks[0][1])
    if op == "ihdr-size":
        field_at = _pick(rng, (0, 4))
        value = _pick(rng, (0, 1, 2, 15, 16, 17, 4096, 100_000, 0x7FFFFFFF, 0xFFFFFFFF))
        ihdr[field_at : field_at + 4] = value.to_bytes(4, "big")
        chunks[0][1] = bytes(ihdr)
        return _png_join(chunks), f"IHDR {'width' if field_at == 0 else 'height'} = {value}"
    if op == "ihdr-format":
        field_at = int(rng.integers(8, 13))
        value = _pick(rng, (0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 255))
        ihdr[field_at] = value
        chunks[0][1] = bytes(ihdr)
        name = ("bit depth", "colour type", "compression", "filter", "interlace")[field_at - 8]
        return _png_join(chunks), f"IHDR {name} = {value}"
    idat = [c for c in chunks if c[0] == b"IDAT"]
    if op in ("idat", "idat-truncate") and idat:
        raw = zlib.decompress(b"".join(c[1] for c in idat))
        if op == "idat":
            raw, what = _pick(rng, (flip_bits, splice, truncate))(raw, rng)
            body = zlib.compress(raw)
        else:
            body, what = truncate(zlib.compress(raw), rng)
        chunks = [c for c in chunks if c[0] != b"IDAT"]
        chunks.insert(1, [b"IDAT", body])
        return _png_join(chunks), f"IDAT (valid CRC): {what}"
    if op == "chunk":
        extra = _pick(rng, (
            [b"tEXt", b"comment\0" + b"x" * 100_000],
            [b"zTXt", b"bomb\0\0" + zlib.compress(b"\0" * 20_000_000)],
            [b"iCCP", b"icc\0\0" + zlib.compress(bytes(range(256)) * 4)],
            [b"PLTE", bytes(rng.integers(0, 256, 3 * 256, dtype=np.uint8))],
            [b"ABCD", b"unknown critical chunk"],
            [b"IHDR", bytes(ihdr)],
            [b"sBIT", b"\x07"],
        ))
        chunks.insert(1, extra)
        return _png_join(chunks), f"insert {extra[0].decode()} chunk"
    # "order": drop or move a chunk
    i = int(rng.integers(len(chunks)))
    kind = chunks.pop(i)
    if rng.random() < 0.5:
        chunks.insert(int(rng.integers(len(chunks) + 1)), kind)
        return _png_join(chunks), f"move {kind[0].decode(errors='replace')} chunk"
    return _png_join(chunks), f"remove {kind[0].decode(errors='replace')} chunk"


# ---------------------------------------------------------------------------------------------- JPEG

#: JPEG frame-header markers (SOF0 baseline, SOF1 extended, SOF2 progressive).
_JPEG_FRAMES = (b"\xff\xc0", b"\xff\xc1", b"\xff\xc2")


def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset of the marker, length field) of every marker segment before the scan data."""
    out, at = [], 2
    while at + 4 <= len(data) and data[at] == 0xFF and data[at + 1] not in (0xD9, 0xDA):
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        out.append((at, length))
        at += 2 + length
    return out


def mutate_jpeg(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A frame-header field (precision, rows, columns, components) set to an extreme value, a segment's length
    lied about, or a segment (quantisation or Huffman table, frame header) removed; else plain bytes."""
    segments = _jpeg_segments(data)
    frame = next((at for at, _ in segments if data[at : at + 2] in _JPEG_FRAMES), None)
    if frame is None or rng.random() < 0.3:
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    blob = bytearray(data)
    op = _pick(rng, ("frame-size", "frame-size", "frame-format", "length", "drop"))
    if op == "frame-size":
        field_at = frame + _pick(rng, (5, 7))
        value = _pick(rng, (0, 1, 15, 16, 17, 4096, 0x7FFF, 0xFFFF))
        blob[field_at : field_at + 2] = value.to_bytes(2, "big")
        return bytes(blob), f"frame {'rows' if field_at == frame + 5 else 'columns'} = {value}"
    if op == "frame-format":
        field_at = frame + _pick(rng, (4, 9))
        value = _pick(rng, (0, 1, 2, 3, 4, 8, 12, 16, 255))
        blob[field_at] = value
        return bytes(blob), f"frame {'precision' if field_at == frame + 4 else 'components'} = {value}"
    at, length = _pick(rng, segments)
    name = data[at : at + 2].hex()
    if op == "length":
        value = _pick(rng, (0, 1, 2, 3, length - 1, length + 1, 0xFFFF))
        blob[at + 2 : at + 4] = max(0, min(value, 0xFFFF)).to_bytes(2, "big")
        return bytes(blob), f"segment {name} length {length} -> {value}"
    return bytes(blob[:at] + blob[at + 2 + length :]), f"remove segment {name}"


# ---------------------------------------------------------------------------------------------- TIFF

_TIFF_TAGS = {256: "ImageWidth", 257: "ImageLength", 258: "BitsPerSample", 259: "Compression",
              262: "Photometric", 273: "StripOffsets", 277: "SamplesPerPixel", 278: "RowsPerStrip",
              279: "StripByteCounts", 284: "PlanarConfig", 339: "SampleFormat", 322: "TileWidth", 323: "TileLength"}


def mutate_tiff(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    if len(data) < 16 or data[:4] not in (b"II*\x00", b"MM\x00*") or rng.random() < 0.3:
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    order = "<" if data[:2] == b"II" else ">"
    blob = bytearray(data)
    first = struct.unpack(order + "I", data[4:8])[0]
    if first + 2 > len(data):
        return flip_bits(data, rng)
    count = struct.unpack(order + "H", data[first : first + 2])[0]
    op = _pick(rng, ("value", "value", "value", "type", "count", "tag", "entries", "next", "first"))
    if op == "first":
        value = _pick(rng, (0, 1, 7, 8, len(data), len(data) + 1000, 0xFFFFFFFF, first + 2))
        blob[4:8] = struct.pack(order + "I", value)
        return bytes(blob), f"first IFD offset = {value}"
    if op == "entries":
        value = _pick(rng, (0, 1, 0xFFFF, count * 3))
        blob[first : first + 2] = struct.pack(order + "H", value)
        return bytes(blob), f"IFD entry count = {value}"
    if op == "next":
        at = first + 2 + 12 * count
        value = _pick(rng, (first, 8, len(data) + 50, 0xFFFFFFFF))
        if at + 4 <= len(blob):
            blob[at : at + 4] = struct.pack(order + "I", value)
            return bytes(blob), f"next IFD offset = {value} (first is {first})"
        return flip_bits(data, rng)
    if count == 0:
        return flip_bits(data, rng)
    i = int(rng.integers(min(count, (len(data) - first - 2) // 12)))
    entry = first + 2 + 12 * i
    tag = struct.unpack(order + "H", data[entry : entry + 2])[0]
    name = _TIFF_TAGS.get(tag, str(tag))
    if op == "type":
        value = int(rng.integers(0, 20))
        blob[entry + 2 : entry + 4] = struct.pack(order + "H", value)
        return bytes(blob), f"{name} type = {value}"
    if op == "count":
        value = _pick(rng, (0, 2, 3, 1000, 0x7FFFFFFF, 0xFFFFFFFF))
        blob[entry + 4 : entry + 8] = struct.pack(order + "I", value)
        return bytes(blob), f"{name} count = {value}"
    if op == "tag":
        value = _pick(rng, tuple(_TIFF_TAGS))
        blob[entry : entry + 2] = struct.pack(order + "H", value)
        return bytes(blob), f"entry {i} ({name}) becomes {_TIFF_TAGS[value]}"
    value = _pick(rng, (0, 1, 2, 3, 5, 7, 8, 12, 15, 16, 17, 32, 64, 32773, 34712, 50000, 65535,
                        len(data), len(data) + 1, 0x7FFFFFFF, 0xFFFFFFFF))
    field_type = struct.unpack(order + "H", data[entry + 2 : entry + 4])[0]
    if field_type == 3:  # SHORT, left-justified in the value field
        blob[entry + 8 : entry + 10] = struct.pack(order + "H", value % 65536)
    else:
        blob[entry + 8 : entry + 12] = struct.pack(order + "I", value % 2**32)
    return bytes(blob), f"{name} value = {value}"


# ---------------------------------------------------------------------------------------------- .npy


def mutate_npy(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    if not data.startswith(b"\x93NUMPY") or rng.random() < 0.3:
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    header_len = int.from_bytes(data[8:10], "little") if data[6] == 1 else int.from_bytes(data[8:12], "little")
    start = 10 if data[6] == 1 else 12
    header = eval(data[start : start + header_len].decode("latin1"), {"__builtins__": {}})  # noqa: S307 - our own seed
    body = data[start + header_len :]
    op = _pick(rng, ("shape", "shape", "descr", "fortran", "version", "values", "header-length"))
    what = ""
    if op == "shape":
        header["shape"] = _pick(rng, ((), (0,), (0, 16), (1, 1), (3, 16, 16), (2, 1, 16), (1, 20, 20),
                                      (2**31, 2**31), (10**12,), (-1, 16), (16, -16), (2, 64, 32, 1)))
        what = f"shape = {header['shape']}"
    elif op == "descr":
        header["descr"] = _pick(rng, ("<f2", "|b1", "<c8", "<U4", "|V8", "<M8[s]", ">f8", "|u1", "<i8", "|O", "<q"))
        what = f"descr = {header['descr']}"
    elif op == "fortran":
        header["fortran_order"] = not header["fortran_order"]
        what = f"fortran_order = {header['fortran_order']}"
    elif op == "values":
        dtype = np.dtype(header["descr"])
        array = np.frombuffer(body[: len(body) // dtype.itemsize * dtype.itemsize], dtype=dtype).copy()
        if array.size:
            value = _pick(rng, (np.nan, np.inf, -np.inf, -1, 1e30)) if dtype.kind == "f" else _pick(rng, (-1, 0))
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                array[int(rng.integers(array.size))] = value
            body = array.tobytes()
            what = f"one value = {value}"
    text = repr(header).encode("latin1")
    if op == "version":
        version = _pick(rng, (b"\x03\x00", b"\x09\x00", b"\x00\x00", b"\x02\x00"))
        padded = text + b" " * (-(len(text) + 12) % 64 + 63) + b"\n"
        return b"\x93NUMPY" + version + len(padded).to_bytes(4, "little") + padded + body, f"version {version.hex()}"
    padded = text + b" " * ((-(len(text) + 11)) % 64) + b"\n"
    length = len(padded)
    if op == "header-length":
        length = _pick(rng, (0, 1, length - 1, length + 7, 0xFFFF))
        what = f"header length field = {length} (header is {len(padded)})"
    return b"\x93NUMPY\x01\x00" + length.to_bytes(2, "little") + padded + body, what


# ---------------------------------------------------------------------------------------------- raw


def mutate_raw(data: bytes, args: dict, rng: np.random.Generator) -> tuple[bytes, dict, str]:
    """Raw matrices have no header: mutate the CLI parameters as often as the bytes."""
    args = dict(args)
    op = _pick(rng, ("shape", "dtype", "byteorder", "bytes", "values"))
    if op == "shape":
        args["shape"] = _pick(rng, ("0x0", "-1x16", "16x-16", "1x1", "15x16", "16x15", "1e3x16", "abc", "", "16",
                                    "2x2x2x2", "3x32x16", "99999999999x99999999999", "4096x4097", "16 x 16", "1024x1",
                                    "x".join(str(int(v) * 2) for v in args["shape"].split("x"))))
        return data, args, f"--shape {args['shape']!r}"
    if op == "dtype":
        args["dtype"] = _pick(rng, ("float16", "complex64", "object", "U4", "bool", "int64", "uint8", "", "float64"))
        return data, args, f"--dtype {args['dtype']!r}"
    if op == "byteorder":
        args["byteorder"] = _pick(rng, ("=", "|", "<<", "big", "", "><"))
        return data, args, f"--byteorder {args['byteorder']!r}"
    if op == "values" and args["dtype"].startswith("float"):
        array = np.frombuffer(data, dtype=np.dtype(args["dtype"]).newbyteorder(args["byteorder"])).copy()
        array[int(rng.integers(array.size))] = _pick(rng, (np.nan, np.inf, -3.0))
        return array.tobytes(), args, "one NaN/inf/negative value"
    blob, what = _pick(rng, BYTE_MUTATIONS)(data, rng)
    return blob, args, what


# ---------------------------------------------------------------------------------------- JSON / YAML

_DEEP = "__FUZZ_DEEP__"
HOSTILE_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2**31, -(2**63), 10**30, 1e308, -1e308, float("nan"), float("inf"), float("-inf"),
    -0.5, 0.5, "", "x" * 5000, "../../../../etc/passwd", "/etc/passwd", "NaN", "1e9", "\u0000", "é☃\U0001f600",
    [], {}, [[]], {"": None}, [0, 0, 0], [[1, 2], [3]], [[float("nan"), 1.0]] * 3, [[1e308, -1e308]] * 3,
    [[0.0, 0.0]] * 100_000, _DEEP,
)


def _nodes(tree: Any, limit: int = 2000) -> list[tuple]:
    """Paths to the nodes of a document, breadth first, each shared object once and at most ``limit``.

    YAML aliases make a document a graph (a billion-laughs bomb has 9^9 paths to 10 objects), so this
    walks objects, not paths.
    """
    out: list[tuple] = []
    seen: set[int] = set()
    queue = [((), tree)]
    while queue and len(out) < limit:
        path, node = queue.pop(0)
        out.append(path)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            queue += [(path + (k,), v) for k, v in node.items()]
        elif isinstance(node, list):
            queue += [(path + (i,), v) for i, v in enumerate(node[:50])]  # 50 points of a long list suffice
    return out


def _get(tree: Any, path: tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def mutate_tree(tree: Any, rng: np.random.Generator) -> tuple[Any, str]:
    """Replace, delete, multiply or retype one random node of a JSON-like document."""
    paths = _nodes(tree)
    path = _pick(rng, paths)
    op = _pick(rng, ("replace", "replace", "replace", "delete", "multiply", "retype", "add-key"))
    if not path or op == "add-key":
        if isinstance(tree, dict):
            key = _pick(rng, ("__proto__", "shapes", "version", "x" * 300, "imageData", "format", "cases"))
            tree[key] = _pick(rng, HOSTILE_VALUES)
            return tree, f"top-level [{key!r}] = {_short(tree[key])}"
        return _pick(rng, HOSTILE_VALUES), "whole document replaced"
    parent, key = _get(tree, path[:-1]), path[-1]
    where = "/".join(map(str, path))
    if op == "delete":
        del parent[key]
        return tree, f"delete {where}"
    if op == "multiply" and isinstance(parent, list):
        times = int(rng.integers(2, 3000))
        parent[key:key + 1] = [parent[key]] * times
        return tree, f"{where} repeated x{times}"
    if op == "retype":
        value = parent[key]
        parent[key] = _pick(rng, (str(value), [value], {"value": value}, None)) if value is not None else 0
        return tree, f"{where} retyped to {type(parent[key]).__name__}"
    parent[key] = _pick(rng, HOSTILE_VALUES)
    return tree, f"{where} = {_short(parent[key])}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_text(tree: Any, rng: np.random.Generator) -> str:
    text = json.dumps(tree)  # NaN and Infinity as JavaScript writes them: Python's json reads them back
    if _DEEP in text:
        depth = int(_pick(rng, (50, 500, 5_000, 100_000)))
        text = text.replace(json.dumps(_DEEP), "[" * depth + "]" * depth, 1)
    return text


def mutate_json(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError):
        tree = None
    if tree is None or rng.random() < 0.25:
        op = _pick(rng, BYTE_MUTATIONS + (_text_mutation,))
        return op(data, rng)
    tree, what = mutate_tree(tree, rng)
    return _json_text(tree, rng).encode(), what


def _text_mutation(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    op = _pick(rng, ("bom", "latin1", "invalid-utf8", "nul", "empty"))
    if op == "bom":
        return b"\xef\xbb\xbf" + data, "UTF-8 byte-order mark"
    if op == "latin1":
        return data.decode("utf-8", "replace").replace('"', '"\xe9', 1).encode("latin1", "replace"), "Latin-1 byte"
    if op == "invalid-utf8":
        at = int(rng.integers(len(data) + 1))
        return data[:at] + b"\xc3\x28\xff" + data[at:], f"invalid UTF-8 at {at}"
    if op == "nul":
        return data.replace(b":", b":\0", 1), "NUL byte"
    return b"", "empty file"


INTERFILE_VALUES = ("", "-1", "0", "1e308", "nan", "inf", "99999999999999999999", "{1,2}", "../../../etc/passwd",
                    "/dev/null", "x" * 5000, "3.5", "BIGENDIAN", "LITTLEENDIAN", "signed integer", "long float",
                    "bit", "2", "4", "8", "scan.h00")


def mutate_interfile(data: bytes, rng: np.random.Generator, separator: str = ":=") -> tuple[bytes, str]:
    """A header line's value replaced by a hostile one, a line deleted or repeated, or text and byte mutations."""
    op = _pick(rng, ("value", "value", "value", "delete", "repeat", "text", "bytes"))
    if op == "text":
        return _text_mutation(data, rng)
    if op == "bytes":
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    lines = data.decode("latin-1").splitlines()
    k = int(rng.integers(len(lines)))
    if op == "delete":
        return "\n".join(lines[:k] + lines[k + 1:]).encode("latin-1"), f"line {k} deleted"
    if op == "repeat":
        j = int(rng.integers(len(lines)))
        return "\n".join(lines[:k] + [lines[j]] + lines[k:]).encode("latin-1"), f"line {j} repeated at {k}"
    keyed = [i for i, line in enumerate(lines) if separator in line]
    k = keyed[int(rng.integers(len(keyed)))]
    value = str(_pick(rng, INTERFILE_VALUES + (METAIMAGE_VALUES if separator == "=" else ())))
    lines[k] = lines[k].split(separator)[0] + separator + " " + value
    return "\n".join(lines).encode("latin-1"), f"line {k} value {value[:20]!r}"


METAIMAGE_VALUES = ("LOCAL", "LIST", "scan%03d.raw", "MET_FLOAT", "MET_UCHAR", "MET_DOUBLE", "MET_CHAR_ARRAY", "True",
                    "False", "32 64 3", "32", "0 0", "-32 64", "65536 65536", "1e-30 1e30", "nan nan", "3", "1",
                    "Transform", "Image")


def mutate_metaimage(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """As :func:`mutate_interfile` on the header's ``Key = Value`` lines (an ``.mha``: on its header only, the
    compressed data kept, or the data's bytes mutated)."""
    end = data.find(b"ElementDataFile")
    end = data.find(b"\n", end) + 1 if end >= 0 else len(data)
    header, payload = data[:end], data[end:]
    if payload and rng.random() < 0.3:
        mutated, what = _pick(rng, BYTE_MUTATIONS)(payload, rng)
        return header + mutated, f"data: {what}"
    mutated, what = mutate_interfile(header, rng, "=")
    return mutated + (b"\n" if not mutated.endswith(b"\n") else b"") + payload, what


#: NIfTI-1 header fields (offset, struct format) and hostile values for them.
NIFTI1_FIELDS = (("dim", 40, "<8h"), ("datatype", 70, "<h"), ("bitpix", 72, "<h"), ("pixdim", 76, "<8f"),
                 ("vox_offset", 108, "<f"), ("scl_slope", 112, "<f"), ("scl_inter", 116, "<f"), ("xyzt_units", 123, "<B"))


def mutate_nifti(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A NIfTI-1 header field set to a hostile value (dims, data type, pixel sizes, data offset, scaling, units),
    or byte mutations; a gzipped file is mutated inside its stream (or, now and then, the stream itself)."""
    gz = data[:2] == b"\x1f\x8b"
    if gz and rng.random() < 0.2:
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    raw = zlib.decompress(data, wbits=31) if gz else data
    if raw[344:348] == b"n+1\0" and rng.random() < 0.7:
        name, offset, fmt = _pick(rng, NIFTI1_FIELDS)
        count = struct.calcsize(fmt) // struct.calcsize(fmt[-1])
        hostile = {"h": (-1, 0, 1, 2, 3, 7, 8, 32767, -32768, 16, 128, 2048, 1792),
                   "f": (0.0, -1.0, float("nan"), float("inf"), 1e30, 1e-30, 352.0, 3.5e9),
                   "B": (0, 1, 2, 3, 255)}[fmt[-1]]
        values = list(struct.unpack_from(fmt, raw, offset))
        k = int(rng.integers(count))
        values[k] = _pick(rng, hostile)
        raw = raw[:offset] + struct.pack(fmt, *values) + raw[offset + struct.calcsize(fmt):]
        what = f"{name}[{k}] = {values[k]!r}"
    else:
        raw, what = _pick(rng, BYTE_MUTATIONS)(raw, rng)
    return (_gzip(raw) if gz else raw), what


def mutate_npz(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One member of the archive mutated as a ``.npy`` file is (:func:`mutate_npy`, written back with a valid CRC), a
    member renamed, dropped or repeated, or byte mutations of the archive itself."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [(info, archive.read(info)) for info in archive.infolist()]
    except Exception:  # an archive an earlier mutation broke: bytes only
        members = []
    if not members or rng.random() < 0.25:
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    k = int(rng.integers(len(members)))
    info, content = members[k]
    op = _pick(rng, ("member", "member", "member", "rename", "drop", "repeat"))
    if op == "member":
        content, what = mutate_npy(content, rng)
        members[k] = (info, content)
        what = f"{info.filename}: {what}"
    elif op == "rename":
        name = _pick(rng, ("ANT.npy", "posterior.npy", "arr_0.npy", "spacing.npy", "patient_id.npy", "x/ant.npy",
                           "ant", "ant.npy/"))
        members[k] = (zipfile.ZipInfo(name), content)
        what = f"{info.filename} renamed {name}"
    elif op == "drop":
        del members[k]
        what = f"{info.filename} dropped"
    else:
        members.append((info, content))
        what = f"{info.filename} repeated"
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile's "Duplicate name" when a member is repeated
        with zipfile.ZipFile(buffer, "w") as archive:
            for member, payload in members:
                archive.writestr(member, payload)
    return buffer.getvalue(), what


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


#: Most nodes, counted as written out (a shared list once per place it appears), a mutated YAML tree may have.
MAX_DUMPED_NODES = 200_000


def _expanded_size(tree: Any, budget: int = MAX_DUMPED_NODES) -> int:
    """Nodes of ``tree`` as a writer expands them (shared objects once per reference), counted up to ``budget + 1``."""
    count, stack = 0, [tree]
    while stack and count <= budget:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


def mutate_yaml(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    op = _pick(rng, ("tree", "tree", "tree", "bytes", "text", "tag", "alias-bomb", "deep"))
    if op == "tag":
        line = _pick(rng, ('model_args: !!python/object/apply:os.system ["touch FUZZ-PWNED"]\n',
                           "epochs: !!binary aGVsbG8=\n", "lr: !!float nan\n", "seed: !custom 3\n",
                           "out: !!python/name:os.getcwd\n"))
        return data + line.encode(), f"append {line.strip()!r}"
    if op == "alias-bomb":
        lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        for i in range(1, 9):
            lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
        return data + ("\n".join(lines) + "\nmodel_args: {x: *a8}\n").encode(), "billion-laughs aliases"
    if op == "deep":
        depth = int(_pick(rng, (100, 1_000, 20_000)))
        return data + f"model_args: {{x: {'[' * depth}{']' * depth}}}\n".encode(), f"nesting {depth} deep"
    if op == "text":
        return _text_mutation(data, rng)
    if op == "bytes":
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    tree = yaml.safe_load(data)
    tree, what = mutate_tree(tree, rng)
    if _expanded_size(tree) > MAX_DUMPED_NODES:  # e.g. a list repeated x3000 inside one repeated x3000 (seed 16180,
        # yaml 1123): PyYAML writes every scalar out and took minutes; a byte mutation of the same text instead
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    if _DEEP in text:
        text = text.replace(_DEEP, "[" * 1000 + "]" * 1000, 1)
    return text.encode(), what


def mutate_voc(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A coordinate, size or name replaced by a hostile value, elements removed or repeated, entity bombs, XXE."""
    op = _pick(rng, ("value", "value", "value", "drop", "repeat", "bomb", "external", "deep", "root", "text", "bytes"))
    text = data.decode("utf-8", "replace")
    if op == "value":
        tags = ("xmin", "ymin", "xmax", "ymax", "width", "height", "depth", "difficult", "name", "filename")
        tag = _pick(rng, tags)
        value = _pick(rng, ("nan", "inf", "-inf", "1e309", "-5", "0", "1e30", "99999999999999999999999", "abc", "",
                            "12.5", "-0", "0x10", "1_000", " 7 ", "true", "&amp;", "../../etc/passwd", "x" * 20_000))
        found = [m for m in re.finditer(f"<{tag}>[^<]*</{tag}>", text)]
        if not found:
            return text.encode(), f"no <{tag}> to replace"
        m = _pick(rng, found)
        return (text[:m.start()] + f"<{tag}>{value}</{tag}>" + text[m.end():]).encode(), f"<{tag}> = {value[:20]!r}"
    if op == "drop":
        tag = _pick(rng, ("bndbox", "name", "size", "width", "xmax", "object", "filename"))
        return re.sub(f"<{tag}>.*?</{tag}>", "", text, count=1, flags=re.S).encode(), f"<{tag}> removed"
    if op == "repeat":
        m = re.search("<object>.*?</object>", text, flags=re.S)
        copies = int(_pick(rng, (2, 1_000, 10_001, 50_000)))
        if m is None:
            return text.encode(), "no object to repeat"
        copies = min(copies, 40_000_000 // max(len(m.group(0)), 1))  # at most a 40 MB file: the harness's memory
        return (text[:m.end()] + m.group(0) * copies + text[m.end():]).encode(), f"an object repeated {copies} times"
    if op == "bomb":
        entities = '<!ENTITY a "lollollollol">' + "".join(
            f'<!ENTITY {chr(98 + k)} "' + f"&{chr(97 + k)};" * 10 + '">' for k in range(9))
        body = text.replace("<name>Abnormal</name>", "<name>&j;</name>", 1)
        return (f"<?xml version='1.0'?><!DOCTYPE annotation [{entities}]>" + body).encode(), "billion-laughs entities"
    if op == "external":
        body = text.replace("<filename>", "<filename>&x;", 1)
        return ('<?xml version="1.0"?><!DOCTYPE annotation [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + body).encode(), \
            "an external entity (XXE)"
    if op == "deep":
        depth = int(_pick(rng, (100, 10_000, 100_000)))
        return text.replace("</annotation>", "<a>" * depth + "</a>" * depth + "</annotation>").encode(), f"nesting {depth} deep"
    if op == "root":
        return text.replace("annotation>", _pick(rng, ("Annotation>", "labelme>", "x>")) ).encode(), "another root"
    if op == "text":
        return _text_mutation(data, rng)
    return _pick(rng, BYTE_MUTATIONS)(data, rng)


def mutate_labels(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A field replaced by a hostile value, lines dropped, repeated or joined, quotes and separators broken."""
    text = data.decode("utf-8", "replace")
    lines = text.splitlines()
    op = _pick(rng, ("value", "value", "drop", "repeat", "quote", "separator", "long", "text", "bytes"))
    if op == "value" and lines:
        at = int(rng.integers(len(lines)))
        value = _pick(rng, ("", "nan", "-1", "2", "maybe", "ABNORMAL", " yes ", "../../etc/passwd", "\x00", "x" * 5000,
                            "a,b,c", "\"", "=cmd|' /C calc'!A0", "é"))
        fields = lines[at].replace(" ", ",").split(",")
        fields[int(rng.integers(len(fields)))] = value
        lines[at] = ("," if "," in text else " ").join(fields)
        return "\n".join(lines).encode(), f"line {at + 1} field = {value[:20]!r}"
    if op == "drop" and lines:
        at = int(rng.integers(len(lines)))
        return "\n".join(lines[:at] + lines[at + 1:]).encode(), f"line {at + 1} removed"
    if op == "repeat" and lines:
        copies = int(_pick(rng, (2, 1_000, 100_000)))
        at = int(rng.integers(len(lines)))
        return "\n".join(lines[:at + 1] + [lines[at]] * copies + lines[at + 1:]).encode(), f"line {at + 1} x {copies}"
    if op == "quote":
        return text.replace(",", ',"', 1).encode(), "an unterminated quote"
    if op == "separator":
        sep = _pick(rng, (";", "\t", "|", "\r", " , "))
        return text.replace(",", sep).replace(" ", sep).encode(), f"separator {sep!r}"
    if op == "long":
        size = int(_pick(rng, (131_073, 1_000_000)))
        return (text + "scans/" + "a" * size + ",normal\n").encode(), f"a field of {size} characters"
    if op == "text":
        return _text_mutation(data, rng)
    return _pick(rng, BYTE_MUTATIONS)(data, rng)


# ------------------------------------------------------------------------- records read back (session 66)

#: A value of each JSON type, for a key given one of another type (a sidecar's ``"shipped": "x"``).
JSON_TYPED: tuple[Any, ...] = (None, True, False, 0, -1, 2.5, "x", "", "big", [], [1, 2], ["x"], {}, {"x": 1})
#: Numbers no writer of these records writes: larger than a float (``float()`` overflows), at the edges, not finite.
HUGE_NUMBERS: tuple[Any, ...] = (10**400, -(10**400), 2**63, -(2**63), 10**30, 1e308, -1e308, 5e-324)
NON_FINITE: tuple[float, ...] = (float("nan"), float("inf"), float("-inf"))
#: Keys a record may be given beside its own.
EXTRA_KEYS = ("x", "__proto__", "format", "version", "shipped", "data", "scales", "val", "views", "settings", "input",
              "lesions", "review", "model", "in_channels", "source_size", "task", "x" * 300)


def _json_type(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    return {dict: "object", list: "array", str: "string"}.get(type(value), "number")


def mutate_record(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A JSON record a scintiseg command wrote, changed as a hand (or another version) would: a key given a value of
    another JSON type, a key removed or added, a number beyond a float or not finite, a value nested deep, the whole
    document another type; else the generic tree, text and byte mutations (:func:`mutate_json`)."""
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError):
        tree = None
    op = _pick(rng, ("type", "type", "type", "missing", "extra", "huge", "non-finite", "deep", "whole", "generic"))
    if tree is None or op == "generic":
        return mutate_json(data, rng)
    if op == "whole" or not isinstance(tree, (dict, list)):
        return _json_text(_pick(rng, JSON_TYPED + HUGE_NUMBERS[:1] + (_DEEP,)), rng).encode(), "whole record replaced"
    paths = [p for p in _nodes(tree) if p]
    if op == "extra" or not paths:
        objects = [p for p in [()] + paths if isinstance(_get(tree, p), dict)]
        where = _pick(rng, objects) if objects else ()
        if not isinstance(_get(tree, where), dict):
            return mutate_json(data, rng)
        key = _pick(rng, EXTRA_KEYS)
        _get(tree, where)[key] = _pick(rng, HOSTILE_VALUES + HUGE_NUMBERS)
        return _json_text(tree, rng).encode(), f"{'/'.join(map(str, where)) or 'top'} gains [{key[:20]!r}]"
    if op == "missing":
        keyed = [p for p in paths if isinstance(_get(tree, p[:-1]), dict)] or paths
        path = _pick(rng, keyed)
        del _get(tree, path[:-1])[path[-1]]
        return _json_text(tree, rng).encode(), f"delete {'/'.join(map(str, path))}"
    if op in ("huge", "non-finite"):
        numbers = [p for p in paths if _json_type(_get(tree, p)) == "number"]
        path = _pick(rng, numbers or paths)
        value = _pick(rng, HUGE_NUMBERS if op == "huge" else NON_FINITE)
    elif op == "deep":
        path, value = _pick(rng, paths), _DEEP
    else:
        path = _pick(rng, paths)
        was = _json_type(_get(tree, path))
        value = _pick(rng, [v for v in JSON_TYPED if _json_type(v) != was])
    _get(tree, path[:-1])[path[-1]] = value
    return _json_text(tree, rng).encode(), f"{'/'.join(map(str, path))} = {_short(value)}"


#: Labels a reader (or a tool) gives a shape: the words review reads, its no-lesion words, and others.
REVIEW_LABELS: tuple[Any, ...] = (
    "lesion", "Lesion", "LESION ", "metastasis", "mets", "left_out", "left out", "bladder", "degenerative", "artefact",
    "kidney", "normal", "lesion?", "unknown", "", " ", "lésion", "\u0000", "lesion\n", "x" * 1000, "__proto__",
)
#: Shape types LabelMe writes (and some it does not).
SHAPE_TYPES: tuple[Any, ...] = ("polygon", "rectangle", "circle", "line", "point", "linestrip", "points", "mask",
                                "ellipse", "POLYGON", "", None, 5, ["polygon"])
#: Keys a tool may add to a shape (LabelMe 5 writes ``mask`` and ``description``; others write their own).
SHAPE_EXTRA_KEYS = ("mask", "description", "visible", "other_data", "line_color", "fill_color", "x", "x" * 300)


_TURN = np.linspace(0.0, 2 * np.pi, 50_000, endpoint=False)


def _review_points(rng: np.random.Generator, height: int, width: int) -> tuple[Any, str]:
    """Points no LabelMe writes, or writes only now and then: too few, of another shape or type, not finite, beyond a
    float, off the image, self-intersecting, many."""
    x, y = float(rng.integers(0, width)), float(rng.integers(0, height))
    choices: list[tuple[Any, str]] = [
        ([], "no points"), ([[x, y]], "one point"), ([[x, y], [x + 5, y + 5]], "two points"),
        ([[x, y], [x, y], [x, y]], "three equal points"),
        ([[x, y], [x + 20, y + 20], [x, y + 20], [x + 20, y]], "a self-intersecting bow tie"),
        ([[float("nan"), y], [x + 5, y], [x, float("nan")]], "NaN coordinates"),
        ([[float("inf"), y], [x + 5, -float("inf")], [x, y + 5]], "infinite coordinates"),
        ([[10**400, y], [x + 5, y], [x, y + 5]], "a coordinate beyond a float"),
        ([[1e308, 1e308], [-1e308, 1e308], [0.0, -1e308]], "coordinates of 1e308"),
        ([[-50.0, -50.0], [-10.0, -50.0], [-30.0, -10.0]], "a polygon off the image (negative)"),
        ([[width + 50.0, height + 50.0], [width + 90.0, height + 50.0], [width + 70.0, height + 90.0]],
         "a polygon off the image (beyond it)"),
        ([[-1e6, -1e6], [1e6, -1e6], [1e6, 1e6], [-1e6, 1e6]], "a polygon covering the image many times over"),
        ([[x, y, 1.0], [x + 5, y, 1.0], [x, y + 5, 1.0]], "three coordinates a point"),
        ([x, y, x + 5, y, x, y + 5], "a flat list of numbers"), ([[[x, y]], [[x + 5, y]], [[x, y + 5]]], "nested deeper"),
        ([["1", "2"], ["3", "4"], ["5", "6"]], "coordinates as text"), ("0,0 1,1 2,2", "points as text"),
        ([[True, False], [True, True], [False, True]], "coordinates true/false"),
        ([None, [x, y], [x + 5, y]], "a point null"), ({"x": x, "y": y}, "points an object"),
        ([[x, y]] * 3 + [[x + 1, y]], "a sliver"), (None, "points null"),
        (np.stack([x + 8 * np.cos(_TURN), y + 8 * np.sin(_TURN)], axis=1).tolist(), "50,000 points"),
        ([[x + 3 * k % 40, y + (7 * k) % 40] for k in range(200)], "200 points crossing one another"),
    ]
    return _pick(rng, choices)


def _review_shape(rng: np.random.Generator, height: int, width: int) -> tuple[dict, str]:
    """A shape a reader draws in LabelMe: a polygon, rectangle, circle or point, labelled as a reader would."""
    x, y = float(rng.integers(10, max(11, width - 30))), float(rng.integers(10, max(11, height - 30)))
    kind = _pick(rng, ("polygon", "polygon", "rectangle", "circle", "point", "line", "linestrip"))
    points = {"polygon": [[x, y], [x + 12, y + 2], [x + 10, y + 14], [x - 2, y + 9]],
              "rectangle": [[x, y], [x + 10, y + 8]], "circle": [[x, y], [x + 6, y]], "point": [[x, y]],
              "line": [[x, y], [x + 10, y + 10]], "linestrip": [[x, y], [x + 10, y], [x + 10, y + 10]]}[kind]
    label = _pick(rng, ("lesion", "lesion", "Lesion", "metastasis", "bladder", "left_out", "degenerative"))
    shape = {"label": label, "points": points, "group_id": None, "description": "", "shape_type": kind, "flags": {}}
    if rng.random() < 0.3:
        shape["mask"] = None  # LabelMe 5.3 writes it
    return shape, f"a {kind} drawn, labelled {label!r}"


def _small_png(rows: int, cols: int) -> str:
    """Base64 of a grey PNG of ``rows`` x ``cols`` (an image of another size embedded)."""
    import base64  # lazy: this mutation only

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((rows, cols), dtype=np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def mutate_review_labelme(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A predicted view's LabelMe file as a reader or their tool leaves it: the edits LabelMe itself makes (a shape
    deleted, relabelled, duplicated or drawn; every shape deleted), shape keys missing, added or of another JSON type,
    labels of other types or unknown words, points a tool writes wrongly, odd ``shape_type``, ``group_id`` and
    ``flags``, the image's size changed, its embedded image damaged, the top-level keys of another type; else the
    record mutations (:func:`mutate_record`)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
        return mutate_record(data, rng)
    shapes = doc["shapes"]
    height = doc.get("imageHeight") if isinstance(doc.get("imageHeight"), int) else 1024
    width = doc.get("imageWidth") if isinstance(doc.get("imageWidth"), int) else 256
    height, width = max(1, min(height, 4096)), max(1, min(width, 4096))
    op = _pick(rng, ("delete", "relabel", "draw", "draw", "duplicate", "delete-all", "label", "label", "points",
                     "points", "points", "shape-type", "key-type", "key-missing", "key-extra", "group-id", "flags",
                     "size", "image-data", "top", "record"))
    if not shapes and op not in ("size", "image-data", "top", "record"):  # a view without a call: one drawn first
        op = "draw"
    index = int(rng.integers(len(shapes))) if shapes else None
    shape = shapes[index] if index is not None else None
    if op == "record" or (index is None and op not in ("draw", "size", "image-data", "top")) \
            or (shape is not None and not isinstance(shape, dict) and op not in ("delete", "duplicate", "draw")):
        return mutate_record(data, rng)
    if op == "delete":
        del shapes[index]
        what = f"shape {index} deleted"
    elif op == "delete-all":
        doc["shapes"], what = [], "every shape deleted"
    elif op == "relabel":
        shape["label"] = _pick(rng, ("lesion", "left_out", "bladder", "degenerative", "artefact", "Lesion", "mets"))
        what = f"shape {index} relabelled {shape['label']!r}"
    elif op == "draw":
        new, what = _review_shape(rng, height, width)
        shapes.insert(int(rng.integers(len(shapes) + 1)), new)
    elif op == "duplicate":
        copies = int(_pick(rng, (1, 1, 2, 500)))
        shapes.extend(json.loads(json.dumps(shape)) for _ in range(copies))
        what = f"shape {index} repeated {copies}x"
    elif op == "label":
        shape["label"] = _pick(rng, REVIEW_LABELS + (None, 5, 1.5, True, [], ["lesion"], {"name": "lesion"}))
        what = f"shape {index} label = {_short(shape['label'])}"
    elif op == "points":
        shape["points"], what = _review_points(rng, height, width)
        if rng.random() < 0.3:
            shape["shape_type"] = _pick(rng, SHAPE_TYPES[:7])
            what += f" ({shape['shape_type']})"
        what = f"shape {index} points: {what}"
    elif op == "shape-type":
        shape["shape_type"] = _pick(rng, SHAPE_TYPES)
        what = f"shape {index} shape_type = {_short(shape['shape_type'])}"
    elif op == "key-type":
        key = _pick(rng, ("label", "points", "group_id", "shape_type", "flags", "description"))
        was = _json_type(shape.get(key))
        shape[key] = _pick(rng, [v for v in JSON_TYPED + HUGE_NUMBERS[:2] + NON_FINITE if _json_type(v) != was])
        what = f"shape {index} {key} = {_short(shape[key])}"
    elif op == "key-missing":
        key = _pick(rng, ("label", "points", "group_id", "shape_type", "flags", "description"))
        shape.pop(key, None)
        what = f"shape {index} without {key}"
    elif op == "key-extra":
        key = _pick(rng, SHAPE_EXTRA_KEYS)
        shape[key] = _pick(rng, HOSTILE_VALUES + HUGE_NUMBERS)
        what = f"shape {index} gains {key[:20]!r} = {_short(shape[key])}"
    elif op == "group-id":
        shape["group_id"] = _pick(rng, (None, 0, -1, 7, 1.5, "1", "", 10**400, 2**63, float("nan"), float("inf"), True,
                                        [], {}, [1]))
        what = f"shape {index} group_id = {_short(shape['group_id'])}"
    elif op == "flags":
        value = _pick(rng, (None, [], "x", 5, {"a": "b"}, {"a": [1]}, {"": True}, {"x" * 300: False}, {"lesion": True}))
        (shape if rng.random() < 0.7 else doc)["flags"] = value
        what = f"flags = {_short(value)}"
    elif op == "size":
        key = _pick(rng, ("imageHeight", "imageWidth"))
        value = _pick(rng, (0, -1, 1, height - 1, height + 1, 2 * height, width, "1024", 1024.0, 10**400, 2**63,
                            float("nan"), None, [], True))
        doc[key] = value
        if rng.random() < 0.5:
            doc["imageData"] = None
            doc["imagePath"] = ""
        what = f"{key} = {_short(value)}" + (" (no image embedded)" if doc.get("imageData") is None else "")
    elif op == "image-data":
        image = doc.get("imageData") if isinstance(doc.get("imageData"), str) else ""
        value, what = _pick(rng, [
            (image[: len(image) // 2], "cut in half"), (image + "!!", "not base64"), (image[:-3], "padding lost"),
            ("aGVsbG8=", "base64 of no image"), (_small_png(height // 2, width), "a PNG of half the height"),
            (_small_png(width, height), "a PNG of the size transposed"), (None, "null"), ("", "empty"), (5, "a number"),
            (image.replace("A", "B", 40), "bytes changed"),
        ])
        doc["imageData"] = value
        if rng.random() < 0.3:
            doc["imagePath"] = _pick(rng, ("", None, "gone.png", "../../../etc/passwd", "/etc/passwd", "ANT_mask.png"))
            what += f", imagePath = {_short(doc['imagePath'])}"
        what = f"imageData {what}"
    else:  # top
        key = _pick(rng, ("shapes", "version", "view", "imagePath", "flags"))
        doc[key] = _pick(rng, ("POST", "ANT", "LAT", None, 5, "", [], {}, "5.2.1", "1.0", ["x"], {"shapes": []}))
        what = f"{key} = {_short(doc[key])}"
    return _json_text(doc, rng).encode(), what


#: What ``review`` reads of ``report.json`` besides the settings, scan and outlines (the record mutations seldom pick
#: them among the report's thousands of nodes): the summary it prints, an earlier review's record, the scan's facts.
REVIEW_REPORT_PATHS: tuple[tuple[str, ...], ...] = (
    ("summary",), ("summary", "bsi_percent"), ("review",), ("review", "reader"), ("review", "reader", "name"),
    ("review", "views"), ("review", "views", "ANT"), ("review", "views", "ANT", "network_lesions"),
    ("review", "compared_with"), ("review", "source_folder"), ("review", "origin"), ("study_uid",), ("input",),
    ("input", "views"), ("input", "shape"), ("input", "counts"), ("input", "pixel_spacing_mm"), ("model", "engine"),
    ("left_out_calls",), ("lesions",), ("views",), ("views", "ANT"), ("views", "ANT", "files"), ("patient",),
)
#: An earlier review's record, as a reviewed folder's report holds it (what a review of a review reads).
EARLIER_REVIEW = {"compared_with": "the network", "source_folder": "/data/pred/P7", "origin": {"1": "network"},
                  "views": {"ANT": {"network_lesions": 1, "kept": 1, "restored": 0, "edited": 0, "drawn": 0,
                                    "deleted": 0}},
                  "reader": {"name": "Doe^Jane", "organization": None}, "network_outlines": {"ANT": "ANT_mask.png"}}


def mutate_review_report(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A prediction's ``report.json`` for a review: half the time a key review reads (:data:`REVIEW_REPORT_PATHS`,
    an earlier review's record added first where the path is in one) given a value of another JSON type, beyond a
    float or not finite; else :func:`mutate_record`."""
    try:
        tree = json.loads(data)
    except (ValueError, RecursionError):
        tree = None
    if not isinstance(tree, dict) or rng.random() < 0.5:
        return mutate_record(data, rng)
    path = _pick(rng, REVIEW_REPORT_PATHS)
    if path[0] == "review" and len(path) > 1:
        tree["review"] = json.loads(json.dumps(EARLIER_REVIEW))
    here = tree
    for key in path[:-1]:
        if not isinstance(here.get(key), dict):
            here[key] = {}
        here = here[key]
    value = _pick(rng, JSON_TYPED + HUGE_NUMBERS + NON_FINITE + (_DEEP,))
    here[path[-1]] = value
    return _json_text(tree, rng).encode(), f"{'/'.join(path)} = {_short(value)}"


#: A field of a scores CSV replaced by text ``float()`` reads oddly or not at all.
SCORE_VALUES = ("inf", "-inf", "Infinity", "nan", "1e309", "-1e309", "1e400", "", "abc", "-1", "None", "0x10", "1_000",
                " 7 ", "\u0661\u0662", "9" * 400, "\x00", "é", "true", "1e-400", "-0")


def mutate_scores_csv(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """A per-image scores CSV changed field by field: a value ``float()`` overflows on or cannot read, a column renamed
    or a field dropped or added (the rows misaligned), a row cut, lines dropped or repeated, quotes, a long field."""
    text = data.decode("utf-8", "replace")
    lines = text.splitlines()
    op = _pick(rng, ("value", "value", "value", "header", "drop-field", "extra-field", "drop", "repeat", "quote", "long",
                     "text", "bytes"))
    if op in ("value", "drop-field", "extra-field") and len(lines) > 1:
        at = int(rng.integers(1, len(lines)))
        fields = lines[at].split(",")
        column = int(rng.integers(len(fields)))
        if op == "value":
            value = _pick(rng, SCORE_VALUES)
            fields[column] = value
            what = f"line {at + 1} field {column + 1} = {value[:20]!r}"
        elif op == "drop-field":
            del fields[column]
            what = f"line {at + 1} field {column + 1} removed"
        else:
            fields.append(_pick(rng, ("x", "1", "")))
            what = f"line {at + 1} gains a field"
        lines[at] = ",".join(fields)
        return ("\n".join(lines) + "\n").encode(), what
    if op == "header" and lines:
        names = lines[0].split(",")
        column = int(rng.integers(len(names)))
        names[column] = _pick(rng, ("", "DSC", "x", names[(column + 1) % len(names)], "tp "))
        lines[0] = ",".join(names)
        return ("\n".join(lines) + "\n").encode(), f"header column {column + 1} = {names[column]!r}"
    if op == "drop" and lines:
        at = int(rng.integers(len(lines)))
        return ("\n".join(lines[:at] + lines[at + 1:]) + "\n").encode(), f"line {at + 1} removed"
    if op == "repeat" and lines:
        copies = int(_pick(rng, (2, 1_000, 100_000)))
        at = int(rng.integers(len(lines)))
        return ("\n".join(lines[:at + 1] + [lines[at]] * copies + lines[at + 1:]) + "\n").encode(), \
            f"line {at + 1} x {copies}"
    if op == "quote":
        return text.replace(",", ',"', 1).encode(), "an unterminated quote"
    if op == "long":
        size = int(_pick(rng, (131_073, 1_000_000)))
        return (text + "P9," + "1" * size + "\n").encode(), f"a field of {size} characters"
    if op == "text":
        return _text_mutation(data, rng)
    return _pick(rng, BYTE_MUTATIONS)(data, rng)


# ---------------------------------------------------------------------------------------------- checkpoint


class _Payload:
    """Pickled as a call to os.system: a loader that executes pickles writes FUZZ-PWNED into the sandbox."""

    def __reduce__(self):
        return (os.system, ("touch FUZZ-PWNED",))


def mutate_checkpoint(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    import torch  # lazy: only this kind needs torch

    op = _pick(rng, ("tree", "tree", "tree", "tensor", "bytes", "pickle"))
    if op == "bytes":
        return _pick(rng, BYTE_MUTATIONS)(data, rng)
    state = torch.load(io.BytesIO(data), weights_only=True)
    if op == "pickle":
        state["history"] = _Payload()
        what = "history holds a pickled os.system call"
    elif op == "tensor":
        key = _pick(rng, sorted(state["model"]))
        tensor = state["model"][key]
        state["model"][key] = _pick(rng, (
            torch.full_like(tensor, float("nan")) if tensor.is_floating_point() else tensor,
            torch.zeros(tensor.numel() + 1), torch.zeros(0), tensor.to(torch.int64), tensor.reshape(-1),
            torch.zeros(()), "not a tensor",
        ))
        what = f"model[{key!r}] replaced"
    else:
        tree = {k: v for k, v in state.items() if k != "model"}
        tree, what = mutate_tree(tree, rng)
        if isinstance(tree, dict):
            tree = {k: (v if v != _DEEP else [[[]]]) for k, v in tree.items()}
            state = {**tree, "model": state["model"]} if rng.random() < 0.9 else tree
        else:
            state = tree
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue(), what


# ================================================================================================ inputs

FORMAT_MUTATIONS: dict[str, Callable] = {
    "dicom": mutate_dicom, "png": mutate_png, "tiff": mutate_tiff, "npy": mutate_npy, "labelme4": mutate_json,
    "labelme5": mutate_json, "dataset": mutate_json, "splits": mutate_json, "checkpoint": mutate_checkpoint,
    "yaml": mutate_yaml, "jpeg": mutate_jpeg, "voc": mutate_voc, "interfile": mutate_interfile,
    "metaimage": mutate_metaimage, "nifti": mutate_nifti, "npz": mutate_npz, "labels": mutate_labels,
    "sidecar": mutate_record, "gan-normalisation": mutate_record, "run-split": mutate_record,
    "scores-csv": mutate_scores_csv, "report-json": mutate_record, "review": mutate_review_labelme,
}


@dataclass
class Input:
    """One generated input: its folder, the file the reader gets, reader arguments, what was done."""

    kind: str
    index: int
    folder: Path
    target: Path
    args: dict = field(default_factory=dict)
    mutations: list[str] = field(default_factory=list)


def input_rng(seed: int, kind: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, KINDS.index(kind), index])


def make_input(seeds: Path, kind: str, index: int, seed: int, folder: Path) -> Input:
    """Copy a random seed variant of ``kind`` into ``folder`` and mutate it; deterministic in its arguments."""
    rng = input_rng(seed, kind, index)
    variants = sorted(p for p in (seeds / kind).iterdir() if p.is_dir())
    variant = _pick(rng, variants)
    shutil.copytree(variant, folder, dirs_exist_ok=True)
    (folder / "seed.json").unlink()
    meta = json.loads((variant / "seed.json").read_text())
    item = Input(kind, index, folder, folder / meta["target"], dict(meta["args"]), [f"seed {variant.name}"])
    if kind == "review":
        return _review_input(item, rng)
    if kind in ("dataset", "splits", "interfile", "metaimage", "sidecar", "report-json") and rng.random() < 0.25 \
            and len(list(folder.iterdir())) > 1:
        # Now and then a file the manifest points to is broken instead of the manifest itself.
        members = sorted(p for p in folder.rglob("*") if p.is_file()
                         and p.name not in ("dataset.json", "splits.json", item.target.name))
        member = _pick(rng, members)
        with _quiet_generation():
            blob, what = (mutate_json if member.suffix == ".json" else _pick(rng, BYTE_MUTATIONS))(member.read_bytes(), rng)
        member.write_bytes(blob)
        item.mutations.append(f"{member.relative_to(folder)}: {what}")
        if kind == "report-json":
            item.target.write_bytes(_in_folder(item.target.read_bytes(), folder))
        return item
    data = item.target.read_bytes()
    with _quiet_generation():
        for _ in range(int(_pick(rng, (1, 1, 1, 2, 3)))):
            try:
                if kind == "raw":
                    data, item.args, what = mutate_raw(data, item.args, rng)
                else:
                    data, what = FORMAT_MUTATIONS[kind](data, rng)
            except Exception as exc:  # noqa: BLE001 - an earlier mutation left nothing to parse: use bytes
                data, what = _pick(rng, BYTE_MUTATIONS)(data, rng)
                what = f"(format-aware mutation failed: {type(exc).__name__}) {what}"
            item.mutations.append(what)
    if kind == "report-json":
        data = _in_folder(data, folder)
    item.target.write_bytes(data)
    return item


def review_out(folder: Path) -> Path:
    """Where a review input is reviewed into (``--out``): a new folder beside the input's, in a folder of its own."""
    return folder.parent / f"{folder.name}.review" / "reviewed"


def _review_input(item: Input, rng: np.random.Generator) -> Input:
    """A review input: mostly a view's LabelMe file edited one to three times (:func:`mutate_review_labelme`), now and
    then both views', ``report.json`` (:func:`mutate_record`) or another file of the folder (a mask, the scan)."""
    item.args["out"] = str(review_out(item.folder))
    where = rng.random()
    if where < 0.7:
        targets = [item.folder / _pick(rng, ("ANT.labelme.json", "POST.labelme.json"))]
    elif where < 0.8:
        targets = [item.folder / "ANT.labelme.json", item.folder / "POST.labelme.json"]
    elif where < 0.9:
        targets = [item.target]
    else:
        targets = [item.folder / _pick(rng, ("ANT_mask.png", "POST_mask.png", "scan.dcm"))]
    with _quiet_generation():
        for target in targets:
            data = target.read_bytes()
            for _ in range(int(_pick(rng, (1, 1, 1, 2, 3)))):
                mutation = (mutate_review_labelme if target.name.endswith(".labelme.json") else
                            mutate_review_report if target == item.target else _pick(rng, BYTE_MUTATIONS))
                try:
                    data, what = mutation(data, rng)
                except Exception as exc:  # noqa: BLE001 - an earlier mutation left nothing to parse: use bytes
                    data, what = _pick(rng, BYTE_MUTATIONS)(data, rng)
                    what = f"(format-aware mutation failed: {type(exc).__name__}) {what}"
                item.mutations.append(f"{target.name}: {what}")
            target.write_bytes(data)
    item.target.write_bytes(_in_folder(item.target.read_bytes(), item.folder))
    return item


def _in_folder(report: bytes, folder: Path) -> bytes:
    """A report-json input's report naming its scan in the input's folder, as predict named it in its own."""
    return report.replace(FOLDER_MARK.encode(), str(folder.resolve()).encode())


@contextlib.contextmanager
def _quiet_generation():
    """Parsing the harness's own mutated files makes pydicom and torch warn: not the readers' output."""
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)


# ================================================================================================ readers


def _checkpoint_loader() -> Callable:
    """The loader the CLI uses; it is moving from scintiseg.train.checkpoint to scintiseg.models.checkpoint."""
    for module in ("scintiseg.models.checkpoint", "scintiseg.train.checkpoint"):
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        return getattr(found, "load_model_from_checkpoint", None) or found.load_checkpoint
    raise ImportError("no checkpoint loader in scintiseg.models.checkpoint or scintiseg.train.checkpoint")


def read_input(item: Input) -> Any:
    """Call the library function the CLI calls for ``item.kind``."""
    if item.kind in ("dicom", "png", "tiff", "npy", "jpeg", "interfile", "metaimage", "nifti", "npz"):
        return read_scan(item.target)
    if item.kind == "raw":
        return read_scan(item.target, shape=item.args["shape"], dtype=item.args["dtype"],
                         byteorder=item.args["byteorder"])
    if item.kind in ("labelme4", "labelme5"):
        # Every command that reads a LabelMe file rasterises it (consensus, dataset check, training).
        return read_labelme(item.target).to_mask()
    if item.kind == "dataset":
        load_manifest(item.folder)
        split_dataset(item.folder, write=False)  # who tests and validates: a case's outlines and meta (session 50)
        return check_dataset(item.folder)
    if item.kind == "splits":
        check_dataset(item.folder)  # its summary reads the split too (session 50), never raising for it
        return load_splits(item.folder)
    if item.kind == "checkpoint":
        return _checkpoint_loader()(item.target)
    if item.kind == "yaml":
        return TrainConfig.from_yaml(item.target)
    if item.kind == "voc":
        # predict --boxes reads the file, then scores its boxes on the image's outlines
        annotation = read_voc(item.target)
        return score_image(np.ones(annotation.shape or (256, 64), dtype=np.uint8), annotation.boxes)
    if item.kind == "labels":
        return read_label_files([item.target])  # predict --labels, before any scan is predicted
    if item.kind == "sidecar":
        from scintiseg.predict.loader import load_onnx_model  # lazy: start-up time (onnxruntime)

        return load_onnx_model(item.folder / item.args["onnx"])  # predict --model FILE.onnx
    if item.kind == "gan-normalisation":
        from scintiseg.gan.sample import load_run  # lazy: start-up time (torch)

        return load_run(item.folder)  # gan sample, gan evaluate (read_normalisation, then what they take from it)
    if item.kind == "run-split":
        from scintiseg.train.evaluate import cases_of_split  # lazy: start-up time (torch)

        return cases_of_split(item.folder, item.folder, item.args["split"])  # evaluate --run RUN --split val/train
    if item.kind == "scores-csv":
        from scintiseg.experiments.test_set import read_image_scores  # lazy: start-up time (torch)

        return read_image_scores(item.folder)  # experiment report, and the end of every experiment
    if item.kind == "report-json":
        return _read_prediction_folder(item.folder)
    if item.kind == "review":
        return _review_folder(item.folder, Path(item.args["out"]))
    raise ValueError(f"unknown kind {item.kind!r}")


class _ModelReached(Exception):
    """The report-json kind's stand-in network was called: the folder was read back as far as the model."""


class _StandInEngine:
    """A lesion model that stops the prediction where the network would run (:class:`_ModelReached`)."""

    name = "torch"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        raise _ModelReached


def _read_prediction_folder(folder: Path) -> None:
    """``scintiseg review`` / ``compare`` reading a prediction's folder back: a batch review's look at whether it was
    edited (:func:`~scintiseg.report.review_folder.is_edited`), then
    :func:`~scintiseg.report.predicted_again.predict_again` (report, settings, the scan it names, the LabelMe files,
    the network's recorded outlines, the region network) up to the lesion network, which a stand-in replaces."""
    from scintiseg.predict.loader import LoadedModel  # lazy: start-up time (onnxruntime)
    from scintiseg.report.predicted_again import predict_again  # lazy: as above
    from scintiseg.report.review_folder import is_edited  # lazy: as above

    is_edited(folder)
    with contextlib.suppress(_ModelReached):
        predict_again(folder, model=LoadedModel(_StandInEngine()))


class _BlobEngine:
    """The review kind's stand-in lesion network: fixed logits, two hot discs in every window (fast, and the
    prediction run again has lesions and calls of its own)."""

    name = "onnx"  # the shipped model's engine in the seed's report: its region network

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        count, _, height, width = batch.shape
        rows, cols = np.ogrid[:height, :width]
        hot = (((rows - 0.4 * height) ** 2 + (cols - 0.5 * width) ** 2 <= 36)
               | ((rows - 0.7 * height) ** 2 + (cols - 0.3 * width) ** 2 <= 16))
        return np.broadcast_to(np.where(hot, 6.0, -6.0).astype(np.float32), (count, 1, height, width)).copy()


_STAND_IN: dict[str, Any] = {}


def _stand_in_model(*args: Any, **kwargs: Any):  # noqa: ARG001 - load_model's signature
    """The shipped model (its provenance, input contract and region network) with :class:`_BlobEngine` as its
    lesion network: what ``review`` loads in place of the shipped one, loaded once per worker."""
    import dataclasses  # lazy: this kind only

    if "model" not in _STAND_IN:
        from scintiseg.predict.loader import load_model  # lazy: start-up time (onnxruntime)

        _STAND_IN["model"] = dataclasses.replace(load_model(None, engine="onnx"), engine=_BlobEngine())
    return _STAND_IN["model"]


class _ReviewOutcome(Exception):
    """``scintiseg review`` ended otherwise than the project's rule says: exit 0 without a complete report, or a
    refusal in more than one line (a traceback printed)."""


def _review_folder(folder: Path, out: Path) -> None:
    """``scintiseg review FOLDER --out OUT`` as the command line runs it (:func:`scintiseg.cli.main`, in this
    process), the shipped lesion network replaced by :class:`_BlobEngine` (:func:`_stand_in_model`). Exit 2 (or 1,
    a batch's failures) with one line is a :class:`ScintisegError` (clean); exit 0 must leave ``OUT/report.json``.
    The warnings the command prints (one line each) are issued again, for the harness to count."""
    from unittest import mock  # lazy: this kind only

    from scintiseg.cli import main as cli_main  # lazy: start-up time: the whole command line, for this kind only

    stderr = io.StringIO()
    shown = warnings.showwarning  # the command line prints warnings in one line each from now on: put back below
    with mock.patch("scintiseg.report.predicted_again.load_model", _stand_in_model), \
            mock.patch("scintiseg.report.review_folder.load_model", _stand_in_model), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        try:
            code = cli_main(["review", str(folder), "--out", str(out), "--quiet", "--reader", "Fuzz^Reader"])
        finally:
            warnings.showwarning = shown
    lines = stderr.getvalue().splitlines()
    for line in lines:
        if line.startswith("warning: "):
            warnings.warn(line.removeprefix("warning: "), stacklevel=1)
    said = [line for line in lines if not line.startswith("warning: ")]
    if code == 0:
        if not (out / "report.json").is_file() and not (out / "summary.csv").is_file():
            raise _ReviewOutcome(f"exit 0, but no report.json in --out: {' | '.join(said)[:200]}")
        return
    one_line = len(said) == 1 if code == 2 else code == 1 and bool(said)  # 1: a line per failed folder, a summary
    if one_line and "Traceback" not in stderr.getvalue():
        raise ScintisegError(said[0].split(": error: ", 1)[-1] if said else f"exit {code}")
    raise _ReviewOutcome(f"exit {code}, {len(said)} lines: {' | '.join(said)[:200]}")


def _warm_up(kinds: tuple[str, ...]) -> None:
    """Import what the readers import, so the first input of a kind is not timed with the imports."""
    modules = ["scintiseg.io", "scintiseg.io.dataset", "scintiseg.io.dicom", "scintiseg.io.images", "scintiseg.io.labelme"]
    if set(kinds) & {"tiff", "dataset", "splits"}:
        modules.append("tifffile")
    if "yaml" in kinds:
        modules.append("scintiseg.train.config")
    if set(kinds) & {"labelme4", "labelme5", "dataset"}:
        modules.append("scipy.ndimage")
    if "sidecar" in kinds:
        modules += ["onnxruntime", "scintiseg.predict.loader"]
    if "gan-normalisation" in kinds:
        modules.append("scintiseg.gan.sample")
    if set(kinds) & {"run-split", "scores-csv"}:
        modules += ["scintiseg.train.evaluate", "scintiseg.experiments.test_set"]
    if "report-json" in kinds or "review" in kinds:
        modules += ["scintiseg.report.predicted_again", "scintiseg.report.review_folder"]
    if "review" in kinds:
        modules += ["scintiseg.cli.review", "scintiseg.report.outputs"]
    for name in modules:
        importlib.import_module(name)
    if "checkpoint" in kinds:
        _checkpoint_loader()
    if "report-json" in kinds:  # the region network loads once, with the first folder read back
        from scintiseg.predict.settings import PredictSettings  # lazy: start-up time (only this kind)

        PredictSettings().region_network(_StandInEngine.name)
    if "review" in kinds:  # the shipped model's provenance and region network, loaded once
        from scintiseg.predict.settings import PredictSettings  # lazy: start-up time (only this kind)

        PredictSettings().region_network(_stand_in_model().engine.name)


# ================================================================================================ running


def _innermost(tb: traceback.StackSummary, inside: str | None = None) -> str:
    frames = [f for f in tb if inside is None or inside in f.filename.replace(os.sep, "/")]
    if not frames:
        return "?"
    frame = frames[-1]
    name = frame.filename.replace(os.sep, "/")
    for marker in ("/src/", "/site-packages/", "/lib/python"):
        if marker in name:
            name = name.split(marker, 1)[1]
            break
    return f"{name}:{frame.lineno} in {frame.name}"


def _listing(folder: Path, depth: int = 50) -> dict[str, tuple[int, int]]:
    """``relative path -> (size, mtime_ns)`` of every file under ``folder`` (``depth`` levels deep)."""
    out: dict[str, tuple[int, int]] = {}
    if not folder.is_dir():
        return out
    base = len(folder.parts)
    for here, dirs, files in os.walk(folder):
        level = len(Path(here).parts) - base
        if level >= depth:
            dirs[:] = []
        dirs[:] = [d for d in dirs if d not in (".git", ".venv", "__pycache__", ".hypothesis", ".pytest_cache")]
        for name in files:
            path = Path(here) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            out[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return out


def _changes(before: dict, after: dict) -> list[str]:
    return sorted(
        [f"new {p}" for p in after.keys() - before.keys()]
        + [f"changed {p}" for p in after.keys() & before.keys() if after[p] != before[p]]
        + [f"removed {p}" for p in before.keys() - after.keys()]
    )


class _RootRecords(logging.Handler):
    """Stands in for the CLI's root handler (``logging.basicConfig``): counts what would reach stderr."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage().splitlines()[0] if record.getMessage() else ''}")


def run_one(item: Input, sandbox: Path | None = None) -> dict:
    """Read one input; classify the outcome. Writes into the sandbox or the input folder are reported."""
    watched = [item.folder] + ([sandbox] if sandbox else [])
    if "out" in item.args and item.kind == "review":  # its own folder: written on accept, nothing after a refusal
        watched.append(Path(item.args["out"]).parent)
    before = [_listing(folder) for folder in watched]
    handler = _RootRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.WARNING)
    result: dict[str, Any] = {"kind": item.kind, "index": item.index, "mutations": item.mutations}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                read_input(item)
                result["outcome"] = "accept"
            except ScintisegError as exc:
                result["outcome"] = "clean"
                result["message"] = str(exc)[:300]
            except RecursionError as exc:  # kept apart: its traceback is thousands of frames
                result.update(outcome="unexpected", type="RecursionError", message=str(exc)[:300],
                              where=_innermost(traceback.extract_tb(exc.__traceback__, limit=200), "/scintiseg/"),
                              first_line="RecursionError")
            except BaseException as exc:  # noqa: BLE001 - the point: anything else is a finding
                if isinstance(exc, KeyboardInterrupt):
                    raise
                tb = traceback.extract_tb(exc.__traceback__)
                result.update(
                    outcome="unexpected", type=type(exc).__name__, message=" ".join(str(exc).split())[:300],
                    where=_innermost(tb, "/scintiseg/"), innermost=_innermost(tb),
                    first_line=" ".join(traceback.format_exception_only(type(exc), exc)[0].split())[:300],
                )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    result["seconds"] = round(time.perf_counter() - start, 4)
    # Warnings that do not name the input file are library chatter that reached the user unfolded.
    prefix = str(item.folder)
    messages = [str(w.message) for w in caught]
    result["warnings"] = len(messages)
    result["stray"] = [m[:200] for m in messages if not m.startswith(prefix)] + handler.records
    writes = []
    for folder, old in zip(watched, before):
        changes = _changes(old, _listing(folder))
        if item.kind == "review" and folder != item.folder and result["outcome"] == "accept":
            out = Path(item.args["out"]).name  # the reviewed folder a review writes; anything else is a finding
            changes = [c for c in changes if not c.startswith(f"new {out}/")]
        writes += [f"{folder.name}: {c}" for c in changes]
    result["writes"] = writes
    return result


def _worker(conn, seeds: str, seed: int, kinds: tuple[str, ...], memory_gb: float, sandbox: str) -> None:
    """A worker process: warm up, then generate and read inputs as the main process asks."""
    sandbox_path = Path(sandbox)
    (sandbox_path / "cwd").mkdir(parents=True, exist_ok=True)
    (sandbox_path / "home").mkdir(parents=True, exist_ok=True)
    os.chdir(sandbox_path / "cwd")
    os.environ["HOME"] = str(sandbox_path / "home")
    if memory_gb > 0:
        limit = int(memory_gb * 2**30)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        import torch  # lazy: start-up time: only the workers use torch, and import it inside their sandbox HOME

        torch.set_num_threads(1)
    except ImportError:
        pass
    _warm_up(kinds)
    # Caches written while importing (matplotlib's font list, pulled in by torch) are not the readers' doing.
    shutil.rmtree(sandbox_path / "home", ignore_errors=True)
    (sandbox_path / "home").mkdir()
    conn.send(("ready", os.getpid()))
    while True:
        message = conn.recv()
        if message is None:
            return
        kind, index = message
        folder = sandbox_path / "inputs" / f"{kind}-{index}"
        try:
            item = make_input(Path(seeds), kind, index, seed, folder)
        except Exception as exc:  # noqa: BLE001 - a harness bug, reported as such
            conn.send({"kind": kind, "index": index, "outcome": "harness-error",
                       "message": f"{type(exc).__name__}: {exc}"[:300], "mutations": []})
            shutil.rmtree(folder, ignore_errors=True)
            continue
        conn.send(("started", item.mutations))
        result = run_one(item, sandbox=sandbox_path / "cwd")
        home_writes = _listing(sandbox_path / "home")
        if home_writes:
            result["writes"] += [f"HOME: new {p}" for p in home_writes]
            shutil.rmtree(sandbox_path / "home", ignore_errors=True)
            (sandbox_path / "home").mkdir()
        for leftover in (sandbox_path / "cwd").iterdir():  # keep the sandbox empty for the next input
            (shutil.rmtree if leftover.is_dir() else Path.unlink)(leftover)
        shutil.rmtree(folder, ignore_errors=True)
        if "out" in item.args and item.kind == "review":
            shutil.rmtree(Path(item.args["out"]).parent, ignore_errors=True)
        conn.send(result)


@dataclass
class _Slot:
    process: Any = None
    conn: Any = None
    task: tuple | None = None
    deadline: float = 0.0
    ready: bool = False
    reading: bool = False  # False while the worker still generates the input
    mutations: list = field(default_factory=list)


def run_fuzz(
    n: int,
    seed: int = 0,
    kinds: tuple[str, ...] = KINDS,
    timeout: float = 10.0,
    workers: int = 2,
    memory_gb: float = 3.0,
    progress: bool = True,
) -> dict:
    """Generate and read ``n`` inputs (dealt round-robin over ``kinds``); returns the summary (see :func:`summarise`)."""
    launch = Path.cwd()
    home = Path.home()
    before = {"launch folder": _listing(launch, depth=2), "HOME": _listing(home, depth=2)}
    tasks = [(kinds[i % len(kinds)], i // len(kinds)) for i in range(n)]
    results: list[dict] = []
    context = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scintiseg-fuzz-") as tmp:
        seeds = build_seeds(Path(tmp) / "seeds", kinds)
        slots = [_Slot() for _ in range(max(1, workers))]

        def launch_worker(number: int) -> None:
            parent, child = context.Pipe()
            sandbox = Path(tmp) / f"worker{number}-{time.monotonic_ns()}"
            process = context.Process(target=_worker, args=(child, str(seeds), seed, kinds, memory_gb, str(sandbox)),
                                      daemon=True)
            process.start()
            child.close()
            slots[number] = _Slot(process=process, conn=parent)

        def stop(number: int) -> None:
            process = slots[number].process
            process.kill()
            process.join(5)
            slots[number].conn.close()

        for number in range(len(slots)):
            launch_worker(number)
        pending = list(reversed(tasks))
        done = failed_starts = shown = 0
        while pending or any(s.task for s in slots):
            for number, slot in enumerate(slots):
                if slot.ready and slot.task is None and pending:
                    slot.task = pending.pop()
                    # Generating an input gets its own, longer allowance; the reader's clock starts after.
                    slot.deadline = time.monotonic() + 3 * timeout
                    slot.reading, slot.mutations = False, []
                    slot.conn.send(slot.task)
            busy = [s.conn for s in slots if s.task or not s.ready]
            soonest = min((s.deadline for s in slots if s.task), default=time.monotonic() + 60)
            ready = wait(busy, timeout=max(0.0, soonest - time.monotonic()))
            for number, slot in enumerate(slots):
                if slot.conn in ready:
                    try:
                        message = slot.conn.recv()
                    except (EOFError, OSError):
                        if not slot.task:
                            failed_starts += 1
                            if failed_starts > 3:
                                raise RuntimeError("fuzz workers die while starting; run one input with --replay")
                        if slot.task:
                            kind, index = slot.task
                            results.append({"kind": kind, "index": index,
                                            "outcome": "crash" if slot.reading else "harness-error",
                                            "message": f"worker exit code {slot.process.exitcode}",
                                            "mutations": slot.mutations})
                            done += 1
                        stop(number)
                        launch_worker(number)
                        continue
                    if isinstance(message, tuple) and message[0] == "ready":
                        slot.ready = True
                        continue
                    if isinstance(message, tuple) and message[0] == "started":
                        slot.reading, slot.mutations = True, message[1]
                        slot.deadline = time.monotonic() + timeout
                        continue
                    results.append(message)
                    slot.task = None
                    done += 1
                elif slot.task and time.monotonic() > slot.deadline:
                    kind, index = slot.task
                    results.append({"kind": kind, "index": index, "outcome": "hang" if slot.reading else "harness-error",
                                    "message": f"no answer within {timeout} s" if slot.reading
                                    else "generating the input took too long", "mutations": slot.mutations})
                    done += 1
                    stop(number)
                    launch_worker(number)
            if progress and done // 250 > shown // 250:
                shown = done
                print(f"\r{done}/{n} inputs, {time.perf_counter() - start:.0f} s", end="", file=sys.stderr, flush=True)
        for slot in slots:
            with contextlib.suppress(OSError, BrokenPipeError):
                slot.conn.send(None)
            slot.process.join(5)
            if slot.process.is_alive():
                slot.process.kill()
    if progress:
        print(file=sys.stderr)
    elapsed = time.perf_counter() - start
    after = {"launch folder": _listing(launch, depth=2), "HOME": _listing(home, depth=2)}
    outside = {name: _changes(before[name], after[name]) for name in before}
    return summarise(results, n=n, seed=seed, kinds=kinds, timeout=timeout, elapsed=elapsed, outside=outside)


def summarise(results: list[dict], **facts: Any) -> dict:
    """Counts per kind, distinct unexpected exceptions (with a reproducer each), hangs, crashes, writes."""
    per_kind: dict[str, Counter] = {}
    seconds: dict[str, list[float]] = {}
    distinct: dict[tuple, dict] = {}
    for r in sorted(results, key=lambda r: (r["kind"], r["index"])):
        counts = per_kind.setdefault(r["kind"], Counter())
        counts[r["outcome"]] += 1
        counts["inputs"] += 1
        counts["stray_warnings"] += bool(r.get("stray"))
        seconds.setdefault(r["kind"], []).append(r.get("seconds", 0.0))
        counts["writes"] += bool(r.get("writes"))
        if r["outcome"] == "unexpected":
            key = (r["kind"], r["type"], r.get("where"))
            entry = distinct.setdefault(key, {
                "kind": r["kind"], "type": r["type"], "where": r.get("where"), "innermost": r.get("innermost"),
                "first_line": r.get("first_line"), "count": 0,
                "example": {"index": r["index"], "mutations": r["mutations"]},
            })
            entry["count"] += 1
    elapsed = facts.pop("elapsed", 0.0)
    return {
        **facts,
        "kinds": list(facts.get("kinds", ())),
        "elapsed_s": round(elapsed, 1),
        "inputs_per_s": round(len(results) / elapsed, 1) if elapsed else None,
        "per_kind": {kind: {k: counts.get(k, 0) for k in ("inputs", *OUTCOMES, "stray_warnings", "writes")}
                     for kind, counts in per_kind.items()},
        "read_seconds": {kind: {"median": round(float(np.median(v)), 4), "max": round(max(v), 3)}
                         for kind, v in seconds.items()},
        "unexpected": sorted(distinct.values(), key=lambda e: (e["kind"], -e["count"])),
        "hangs": [{"kind": r["kind"], "index": r["index"], "mutations": r["mutations"]}
                  for r in results if r["outcome"] == "hang"],
        "crashes": [{"kind": r["kind"], "index": r["index"], "message": r.get("message"), "mutations": r["mutations"]}
                    for r in results if r["outcome"] in ("crash", "harness-error")],
        "stray_examples": sorted({s for r in results for s in r.get("stray", [])})[:20],
        "writes": sorted({f"{r['kind']}:{r['index']}: {w}" for r in results for w in r.get("writes", [])})[:50],
    }


def format_summary(summary: dict) -> str:
    """The per-kind table and the findings as Markdown."""
    columns = ("inputs", *OUTCOMES, "stray_warnings", "writes")
    lines = ["| kind | " + " | ".join(c.replace("_", " ") for c in columns) + " | median / max read (s) |",
             "|---|" + "---:|" * (len(columns) + 1)]
    totals = Counter()
    for kind, counts in summary["per_kind"].items():
        timing = summary["read_seconds"].get(kind, {})
        lines.append(f"| {kind} | " + " | ".join(f"{counts[c]:,}" for c in columns)
                     + f" | {timing.get('median', 0):.3f} / {timing.get('max', 0):.2f} |")
        totals.update(counts)
    lines.append("| **all** | " + " | ".join(f"**{totals[c]:,}**" for c in columns) + " | |")
    lines.append("")
    lines.append(f"{summary.get('n', sum(totals[c] for c in OUTCOMES)):,} inputs, seed {summary.get('seed')}, "
                 f"{summary['elapsed_s']} s ({summary['inputs_per_s']} inputs/s), per-input limit {summary.get('timeout')} s.")
    if summary["unexpected"]:
        lines += ["", "Distinct unexpected exceptions (kind, type, innermost scintiseg frame, count, reproducer):", ""]
        for e in summary["unexpected"]:
            lines.append(f"* `{e['kind']}` **{e['type']}** at `{e['where']}` (x{e['count']}; innermost `{e['innermost']}`): "
                         f"{e['first_line']} -- `--replay {e['kind']}:{e['example']['index']}`: "
                         f"{'; '.join(e['example']['mutations'])}")
    for name in ("hangs", "crashes"):
        if summary[name]:
            lines += ["", f"{name.capitalize()}:", ""]
            for h in summary[name][:20]:
                lines.append(f"* `{h['kind']}:{h['index']}`: {'; '.join(h['mutations'])} {h.get('message') or ''}")
    if summary["writes"]:
        lines += ["", "Files written by readers:", ""] + [f"* {w}" for w in summary["writes"]]
    for name, changes in summary.get("outside", {}).items():
        if changes:
            lines += ["", f"Changed in the {name} during the run (other processes may write there too):", ""]
            lines += [f"* {c}" for c in changes[:20]]
    return "\n".join(lines)


def replay(kind: str, index: int, seed: int, save: Path | None) -> int:
    """Regenerate one input and read it here, with the full traceback of anything unexpected."""
    with tempfile.TemporaryDirectory() as tmp:
        seeds = build_seeds(Path(tmp) / "seeds", (kind,))
        folder = Path(save) if save else Path(tmp) / "input"
        item = make_input(seeds, kind, index, seed, folder)
        print(f"{kind}:{index} (seed {seed}): {'; '.join(item.mutations)}\n  file: {item.target} {item.args or ''}")
        try:
            read_input(item)
            print("accepted")
        except ScintisegError as exc:
            print(f"clean error: {exc}")
        except Exception:  # noqa: BLE001 - shown in full: this is what replay is for
            traceback.print_exc()
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of inputs (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS, metavar="KIND",
                        help=f"kinds of file (default: all of {', '.join(KINDS)})")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per input before it counts as a hang")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--memory-gb", type=float, default=3.0, help="heap limit per worker (RLIMIT_DATA; 0: none)")
    parser.add_argument("--json", type=Path, default=None, help="write the summary here as JSON")
    parser.add_argument("--replay", default=None, metavar="KIND:INDEX", help="regenerate one input and read it here")
    parser.add_argument("--save", type=Path, default=None, help="with --replay: keep the input in this folder")
    args = parser.parse_args(argv)
    if args.replay:
        kind, index = args.replay.split(":")
        return replay(kind, int(index), args.seed, args.save)
    summary = run_fuzz(args.n, seed=args.seed, kinds=tuple(args.kinds), timeout=args.timeout, workers=args.workers,
                       memory_gb=args.memory_gb)
    summary["command"] = "python benchmarks/bench_fuzz.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(format_summary(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    bad = sum(summary["per_kind"][k]["unexpected"] + summary["per_kind"][k]["hang"] + summary["per_kind"][k]["crash"]
              for k in summary["per_kind"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
