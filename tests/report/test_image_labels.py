"""scintiseg.report.image_labels: image-level labels against a batch's triage scores."""

from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.report import image_labels
from scintiseg.report.batch import SUMMARY_COLUMNS
from scintiseg.report.image_labels import (
    auc_interval,
    evaluate_triage,
    label_of,
    read_image_labels,
    read_label_files,
    roc_auc,
    triage_line,
    write_image_labels,
)


def test_labels_are_read_from_any_named_columns_and_values(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("\ufeffImage,Abnormal\nscans/a.png,1\nb,Normal\nc.dcm,TRUE\n\n")  # BOM, other names, case
    labels = read_image_labels(path)
    assert labels == {"scans/a.png": True, "b": False, "c.dcm": True}
    assert label_of(labels, "scans/a.png") is True and label_of(labels, "/elsewhere/b.jpg") is False  # by stem
    assert label_of(labels, "/x/c.dcm") is True and label_of(labels, "d.png") is None


@pytest.mark.parametrize("text, problem", [
    ("name,score\na,1\n", "a header with a file column"),
    ("file,label\na,maybe\n", "line 2: label 'maybe'"),
    ("file,label\na,1\na,0\n", "line 3: 'a' is labelled both abnormal and normal"),
    ("file,label\n", "labels need a header"),
    ("file,label\n" + "a" * 200_000 + ",normal\n", "not a labels CSV \\(field larger than field limit"),  # _csv.Error
])
def test_a_bad_labels_file_is_one_error_naming_the_line(tmp_path, text, problem):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(ScintisegError, match=problem):
        read_image_labels(path)
    with pytest.raises(ScintisegError, match="cannot read the labels"):
        read_image_labels(tmp_path / "missing.csv")


def test_roc_auc_is_the_share_of_abnormal_normal_pairs_ranked_right():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 6, 40).astype(float)  # many ties
    abnormal = rng.random(40) < 0.4
    pairs = [(1.0 if a > b else 0.5 if a == b else 0.0)
             for a, b in itertools.product(scores[abnormal], scores[~abnormal])]
    assert roc_auc(scores, abnormal) == pytest.approx(np.mean(pairs))
    assert roc_auc([3, 2, 1], [True, False, False]) == 1.0 and roc_auc([1, 2, 3], [True, False, False]) == 0.0
    assert roc_auc([1, 2], [True, True]) is None
    low, high = auc_interval(scores, abnormal)
    assert low <= roc_auc(scores, abnormal) <= high


def test_auc_interval_keeps_its_draws_and_the_ties_rule():
    """The interval's resamples are drawn as the documented intervals were (per resample the abnormal scans, then the
    normal ones, from default_rng(seed)), each scored by its share of pairs ranked right, ties one half; computing
    the AUCs in blocks changes nothing."""
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 4, 30).astype(float)  # many ties
    abnormal = rng.random(30) < 0.4
    draw = np.random.default_rng(7)
    shares = []
    for _ in range(300):
        pos, neg = draw.choice(scores[abnormal], abnormal.sum()), draw.choice(scores[~abnormal], (~abnormal).sum())
        shares.append(np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg)]))
    expected = [round(float(np.percentile(shares, 2.5)), 4), round(float(np.percentile(shares, 97.5)), 4)]
    assert auc_interval(scores, abnormal, resamples=300, seed=7) == expected
    assert roc_auc(np.full(5, 2.0), [True, False, True, False, False]) == 0.5  # all tied


def test_auc_interval_is_the_same_whatever_its_block_size(monkeypatch):
    rng = np.random.default_rng(5)
    scores, abnormal = rng.random(50), rng.random(50) < 0.3
    whole = auc_interval(scores, abnormal, resamples=101, seed=3)
    monkeypatch.setattr(image_labels, "_BLOCK_CELLS", 120)  # blocks of 2 resamples, the last of 1
    assert auc_interval(scores, abnormal, resamples=101, seed=3) == whole


def _batch(out, rows):
    """A batch output folder: summary.csv and each scan's report.json with its largest count."""
    out.mkdir()
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, SUMMARY_COLUMNS)
        writer.writeheader()
        for name, status, triage, lesions, brightest in rows:
            writer.writerow({"input": f"/scans/{name}.png", "status": status, "output": name if status == "ok" else "",
                             "triage_score": triage, "lesion_count": lesions,
                             "bsi_percent": 0.1 * lesions if status == "ok" else ""})
            if status == "ok":
                (out / name).mkdir()
                report = {"input": {"counts": {"ANT": {"total": 1, "max": brightest}, "POST": {"total": 1, "max": 1.0}}}}
                (out / name / "report.json").write_text(json.dumps(report))


def test_the_triage_score_is_measured_beside_the_brightest_pixel(tmp_path):
    out = tmp_path / "out"
    _batch(out, [("a", "ok", 0.9, 1, 50.0), ("b", "ok", 0.8, 1, 300.0), ("c", "ok", 0.2, 0, 400.0),
                 ("d", "ok", 0.6, 1, 100.0), ("e", "failed", "", "", 0), ("f", "ok", 0.5, 0, 10.0)])
    labels = {"a": True, "b.png": True, "/scans/c.png": False, "d": False, "e": True, "ghost": False}
    result = evaluate_triage(out, labels)
    assert (result["scans"], result["abnormal"], result["normal"]) == (4, 2, 2)
    assert result["failed"] == 1 and result["unlabelled_scans"] == 1 and result["labels_without_scan"] == 1
    assert result["triage_auc"] == 1.0           # 0.9, 0.8 above 0.6, 0.2
    assert result["brightest_pixel_auc"] == 0.25  # 50, 300 against 400, 100: one pair of four right
    assert result["operating_point"] == {"rule": "a lesion found (lesion_count > 0)", "sensitivity": 1.0,
                                         "specificity": 0.5}
    assert "ROC AUC 1.000" in triage_line(result) and "brightest pixel 0.250" in triage_line(result)
    with pytest.raises(ScintisegError, match="no batch summary"):
        evaluate_triage(tmp_path / "nothing", labels)


def test_crops_without_a_bsi_give_no_bsi_auc_and_the_rest_as_before(tmp_path):
    """Partial views (region crops) have an empty bsi_percent: the BSI is not ranked, the triage score is."""
    out = tmp_path / "out"
    _batch(out, [("a", "ok", 0.9, 1, 50.0), ("c", "ok", 0.2, 0, 400.0)])
    text = (out / "summary.csv").read_text().splitlines()
    rows = list(csv.DictReader(text))
    for row in rows:
        row["bsi_percent"] = ""
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    result = evaluate_triage(out, {"a": True, "c": False})
    assert result["bsi_auc"] is None and result["triage_auc"] == 1.0 and "BSI n/a" in triage_line(result)


def test_written_labels_read_back_as_they_were(tmp_path):
    labels = {"a": True, "b, with a comma": False, "c": True}
    assert write_image_labels(tmp_path / "labels.csv", labels) == 2
    assert read_image_labels(tmp_path / "labels.csv") == labels
    assert (tmp_path / "labels.csv").read_text().splitlines()[:2] == ["file,label", "a,abnormal"]


def test_a_bs80k_list_naming_a_file_with_a_nul_byte_is_one_line(tmp_path):
    path = tmp_path / "wholeBodyANT.txt"
    path.write_bytes(b"0001.jpg 1\n00\x0002.jpg 0\n")
    with pytest.raises(ScintisegError, match="line 2: the file name holds a NUL byte"):
        read_image_labels(path)


def test_bs80k_lists_are_read_per_folder_and_keep_same_named_views_apart(tmp_path):
    """BS-80K: wholeBodyANT/wholeBodyANT.txt and wholeBodyPOST/wholeBodyPOST.txt, no header, "0001.jpg 1" per line;
    both folders hold a 0001.jpg with its own label."""
    for folder, text in (("wholeBodyANT", "0001.jpg 1\n0002.jpg 0\n"), ("wholeBodyPOST", "0001.jpg\t0\n\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{folder}.txt").write_text(text)
    labels = read_label_files([tmp_path / "wholeBodyANT" / "wholeBodyANT.txt", tmp_path / "wholeBodyPOST" / "wholeBodyPOST.txt"])
    assert len(labels) == 3
    assert label_of(labels, tmp_path / "wholeBodyANT" / "0001.jpg") is True
    assert label_of(labels, tmp_path / "wholeBodyPOST" / "0001.jpg") is False
    assert label_of(labels, tmp_path / "wholeBodyPOST" / ".." / "wholeBodyANT" / "0002.jpg") is False  # resolved
    assert label_of(labels, tmp_path / "elsewhere" / "0001.jpg") is None  # a list names its own folder's files


def test_two_label_files_that_disagree_are_one_error_naming_both(tmp_path):
    (tmp_path / "a.csv").write_text("file,label\nx.png,1\n")
    (tmp_path / "b.csv").write_text("file,label\nx.png,normal\ny.png,1\n")
    with pytest.raises(ScintisegError, match=r"'x.png' is labelled abnormal in .*a.csv and normal here") as caught:
        read_label_files([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert "b.csv" in str(caught.value)
    (tmp_path / "c.csv").write_text("file,label\ny.png,0\n")
    assert read_label_files([tmp_path / "a.csv", tmp_path / "c.csv"]) == {"x.png": True, "y.png": False}


def test_a_bs80k_list_keys_every_name_by_its_resolved_path(tmp_path):
    """The shortcut for plain names (the folder resolved once) gives the keys resolving each line would: through a
    linked folder, a linked file, a sub-folder, ``..`` and a name given twice."""
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "target.jpg").write_bytes(b"")
    (real / "link.jpg").symlink_to(tmp_path / "other" / "target.jpg")
    (tmp_path / "linked").symlink_to(real, target_is_directory=True)
    names = ["0001.jpg", "link.jpg", "sub/0002.jpg", "../other/0003.jpg", "0001.jpg", "./0004.jpg"]
    path = tmp_path / "linked" / "list.txt"
    path.write_text("".join(f"{name} {number % 2}\n" for number, name in enumerate(names)))
    labels = read_image_labels(path)
    assert sorted(labels) == sorted({str((path.parent / name).resolve()) for name in names})
    assert str(tmp_path / "other" / "target.jpg") in labels  # the link's target, not the link
    assert str(real / "0001.jpg") in labels  # the folder's link resolved


def test_the_operating_points_specificity_is_the_share_of_normal_scans_without_a_lesion(tmp_path):
    out = tmp_path / "out"
    _batch(out, [("a", "ok", 0.9, 1, 5.0), ("b", "ok", 0.8, 0, 5.0), ("c", "ok", 0.2, 0, 5.0), ("d", "ok", 0.6, 1, 5.0),
                 ("e", "ok", 0.1, 0, 5.0)])
    result = evaluate_triage(out, {"a": True, "b": True, "c": False, "d": False, "e": False})
    assert result["operating_point"]["sensitivity"] == 0.5 and result["operating_point"]["specificity"] == pytest.approx(2 / 3)


def test_the_cutoff_for_a_sensitivity_is_the_highest_score_keeping_that_share_of_abnormal_scans_above_it(tmp_path):
    """Scores by hand: abnormal 0.9, 0.8, 0.7, 0.4; normal 0.75, 0.6, 0.3, 0.1. Sensitivity 0.9 needs all four
    abnormal scans (0.9 x 4 = 3.6 -> 4) at or above the cut-off: 0.4, which leaves normal 0.3 and 0.1 below
    (specificity 0.5) and 2 of 8 scans below; the same for 0.95 and 0.99. With 20 abnormal scans, 0.9 needs 18."""
    from scintiseg.report.image_labels import sensitivity_cutoffs

    scores = np.array([0.9, 0.8, 0.7, 0.4, 0.75, 0.6, 0.3, 0.1])
    abnormal = np.array([True] * 4 + [False] * 4)
    rows = sensitivity_cutoffs(scores, abnormal)
    assert [row["target_sensitivity"] for row in rows] == [0.9, 0.95, 0.99]
    assert rows[0] == {"target_sensitivity": 0.9, "cutoff": 0.4, "sensitivity": 1.0, "specificity": 0.5,
                       "share_below": 0.25}
    many = np.linspace(1.0, 0.05, 20)  # abnormal scans 1.0 ... 0.05; normal ones all at 0.02
    rows = sensitivity_cutoffs(np.r_[many, np.full(10, 0.02)], np.r_[np.ones(20, bool), np.zeros(10, bool)], (0.9,))
    assert rows[0]["cutoff"] == pytest.approx(many[17]) and rows[0]["sensitivity"] == 0.9
    assert rows[0]["specificity"] == 1.0 and rows[0]["share_below"] == pytest.approx(12 / 30, abs=1e-4)
    assert sensitivity_cutoffs(scores, np.zeros(8, bool)) == []  # no abnormal scan: no cut-off
    out = tmp_path / "out"
    _batch(out, [(name, "ok", score, 1, 5.0) for name, score in zip("abcdefgh", scores)])
    result = evaluate_triage(out, {name: bool(label) for name, label in zip("abcdefgh", abnormal)})
    assert result["cutoffs"][1]["cutoff"] == 0.4 and "for sensitivity 0.95: triage >= 0.4, specificity 0.500" in \
        triage_line(result)


def test_no_auc_without_an_abnormal_scan():
    assert roc_auc([1, 2, 3], [False, False, False]) is None


def test_a_label_naming_a_study_joined_from_its_two_files_scores_the_study_once(tmp_path):
    """ANT and POST as two files joined into one scan (one output folder): a label of the scan's name counts it once."""
    out = tmp_path / "out"
    _batch(out, [("s1", "ok", 0.9, 1, 5.0), ("s2", "ok", 0.1, 0, 9.0)])
    rows = list(csv.DictReader((out / "summary.csv").read_text().splitlines()))
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, SUMMARY_COLUMNS)
        writer.writeheader()
        for row in rows:  # each study read from an ANT and a POST file
            for view in ("ANT", "POST"):
                writer.writerow({**row, "input": f"/scans/{row['output']}_{view}.png"})
    result = evaluate_triage(out, {"s1": True, "s2": False})
    assert (result["scans"], result["abnormal"], result["normal"], result["unlabelled_scans"]) == (2, 1, 1, 0)
    assert result["triage_auc"] == 1.0 and result["labels_without_scan"] == 0
