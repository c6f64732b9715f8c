"""scintiseg.io.npz: NumPy archives read as scans: named views, one unnamed array, pixel size, patient, damage."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.npz import is_npz
from scintiseg.report.batch import expand_inputs

RNG = np.random.default_rng(3)
ANT = RNG.poisson(20, size=(96, 32)).astype(np.uint16)  # a whole-body view: taller than wide
POST = RNG.poisson(25, size=(96, 32)).astype(np.float32)


def _one_line_error(path, match):
    with pytest.raises(ScintisegError, match=match) as caught:
        read_scan(path)
    assert "\n" not in str(caught.value) and path.name in str(caught.value)


def test_a_phantoms_archive_reads_its_named_views_spacing_and_patient_and_leaves_its_masks(tmp_path):
    path = tmp_path / "case.npz"
    np.savez(path, Anterior=ANT, post=POST, ant_mask=ANT > 25, post_regions=np.ones((96, 32), np.int32),
             pixel_spacing=np.array([2.2, 2.4]), patient_id="P007")
    scan = read_scan(path)
    assert scan.view_names == ["ANT", "POST"]
    np.testing.assert_array_equal(scan.view("ANT"), ANT)
    np.testing.assert_array_equal(scan.view("POST"), POST)
    assert scan.pixel_spacing == (2.2, 2.4) and "pixel_spacing_assumed" not in scan.metadata
    assert scan.patient_id == "P007"
    assert scan.metadata["npz_arrays"] == ("ANT from 'Anterior'; POST from 'post'; pixel size from 'pixel_spacing'; "
                                           "patient id from 'patient_id'; not read: ant_mask, post_regions")


def test_one_named_view_alone_is_that_view(tmp_path):
    path = tmp_path / "only.npz"
    np.savez_compressed(path, POSTERIOR=POST, spacing=2.26)
    scan = read_scan(path)
    assert scan.view_names == ["POST"] and scan.pixel_spacing == (2.26, 2.26)


@pytest.mark.parametrize("stored, views", [(ANT, ["VIEW"]), (np.stack([ANT, ANT + 1]), ["ANT", "POST"]),
                                           (ANT[None], ["VIEW"])])
def test_one_unnamed_array_reads_as_a_npy_file_would(tmp_path, stored, views):
    path = tmp_path / "plain.npz"
    np.savez(path, stored, note=np.arange(3))  # a 1-D array is no image
    np.save(tmp_path / "plain.npy", stored)
    scan, same = read_scan(path), read_scan(tmp_path / "plain.npy")
    assert scan.view_names == views == same.view_names
    for name in views:
        np.testing.assert_array_equal(scan.view(name), same.view(name))
    assert scan.pixel_spacing == same.pixel_spacing and "pixel_spacing_assumed" in scan.metadata
    assert scan.metadata["npz_arrays"].endswith("; not read: note")


def test_a_spacing_given_for_files_without_one_is_used_and_the_archives_own_wins(tmp_path):
    np.savez(tmp_path / "none.npz", ant=ANT)
    np.savez(tmp_path / "own.npz", ant=ANT, pixel_mm=4.5)
    assert read_scan(tmp_path / "none.npz", pixel_spacing=1.1).pixel_spacing == (1.1, 1.1)
    assert read_scan(tmp_path / "own.npz", pixel_spacing=1.1).pixel_spacing == (4.5, 4.5)


def test_recognised_by_content_not_name(tmp_path):
    np.savez(tmp_path / "case.npz", ant=ANT)
    blob = (tmp_path / "case.npz").read_bytes()
    assert is_npz(blob[:8]) and not is_npz(b"\x93NUMPY") and not is_npz(b"")
    renamed = tmp_path / "export.dat"
    renamed.write_bytes(blob)
    np.testing.assert_array_equal(read_scan(renamed).view("ANT"), ANT)


def test_a_folder_walk_finds_the_archive_and_names_its_outputs_without_the_suffix(tmp_path):
    from scintiseg.io.file_keys import output_stem

    np.savez(tmp_path / "case.npz", ant=ANT)
    assert expand_inputs([tmp_path]) == [(tmp_path / "case.npz").resolve()]
    assert output_stem("case.npz") == "case"


def _zip(path, **members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("make, match", [
    (lambda p: _zip(p, **{"notes.txt": "hi"}), "without NumPy arrays"),
    (lambda p: np.savez(p, a=ANT, b=POST), r"2 image arrays .*\(a, b\).*name them ant and post"),
    (lambda p: np.savez(p, mask=ANT > 20, n=np.arange(4)), "no image array"),
    (lambda p: np.savez(p, ant=np.array([object()] * 4, dtype=object)), "object values"),
    (lambda p: np.savez(p, ant=ANT.astype(bool)), "bool values"),
    (lambda p: np.savez(p, ant=np.zeros((3, 96, 32))), r"shape \(3, 96, 32\)"),
    (lambda p: np.savez(p, ant=ANT, post=POST[:64]), "differ in matrix: ANT 96 x 32, POST 64 x 32"),
    (lambda p: np.savez(p, ant=np.zeros((8, 8))), "too small"),
    (lambda p: np.savez(p, ant=ANT, spacing=np.array([2.0, -1.0])), "positive numbers"),
    (lambda p: np.savez(p, ant=ANT, spacing=np.ones(9)), r"shape \(9,\)"),
    (lambda p: np.savez(p, ant=ANT, spacing="wide"), "positive numbers"),
    (lambda p: np.savez(p, ant=ANT, spacing=np.array([2 + 1j])), "positive numbers"),
    (lambda p: np.savez(p, ant=ANT, patient_id=np.arange(2)), "one string"),
    (lambda p: np.savez(p, ant=np.full((96, 32), np.nan)), "NaN"),
])
def test_bad_archives_are_one_line_errors_naming_the_file(tmp_path, make, match):
    path = tmp_path / "bad.npz"
    make(path)
    _one_line_error(path, match)


def test_a_header_claiming_a_huge_array_is_refused_before_any_allocation(tmp_path):
    header = b"{'descr': '<u2', 'fortran_order': False, 'shape': (200000, 200000), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 64
    _one_line_error(_zip(tmp_path / "huge.npz", **{"ant.npy": member}), "too large")


def test_damaged_archives_are_one_line_errors(tmp_path):
    np.savez_compressed(tmp_path / "ok.npz", ant=ANT)
    blob = (tmp_path / "ok.npz").read_bytes()
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(blob[: len(blob) // 2])
    _one_line_error(truncated, "unreadable")
    flipped = bytearray(blob)
    start = blob.index(b"ant.npy") + len("ant.npy") + 40  # inside the compressed member's data
    flipped[start:start + 16] = bytes(16)
    damaged = tmp_path / "flip.npz"
    damaged.write_bytes(bytes(flipped))
    _one_line_error(damaged, "unreadable")


def test_a_header_holding_a_backslash_warns_nothing(tmp_path):
    """NumPy parses a header with ast.literal_eval: "\\G" in it made Python warn "invalid escape sequence" about the
    file's bytes (the fuzzer, seed 5252); the read says what is wrong, in one line, and nothing else."""
    import warnings

    header = b"{'descr': '<u2', 'fortran_order': False, 'shape': (96, 32), '\\G': 1}"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + ANT.tobytes()
    (tmp_path / "escape.npy").write_bytes(member)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # recorded, not raised: raised, the reader's own except would hide it
        _one_line_error(_zip(tmp_path / "escape.npz", **{"ant.npy": member}), "unreadable array 'ant'")
        _one_line_error(tmp_path / "escape.npy", "unreadable .npy file")
    assert [str(w.message) for w in caught] == []
