"""Batch: a corrupt file is reported and skipped, the rest processed; summary CSV; atomic outputs; one run
per output folder (a second process is refused, a killed run's lock is free)."""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from scintiseg.errors import ScintisegError
from scintiseg.predict.loader import LoadedModel, model_from_network
from scintiseg.predict.pipeline import PredictSettings
from scintiseg.report import batch, box_labels
from scintiseg.report.batch import (
    LOCK_NAME,
    OutputLock,
    ScanResult,
    expand_inputs,
    output_name,
    run_batch,
)

#: A second ``run_batch`` process: its model's first call says "running" and waits for a line on stdin, so
#: the test decides when it finishes. Its engine returns strongly negative logits (no lesions) without torch.
RUN_BATCH_THEN_WAIT = """
import sys
import numpy as np
from scintiseg.predict.loader import LoadedModel
from scintiseg.report.batch import run_batch

class WaitingEngine:
    name = "waiting"
    waited = False

    def __call__(self, batch):
        if not self.waited:
            print("running", flush=True)
            sys.stdin.readline()
            self.waited = True
        return np.full((batch.shape[0], 1, *batch.shape[2:]), -10.0, np.float32)

results = run_batch([sys.argv[1]], sys.argv[2], LoadedModel(WaitingEngine()), progress=False, dicom=False)
print("done", results[0].status, flush=True)
"""

#: A process that holds the output lock until it is killed.
HOLD_LOCK = """
import sys, time
from scintiseg.report.batch import OutputLock
OutputLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(600)
"""


class NoLesions:
    """An engine without torch: logits of -10 everywhere."""

    name = "no-lesions"

    def __call__(self, batch):
        return np.full((batch.shape[0], 1, *batch.shape[2:]), -10.0, np.float32)


class ConstantLogit:
    """An engine without torch: logits of -2 everywhere (probability 0.1192 wherever the model looks)."""

    name = "constant"

    def __call__(self, batch):
        return np.full((batch.shape[0], 1, *batch.shape[2:]), -2.0, np.float32)


def _start(script: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(process: subprocess.Popen, line: str) -> None:
    got = process.stdout.readline().strip()
    if got != line:
        process.kill()
        raise AssertionError(f"helper process said {got!r}: {process.stderr.read()}")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, nm1_path, nm1_scan):
    folder = tmp_path_factory.mktemp("inputs")
    shutil.copy(nm1_path, folder / "good.dcm")
    np.save(folder / "good_npy.npy", np.asarray(nm1_scan.view("ANT"), dtype=np.uint16))
    (folder / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00garbage" * 10)
    (folder / "notes.txt").write_text("ignored")
    return folder


def _snapshot(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*")}


def test_batch_with_one_corrupt_file(inputs, make_tiny_network, tmp_path):
    model = model_from_network(make_tiny_network())
    out = tmp_path / "out"
    before = _snapshot(inputs)
    results = run_batch([inputs], out, model, PredictSettings(threshold=0.99), progress=False)
    assert [(r.input.name, r.status) for r in results] == [("broken.dcm", "failed"), ("good.dcm", "ok"), ("good_npy.npy", "ok")]
    assert "broken.dcm" in str(results[0].input) and results[0].error
    assert _snapshot(inputs) == before  # nothing written beside the inputs
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["status"] for r in rows] == ["failed", "ok", "ok"]
    assert sorted(p.name for p in out.iterdir()) == ["good", "good_npy", "summary.csv", "worklist.html"]  # no temp folder
    assert (out / "good" / "sr.dcm").is_file() and not (out / "good_npy" / "sr.dcm").exists()
    # a published scan folder opens for whoever the umask lets in, as a plain mkdir would (mkdtemp's 0700 before)
    mask = os.umask(0)
    os.umask(mask)
    assert (out / "good").stat().st_mode & 0o777 == 0o777 & ~mask
    # Running again replaces the results in place.
    run_batch([inputs / "good_npy.npy"], out, model, PredictSettings(threshold=0.99), progress=False)
    assert (out / "good_npy" / "report.json").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_failure_mid_scan_leaves_no_half_folder(inputs, make_tiny_network, tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(batch, "write_outputs", explode)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        run_batch([inputs / "good.dcm"], out, model_from_network(make_tiny_network()), progress=False)
    assert list(out.iterdir()) == []


def test_names_are_safe_and_unique(tmp_path):
    taken: set[str] = set()
    assert output_name(tmp_path / "a b;c.dcm", taken) == "a_b_c"
    assert output_name(tmp_path / "x" / "a b;c.dcm", taken) == "a_b_c-2"
    uids = ["1.2.840.113619.2.55.3.604688119.969.1268071029.320.dcm", "1.2.840.113619.2.55.3.604688119.969.1268071029.321"]
    assert [output_name(tmp_path / uid, taken) for uid in uids] == [
        "1.2.840.113619.2.55.3.604688119.969.1268071029.320", "1.2.840.113619.2.55.3.604688119.969.1268071029.321"]
    assert [output_name(tmp_path / name, taken) for name in ("scan.1.png", "scan.2.PNG", "pet.nii.gz")] == [
        "scan.1", "scan.2", "pet"]
    with pytest.raises(ScintisegError, match=f"^{re.escape(str(tmp_path / 'missing'))}: no such file or folder$"):
        expand_inputs([tmp_path / "missing"])


def test_a_second_process_on_the_same_out_is_refused_and_the_first_finishes_intact(inputs, tmp_path):
    out = tmp_path / "out"
    first = _start(RUN_BATCH_THEN_WAIT, inputs / "good_npy.npy", out)
    try:
        _wait_for(first, "running")  # the first run holds the lock, mid-scan
        with pytest.raises(ScintisegError) as error:
            run_batch([inputs / "good.dcm"], out, LoadedModel(NoLesions()), progress=False)
        assert str(error.value) == (
            f"{out}: in use by another scintiseg predict (pid {first.pid}); wait or choose another --out"
        )
        # The refused run wrote nothing: only the first run's lock and its unfinished scan folder are there.
        partial, lock = sorted(p.name for p in out.iterdir())
        assert lock == LOCK_NAME and partial.startswith(".good_npy.partial-")
        assert (out / LOCK_NAME).read_text().strip() == str(first.pid)
        stdout, stderr = first.communicate("\n", timeout=300)
    finally:
        first.kill()
    assert first.returncode == 0 and stdout.split() == ["done", "ok"], stderr
    assert sorted(p.name for p in out.iterdir()) == ["good_npy", "summary.csv", "worklist.html"]  # lock removed on exit
    assert [r["status"] for r in csv.DictReader(open(out / "summary.csv"))] == ["ok"]
    assert (out / "good_npy" / "report.json").is_file()
    # Once the first run is over, the folder is free again.
    run_batch([inputs / "good.dcm"], out, LoadedModel(NoLesions()), progress=False, dicom=False)
    assert sorted(p.name for p in out.iterdir()) == ["good", "good_npy", "summary.csv", "worklist.html"]


def test_the_lock_of_a_killed_run_is_stale_and_free(inputs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = _start(HOLD_LOCK, out)
    try:
        _wait_for(holder, "locked")
        with pytest.raises(ScintisegError, match=f"pid {holder.pid}"):
            OutputLock(out).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=60)
    assert (out / LOCK_NAME).read_text().strip() == str(holder.pid)  # left behind, naming a dead process
    results = run_batch([inputs / "good_npy.npy"], out, LoadedModel(NoLesions()), progress=False)
    assert [r.status for r in results] == ["ok"]
    assert not (out / LOCK_NAME).exists()


def test_the_lock_is_exclusive_names_its_holder_and_is_removed_on_release(tmp_path):
    with OutputLock(tmp_path) as held:
        assert held.path.read_text().strip() == str(os.getpid())
        with pytest.raises(ScintisegError) as error:
            OutputLock(tmp_path).acquire()  # another open file, so flock refuses it even in this process
        assert str(error.value) == (
            f"{tmp_path}: in use by another scintiseg predict (pid {os.getpid()}); wait or choose another --out"
        )
    assert not (tmp_path / LOCK_NAME).exists()
    with OutputLock(tmp_path):
        pass  # free again


def test_an_exception_mid_run_still_releases_the_lock(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "write_outputs", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    out = tmp_path / "out"
    with pytest.raises(OSError):
        run_batch([inputs / "good_npy.npy"], out, LoadedModel(NoLesions()), progress=False)
    assert not (out / LOCK_NAME).exists()
    with OutputLock(out):
        pass


def test_a_stopped_rerun_leaves_no_earlier_summary_to_say_it_went_through(inputs, tmp_path, monkeypatch):
    """An earlier run's summary.csv and worklist.html go when a run starts; a user's own summary.csv (not predict's)
    stays."""
    out = tmp_path / "out"
    run_batch([inputs / "good_npy.npy"], out, LoadedModel(NoLesions()), progress=False, dicom=False)
    assert {"summary.csv", "worklist.html"} <= {p.name for p in out.iterdir()}

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "predict_scan", stop)
    with pytest.raises(KeyboardInterrupt):
        run_batch([inputs / "good_npy.npy"], out, LoadedModel(NoLesions()), progress=False, dicom=False)
    assert sorted(p.name for p in out.iterdir()) == ["good_npy"]  # the earlier scan kept, its summary and list gone
    (out / "summary.csv").write_text("patient,notes\n1,mine\n")
    with pytest.raises(KeyboardInterrupt):
        run_batch([inputs / "good_npy.npy"], out, LoadedModel(NoLesions()), progress=False, dicom=False)
    assert (out / "summary.csv").read_text() == "patient,notes\n1,mine\n"


#: A lesion a reader draws on a view (x = column, y = row).
DRAWN = {"label": "lesion", "points": [[120.0, 600.0], [136.0, 598.0], [140.0, 614.0], [124.0, 620.0]],
         "group_id": None, "description": "", "shape_type": "polygon", "flags": {}}


def test_a_rerun_keeps_another_scans_folder_of_the_same_name_and_a_readers_corrections(inputs, tmp_path):
    """PACS exports name every study's files alike: a second run's other scan of the same file name gets ``-2``, not
    the first's folder; a folder in the way that is no report is left alone too; the same scan's folder is replaced,
    unless a reader edited it: then that input is kept (not predicted again) in one line and the folder stays as the
    reader left it."""
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(inputs / "good_npy.npy", other / "good_npy.npy")
    out = tmp_path / "out"
    model = LoadedModel(NoLesions())
    run_batch([inputs / "good_npy.npy"], out, model, progress=False, dicom=False)
    first = (out / "good_npy" / "report.json").read_text()
    results = run_batch([other / "good_npy.npy"], out, model, progress=False, dicom=False)
    assert [r.output for r in results] == ["good_npy-2"] and (out / "good_npy" / "report.json").read_text() == first
    again = run_batch([other / "good_npy.npy"], out, model, progress=False, dicom=False)
    assert [r.output for r in again] == ["good_npy-2"]  # the same scan: its folder replaced, no third one
    (out / "good_npy-3").mkdir()
    (out / "good_npy-3" / "mine.txt").write_text("a user's folder")
    third = tmp_path / "third"
    third.mkdir()
    shutil.copy(inputs / "good_npy.npy", third / "good_npy.npy")
    assert [r.output for r in run_batch([third / "good_npy.npy"], out, model, progress=False, dicom=False)] == ["good_npy-4"]
    assert (out / "good_npy-3" / "mine.txt").read_text() == "a user's folder"
    labelme = out / "good_npy" / "VIEW.labelme.json"  # (a .npy names no view)
    document = json.loads(labelme.read_text())
    document["shapes"].append(DRAWN)
    labelme.write_text(json.dumps(document))
    edited = labelme.read_text()
    results = run_batch([inputs / "good_npy.npy"], out, model, progress=False, dicom=False)
    assert [(r.status, r.output) for r in results] == [("kept", "good_npy")]
    assert "a reader's corrections" in results[0].error and "not predicted again" in results[0].error
    assert "move the folder away" in results[0].error and labelme.read_text() == edited
    assert results[0].error.count(str(out / "good_npy")) == 1  # named once


def test_a_rerun_lists_a_folder_a_reader_corrected_as_kept_with_its_values_patient_and_links(inputs, tmp_path, capsys):
    """Audit 74 (finding 2): a scan whose folder a reader corrected was a ``failed`` row and topped the worklist as "Not
    read by the model", with no patient, date or link. It is ``kept``: its summary row holds the folder's report's
    values, the worklist lists it among the scans by its score with its patient, date and report, and a review of it
    written into the same folder beside it."""
    out, model = tmp_path / "out", LoadedModel(ConstantLogit())
    run_batch([inputs / "good.dcm", inputs / "good_npy.npy"], out, model, progress=False, dicom=False)
    report = json.loads((out / "good" / "report.json").read_text())
    labelme = out / "good" / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    labelme.write_text(json.dumps(document | {"shapes": document["shapes"] + [DRAWN]}))
    edited = labelme.read_text()
    shutil.copytree(out / "good", out / "good-reviewed")  # its review, written into out
    review = {"reviewed": True, "source_folder": str(out / "good"), "reader": {"name": "Doe^Jane"}}
    (out / "good-reviewed" / "report.json").write_text(json.dumps(report | {"review": review}))
    capsys.readouterr()
    results = run_batch([inputs / "good.dcm", inputs / "good_npy.npy"], out, model, progress=False, dicom=False)
    assert [(r.input.name, r.status, r.output) for r in results] == [("good.dcm", "kept", "good"),
                                                                     ("good_npy.npy", "ok", "good_npy")]
    assert labelme.read_text() == edited and json.loads((out / "good" / "report.json").read_text()) == report
    assert f"kept {out / 'good'}: a reader corrected it" in capsys.readouterr().err
    rows = {Path(row["input"]).name: row for row in csv.DictReader(open(out / "summary.csv"))}
    kept = rows["good.dcm"]
    assert (kept["status"], kept["output"], kept["views"]) == ("kept", "good", "ANT")
    assert float(kept["triage_score"]) == report["summary"]["triage_score"]
    assert float(kept["bsi_percent"]) == report["summary"]["bsi_percent"] and "not predicted again" in kept["error"]
    page = (out / "worklist.html").read_text()
    assert "Not read by the model" not in page and "1 kept as a reader corrected them" in page
    assert re.findall(r'href="([^"]+)"', page)[:2] == ["good/report.html", "good-reviewed/report.html"]
    row = page[page.index('href="good/report.html"'):].split("</tr>")[0]
    study_date = report["study"]["study_date"]  # (YYYYMMDD, shown YYYY-MM-DD)
    assert "kept: a reader's corrections" in row and "NM1 CompressedSamples" in row
    assert f"{study_date[:4]}-{study_date[4:6]}-{study_date[6:]}" in row
    from scintiseg.report.image_labels import evaluate_triage  # (its values may be another model's: set aside, counted)

    triage = evaluate_triage(out, {"good": True, "good_npy": False})
    assert (triage["scans"], triage["failed"], triage["not_this_run"]) == (1, 0, 1)


def test_a_one_file_run_into_a_batch_folder_lists_its_earlier_scans_and_failures_marked(inputs, tmp_path):
    """Audit 74 (finding 6): a one-file predict into the morning's --out left summary.csv and the worklist with its one
    row while the other folders stayed. The earlier scans are listed after this run's rows (``earlier``, values from
    each folder's report), an input the earlier run could not read stays listed (``failed earlier``), a review written
    into out is linked beside its folder, not a row; this run's result is the run's own input only."""
    out, model = tmp_path / "out", LoadedModel(ConstantLogit())
    run_batch([inputs], out, model, progress=False, dicom=False)  # broken.dcm failed, good and good_npy predicted
    report = json.loads((out / "good" / "report.json").read_text())
    shutil.copytree(out / "good", out / "good-reviewed")
    review = {"reviewed": True, "source_folder": str(out / "good")}
    (out / "good-reviewed" / "report.json").write_text(json.dumps(report | {"review": review}))
    results = run_batch([inputs / "good_npy.npy"], out, model, progress=False, dicom=False)
    assert [(r.input.name, r.status) for r in results] == [("good_npy.npy", "ok")]
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [(Path(r["input"]).name, r["status"], r["output"]) for r in rows] == [
        ("good_npy.npy", "ok", "good_npy"), ("good.dcm", "earlier", "good"), ("broken.dcm", "failed earlier", "")]
    assert float(rows[1]["triage_score"]) == report["summary"]["triage_score"] and rows[1]["views"] == "ANT"
    assert "earlier run" in rows[1]["error"] and rows[2]["error"]  # the reason the earlier run gave, kept
    page = (out / "worklist.html").read_text()
    assert page.index("Not read by the model (an earlier run)") < page.index('href="good/report.html"')
    assert sorted(re.findall(r'href="([^"]+)"', page)) == ["good-reviewed/report.html", "good/report.html",
                                                           "good_npy/report.html"]
    assert page.count('<span class="tag">earlier run</span>') == 1 and "2 row(s) from earlier runs" in page
    again = run_batch([inputs / "good.dcm", inputs / "broken.dcm"], out, model, progress=False, dicom=False)
    assert [r.status for r in again] == ["ok", "failed"]  # inputs of this run: their own rows, not earlier ones
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [(Path(r["input"]).name, r["status"]) for r in rows] == [("good.dcm", "ok"), ("broken.dcm", "failed"),
                                                                    ("good_npy.npy", "earlier")]


def test_an_earlier_joined_study_is_listed_a_row_per_file_with_its_views_values(inputs, tmp_path):
    ant = np.load(inputs / "good_npy.npy")
    folder = tmp_path / "in"
    folder.mkdir()
    np.save(folder / "p_ANT.npy", ant)
    np.save(folder / "p_POST.npy", ant[:, ::-1] // 2)
    out, model = tmp_path / "out", LoadedModel(ConstantLogit())
    kwargs = {"progress": False, "dicom": False, "read_kwargs": {"pixel_spacing": (2.26, 2.26), "view": "name"}}
    first = {Path(row["input"]).name: row for row in (r.row() for r in run_batch([folder], out, model, **kwargs))}
    run_batch([inputs / "good_npy.npy"], out, model, **kwargs)
    rows = {Path(row["input"]).name: row for row in csv.DictReader(open(out / "summary.csv"))}
    for name in ("p_ANT.npy", "p_POST.npy"):
        assert rows[name]["status"] == "earlier"
        assert {key: rows[name][key] for key in ("output", "views", "triage_score", "lesion_count", "bsi_percent")} == \
            {key: str(first[name][key]) for key in ("output", "views", "triage_score", "lesion_count", "bsi_percent")}
    assert (out / "worklist.html").read_text().count('href="p/report.html"') == 1  # one scan, one row


def test_a_rerun_finds_each_inputs_own_folder_whatever_came_before_it_and_a_study_uid_is_not_a_scan(nm1_path, tmp_path):
    """Session 73's review: (C3) an input passed over a name another input's earlier result holds, which then took a
    third folder; (C1) two files of one study (a whole body and another series) are two scans, not one replaced by the
    other; (C5) an input named like a batch file gets another folder, and the run its summary."""
    import pydicom

    for folder in ("a", "z"):
        (tmp_path / folder).mkdir()
    shutil.copy(nm1_path, tmp_path / "z" / "IM000001")
    other = pydicom.dcmread(nm1_path)  # the same study, another series: another scan of one patient
    other.SeriesInstanceUID, other.SOPInstanceUID = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    other.PixelData = np.ascontiguousarray(other.pixel_array[..., ::-1]).tobytes()
    other.save_as(tmp_path / "a" / "IM000001")
    out, model = tmp_path / "out", LoadedModel(NoLesions())
    run_batch([tmp_path / "z" / "IM000001"], out, model, progress=False, dicom=False)
    z_report = (out / "IM000001" / "report.json").read_text()
    results = run_batch([tmp_path / "a" / "IM000001", tmp_path / "z" / "IM000001"], out, model, progress=False,
                        dicom=False)
    assert [(r.input.parent.name, r.output) for r in results] == [("a", "IM000001-2"), ("z", "IM000001")]
    assert sorted(p.name for p in out.iterdir()) == ["IM000001", "IM000001-2", "summary.csv", "worklist.html"]
    assert json.loads(z_report)["input"]["source"] == json.loads((out / "IM000001" / "report.json").read_text())["input"]["source"]
    page = tmp_path / "worklist.html.npy"
    np.save(page, np.asarray(pydicom.dcmread(nm1_path).pixel_array, dtype=np.uint16))
    named = run_batch([page], out, model, progress=False, dicom=False)
    assert named[0].output == "worklist.html-2" and (out / "summary.csv").is_file()


def test_a_rerun_tells_apart_a_joined_study_its_files_alone_a_replaced_file_and_a_review(inputs, tmp_path):
    """Session 73's second review: (D2) a study's two files joined and the same files predicted apart name one source
    (the ANT file) but are other scans; (D3) a file replaced at its path went to a new folder on every rerun; (D4) a
    review of the scan written into out refused the rerun, or not, by how its name sorted."""
    ant = np.load(inputs / "good_npy.npy")
    folder = tmp_path / "in"
    folder.mkdir()
    np.save(folder / "p_ANT.npy", ant)
    np.save(folder / "p_POST.npy", ant[:, ::-1])
    out, model = tmp_path / "out", LoadedModel(NoLesions())
    kwargs = {"progress": False, "dicom": False, "read_kwargs": {"pixel_spacing": (2.26, 2.26), "view": "name"}}
    assert [r.output for r in run_batch([folder], out, model, join=False, **kwargs)] == ["p_ANT", "p_POST"]
    assert [r.output for r in run_batch([folder], out, model, **kwargs)] == ["p", "p"]
    assert json.loads((out / "p_ANT" / "report.json").read_text())["input"]["views"] == ["ANT"]  # not taken over
    assert [r.output for r in run_batch([folder], out, model, join=False, **kwargs)] == ["p_ANT", "p_POST"]
    assert json.loads((out / "p" / "report.json").read_text())["input"]["views"] == ["ANT", "POST"]
    np.save(folder / "p_ANT.npy", ant + 1)  # the file replaced at its path: another scan
    for _ in range(2):
        assert [r.output for r in run_batch([folder / "p_ANT.npy"], out, model, **kwargs)] == ["p_ANT-2"]
    reviewed = out / "A_reviewed"  # a review of p_ANT-2's scan, written into out (sorts first)
    shutil.copytree(out / "p_ANT-2", reviewed)
    record = json.loads((reviewed / "report.json").read_text())
    (reviewed / "report.json").write_text(json.dumps(record | {"review": {"reviewed": True}}))
    results = run_batch([folder / "p_ANT.npy"], out, model, **kwargs)
    assert [(r.status, r.output) for r in results] == [("ok", "p_ANT-2")]  # its own unedited result replaced
    assert "review" in json.loads((reviewed / "report.json").read_text())  # the review left as it was


@pytest.mark.filterwarnings("ignore")  # (a warning naming the file cannot cross to an xdist controller)
def test_a_file_name_that_is_not_utf8_is_predicted_and_written_not_a_traceback(inputs, tmp_path):
    """Session 73's second review: a Latin-1 name from a Windows share (read as surrogate escapes) stopped the whole
    batch when its report was written."""
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    odd = folder / os.fsdecode(b"IM\xff.npy")
    shutil.copy(inputs / "good_npy.npy", odd)
    shutil.copy(inputs / "good_npy.npy", folder / "IM2.npy")
    out = tmp_path / "out"
    results = run_batch([folder], out, LoadedModel(NoLesions()), progress=False, dicom=False,
                        read_kwargs={"pixel_spacing": (2.26, 2.26)})
    assert [r.status for r in results] == ["ok", "ok"]
    assert os.fsencode(str(odd)) in (out / "summary.csv").read_bytes()  # the name's own bytes
    assert json.loads((out / "IM_" / "report.json").read_text())["input"]["source"] == str(odd)


def test_an_input_named_like_the_lock_gets_another_folder(tmp_path):
    assert output_name(tmp_path / LOCK_NAME, set()) != LOCK_NAME


def test_summary_has_the_triage_score_of_each_scan(inputs, tmp_path):
    out = tmp_path / "out"
    run_batch([inputs], out, LoadedModel(ConstantLogit()), progress=False, dicom=False)
    with open(out / "summary.csv") as handle:
        reader = csv.DictReader(handle)
        assert "triage_score" in reader.fieldnames
        rows = {Path(row["input"]).name: row for row in reader}
    assert float(rows["good.dcm"]["triage_score"]) == pytest.approx(expit(-2.0), rel=1e-5)
    report = json.loads((out / "good" / "report.json").read_text())
    assert float(rows["good.dcm"]["triage_score"]) == report["summary"]["triage_score"]
    assert rows["broken.dcm"]["status"] == "failed" and rows["broken.dcm"]["triage_score"] == ""
    # the worklist beside it: the unreadable input first, then the scans, each linked to its report
    page = (out / "worklist.html").read_text()
    assert page.index("broken.dcm") < page.index('href="good/report.html"')
    assert re.findall(r'href="([^"]+)"', page) == [f"{row['output']}/report.html" for row in rows.values()
                                                   if row["status"] == "ok"]


def test_a_crop_has_an_empty_bsi_in_the_summary(tmp_path):
    crop = ScanResult(Path("crop.jpg"), "ok", "crop", {"bsi_percent": None, "soloway_grade": None, "lesion_count": 1}).row()
    assert crop["bsi_percent"] == crop["soloway_grade"] == "" and crop["lesion_count"] == 1
    assert ScanResult(Path("wb.dcm"), "ok", "wb", {"bsi_percent": 0.0}).row()["bsi_percent"] == 0.0  # a whole body: 0 is a BSI


def test_a_studys_two_files_give_one_folder_unless_they_cannot_be_one_scan(nm1_scan, tmp_path, capsys):
    """p_ANT/p_POST: one folder, a row per file naming its view; m_ANT/m_POST of other matrices: two scans and one line
    saying why; k_POST unreadable: k_ANT alone, k_POST failed; told every view (--view ANT): nothing joined."""
    from scintiseg.report.image_labels import evaluate_triage

    ant = np.asarray(nm1_scan.view("ANT"), dtype=np.uint16)
    folder = tmp_path / "in"
    folder.mkdir()
    for name, array in (("p_ANT", ant), ("p_POST", ant[:, ::-1] // 2), ("m_ANT", ant), ("m_POST", ant[::2, ::2]), ("k_ANT", ant)):
        np.save(folder / f"{name}.npy", array)
    (folder / "k_POST.npy").write_bytes(b"\x93NUMPY garbage")
    out = tmp_path / "out"
    results = run_batch([folder], out, LoadedModel(ConstantLogit()), progress=False, dicom=False,
                        read_kwargs={"view": "name", "pixel_spacing": (2.26, 2.26)})
    got = [(r.input.name, r.status, r.output, r.views) for r in results]
    assert got == [("k_ANT.npy", "ok", "k_ANT", "ANT"), ("k_POST.npy", "failed", "", ""),
                   ("m_ANT.npy", "ok", "m_ANT", "ANT"), ("m_POST.npy", "ok", "m_POST", "POST"),
                   ("p_ANT.npy", "ok", "p", "ANT"), ("p_POST.npy", "ok", "p", "POST")]
    err = capsys.readouterr().err
    assert "m_ANT.npy and " in err and "differ in matrix (1024 x 256 and 512 x 128)" in err
    report = json.loads((out / "p" / "report.json").read_text())
    assert report["input"]["views"] == ["ANT", "POST"] and report["patient"]["id"] == "p"
    rows = {Path(row["input"]).name: row for row in csv.DictReader(open(out / "summary.csv"))}
    assert rows["p_ANT.npy"]["output"] == rows["p_POST.npy"]["output"] == "p"
    # labels per file are scored on the file's own view: the brightest pixel of ANT is twice POST's
    labels = {"p_ANT": True, "p_POST": False}
    triage = evaluate_triage(out, labels)
    assert triage["scans"] == 2 and triage["brightest_pixel_auc"] == 1.0
    # a label naming the scan (what the two file names share, as a set labelled per patient gives it): scored once
    per_patient = evaluate_triage(out, {"p": True, "m_POST": False})
    assert (per_patient["scans"], per_patient["abnormal"], per_patient["labels_without_scan"]) == (2, 1, 0)
    assert per_patient["unlabelled_scans"] == 3 and per_patient["brightest_pixel_auc"] == 1.0  # p's ANT beats m_POST
    assert box_labels._one_view(out, rows["p_POST.npy"])[0] == [("POST", out / "p" / "POST_mask.png")]  # boxes: its view
    told = run_batch([folder / "p_ANT.npy", folder / "p_POST.npy"], tmp_path / "told", LoadedModel(ConstantLogit()),
                     progress=False, dicom=False, read_kwargs={"view": "ANT", "pixel_spacing": (2.26, 2.26)})
    assert [r.output for r in told] == ["p_ANT", "p_POST"]


def test_a_folder_walk_passes_over_a_dicomdir_and_an_earlier_predictions_outputs(tmp_path, real_nm1):
    """A CD export (DICOMDIR + image + a CT slice, a printed PDF) with an earlier prediction folder inside: only the planar image is a
    scan; a DICOMDIR named on the command line is still read (and fails, saying why)."""
    import json

    import pydicom
    from pydicom.fileset import FileSet

    fileset = FileSet()
    fileset.add(pydicom.dcmread(real_nm1))
    fileset.write(tmp_path / "cd")
    earlier = tmp_path / "cd" / "old"
    earlier.mkdir()
    (earlier / "report.json").write_text(json.dumps({"format": "scintiseg-report"}))
    (earlier / "ANT_overlay.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    ct = pydicom.dcmread(real_nm1)  # a SPECT/CT study's CT slice beside the planar view
    ct.SOPClassUID = ct.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ct.save_as(tmp_path / "cd" / "CT000001")
    for litter in ("Thumbs.db", "desktop.ini"):  # what a Windows share leaves: passed over, not failed rows
        (tmp_path / "cd" / litter).write_bytes(b"\xd0\xcf\x11\xe0 not a scan")
    (tmp_path / "cd" / "referral.pdf").write_bytes(b"%PDF-1.4\n")  # a printed report beside the images
    found = expand_inputs([tmp_path / "cd"])
    assert [p.name for p in found] == ["IM000000"]
    assert expand_inputs([tmp_path / "cd" / "DICOMDIR"]) == [(tmp_path / "cd" / "DICOMDIR").resolve()]
