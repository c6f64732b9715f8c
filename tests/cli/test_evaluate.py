"""``scintiseg evaluate`` on the command line: the split choices, the printed summary, a light start-up.

The command imports the evaluation (torch, the training loop) inside its function, so ``--help`` stays
light (tests/cli/test_startup.py checks every command's ``--help``); here a real run is evaluated, in
this process and in a fresh one whose ``HOME`` is empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from scintiseg.cli import main
from scintiseg.io.dataset import SPLIT_NAMES
from support import conftest_of, write_masks


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    data = conftest_of("train").write_tiny_dataset(tmp_path_factory.mktemp("evaluate_dataset"))
    run = tmp_path_factory.mktemp("evaluate_run") / "run"
    assert main(["train", "--data", str(data), "--out", str(run), "--model", "unet", "-m", "width=4", "-m", "depth=2",
                 "--epochs", "1", "--batch-size", "4", "--normalisation", "zscore", "--no-progress",
                 "--threads", "1"]) == 0
    return run


def test_split_choices_are_the_data_set_split_names(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--run", "nowhere", "--split", "validation"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'validation'" in err and all(repr(name) in err for name in SPLIT_NAMES)


def test_evaluate_prints_pixel_and_lesion_scores_and_writes_metrics(trained_run, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", "--run", str(trained_run), "--split", "all", "--overlays", "0", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images"] == 8  # one ANT image per case (the default input mode)
    assert lines[0] == "all: 8 images"
    assert lines[1].startswith("pooled    DSC ") and lines[2].startswith("per image DSC ")
    assert lines[3].startswith("lesions: sensitivity ") and lines[-1] == f"written to {out}"


def test_evaluate_without_overlays_imports_no_monai_or_matplotlib_and_leaves_home_alone(trained_run, tmp_path):
    """MONAI imports matplotlib, and matplotlib writes its font cache into ``~/.cache/matplotlib``."""
    home = tmp_path / "home"
    home.mkdir()
    probe = (
        "import json, sys\nfrom scintiseg.cli import main\n"
        "code = main(json.loads(sys.argv[1]))\n"
        "print(json.dumps({'code': code, 'heavy': sorted({m.split('.')[0] for m in sys.modules} & {'monai', 'matplotlib'})}))"
    )
    argv = ["evaluate", "--run", str(trained_run), "--overlays", "0", "--out", str(tmp_path / "eval")]
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    result = subprocess.run([sys.executable, "-c", probe, json.dumps(argv)], env={**env, "HOME": str(home)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"code": 0, "heavy": []}
    assert list(home.iterdir()) == []


def test_a_threshold_outside_0_1_or_an_out_that_is_a_file_is_refused_before_any_work(trained_run, tmp_path, capsys):
    assert main(["evaluate", "--run", str(trained_run), "--threshold", "2"]) == 2
    assert capsys.readouterr().err.strip() == "scintiseg evaluate: error: threshold must lie in (0, 1], got 2.0"
    taken = tmp_path / "taken.json"
    taken.write_text("{}")
    assert main(["evaluate", "--run", str(trained_run), "--out", str(taken)]) == 2
    assert capsys.readouterr().err.strip() == f"scintiseg evaluate: error: {taken}: output exists and is not a folder"
    assert taken.read_text() == "{}" and not (trained_run / "eval-test").exists()
    assert main(["evaluate", "--run", str(trained_run), "--overlays", "-1"]) == 2  # was: every case but one drawn
    assert capsys.readouterr().err.strip() == "scintiseg evaluate: error: --overlays must be 0 (none) or more, got -1"
    assert not (trained_run / "eval-test").exists()


def test_predictions_need_the_data_set_and_take_no_run_options(tmp_path, capsys):
    assert main(["evaluate", "--predictions", str(tmp_path)]) == 2
    assert "--predictions needs --data" in capsys.readouterr().err
    assert main(["evaluate", "--predictions", str(tmp_path), "--data", str(tmp_path), "--threshold", "0.3"]) == 2
    assert "--threshold and --checkpoint are a run's" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--predictions", str(tmp_path), "--run", str(tmp_path)])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_predict_folder_of_the_data_sets_images_is_scored_view_by_view(tmp_path, capsys):
    """`predict` over a data set's images, then `evaluate --predictions`: each view's mask found through the
    source its report names, and the pooled DSC that of a hand count over those masks."""
    from scintiseg.io.dataset import load_case, load_manifest
    from scintiseg.io.images import read_mask_png

    data, predicted = tmp_path / "ds", tmp_path / "pred"
    assert main(["phantom", "--patients", "2", "--out", str(data), "--seed", "4"]) == 0
    assert main(["predict", str(data / "images"), "--out", str(predicted)]) == 0
    assert main(["evaluate", "--predictions", str(predicted), "--data", str(data), "--split", "all",
                 "--overlays", "0"]) == 0
    metrics = json.loads((predicted / "eval-all" / "metrics.json").read_text())
    tp = fp = fn = 0
    for case in load_manifest(data).cases:
        _, truth = load_case(data, case)
        folder = predicted / case.case_id
        assert json.loads((folder / "report.json").read_text())["input"]["source"].endswith(case.image.split("/")[-1])
        for view, mask in truth.items():
            called = read_mask_png(folder / f"{view}_mask.png")
            tp, fp, fn = tp + int((called & mask).sum()), fp + int((called & ~mask).sum()), fn + int((~called & mask).sum())
    assert metrics["images"] == 4 and tp > 0
    assert metrics["pooled"]["dsc"] == pytest.approx(2 * tp / (2 * tp + fp + fn))

    # The archive predicted, the data set imported from it: each case found by the SHA-256 import recorded.
    assert main(["dataset", "import", str(data), "--out", str(tmp_path / "site")]) == 0
    assert main(["evaluate", "--predictions", str(predicted), "--data", str(tmp_path / "site"), "--split", "all",
                 "--overlays", "0", "--out", str(tmp_path / "by_hash")]) == 0
    by_hash = json.loads((tmp_path / "by_hash" / "metrics.json").read_text())
    assert by_hash["pooled"] == metrics["pooled"] and by_hash["detection"] == metrics["detection"]

    # The same data set with its first case stored head-down and read turned (`read_turned`): predict writes that
    # scan's masks on the image as stored, and they are turned back to the case's reading: the same scores.
    from scintiseg.io import read_scan
    from scintiseg.io.dataset import TURNED_KEY, save_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.labelme import read_labelme, write_labelme

    manifest = load_manifest(data)
    case = manifest.cases[0]
    turned = read_scan(data / case.image).rows_reversed()
    write_dicom(turned, data / case.image)
    for view, relative in case.labels.items():
        write_labelme(read_labelme(data / relative, root=data).rows_reversed(), data / relative, image=turned.view(view))
    case.meta[TURNED_KEY] = "head_down"
    save_manifest(manifest, data)
    assert main(["predict", str(data / "images"), "--out", str(tmp_path / "pred2")]) == 0
    assert json.loads((tmp_path / "pred2" / case.case_id / "report.json").read_text())["summary"]["qc_flags"].count("head_down")
    assert main(["evaluate", "--predictions", str(tmp_path / "pred2"), "--data", str(data), "--split", "all",
                 "--overlays", "0"]) == 0
    again = json.loads((tmp_path / "pred2" / "eval-all" / "metrics.json").read_text())
    assert again["pooled"] == metrics["pooled"] and again["detection"] == metrics["detection"]

    (predicted / case.case_id / "report.json").unlink()
    assert main(["evaluate", "--predictions", str(predicted), "--data", str(data), "--split", "all"]) == 2
    assert "no mask for 2 of the 4 views" in capsys.readouterr().err


def test_the_defaults_are_the_test_split_the_best_checkpoint_and_three_overlays():
    from scintiseg.cli import build_parser

    args = build_parser("evaluate").parse_args(["evaluate", "--run", "RUN"])
    assert (args.split, args.checkpoint, args.overlays, args.threshold, args.device) == ("test", "best", 3, None, "auto")


def test_predictions_take_no_checkpoint_either(tmp_path, capsys):
    assert main(["evaluate", "--predictions", str(tmp_path), "--data", str(tmp_path), "--checkpoint", "last"]) == 2
    assert "--threshold and --checkpoint are a run's" in capsys.readouterr().err


def test_against_prints_a_line_per_metric_with_the_paired_interval_and_verdict(dataset_factory, tmp_path, capsys):
    data = dataset_factory(patients=5)
    truth = write_masks(data, tmp_path / "truth")
    empty = write_masks(data, tmp_path / "empty", lambda identifier, mask: np.zeros_like(mask))
    out = tmp_path / "out"
    assert main(["evaluate", "--predictions", str(truth), "--against", str(empty), "--data", str(data),
                 "--split", "all", "--overlays", "1", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("all: 10 views of 5 patients; ") and "bootstrap interval over the 5 patients" in lines[0]
    table = {line[:24].strip(): line.split() for line in lines[2:-1]}
    assert list(table) == ["pooled DSC", "pooled recall", "pooled CPA", "lesion sensitivity",
                           "false positives per view", "mean per-view DSC"]
    assert table["pooled DSC"][-5:] == ["+1.0000", "[+1.0000,", "+1.0000]", "A", "higher"]
    assert table["false positives per view"][-2:] == ["not", "decided"]
    assert lines[-1] == f"written to {out}"
    # A's evaluation as without --against, its overlays included (A's best and worst view)
    assert {p.name for p in out.iterdir()} == {"metrics.json", "per_case.csv", "comparison.json", "comparison.md",
                                               "overlays"}
    assert len(list((out / "overlays").glob("*.png"))) == 2


def test_against_the_predictions_folder_itself_is_refused_in_one_line(tiny_dataset, tmp_path, capsys):
    truth = write_masks(tiny_dataset, tmp_path / "truth")
    (tmp_path / "elsewhere").mkdir()
    same = tmp_path / "elsewhere" / ".." / "truth"
    assert main(["evaluate", "--predictions", str(truth), "--against", str(same), "--data", str(tiny_dataset),
                 "--split", "all"]) == 2
    assert capsys.readouterr().err == (f"scintiseg evaluate: error: {same}: --against is the --predictions folder "
                                       "itself: compare two different folders\n")
    assert not (truth / "eval-all").exists()


def test_against_refuses_a_b_missing_a_view_in_one_line_and_writes_nothing(tiny_dataset, tmp_path, capsys):
    truth = write_masks(tiny_dataset, tmp_path / "a")
    lacking = write_masks(tiny_dataset, tmp_path / "b", lambda identifier, mask: np.zeros_like(mask))
    (lacking / "P003_0_ANT.nii.gz").unlink()
    out = tmp_path / "out"
    assert main(["evaluate", "--predictions", str(truth), "--against", str(lacking), "--data", str(tiny_dataset),
                 "--split", "all", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"scintiseg evaluate: error: {lacking}: no mask for 1 of the 8 views (first: P003_0_ANT")
    assert len(err.splitlines()) == 1 and not out.exists()
    assert main(["evaluate", "--predictions", str(truth), "--against", str(lacking), "--data", str(tiny_dataset),
                 "--split", "all"]) == 2  # the default output, A/eval-all, neither
    assert "P003_0_ANT" in capsys.readouterr().err and not (truth / "eval-all").exists()


def test_against_is_refused_with_a_run(tmp_path, capsys):
    assert main(["evaluate", "--run", str(tmp_path), "--against", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scintiseg evaluate: error: --against compares two folders of masks") and "\n" not in err


def test_region_masks_score_a_predict_folders_region_maps_against_the_phantoms_truth(tmp_path, capsys):
    """`phantom` (two small patients), `predict`, then `evaluate --region-masks` with the phantom's truth region maps
    as the reader's masks (regions/PH0001_ANT.png: one value per region, so a class map of every region): each class's
    pooled Dice is the overlap of the written V_regions.png files and the truth counted by hand."""
    from scintiseg.io.images import read_label_png
    from scintiseg.predict.regions import REGION_NAMES

    data, predicted = tmp_path / "ds", tmp_path / "pred"
    assert main(["phantom", "--patients", "2", "--out", str(data), "--seed", "4", "--profile", "small"]) == 0
    assert main(["predict", str(data / "images"), "--out", str(predicted), "--quiet", "--no-dicom"]) == 0
    classes = tmp_path / "classes.json"
    classes.write_text(json.dumps({str(i): {"name": name, "regions": [name]} for i, name in enumerate(REGION_NAMES) if i}))
    capsys.readouterr()
    assert main(["evaluate", "--predictions", str(predicted), "--region-masks", str(data / "regions"),
                 "--class-map", str(classes)]) == 0
    printed = capsys.readouterr().out
    result = json.loads((predicted / "eval-regions" / "regions.json").read_text())
    assert result["images"] == 4 and result["missing_masks"] == result["refused"] == result["masks_unused"] == 0
    assert f"macro Dice {result['macro_dice']:.3f}" in printed and (predicted / "eval-regions" / "regions.md").is_file()
    both, truths = [], []
    for case in ("PH0001", "PH0002"):
        for view in ("ANT", "POST"):
            both.append(read_label_png(predicted / case / f"{view}_regions.png"))
            truths.append(read_label_png(data / "regions" / f"{case}_{view}.png"))
    called, truth = np.stack(both), np.stack(truths)
    for index, name in enumerate(REGION_NAMES[1:], start=1):
        p, t = called == index, truth == index
        assert result["dice_pooled"][name] == pytest.approx(2 * (p & t).sum() / (p.sum() + t.sum()), abs=1e-4)
    assert 0.6 < result["macro_dice"] < 1  # a learned map on held-out phantoms (docs/predict.md: 0.84-0.87)


def test_region_masks_take_predictions_and_a_class_map_only(tmp_path, capsys):
    assert main(["evaluate", "--region-masks", str(tmp_path), "--class-map", str(tmp_path / "c.json"),
                 "--run", str(tmp_path)]) == 2
    assert "give it with --predictions DIR" in capsys.readouterr().err
    assert main(["evaluate", "--predictions", str(tmp_path), "--region-masks", str(tmp_path)]) == 2
    assert "--region-masks and --class-map go together" in capsys.readouterr().err
    assert main(["evaluate", "--predictions", str(tmp_path), "--region-masks", str(tmp_path), "--class-map",
                 str(tmp_path / "c.json"), "--data", str(tmp_path)]) == 2
    assert "takes --predictions, --class-map and --out only" in capsys.readouterr().err
    (tmp_path / "c.json").write_text('{"1": {"name": "skull", "regions": ["skul"]}}')
    assert main(["evaluate", "--predictions", str(tmp_path), "--region-masks", str(tmp_path), "--class-map",
                 str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert "unknown region 'skul'" in err and err.count("\n") == 1
