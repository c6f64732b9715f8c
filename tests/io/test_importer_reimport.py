"""``dataset import`` run again (session 63 audit): a LabelMe file imported once is never imported again, so re-running
an earlier folder leaves a newer correction in place; a picture's assumed pixel size is said and recorded; the DICOM
written carries the data set's patient; a prediction batch's own files are passed over quietly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import check_dataset, load_case, load_manifest, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_png16
from scintiseg.io.importer import import_dataset
from scintiseg.io.labelme import write_labelme
from scintiseg.scan import Annotation, Scan

SHAPE = (32, 16)


def _counts(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(10, SHAPE).astype(np.uint16)


def _square(top: int) -> np.ndarray:
    mask = np.zeros(SHAPE, dtype=bool)
    mask[top:top + 5, 3:8] = True
    return mask


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _outline(folder: Path, top: int, name: str = "a1_POST.json") -> Path:
    folder.mkdir(exist_ok=True)
    write_labelme(Annotation.from_mask(_square(top), view="POST"), folder / name)
    return folder


def _site(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """scans/a1.dcm (ANT+POST) imported with outlines/ (POST: a square at row 4), then corrected twice (rows 20, 22)."""
    scans = tmp_path / "scans"
    scans.mkdir()
    write_dicom(Scan({"ANT": _counts(1), "POST": _counts(2)}, patient_id="PID-A"), scans / "a1.dcm")
    outlines, first, second = (_outline(tmp_path / name, top) for name, top in
                               (("outlines", 4), ("corrected1", 20), ("corrected2", 22)))
    out = tmp_path / "ds"
    import_dataset([scans], out, labels_dir=outlines)
    assert import_dataset([first], out).updated and import_dataset([second], out).updated
    case = load_manifest(out).case("a1")
    assert case.labels["POST"] == "labels/a1_POST.reviewed-2.json"
    return scans, outlines, first, second


def _post(out: Path) -> np.ndarray:
    return load_case(out, "a1")[1]["POST"]


def test_rerunning_any_earlier_folder_leaves_the_newest_correction_and_changes_nothing(tmp_path):
    scans, outlines, first, second = _site(tmp_path)
    out = tmp_path / "ds"
    before = _tree(out)
    for sources, labels in (([scans], outlines), ([first], None), ([first, second], None), ([second, first], None),
                            ([scans, second], first)):
        report = import_dataset(sources, out, labels_dir=labels)
        assert report.updated == [] and report.unmatched_labels == [], (sources, labels)
        assert _tree(out) == before, (sources, labels)  # the newer outline's file and dataset.json byte-identical
    np.testing.assert_array_equal(_post(out), _square(22))
    assert len(load_manifest(out).case("a1").meta["label_sha256"]["POST"]) == 3  # one per file imported
    # A genuinely new edit still imports, whichever old folder comes with it, and is recorded in its turn.
    third = _outline(tmp_path / "corrected3", 24)
    report = import_dataset([third, first], out, labels_dir=outlines)
    assert [c.case_id for c in report.updated] == ["a1"] and report.unmatched_labels == []
    case = load_manifest(out).case("a1")
    assert case.labels["POST"] == "labels/a1_POST.reviewed-3.json" and len(case.meta["label_sha256"]["POST"]) == 4
    np.testing.assert_array_equal(_post(out), _square(24))
    assert check_dataset(out).valid


def test_two_new_files_for_one_view_in_one_run_the_source_given_last_wins(tmp_path):
    scans, outlines, _, _ = _site(tmp_path)
    out = tmp_path / "ds"
    older, newer = _outline(tmp_path / "older", 6), _outline(tmp_path / "newer", 8)
    report = import_dataset([older, newer], out)
    np.testing.assert_array_equal(_post(out), _square(8))
    assert [(Path(p).parent.name, "already has labels" in why) for p, why in report.unmatched_labels] == [("older", True)]


def test_a_data_set_without_recorded_hashes_keeps_its_newer_correction_too(tmp_path):
    """A data set imported before session 63 records no hashes: an older file is known by its outline, equal to an
    earlier revision kept in labels/; it is listed, not imported, and the data set is not touched."""
    scans, outlines, first, _ = _site(tmp_path)
    out = tmp_path / "ds"
    manifest = load_manifest(out)
    for case in manifest.cases:
        case.meta.pop("label_sha256", None)
    save_manifest(manifest, out)
    before = _tree(out)
    for sources, labels in (([scans], outlines), ([first], None)):
        report = import_dataset(sources, out, labels_dir=labels)
        assert report.updated == [] and _tree(out) == before
        ((path, why),) = report.unmatched_labels
        assert "an earlier outline of case a1 view POST" in why and "not imported again" in why
    np.testing.assert_array_equal(_post(out), _square(22))
    assert import_dataset([_outline(tmp_path / "new", 26)], out).updated  # a new outline still imports
    assert load_manifest(out).case("a1").meta["label_sha256"]["POST"]  # and is recorded from now on


def _pair(scans: Path, stem: str = "P07") -> None:
    scans.mkdir(exist_ok=True)
    for seed, view in enumerate(("ANT", "POST")):
        write_png16(_counts(seed), scans / f"{stem}_{view}.png")


def test_an_assumed_pixel_size_is_said_once_per_file_and_recorded_and_can_be_given(tmp_path):
    scans = tmp_path / "scans"
    _pair(scans)
    write_png16(_counts(7), scans / "Q1.png")
    out = tmp_path / "ds"
    report = import_dataset([scans], out)
    said = [(Path(p).name, m) for p, m in report.warnings if "no pixel spacing" in m]
    assert sorted(name for name, _ in said) == ["P07_ANT.png", "P07_POST.png", "Q1.png"]
    assert all(m.startswith("the file has no pixel spacing; assuming 2.26 x 2.26 mm") and
               m.endswith("(give the right one with --pixel-spacing)") for _, m in said)
    manifest = load_manifest(out)
    assert all(isinstance(case.meta.get("pixel_spacing_assumed"), str) for case in manifest.cases)
    assert not [m for _, m in import_dataset([scans], out).warnings if "no pixel spacing" in m]  # said once
    given = tmp_path / "given"
    report = import_dataset([scans], given, pixel_spacing="3.3")
    assert not [m for _, m in report.warnings if "no pixel spacing" in m]
    manifest = load_manifest(given)
    assert all("pixel_spacing_assumed" not in case.meta for case in manifest.cases)
    assert read_scan(given / manifest.case("P07").image).pixel_spacing == (3.3, 3.3)  # the DICOM written
    assert tuple(manifest.pixel_spacing) == (3.3, 3.3)
    with pytest.raises(ScintisegError, match="pixel spacing"):
        import_dataset([scans], tmp_path / "bad", pixel_spacing="0")


def test_the_dicom_written_carries_the_data_sets_patient(tmp_path):
    scans = tmp_path / "scans"
    _pair(scans, "P07_2024")
    out = tmp_path / "ds"
    import_dataset([scans], out, patient_from=r"regex:^(P\d+)_")
    (case,) = load_manifest(out).cases
    assert case.patient_id == "P07"
    assert read_scan(out / case.image).patient_id == "P07"


def _batch(root: Path, scan: Path) -> Path:
    """A ``scintiseg predict`` output folder: P7/ with its report and an edited POST.labelme.json; summary.csv,
    triage.json and boxes.json at its root."""
    folder = root / "P7"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"format": "scintiseg-report", "input": {"source": str(scan)}}))
    write_labelme(Annotation.from_mask(_square(12), view="POST"), folder / "POST.labelme.json")
    (root / "summary.csv").write_text("input,status,output,views,triage_score,lesion_count,soloway_grade,bsi_percent,"
                                      f"bsi_covered_mass_percent,qc_flags,seconds,error\n{scan},ok,P7,ANT;POST,1.0,1,1,"
                                      "0.1,100.0,,0.5,\n")
    (root / "triage.json").write_text(json.dumps({"scans": 1, "abnormal": 1, "triage_auc": None}))
    (root / "boxes.json").write_text(json.dumps({"images": 2, "lesion_boxes": 0}))
    return root


def test_a_prediction_batchs_own_files_are_passed_over_and_a_users_are_still_listed(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    write_dicom(Scan({"ANT": _counts(1), "POST": _counts(2)}, patient_id="PID-7"), scans / "P7.dcm")
    out = tmp_path / "ds"
    import_dataset([scans], out)
    predictions = _batch(tmp_path / "predictions", scans / "P7.dcm")
    report = import_dataset([predictions], out)
    assert report.skipped == [] and report.unmatched_labels == []
    assert load_manifest(out).case("P7").meta["reviewed"] == ["POST"]
    # A user's files of those names, not predict's, are read and listed as before.
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "summary.csv").write_text("patient,finding\nP7,mets\n")
    (notes / "triage.json").write_text(json.dumps({"scans": 1, "triage_auc": 1.0}))
    (predictions / "boxes.json").write_text("{broken")
    report = import_dataset([notes, predictions], out)
    assert [Path(p).name for p, _ in report.skipped] == ["summary.csv"]
    assert sorted(Path(p).name for p, _ in report.unmatched_labels) == ["boxes.json", "triage.json"]
