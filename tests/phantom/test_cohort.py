import json

import numpy as np
import pytest

from scintiseg.io import read_scan
from scintiseg.io.dataset import check_dataset, load_manifest
from scintiseg.io.images import read_label_png, read_mask_png
from scintiseg.io.labelme import read_labelme
from scintiseg.phantom import generate_patient, write_cohort
from scintiseg.phantom.cohort import patient_seed
from scintiseg.phantom.regions import region_names_json


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    manifest = write_cohort(3, out, seed=9, config="small", workers=2)
    return out, manifest


def test_cohort_layout_and_dataset_check(cohort):
    out, manifest = cohort
    assert [c.case_id for c in manifest.cases] == ["PH0001", "PH0002", "PH0003"]
    loaded = load_manifest(out)
    assert loaded.region_names == region_names_json()
    report = check_dataset(out)
    assert not report.errors
    for case in loaded.cases:
        meta = case.meta
        for key in ("height_mm", "arm_position", "count_level", "soloway", "lookalikes", "lesions", "instances"):
            assert key in meta
        for lesion in meta["lesions"]:
            assert {"id", "bone", "region", "site", "contrast", "size_mm", "visible", "bbox"} <= set(lesion)


def test_dicom_reads_back_identically(cohort):
    out, manifest = cohort
    case = manifest.cases[0]
    scan = read_scan(out / case.image)
    fresh = generate_patient(patient_seed(9, 0), __import__("scintiseg.phantom", fromlist=["profile"]).profile("small"), patient_id="PH0001")
    for view in ("ANT", "POST"):
        assert np.array_equal(scan.view(view), fresh.scan.view(view))
        assert np.array_equal(read_mask_png(out / case.masks[view]), fresh.masks[view])
        assert np.array_equal(read_label_png(out / case.regions[view]), fresh.regions[view])
    assert scan.metadata["patient_sex"] == {"female": "F", "male": "M"}[fresh.meta["sex"]]  # in the header (s74)
    loaded = load_manifest(out).cases[0].meta  # the 3-D mass BSI travels with the case (session 63)
    assert (loaded["bsi_mass_percent"], loaded["bsi_mass_percent_all"]) == (
        fresh.meta["bsi_mass_percent"], fresh.meta["bsi_mass_percent_all"])


def test_labelme_polygons_rasterise_back_to_masks(cohort):
    out, manifest = cohort
    checked = 0
    for case in manifest.cases:
        for view in ("ANT", "POST"):
            mask = read_mask_png(out / case.masks[view])
            annotation = read_labelme(out / case.labels[view], root=out)
            drawn = annotation.to_mask()
            if not mask.any():
                assert not drawn.any()
                continue
            iou = (mask & drawn).sum() / (mask | drawn).sum()
            assert iou >= 0.95
            instances = read_label_png(out / case.meta["instances"][view])
            visible = {lesion["id"] for lesion in case.meta["lesions"] if lesion["visible"][view]}
            assert np.array_equal(np.isin(instances, list(visible)), mask)  # labels hold the visible lesions
            assert {s.group_id for s in annotation.shapes} == visible & set(np.unique(instances).tolist())
            checked += 1
    assert checked > 0


def test_same_seed_same_bytes(cohort, tmp_path):
    out, _ = cohort
    write_cohort(1, tmp_path, seed=9, config="small", workers=1)
    for name in ("images/PH0001.dcm", "labels/PH0001_ANT.json", "masks/PH0001_POST.png", "instances/PH0001_ANT.png"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()
    first = json.loads((tmp_path / "dataset.json").read_text())["cases"][0]
    assert first == json.loads((out / "dataset.json").read_text())["cases"][0]


def test_a_cohort_stopped_is_no_data_set_and_says_so(tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM (scintiseg.cli raises it as one) after the first patient: no dataset.json, and the note says
    how far it got."""
    import scintiseg.phantom.cohort as cohort

    made = cohort._make_one
    calls = []

    def stop_second(job):
        calls.append(job)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return made(job)

    monkeypatch.setattr(cohort, "_make_one", stop_second)
    with pytest.raises(KeyboardInterrupt) as stopped:
        write_cohort(3, tmp_path / "set", seed=9, config="small", workers=1, progress=False)
    assert stopped.value.__notes__ == [f"1 of 3 patients written into {tmp_path / 'set'}, no dataset.json (an "
                                       "unfinished run: write it again)"]
    assert not (tmp_path / "set" / "dataset.json").exists()


def test_cohorts_of_neighbouring_seeds_share_no_patient():
    """Patient i of seed s is not patient i+1 of seed s-1 (a seed of ``s + i`` would make them the same patient)."""
    first = {patient_seed(0, i) for i in range(50)}
    second = {patient_seed(1, i) for i in range(50)}
    assert len(first) == len(second) == 50 and not first & second
