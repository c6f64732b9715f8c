"""scintiseg.io.nifti: NIfTI-1/2 (``.nii``, ``.nii.gz``) read with nibabel as planar views: axes, views, pixel size."""

from __future__ import annotations

import gzip
import subprocess
import sys

import nibabel
import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.library_messages import ReaderWarning
from scintiseg.io.nifti import is_nifti

VIEW = np.random.default_rng(1).poisson(20, size=(96, 32)).astype(np.uint16)  # a whole-body view: taller than wide


def _save(path, data, zooms=(2.26, 2.26), unit=None, version=1):
    image = (nibabel.Nifti1Image if version == 1 else nibabel.Nifti2Image)(data, np.diag([*zooms, 1.0, 1.0]))
    if unit:
        image.header.set_xyzt_units(unit)
    nibabel.save(image, path)
    return path


def test_a_numpy_view_saved_as_it_is_reads_as_stored(tmp_path):
    scan = read_scan(_save(tmp_path / "view.nii", VIEW, zooms=(2.2, 2.4)))
    assert scan.view_names == ["VIEW"]
    np.testing.assert_array_equal(scan.view("VIEW"), VIEW)
    assert scan.pixel_spacing == (2.2, 2.4) and "rows" in scan.metadata["nifti_axes"]


def test_an_itk_style_file_columns_first_reads_upright(tmp_path):
    """ITK, MONAI and Slicer write x (columns) first: the voxel array is the view transposed."""
    scan = read_scan(_save(tmp_path / "view.nii.gz", np.ascontiguousarray(VIEW.T), zooms=(2.4, 2.2), unit="mm"))
    np.testing.assert_array_equal(scan.view("VIEW"), VIEW)
    assert scan.pixel_spacing == (2.2, 2.4) and "transposed" in scan.metadata["nifti_axes"]


def test_two_views_along_an_axis_of_two_are_ant_then_post(tmp_path):
    stacked = np.stack([VIEW.T, VIEW.T[::-1] + 1], axis=-1).astype(np.float32)
    with pytest.warns(ReaderWarning, match="first = ANT, the second = POST"):
        scan = read_scan(_save(tmp_path / "two.nii", stacked, zooms=(0.0024, 0.0024), unit="meter", version=2))
    assert scan.view_names == ["ANT", "POST"]
    np.testing.assert_array_equal(scan.view("POST"), VIEW[:, ::-1] + 1)
    assert scan.pixel_spacing == pytest.approx((2.4, 2.4))  # metres converted


def test_a_writers_default_pixdim_of_one_is_taken_as_unset(tmp_path):
    scan = read_scan(_save(tmp_path / "view.nii", VIEW, zooms=(1.0, 1.0)))
    assert "pixdim 1 x 1" in scan.metadata["pixel_spacing_assumed"]
    assert read_scan(_save(tmp_path / "mm.nii", VIEW, zooms=(1.0, 1.0), unit="mm")).pixel_spacing == (1.0, 1.0)


def test_recognised_by_content_also_gzipped(tmp_path):
    plain = (_save(tmp_path / "v.nii", VIEW)).read_bytes()
    assert is_nifti(plain[:544]) and is_nifti(gzip.compress(plain)[:544])
    assert not is_nifti(b"\x1f\x8b" + b"\0" * 600) and not is_nifti(b"\0" * 600)
    renamed = tmp_path / "export.dat"
    renamed.write_bytes(plain)
    np.testing.assert_array_equal(read_scan(renamed).view("VIEW"), VIEW)


@pytest.mark.parametrize("data, message", [
    (np.zeros((32, 32, 32), np.uint16), "not read"),
    (np.zeros((64, 32), np.complex64), "not counts"),
    (np.full((64, 32), np.nan, np.float32), "NaN"),
])
def test_volumes_complex_voxels_and_nan_are_one_error_naming_the_file(tmp_path, data, message):
    with pytest.raises(ScintisegError, match=message) as caught:
        read_scan(_save(tmp_path / "bad.nii", data))
    assert "bad.nii" in str(caught.value)


def test_a_corrupt_header_is_one_error_and_nibabel_prints_nothing(tmp_path):
    path = _save(tmp_path / "bad.nii", VIEW)
    blob = bytearray(path.read_bytes())
    blob[70:72] = (7).to_bytes(2, "little")  # a data type code NIfTI does not define
    path.write_bytes(bytes(blob))
    code = ("import sys; from scintiseg.io import read_scan\n"
            "try:\n    read_scan(sys.argv[1])\nexcept Exception as e:\n    print(type(e).__name__, e)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("ScintisegError") and "not a readable NIfTI image" in done.stdout
    assert done.stderr == ""


def test_reading_other_formats_does_not_import_nibabel(tmp_path):
    np.save(tmp_path / "v.npy", VIEW)
    code = ("import sys; from scintiseg.io import read_scan; read_scan(sys.argv[1]); "
            "print('nibabel' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "v.npy")], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_square_view_is_read_transposed_as_the_standard_says(tmp_path):
    """A spot view or crop (square) stored x first, as NIfTI's standard has it, reads upright (module docstring)."""
    square = VIEW[:32]  # 32 x 32, not symmetric
    scan = read_scan(_save(tmp_path / "square.nii", np.ascontiguousarray(square.T), zooms=(2.4, 2.2), unit="mm"))
    np.testing.assert_array_equal(scan.view("VIEW"), square)
    assert scan.pixel_spacing == (2.2, 2.4) and "transposed" in scan.metadata["nifti_axes"]
