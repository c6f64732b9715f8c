"""Tests for scintiseg.predict.windows: which views a model of each input mode reads, and the way back."""

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.predict.windows import thoracic_windows
from scintiseg.prepare.views import mirror
from scintiseg.scan import Scan


@pytest.fixture(scope="module")
def mirrored_pair(nm1_scan):
    """A dual-view scan whose POST is exactly ANT as a camera would acquire it from behind (mirrored)."""
    ant = nm1_scan.view("ANT")
    return Scan({"ANT": ant, "POST": mirror(ant)}, pixel_spacing=nm1_scan.pixel_spacing)


def test_single_view_model_reads_both_views_of_a_dual_view_scan(mirrored_pair):
    windows = thoracic_windows(mirrored_pair, "ant", "percentile")
    assert [list(w.boxes) for w in windows] == [["ANT"], ["POST"]]
    # POST mirrored into ANT's orientation is the ANT window again, pixel for pixel
    np.testing.assert_array_equal(windows[0].image, windows[1].image)
    box = windows[1].boxes["POST"]
    ramp = np.tile(np.arange(box.width, dtype=np.float32), (box.height, 1))
    np.testing.assert_array_equal(windows[1].model_input.to_view(ramp, "POST"), ramp[:, ::-1])  # the output returns mirrored, as acquired


def test_single_view_scan_gives_one_window_and_fused_modes_refuse_it(nm1_scan):
    windows = thoracic_windows(nm1_scan, "ant", "percentile")
    assert len(windows) == 1 and list(windows[0].boxes) == ["ANT"] and windows[0].image.shape == (1, 256, 256)
    for mode in ("aggregate", "two_channel"):
        with pytest.raises(ScintisegError, match="needs ANT and POST"):
            thoracic_windows(nm1_scan, mode, "percentile")


def test_fused_modes_predict_on_ant_only(mirrored_pair):
    aggregate = thoracic_windows(mirrored_pair, "aggregate", "none")
    two = thoracic_windows(mirrored_pair, "two_channel", "none")
    assert [list(w.boxes) for w in aggregate + two] == [["ANT"], ["ANT"]]
    assert two[0].image.shape == (2, 256, 256)
    np.testing.assert_allclose(aggregate[0].image[0], two[0].image.sum(axis=0))  # Eq. 4: I_Ant + Mirr(I_Post)
