"""``scintiseg.train.hybrid_site``: a site's normal scans as labelled hybrid windows (lesions inserted each epoch)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import TURNED_KEY, Case, DatasetManifest, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.labelme import write_labelme
from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.scan import Annotation
from scintiseg.train.hybrid_site import NormalScans, hybrid_windows, read_normals, split_normals, validation_windows


def _normal_small():
    """The ``small`` profile (512 x 128 at 4.52 mm) with every patient free of metastases: normal scans."""
    base = profile("small")
    return replace(base, lesions=replace(base.lesions, p_normal=1.0))


@pytest.fixture(scope="module")
def normals_dir(tmp_path_factory):
    """Two lesion-free phantom scans (512 x 128 at 4.52 mm) as DICOM, a text file, a non-integer image and an
    8-bit export."""
    folder = tmp_path_factory.mktemp("normals")
    config = _normal_small()
    for k, seed in enumerate((11, 12)):
        patient = generate_patient(seed, config)
        write_dicom(patient.scan, folder / f"n{k}.dcm")
    (folder / "notes.txt").write_text("not a scan\n")
    np.save(folder / "rescaled.npy", np.full((64, 32), 0.5, np.float32))
    Image.fromarray(np.full((256, 64), 40, np.uint8)).save(folder / "export8.png")
    return folder


@pytest.fixture(scope="module")
def normals(normals_dir) -> NormalScans:
    return read_normals(normals_dir, pixel_mm=4.52, normalisation="robust")


def test_read_normals_prepares_each_scan_and_lists_what_it_could_not_use(normals, normals_dir, tmp_path):
    assert [case for case, _ in normals.sources] == ["n0", "n1"] and normals.views == 4
    reasons = dict(normals.skipped)
    assert set(reasons) == {str(normals_dir / name) for name in ("notes.txt", "rescaled.npy", "export8.png")}
    assert "integer counts" in reasons[str(normals_dir / "rescaled.npy")]
    assert "8-bit" in reasons[str(normals_dir / "export8.png")]
    with pytest.raises(ScintisegError, match="no normal scan could be used"):
        read_normals(normals_dir / "notes.txt", pixel_mm=4.52, normalisation="robust")
    with pytest.raises(ScintisegError, match="no such file"):
        read_normals(tmp_path / "absent", pixel_mm=4.52, normalisation="robust")


def test_with_orient_a_normal_scan_is_prepared_as_prediction_reads_it(normals_dir):
    def orient(scan):  # stands in for the region network's judgement (predict.pipeline.read_upright)
        return scan.with_views({v: np.asarray(i)[::-1] for v, i in scan.views.items()}), "head_down"

    turned = read_normals(normals_dir / "n0.dcm", pixel_mm=4.52, normalisation="robust", orient=orient)
    as_stored = read_normals(normals_dir / "n0.dcm", pixel_mm=4.52, normalisation="robust")
    assert turned.turned == [(str(normals_dir / "n0.dcm"), "head_down")] and as_stored.turned == []
    np.testing.assert_array_equal(turned.sources[0][1].scan.view("ANT"), as_stored.sources[0][1].scan.view("ANT")[::-1])


def test_hybrid_windows_hold_inserted_lesions_and_negatives_seeded_by_epoch(normals):
    first = hybrid_windows(normals, 24, window_size=64, seed=5, epoch=0)
    again = hybrid_windows(normals, 24, window_size=64, seed=5, epoch=0)
    other = hybrid_windows(normals, 24, window_size=64, seed=5, epoch=1)
    assert len(first) == 24 and all(s.image.shape == (1, 64, 64) and s.target.shape == (1, 64, 64) for s in first)
    assert all(np.array_equal(a.image, b.image) and np.array_equal(a.target, b.target) for a, b in zip(first, again))
    assert not all(np.array_equal(a.image, b.image) for a, b in zip(first, other))
    # The scans are lesion-free: every lesion pixel of a target is an inserted one, and some windows hold one.
    with_lesion = [s for s in first + other if s.target.sum() > 0]
    assert 0 < len(with_lesion) < 48
    # Inserted lesions add counts: in the model input, a lesion's pixels are brighter than the window's bone.
    sample = max(with_lesion, key=lambda s: s.target.sum())
    lesion = sample.target[0] > 0.5
    bone = sample.image[0] > np.percentile(sample.image[0], 90)
    assert sample.image[0][lesion].mean() > np.median(sample.image[0][bone & ~lesion])


def test_a_data_set_is_read_case_by_case_and_a_case_with_a_lesion_outline_is_refused(normals_dir, tmp_path):
    """Its LabelMe files and masks are not scans, and an outlined lesion means the scan is not normal."""
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for name in ("n0", "n1"):
        (tmp_path / "images" / f"{name}.dcm").write_bytes((normals_dir / f"{name}.dcm").read_bytes())
    shape = read_normals(normals_dir / "n1.dcm", pixel_mm=4.52, normalisation="robust").sources[0][1].scan.shape
    mask = np.zeros(shape, bool)
    mask[100:104, 60:64] = True
    write_labelme(Annotation.from_mask(mask, view="ANT"), tmp_path / "labels" / "n1_ANT.json")
    cases = [Case(case_id="n0", patient_id="P0", image="images/n0.dcm", origin="clinical"),
             Case(case_id="n1", patient_id="P1", image="images/n1.dcm", origin="clinical",
                  labels={"ANT": "labels/n1_ANT.json"})]
    save_manifest(DatasetManifest(name="site", views=["ANT", "POST"], pixel_spacing=(4.52, 4.52), cases=cases), tmp_path)
    read = read_normals(tmp_path, pixel_mm=4.52, normalisation="robust")
    assert [case for case, _ in read.sources] == ["n0"]
    assert read.skipped == [("n1", "has a lesion outline: not a normal scan")]
    # A case recorded head-down at import is read upright by the data set, and listed as turned.
    save_manifest(DatasetManifest(name="site", views=["ANT", "POST"], pixel_spacing=(4.52, 4.52),
                                  cases=[replace(cases[0], meta={TURNED_KEY: "head_down"})]), tmp_path)
    turned = read_normals(tmp_path, pixel_mm=4.52, normalisation="robust")
    assert turned.turned == [("n0", "head_down")]
    assert np.array_equal(turned.sources[0][1].scan.view("ANT"), read.sources[0][1].scan.view("ANT")[::-1])


def test_held_out_patients_are_whole_patients_and_their_validation_windows_are_fixed(tmp_path):
    """Six patients (one with two scans): a fifth of them, one patient with all its scans, is held out; the same
    seed holds out the same one; under five patients nothing is."""
    config = _normal_small()
    for k, patient_id in enumerate(["P0", "P0", "P1", "P2", "P3", "P4", "P5"]):
        write_dicom(generate_patient(20 + k, config, patient_id=patient_id).scan, tmp_path / f"s{k}.dcm")
    normals = read_normals(tmp_path, pixel_mm=4.52, normalisation="robust")
    train, held = split_normals(normals, seed=3)
    patients = lambda part: {source.scan.patient_id for _, source in part.sources}  # noqa: E731
    assert len(patients(held)) == 1 and not patients(held) & patients(train)
    assert len(train.sources) + len(held.sources) == 7 and patients(train) | patients(held) == {f"P{k}" for k in range(6)}
    assert patients(split_normals(normals, seed=3)[1]) == patients(held)
    first = validation_windows(held, 6, window_size=64, seed=3)
    again = validation_windows(held, 6, window_size=64, seed=3)
    assert len(first) == 6 and all(np.array_equal(a.image, b.image) for a, b in zip(first, again))
    few = NormalScans(normals.sources[:4], normals.pixel_mm, normals.normalisation)
    assert split_normals(few, seed=3) == (few, None)


def test_a_data_set_s_normal_scans_are_grouped_by_its_patients_and_said_real(tmp_path):
    """Session 63: a data set's normal scans are grouped by the data set's patient, not the file's PatientID (a PNG's
    is its stem, as is the DICOM `dataset import` writes): two scans of patient N1 (files N1_2023 and N1_2024) are
    held out together or not at all. Before, N1_2023 and N1_2024 were two patients, and seed 1 held out N1_2024
    alone while N1_2023 trained. A case not marked synthetic is a real patient's scan (``NormalScans.real``, as
    read_site says it); a plain folder's files carry no such mark."""
    config = _normal_small()
    (tmp_path / "images").mkdir()
    names = ["N1_2023", "N1_2024", "N2", "N3", "N4", "N5"]
    for k, name in enumerate(names):  # each file's PatientID its stem
        write_dicom(generate_patient(40 + k, config, patient_id=name).scan, tmp_path / "images" / f"{name}.dcm")
    cases = [Case(case_id=name, patient_id=name.split("_")[0], image=f"images/{name}.dcm", origin="clinical")
             for name in names]
    save_manifest(DatasetManifest(name="site", views=["ANT", "POST"], pixel_spacing=(4.52, 4.52), cases=cases), tmp_path)
    normals = read_normals(tmp_path, pixel_mm=4.52, normalisation="robust")
    held_n1 = 0
    for seed in range(8):
        train, held = split_normals(normals, seed=seed)
        out = [case for case, _ in held.sources]
        assert len(train.sources) + len(held.sources) == 6
        assert ("N1_2023" in out) == ("N1_2024" in out), (seed, out)
        held_n1 += "N1_2023" in out
    assert held_n1  # some seed holds the patient out: both its scans
    assert [source.scan.patient_id for _, source in normals.sources] == ["N1", "N1", "N2", "N3", "N4", "N5"]
    assert normals.real is True
    save_manifest(DatasetManifest(name="site", views=["ANT", "POST"], pixel_spacing=(4.52, 4.52),
                                  cases=[replace(case, synthetic=True) for case in cases]), tmp_path)
    assert read_normals(tmp_path, pixel_mm=4.52, normalisation="robust").real is False
    assert read_normals(tmp_path / "images", pixel_mm=4.52, normalisation="robust").real is False


def test_a_data_set_s_test_cases_are_left_out_of_its_normal_scans(tmp_path):
    """Session 63: `adapt --normals DATASET` trained on the data set's test patients' scans (its splits.json's test
    split applied to --unlabelled only); read_normals leaves out the cases `adapt` passes."""
    config = _normal_small()
    (tmp_path / "images").mkdir()
    names = ["N1", "N2", "N3"]
    for k, name in enumerate(names):
        write_dicom(generate_patient(60 + k, config, patient_id=name).scan, tmp_path / "images" / f"{name}.dcm")
    cases = [Case(case_id=name, patient_id=name, image=f"images/{name}.dcm", origin="clinical") for name in names]
    save_manifest(DatasetManifest(name="site", views=["ANT", "POST"], pixel_spacing=(4.52, 4.52), cases=cases), tmp_path)
    every = read_normals(tmp_path, pixel_mm=4.52, normalisation="robust")
    kept = read_normals(tmp_path, pixel_mm=4.52, normalisation="robust", leave_out=["N2"])
    assert [case for case, _ in every.sources] == names
    assert [case for case, _ in kept.sources] == ["N1", "N3"]


def test_with_regions_inserted_lesions_follow_the_site_shares_on_the_scan_as_read(normals_dir):
    """``regions`` (``scintiseg adapt`` hands over the learned map, :func:`scintiseg.predict.pipeline.region_labeller`)
    is asked of the scan as read (after ``orient``), and the inserted lesions then fall by its regions' shares of
    metastases: here the upper half of each view is called thoracic spine, the lower half right femur, whose share is
    a fifth of the spine's (placed uniformly, about a third of them lie in the upper half)."""
    seen = []

    def regions(scan):
        seen.append(scan)
        maps = {}
        for view, image in scan.views.items():
            labels = np.full(np.shape(image), 22, np.int16)  # femur_right
            labels[: np.shape(image)[0] // 2] = 4  # thoracic_spine
            labels[np.asarray(image) <= np.percentile(image, 80)] = 0  # bone: the brightest fifth of the image
            maps[view] = labels
        return maps

    def orient(scan):
        return scan.with_views({v: np.asarray(i)[::-1] for v, i in scan.views.items()}), "head_down"

    read = read_normals(normals_dir / "n0.dcm", pixel_mm=4.52, normalisation="robust", orient=orient, regions=regions)
    source = read.sources[0][1]
    assert len(seen) == 1 and seen[0] is source.scan  # the turned scan, as prediction reads it
    assert source.views["ANT"].weights is not None
    uniform = read_normals(normals_dir / "n0.dcm", pixel_mm=4.52, normalisation="robust").sources[0][1]
    assert uniform.views["ANT"].weights is None
    rows = source.scan.shape[0] // 2
    upper = [lesion["centre"][0] < rows for seed in range(30)
             for lesion in make_hybrid_case(source, 1.0, seed).lesions]
    assert len(upper) >= 30 and sum(upper) / len(upper) > 0.7
    # the scans are read as normal: hot spots on the named bones are open (the same scan and map not known to be
    # normal keeps every hot spot out)
    unknown = prepare_source(source.scan, regions=regions(source.scan)).views["ANT"]
    hot = source.views["ANT"].hot
    assert hot.sum() < unknown.hot.sum() and not (hot & ~unknown.hot).any()
