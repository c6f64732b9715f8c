"""report.html: escaping of hostile input text, the triage score and ANT-POST pairs, and a real render in headless
Chromium."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.prepare.views import mirror
from scintiseg.report.outputs import write_outputs
from scintiseg.scan import Scan

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;\'"'


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory, nm1_scan, make_blobs):
    scan = Scan(dict(nm1_scan.views), nm1_scan.pixel_spacing, patient_id="P<1>", patient_name=HOSTILE, source=None)
    prob = make_blobs(scan.shape, [(300, 100, 5), (330, 160, 3), (420, 140, 4)])
    prediction = predict_from_probabilities(scan, {"ANT": prob}, settings=PredictSettings(0.5, 4))
    folder = tmp_path_factory.mktemp("hostile")
    write_outputs(prediction, folder)
    return folder, prediction


def test_hostile_patient_name_is_escaped(hostile_report):
    folder, _ = hostile_report
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&amp;amp;" in page  # an ampersand in the input is shown, not interpreted
    assert "P&lt;1&gt;" in page
    # Self-contained: no external resource.
    assert not re.search(r'(src|href)="(?!data:)', page)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_renders_in_headless_chromium(hostile_report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (install Debian's `chromium`); the browser test cannot run")
    folder, prediction = hostile_report
    page = (folder / "report.html").as_uri()
    profile = tmp_path / "profile"
    shot = tmp_path / "shot.png"
    base = [browser, *FLAGS, f"--user-data-dir={profile}"]
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,1600", page], check=True, timeout=60, capture_output=True)
    image = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert image.std() > 10, "the screenshot is blank"
    assert (image < 100).mean() > 0.002  # dark text and scan pixels drawn
    dom = subprocess.run([*base, "--dump-dom", page], check=True, timeout=60, capture_output=True, text=True).stdout
    table = re.search(r'<table id="lesions">.*?<tbody>(.*?)</tbody>', dom, re.S)
    assert table, "no lesion table in the rendered DOM"
    rows = re.findall(r"<tr>", table.group(1))
    assert len(rows) == len(prediction.lesions) == 3
    assert "<script>" not in dom  # the hostile name was not turned into markup


@pytest.fixture(scope="module")
def paired_report(tmp_path_factory, nm1_scan, make_blobs):
    """Two views, a lesion seen on both (paired) and one only on ANT; the written folder and its report.json."""
    ant = nm1_scan.view("ANT")
    scan = Scan({"ANT": ant, "POST": mirror(ant)}, nm1_scan.pixel_spacing, patient_id="PAIR", source=None)
    prob_ant = make_blobs(scan.shape, [(300, 80, 4), (420, 170, 4)])
    prob_post = make_blobs(scan.shape, [(300, 255 - 80, 4)])
    prob_post[300, 255 - 80] = 0.96
    prediction = predict_from_probabilities(scan, {"ANT": prob_ant, "POST": prob_post}, settings=PredictSettings(0.5, 4))
    folder = tmp_path_factory.mktemp("paired")
    write_outputs(prediction, folder, dicom=False)
    return folder, json.loads((folder / "report.json").read_text())


def _paired_cells(page: str) -> dict[str, str]:
    """Lesion id -> its "Paired with" cell, read from the lesion table of ``page``."""
    head = re.search(r'<table id="lesions"><thead><tr>(.*?)</tr>', page, re.S).group(1)
    titles = re.findall(r"<th>(.*?)</th>", head)
    body = re.search(r'<table id="lesions">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return {row[titles.index("Id")]: row[titles.index("Paired with")] for row in rows}


def test_pairs_and_triage_are_shown(paired_report):
    folder, report = paired_report
    page = (folder / "report.html").read_text(encoding="utf-8")
    (pair,) = report["pairs"]
    lone = next(l["id"] for l in report["lesions"] if l["paired_with"] is None)
    assert _paired_cells(page) == {str(pair["ant_id"]): str(pair["post_id"]), str(pair["post_id"]): str(pair["ant_id"]),
                                   str(lone): "–"}
    triage = re.search(r'<tr id="triage">.*?<td>(.*?)</td>', page, re.S).group(1)
    assert triage == "0.96 (ANT 0.9, POST 0.96)"


def test_pairs_and_triage_render_in_headless_chromium(paired_report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (install Debian's `chromium`); the browser test cannot run")
    folder, report = paired_report
    base = [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", (folder / "report.html").as_uri()], check=True, timeout=60,
                         capture_output=True, text=True).stdout
    (pair,) = report["pairs"]
    assert _paired_cells(dom)[str(pair["ant_id"])] == str(pair["post_id"])
    assert re.search(r'<tr id="triage">.*?<td>0\.96 \(ANT 0\.9, POST 0\.96\)</td>', dom, re.S)
