"""Tests of the second independent planar bone-scan phantom (benchmarks/independent_phantom_2.py).

The benchmark that reads it: tests/benchmarks/test_bench_independent.py; its run: docs/robustness.md, "A second
independently built phantom".
"""
import functools
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from support import benchmark_module

with benchmark_module("independent_phantom_2") as ip2:  # a script, imported by path; its functions outlive the with
    pass

SMALL = dict(rows=256, cols=64)


@functools.lru_cache(maxsize=None)
def case(seed, lesions=True, rows=256, cols=64, total_counts=None, spacing_mm=None):
    return ip2.make_case(seed, lesions=lesions, rows=rows, cols=cols, total_counts=total_counts,
                         spacing_mm=spacing_mm)


@functools.lru_cache(maxsize=None)
def seeds_with_lesions(n=3, min_lesions=2):
    out = []
    for s in range(200):
        if len(case(s).lesion_info) >= min_lesions:
            out.append(s)
            if len(out) == n:
                break
    return tuple(out)


def test_interface_types_and_shapes():
    c = case(seeds_with_lesions()[0])
    assert set(c.views) == set(c.lesions) == set(c.regions) == {"ANT", "POST"}
    for v in ("ANT", "POST"):
        assert c.views[v].shape == (256, 64)
        assert c.lesions[v].dtype == np.int32 and c.lesions[v].shape == (256, 64)
        assert c.regions[v].dtype == np.int16 and c.regions[v].shape == (256, 64)
        assert c.regions[v].min() >= 0 and c.regions[v].max() < len(ip2.REGION_CLASSES)
        a = c.views[v]
        assert np.all(a >= 0) and np.all(a == np.round(a))
    assert len(c.pixel_spacing) == 2 and c.pixel_spacing[0] == c.pixel_spacing[1] > 0
    for d in c.lesion_info:
        assert {"id", "region", "uptake_ratio", "diameter_mm"} <= set(d)
        assert d["region"] in ip2.REGION_CLASSES and d["region"] != "other"
        assert d["uptake_ratio"] > 1.0 and d["diameter_mm"] > 0
    assert ip2.REGION_CLASSES[0] == "other" and len(ip2.REGION_CLASSES) == 27


def test_same_seed_same_case_and_seeds_differ():
    a = ip2.make_case(3, **SMALL)
    b = ip2.make_case(3, **SMALL)
    for v in ("ANT", "POST"):
        np.testing.assert_array_equal(a.views[v], b.views[v])
        np.testing.assert_array_equal(a.lesions[v], b.lesions[v])
        np.testing.assert_array_equal(a.regions[v], b.regions[v])
    assert a.lesion_info == b.lesion_info and a.involved == b.involved
    c = case(4)
    assert not np.array_equal(a.views["ANT"], c.views["ANT"])


def test_lesion_ids_and_labels_agree():
    for s in seeds_with_lesions():
        c = case(s)
        ids = {d["id"] for d in c.lesion_info}
        assert ids == set(range(1, len(ids) + 1))
        labelled = set(np.unique(c.lesions["ANT"])) | set(np.unique(c.lesions["POST"]))
        labelled.discard(0)
        assert labelled == ids                       # every listed lesion has pixels, every label is listed
        for d in c.lesion_info:
            on = [v for v in ("ANT", "POST") if (c.lesions[v] == d["id"]).any()]
            assert on and sorted(on) == sorted(d["views"])


def test_lesion_masks_lie_on_their_region():
    checked = 0
    for s in seeds_with_lesions():
        c = case(s)
        for d in c.lesion_info:
            rid = ip2.REGION_CLASSES.index(d["region"])
            fracs = []
            for v in d["views"]:
                m = c.lesions[v] == d["id"]
                near = ndimage.binary_dilation(c.regions[v] == rid, iterations=2)
                fracs.append((m & near).sum() / m.sum())
            assert max(fracs) >= 0.5, (s, d)
            checked += 1
    assert checked >= 4


def test_involved_fractions():
    for s in seeds_with_lesions():
        c = case(s)
        assert {d["region"] for d in c.lesion_info} <= set(c.involved)
        for k, f in c.involved.items():
            assert k in ip2.REGION_CLASSES and 0.0 < f <= 1.0


def test_twin_differs_only_near_lesions():
    s = seeds_with_lesions()[0]
    c, t = case(s), case(s, lesions=False)
    assert t.lesion_info == [] and t.involved == {}
    for v in ("ANT", "POST"):
        assert not t.lesions[v].any()
        np.testing.assert_array_equal(c.regions[v], t.regions[v])
    any_ = (c.lesions["ANT"] > 0) | (c.lesions["POST"][:, ::-1] > 0)   # both views on ANT geometry
    for v, near in (("ANT", any_), ("POST", any_[:, ::-1])):
        diff = c.views[v] - t.views[v]
        assert diff.min() >= 0                         # lesions only add counts
        assert not diff[~ndimage.binary_dilation(near, iterations=6)].any()
        assert diff[ndimage.binary_dilation(near, iterations=1)].sum() >= 0.6 * diff.sum()
    assert (c.views["ANT"] != t.views["ANT"]).mean() < 0.2


def test_patient_left_is_image_right_on_ant_and_left_on_post():
    for s in (0, 1, 2):
        c = case(s)
        for name in ("humerus_left", "femur_left", "ribs_left", "humerus_right", "femur_right"):
            rid = ip2.REGION_CLASSES.index(name)
            for v in ("ANT", "POST"):
                rr, cc = np.nonzero(c.regions[v] == rid)
                assert len(cc) > 3, (s, name, v)
                right_half = cc.mean() > 32
                assert right_half == (name.endswith("left") == (v == "ANT")), (s, name, v)


def test_views_are_two_projections_not_a_mirror():
    for s in (0, 5):
        c = case(s, rows=512, cols=128)
        ant, post = c.views["ANT"], c.views["POST"][:, ::-1]
        tid = ip2.REGION_CLASSES.index("thoracic_spine")
        sid = ip2.REGION_CLASSES.index("sternum")
        spine = (c.regions["ANT"] == tid) & (c.regions["POST"][:, ::-1] == tid)
        assert post[spine].mean() > 1.3 * ant[spine].mean()     # spine clearer posteriorly
        st = (c.regions["ANT"] == sid) & (c.regions["POST"][:, ::-1] != tid)
        assert st.sum() >= 3 and ant[st].sum() > post[st].sum()  # sternum (off the spine) clearer anteriorly
        assert not np.array_equal(ant, post)


def test_forced_total_counts():
    for s, n in ((7, 2.0e6), (8, 0.6e6)):
        c = case(s, total_counts=n)
        assert abs(c.views["ANT"].sum() - n) < 0.01 * n
        assert 0.4 * n < c.views["POST"].sum() < 1.6 * n


def test_default_count_level_and_ranges():
    tot = [case(s).views["ANT"].sum() for s in range(6)]
    assert all(0.45e6 <= t <= 5.1e6 for t in tot)


def test_matrix_and_spacing_follow_rows_cols():
    s = 2
    small = case(s, rows=512, cols=128)
    big = case(s, rows=1024, cols=256)
    assert small.views["ANT"].shape == (512, 128) and big.views["ANT"].shape == (1024, 256)
    assert small.pixel_spacing[0] == pytest.approx(2 * big.pixel_spacing[0], rel=1e-3)

    def length_mm(c):
        rows = np.nonzero((c.regions["ANT"] > 0).any(axis=1))[0]
        return (rows[-1] - rows[0] + 1) * c.pixel_spacing[0]

    assert length_mm(small) == pytest.approx(length_mm(big), rel=0.03)
    forced = case(s, rows=256, cols=64, spacing_mm=8.0)
    assert forced.pixel_spacing == (8.0, 8.0)


def _read_views(paths):
    import pydicom
    out = {}
    for p in paths:
        d = pydicom.dcmread(p)
        assert d.Modality == "NM" and d.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        a = d.pixel_array
        if getattr(d, "NumberOfFrames", 1) > 1:
            for k, item in enumerate(d.DetectorInformationSequence):
                code = item.ViewCodeSequence[0].CodeValue
                out["ANT" if code == "399321004" else "POST"] = (a[k], d)
        else:
            text = " ".join(str(getattr(d, k, "")) for k in ("SeriesDescription", "ImageComments"))
            out["POST" if "POST" in text.upper() else "ANT"] = (a, d)
    return out


def test_dicom_round_trip_all_styles(tmp_path):
    want = set(ip2.DICOM_STYLES)
    seen = set()
    for s in range(40):
        style = ip2.dicom_style(s)
        if style in seen:
            continue
        seen.add(style)
        c = case(s)
        paths = ip2.write_dicom(c, tmp_path / str(s))
        assert all(Path(p).exists() for p in paths)
        got = _read_views(paths)
        assert set(got) == {"ANT", "POST"}
        for v, (a, d) in got.items():
            assert a.dtype == np.uint16
            np.testing.assert_array_equal(a, c.views[v].astype(np.uint16))
            assert [float(x) for x in d.PixelSpacing] == pytest.approx(list(c.pixel_spacing), rel=1e-9)
            assert d.Rows == 256 and d.Columns == 64
            assert str(d.PatientID).endswith(str(s))
        again = ip2.write_dicom(c, tmp_path / (str(s) + "b"))
        import pydicom
        assert [pydicom.dcmread(p).SOPInstanceUID for p in again] == [pydicom.dcmread(p).SOPInstanceUID
                                                                       for p in paths]
        if seen == want:
            break
    assert seen == want


def test_lesion_mix_over_patients():
    n = [len(case(s).lesion_info) for s in range(12)]
    assert sum(x == 0 for x in n) >= 1 and max(n) >= 2
    ratios = [d["uptake_ratio"] for s in range(12) for d in case(s).lesion_info]
    assert min(ratios) >= 1.3 - 1e-9 and max(ratios) <= 8.0 + 1e-9


def test_a_scan_and_its_twin_are_two_studies_unless_their_images_are_the_same(tmp_path):
    import pydicom

    def study(c, name):
        return {str(pydicom.dcmread(p).StudyInstanceUID) for p in ip2.write_dicom(c, tmp_path / name)}

    s = seeds_with_lesions()[0]
    scan, twin = study(case(s), "scan"), study(case(s, lesions=False), "twin")
    assert len(scan) == 1 and len(twin) == 1 and scan != twin
    free = next(k for k in range(40) if not case(k).lesion_info)
    assert study(case(free), "free") == study(case(free, lesions=False), "free_twin")
