"""Property: random and truncated bytes never make a reader raise anything but ScintisegError.

Hypothesis drives these (a failure shrinks to a minimal input); the format-aware mutation harness,
benchmarks/bench_fuzz.py, runs in test_fuzz_harness.py. Both start from the same valid seed files,
built by the harness's :func:`build_seeds`.
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.images import read_mask_png
from scintiseg.io.labelme import read_labelme

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
#: Harness seed variant -> file suffix used here.
SEED_FILES = {
    ".dcm": "dicom/nm2-explicit-le/seed.dcm",
    ".rle.dcm": "dicom/nm2-rle/seed.dcm",
    ".png": "png/grey16/seed.png",
    ".npy": "npy/uint16/seed.npy",
    ".tif": "tiff/plain/seed.tif",
    ".jpg": "jpeg/rgb-grey/seed.jpg",
    ".json": "labelme5/embedded/case_ANT.json",
}


@functools.cache
def samples() -> dict[str, bytes]:
    """Small valid files of every scan format and LabelMe, to truncate and corrupt."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        build_seeds = importlib.import_module("bench_fuzz").build_seeds
    finally:
        sys.path.remove(str(BENCHMARKS))
    with tempfile.TemporaryDirectory() as tmp:
        seeds = build_seeds(Path(tmp), ("dicom", "png", "npy", "tiff", "labelme5", "jpeg"))
        return {suffix: (seeds / relative).read_bytes() for suffix, relative in SEED_FILES.items()}


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


def test_seeds_are_valid():
    for suffix in (".dcm", ".rle.dcm", ".png", ".npy", ".tif", ".jpg"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"seed{suffix}"
            path.write_bytes(samples()[suffix])
            assert read_scan(path).shape[0] >= 16


@pytest.mark.parametrize("suffix", [".dcm", ".rle.dcm", ".png", ".npy", ".tif", ".jpg"])
@FUZZ
@given(data=st.data())
def test_truncated_or_corrupted_scans(suffix, data):
    original = samples()[suffix]
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
    _only_project_errors(read_labelme, samples()[".json"][:cut], ".json")


@pytest.mark.parametrize("suffix", [".dcm", ".rle.dcm"])
@FUZZ
@given(data=st.data())
def test_corrupted_dicom_headers(suffix, data):
    original = bytearray(samples()[suffix])
    header_end = original.rfind(b"\xe0\x7f\x10\x00")  # everything before the pixel data element
    for _ in range(data.draw(st.integers(1, 6))):
        original[data.draw(st.integers(132, header_end - 1))] = data.draw(st.integers(0, 255))
    _only_project_errors(read_scan, bytes(original), suffix)
