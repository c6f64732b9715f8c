"""scintiseg.io.isolated_decode: GDCM never decodes in this process; what only it decodes, it decodes in a child."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom import uid

from scintiseg.errors import ScintisegError
from scintiseg.io import isolated_decode
from scintiseg.io.dicom import read_dicom
from scintiseg.io.isolated_decode import decode_in_child, in_process_plugin
from support import gdcm_recompressed


def test_gdcm_is_chosen_in_process_for_no_syntax():
    assert in_process_plugin(uid.JPEGLosslessSV1) is None  # only GDCM: a child decodes it
    assert in_process_plugin(uid.JPEGLossless) is None
    assert in_process_plugin(uid.JPEG2000Lossless) == "pillow"  # as before GDCM was installed
    assert in_process_plugin(uid.JPEGBaseline8Bit) == "pillow"
    assert in_process_plugin(uid.JPEGLSLossless) == "pyjpegls"
    assert in_process_plugin(uid.RLELossless) == ""  # GDCM not among its plugins: pydicom's own choice


@pytest.fixture(scope="module")
def jpeg_lossless_nm1(real_nm1, tmp_path_factory):
    return gdcm_recompressed(real_nm1, tmp_path_factory.mktemp("jll") / "nm1.dcm", "JPEGLosslessProcess14_1")


def test_a_dataset_without_a_file_is_decoded_from_a_copy(jpeg_lossless_nm1, real_nm1):
    ds = pydicom.dcmread(jpeg_lossless_nm1)
    array = decode_in_child(ds, None)  # no file to hand the child: a temporary copy is written
    np.testing.assert_array_equal(array, pydicom.dcmread(real_nm1).pixel_array)


def test_a_child_that_dies_is_one_error_naming_the_file(jpeg_lossless_nm1, monkeypatch):
    monkeypatch.setattr(isolated_decode, "_CHILD", "import os\nos.abort()\n")  # as GDCM's uncaught C++ exception
    with pytest.raises(ScintisegError) as caught:
        read_dicom(jpeg_lossless_nm1)
    message = str(caught.value)
    assert message.startswith(str(jpeg_lossless_nm1)) and "GDCM decoder crashed (signal 6)" in message
    assert "\n" not in message


def test_a_child_that_hangs_is_stopped(jpeg_lossless_nm1, monkeypatch):
    monkeypatch.setattr(isolated_decode, "_CHILD", "import time\ntime.sleep(60)\n")
    monkeypatch.setattr(isolated_decode, "CHILD_TIMEOUT_S", 1.0)
    with pytest.raises(ScintisegError, match="did not finish within 1 s"):
        read_dicom(jpeg_lossless_nm1)
