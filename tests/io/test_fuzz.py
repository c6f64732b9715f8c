"""Property: random and truncated bytes never make a reader raise anything but ScintisegError."""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import read_mask_png, write_png16
from scintiseg.io.labelme import read_labelme, write_labelme
from scintiseg.scan import Annotation, Scan

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _samples() -> dict[str, bytes]:
    """Small valid files of every format, to truncate and corrupt."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        scan = Scan({"ANT": rng.poisson(5, (16, 8)).astype(np.uint16), "POST": rng.poisson(5, (16, 8)).astype(np.uint16)})
        write_dicom(scan, tmp / "s.dcm")
        write_png16(scan.view("ANT"), tmp / "s.png")
        np.save(tmp / "s.npy", np.stack(list(scan.views.values())))
        import tifffile

        tifffile.imwrite(tmp / "s.tif", scan.view("ANT"))
        mask = np.zeros((16, 8), dtype=bool)
        mask[3:9, 2:6] = True
        write_labelme(Annotation.from_mask(mask), tmp / "s.json", image=scan.view("ANT"))
        for path in tmp.iterdir():
            out[path.suffix] = path.read_bytes()
    return out


SAMPLES = _samples()


def _only_project_errors(read, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                read(path)
            except ScintisegError as exc:
                assert "\n" not in str(exc)


@pytest.mark.parametrize("suffix", [".dcm", ".png", ".npy", ".tif"])
@FUZZ
@given(data=st.data())
def test_truncated_or_corrupted_scans(suffix, data):
    original = SAMPLES[suffix]
    cut = data.draw(st.integers(0, len(original)))
    blob = bytearray(original[:cut])
    for _ in range(data.draw(st.integers(0, 3))):
        if blob:
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    _only_project_errors(read_scan, bytes(blob), suffix)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(blob):
    for read in (read_scan, read_mask_png, read_labelme):
        _only_project_errors(read, blob, ".bin")
    _only_project_errors(read_scan, b"\0" * 128 + b"DICM" + blob, ".dcm")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(
    shapes=st.lists(
        st.fixed_dictionaries(
            {"label": json_values, "points": json_values, "shape_type": st.sampled_from(["polygon", "rectangle", "circle", "point", None, 3])}
        ),
        max_size=3,
    ),
    height=json_values,
    image_path=json_values,
    image_data=st.none() | st.text(max_size=12),
)
def test_random_labelme_documents(shapes, height, image_path, image_data):
    doc = {"version": "5.0.1", "shapes": shapes, "imageHeight": height, "imageWidth": 8,
           "imagePath": image_path, "imageData": image_data}
    _only_project_errors(read_labelme, json.dumps(doc).encode(), ".json")


@pytest.mark.parametrize("cut", [0, 1, 10, 100, 1000])
def test_truncated_labelme(cut):
    _only_project_errors(read_labelme, SAMPLES[".json"][:cut], ".json")


@FUZZ
@given(data=st.data())
def test_corrupted_dicom_headers(data):
    original = bytearray(SAMPLES[".dcm"])
    header_end = len(original) - 16 * 8 * 2 * 2  # everything before the pixel data
    for _ in range(data.draw(st.integers(1, 6))):
        original[data.draw(st.integers(132, header_end - 1))] = data.draw(st.integers(0, 255))
    _only_project_errors(read_scan, bytes(original), ".dcm")
