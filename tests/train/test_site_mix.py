"""``scintiseg.train.site_mix``: the epoch mix of phantom windows, a site's scans and hybrids of its normal scans."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dicom import write_dicom
from scintiseg.phantom import generate_patient, profile
from scintiseg.train.hybrid_site import NormalScans, read_normals
from scintiseg.train.site_mix import MixedPool
from scintiseg.train.unlabelled import SiteScans, SiteView
from support import conftest_of


def _normal_small():
    """The ``small`` profile (512 x 128 at 4.52 mm) with every patient free of metastases: normal scans."""
    base = profile("small")
    return replace(base, lesions=replace(base.lesions, p_normal=1.0))


@pytest.fixture(scope="module")
def normals(tmp_path_factory) -> NormalScans:
    """One lesion-free phantom scan (512 x 128 at 4.52 mm) as a site's normal scans."""
    folder = tmp_path_factory.mktemp("normals")
    write_dicom(generate_patient(11, _normal_small()).scan, folder / "n0.dcm")
    return read_normals(folder, pixel_mm=4.52, normalisation="robust")


def _site(n: int = 2) -> SiteScans:
    """``n`` unlabelled site views of constant value k + 1."""
    return SiteScans([SiteView(f"c{k}", f"p{k}", "ANT", np.full((1, 80, 40), k + 1.0, np.float32),
                               np.zeros((1, 80, 40), np.float32), False) for k in range(n)])


def test_the_mix_splits_the_site_share_between_unlabelled_and_hybrid_windows(normals):
    both = MixedPool(conftest_of("train").FakePool(8, 64), _site(), share=0.5, seed=0, normals=normals).dataset(1)
    assert len(both) == 16
    assert both.labelled.tolist() == [True] * 8 + [False] * 4 + [True] * 4
    assert all(s.case_id.startswith("hybrid_") for s in both.samples[12:])
    only = MixedPool(conftest_of("train").FakePool(8, 64), None, share=0.5, seed=0, normals=normals).dataset(1)
    assert only.labelled.tolist() == [True] * 16
    assert all(s.case_id.startswith("hybrid_") for s in only.samples[8:])
    with pytest.raises(ScintisegError, match="unlabelled or normal"):
        MixedPool(conftest_of("train").FakePool(8, 64), None, share=0.5)


@pytest.mark.parametrize("share, expected", [(0.5, 8), (0.25, 3), (0.0, 0)])
def test_the_mix_adds_the_share_of_site_windows_unlabelled(share, expected):
    pool = conftest_of("train").FakePool(8)
    mixed = MixedPool(pool, _site(3), share=share, seed=0)
    data = mixed.dataset(2)
    assert len(data) == 8 + expected
    assert data.labelled.tolist() == [True] * 8 + [False] * expected
    mixed.close()
    assert pool.closed


def test_a_bad_share_is_one_error():
    with pytest.raises(ScintisegError, match="share"):
        MixedPool(conftest_of("train").FakePool(1), _site(3), share=1.0)
