"""Tests of :mod:`scintiseg.experiments.demo.run`: the settings fingerprint that guards a demo folder, the data sizes
the report states, and ``run_demo``'s order of steps, timings, report and ``demo.json`` (the paired comparison of the
two networks included), with every step replaced by a fake that records its call (no phantom, no training: milliseconds
instead of minutes).

Elsewhere: tests/cli/test_demo.py runs the whole tiny demo once (each step's skipping on a rerun, the one-line error of
other settings through the CLI); tests/experiments/demo/test_steps.py tests the steps themselves.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from types import SimpleNamespace

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.experiments.demo import run as run_module
from scintiseg.experiments.demo.run import check_fingerprint, data_sizes, run_demo
from scintiseg.experiments.demo.settings import DemoSettings
from support import per_case_row, write_per_case

TINY = dict(patients=2, epochs=3, pool_patients=4, refresh=0.5, windows_per_view=1, val_patients=2,
            train_profile="small", width=4, size=128, batch_size=2, generator_workers=0, threads=1)


# check_fingerprint


def test_first_demo_in_a_folder_records_its_fingerprint(tmp_path):
    settings = DemoSettings(out=str(tmp_path), **TINY)
    check_fingerprint(settings, tmp_path)
    assert json.loads((tmp_path / "demo-settings.json").read_text(encoding="utf-8")) == settings.fingerprint()


def test_same_fingerprint_is_accepted_whatever_the_machine_settings(tmp_path):
    check_fingerprint(DemoSettings(out=str(tmp_path), **TINY), tmp_path)
    # threads, workers, progress, the real scan and the generator processes change no data and no model
    again = DemoSettings(out=str(tmp_path), **TINY | dict(threads=0, generator_workers=2), workers=1, progress=False,
                         real_scan="")
    check_fingerprint(again, tmp_path)
    assert json.loads((tmp_path / "demo-settings.json").read_text(encoding="utf-8")) == again.fingerprint()


def test_other_settings_are_refused_naming_each_change_and_the_folder(tmp_path):
    check_fingerprint(DemoSettings(out=str(tmp_path), **TINY), tmp_path)
    before = (tmp_path / "demo-settings.json").read_text(encoding="utf-8")
    with pytest.raises(ScintisegError) as caught:
        check_fingerprint(DemoSettings(out=str(tmp_path), **TINY | dict(epochs=4, patients=3, lr=5e-4)), tmp_path)
    assert caught.value.path == str(tmp_path)
    assert str(caught.value) == (f"{tmp_path}: this folder holds a demo made with other settings (epochs, lr, patients);"
                                 " use another --out or delete the folder")
    assert (tmp_path / "demo-settings.json").read_text(encoding="utf-8") == before  # the folder's record is kept


def test_another_recipe_is_refused_with_its_own_settings_named(tmp_path):
    check_fingerprint(DemoSettings(out=str(tmp_path)), tmp_path)
    with pytest.raises(ScintisegError, match=r"other settings \(epochs, patients, recipe, test_fraction\);"):
        check_fingerprint(DemoSettings(out=str(tmp_path), recipe="crops"), tmp_path)


def test_damaged_fingerprint_file_is_a_one_line_error_naming_it(tmp_path):
    record = tmp_path / "demo-settings.json"
    record.write_text('{"recipe": "synth', encoding="utf-8")  # cut off by a full disk
    with pytest.raises(ScintisegError, match=r"malformed JSON") as caught:
        check_fingerprint(DemoSettings(out=str(tmp_path), **TINY), tmp_path)
    assert caught.value.path == str(record) and "\n" not in str(caught.value)
    assert record.read_text(encoding="utf-8") == '{"recipe": "synth'  # not overwritten


def test_a_record_that_is_not_an_object_is_refused_naming_it(tmp_path):
    record = tmp_path / "demo-settings.json"
    record.write_text("[]", encoding="utf-8")
    with pytest.raises(ScintisegError, match=r"not a demo settings record \(not a JSON object\)") as caught:
        check_fingerprint(DemoSettings(out=str(tmp_path), **TINY), tmp_path)
    assert caught.value.path == str(record)


def test_a_setting_only_the_old_record_has_is_named(tmp_path):
    settings = DemoSettings(out=str(tmp_path), **TINY)
    (tmp_path / "demo-settings.json").write_text(json.dumps({**settings.fingerprint(), "retired": 1}), encoding="utf-8")
    with pytest.raises(ScintisegError, match=r"other settings \(retired\);"):
        check_fingerprint(settings, tmp_path)


# data_sizes


def test_synthetic_sizes_are_the_generated_patients_and_the_test_cohort(tmp_path):
    settings = DemoSettings(out=str(tmp_path), **TINY)  # 4 patients, then 2 new ones in each of epochs 2 and 3
    sizes = data_sizes(settings, tmp_path, {"train": [], "test": ["PH0001", "PH0002"]})
    assert sizes == {"recipe": "synthetic", "train": 8, "val": 2, "test": 2}  # no split.json needed
    assert data_sizes(settings, tmp_path, {})["test"] == 0


def test_crops_sizes_are_the_dpunet_runs_split(tmp_path):
    (tmp_path / "dpunet").mkdir()
    split = {"train": ["a", "b", "c"], "val": ["d"], "test": ["e", "f"], "seed": 0}
    (tmp_path / "dpunet" / "split.json").write_text(json.dumps(split), encoding="utf-8")
    sizes = data_sizes(DemoSettings(out=str(tmp_path), recipe="crops"), tmp_path, {"test": ["x"] * 9})
    assert sizes == {"recipe": "crops", "train": 3, "val": 1, "test": 2}


@pytest.mark.parametrize("text", ['{"train": ["a"], "val"', '["a", "b"]', '{"train": ["a"], "val": [], "test": 3}'],
                         ids=["cut-off", "a-list", "test-not-a-list"])
def test_a_damaged_split_record_is_one_line_naming_it(tmp_path, text):
    (tmp_path / "dpunet").mkdir()
    path = tmp_path / "dpunet" / "split.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScintisegError) as caught:
        data_sizes(DemoSettings(out=str(tmp_path), recipe="crops"), tmp_path, {})
    assert caught.value.path == str(path) and "\n" not in str(caught.value)


# run_demo, every step a fake


class Fakes:
    """The steps, checkpoints, clock and load averages ``run_demo`` sees; each fake records its call in ``calls``."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        self.clock = 0.0
        self.splits = {"train": [], "val": [], "test": ["PH0001", "PH0002"]}
        self.reports: list[tuple] = []
        self.curves: list[tuple] = []
        loads = iter([[1.5, 1.0, 0.5], [2.5, 2.0, 1.0], [0.1, 0.1, 0.1], [0.2, 0.2, 0.2]])
        self.predict_args = None
        patch = {
            "make_phantom": self.make_phantom, "make_crops": self.make_crops, "train_model": self.train_model,
            "evaluate_model": self.evaluate_model, "predict_scans": self.predict_scans,
            "learning_curves": lambda runs, path: self.curves.append((runs, path)),
            "report_markdown": self.report_markdown, "load_average": lambda: next(loads), "cpu_count": lambda: 7,
            "time": SimpleNamespace(perf_counter=lambda: self.clock), "say": lambda message: None,
        }
        for name, value in patch.items():
            monkeypatch.setattr(run_module, name, value)
        monkeypatch.setattr("scintiseg.models.checkpoint.load_checkpoint", self.load_checkpoint)

    def _took(self, call: str, seconds: float) -> None:
        self.calls.append(call)
        self.clock += seconds

    def make_phantom(self, settings, folder, state):
        self._took(f"phantom {folder.name}", 4.0)

    def make_crops(self, settings, phantom, folder, state):
        self._took(f"crops {phantom.name} -> {folder.name}", 1.5)
        return self.splits

    def train_model(self, settings, key, crops, run_dir, state, step):
        self._took(f"train {key} in {run_dir.name} ({step})", 100.0 if key == "dpunet" else 60.0)
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (run_dir / "summary.json").write_text(json.dumps({"finished": True, "run": key}), encoding="utf-8")

    def evaluate_model(self, run_dir, crops, key, state):
        self._took(f"evaluate {key}", 2.0)
        overlays = run_dir / "eval-test" / "overlays"
        overlays.mkdir(parents=True, exist_ok=True)
        for name in ("worst_1_A.png", "best_2_B.png", "best_1_C.png", "worst_2_D.png"):
            (overlays / name).write_bytes(b"png")
        found = 50 if key == "dpunet" else 25  # of each test crop's 50 lesion pixels
        write_per_case(run_dir.parent, key, [per_case_row(case, case, found, 0, 50 - found)
                                             for case in self.splits["test"]])
        return {"pooled": {"dsc": 0.5, "recall": 0.25, "cpa": float("nan")}, "images": 2}

    def load_checkpoint(self, path):
        return {"history": [{"epoch": 1, "checkpoint": str(path)}]}

    def predict_scans(self, settings, out, phantom, splits, state, figures_dir):
        self._took("predict", 10.0)
        self.predict_args = (splits, figures_dir)

    def report_markdown(self, settings, state, out, figures):
        self.calls.append("report")
        self.reports.append((settings, json.loads(json.dumps(asdict(state), default=str)), out, figures))
        return "# the report\n"


@pytest.fixture
def fakes(monkeypatch):
    return Fakes(monkeypatch)


def test_steps_run_in_order_each_with_its_own_folders(fakes, tmp_path):
    out = tmp_path / "demo"
    report = run_demo(DemoSettings(out=str(out), **TINY))
    assert report == out / "report.md" and report.read_text(encoding="utf-8") == "# the report\n"
    assert fakes.calls == ["phantom phantom", "crops phantom -> crops", "train dpunet in dpunet (3/6 1/2)",
                           "train unet in unet (3/6 2/2)", "evaluate dpunet", "evaluate unet", "predict", "report"]
    assert fakes.predict_args == (fakes.splits, out / "figures")  # the split the crop step made


def test_demo_json_records_timings_metrics_runs_and_load(fakes, tmp_path):
    out = tmp_path / "demo"
    settings = DemoSettings(out=str(out), **TINY)
    run_demo(settings)
    state = json.loads((out / "demo.json").read_text(encoding="utf-8"))
    assert state["timings"] == {"phantom": 4.0, "crop + split": 1.5, "train dpunet": 100.0, "train unet": 60.0,
                                "evaluate dpunet": 2.0, "evaluate unet": 2.0, "predict": 10.0}
    assert list(state["timings"]) == ["phantom", "crop + split", "train dpunet", "train unet", "evaluate dpunet",
                                      "evaluate unet", "predict"]  # the order the steps ran
    assert state["settings"] == json.loads(json.dumps(asdict(settings))) | {"cpus": 7}
    for key in ("dpunet", "unet"):
        assert state["metrics"][key] == {"pooled": {"dsc": 0.5, "recall": 0.25, "cpa": None}, "images": 2}  # strict JSON
        assert state["runs"][key] == {"finished": True, "run": key}  # the run's own summary.json
    assert state["runs"]["data"] == {"recipe": "synthetic", "train": 8, "val": 2, "test": 2}
    # DPU-Net minus U-Net on both evaluations' test images, paired over the 2 test patients: too few for a verdict
    dsc = next(m for m in state["comparison"]["metrics"] if m["metric"] == "dsc")
    assert (state["comparison"]["images"], state["comparison"]["patients"]) == (2, 2)
    assert (dsc["dpunet"], dsc["unet"], dsc["verdict"]) == (1.0, pytest.approx(2 / 3), "too few patients")
    assert state["load_average"] == {"start": [1.5, 1.0, 0.5], "end": [2.5, 2.0, 1.0]}
    assert json.loads((out / "demo-settings.json").read_text(encoding="utf-8")) == settings.fingerprint()


def test_report_gets_the_curves_of_each_run_and_best_overlays_first(fakes, tmp_path):
    out = tmp_path / "demo"
    run_demo(DemoSettings(out=str(out), **TINY))
    (histories, path), = fakes.curves
    assert path == out / "figures" / "learning_curves.png"
    assert {key: history[0]["checkpoint"] for key, history in histories.items()} == {
        key: str(out / key / "checkpoints" / "last.pt") for key in ("dpunet", "unet")}
    (settings, state, report_out, figures), = fakes.reports
    assert report_out == out and state["load_average"]["end"] == [2.5, 2.0, 1.0]  # the state is complete by then
    assert figures["curves"] == [path]
    for key in ("dpunet", "unet"):
        overlays = out / key / "eval-test" / "overlays"
        assert figures[f"overlays_{key}"] == [overlays / name for name in
                                              ("best_1_C.png", "best_2_B.png", "worst_1_A.png", "worst_2_D.png")]


def test_a_second_run_with_the_same_settings_goes_on_in_the_same_folder(fakes, tmp_path):
    out = tmp_path / "demo"
    run_demo(DemoSettings(out=str(out), **TINY))
    (out / "report.md").unlink()
    fakes.calls.clear()  # the steps run again (the real ones skip what is finished: tests/cli/test_demo.py)
    assert run_demo(DemoSettings(out=str(out), **TINY, workers=1)) == out / "report.md"
    assert fakes.calls[0] == "phantom phantom" and fakes.calls[-1] == "report" and (out / "report.md").is_file()


def test_a_folder_of_other_settings_is_refused_before_any_step(fakes, tmp_path):
    out = tmp_path / "demo"
    check_fingerprint(DemoSettings(out=str(out), **TINY), out)
    with pytest.raises(ScintisegError, match=r"other settings \(epochs\)"):
        run_demo(DemoSettings(out=str(out), **TINY | dict(epochs=5)))
    assert fakes.calls == [] and sorted(p.name for p in out.iterdir()) == ["demo-settings.json"]


def test_an_output_that_is_a_file_is_refused_naming_it(fakes, tmp_path):
    out = tmp_path / "demo"
    out.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ScintisegError) as caught:
        run_demo(DemoSettings(out=str(out), **TINY))
    assert str(caught.value) == f"{out}: output exists and is not a folder"
    assert fakes.calls == [] and out.read_text(encoding="utf-8") == "not a folder"


def test_impossible_settings_are_refused_before_the_folder_is_made(fakes, tmp_path):
    settings = DemoSettings(out=str(tmp_path / "demo"), **TINY)
    settings.size = 100  # changed after construction, as a caller of the library may
    with pytest.raises(ScintisegError, match="--size must be a multiple of 16"):
        run_demo(settings)
    assert fakes.calls == [] and not (tmp_path / "demo").exists()


def test_a_network_evaluated_on_other_images_gives_the_report_no_comparison(fakes, tmp_path, monkeypatch):
    evaluate = fakes.evaluate_model

    def on_other_images(run_dir, crops, key, state):
        metrics = evaluate(run_dir, crops, key, state)
        if key == "unet":
            write_per_case(run_dir.parent, key, [per_case_row("PH0001", "PH0001", 1, 0, 49)])
        return metrics

    monkeypatch.setattr(run_module, "evaluate_model", on_other_images)
    out = tmp_path / "demo"
    run_demo(DemoSettings(out=str(out), **TINY))
    (_, state, _, _), = fakes.reports  # the state the report is made from
    assert state["comparison"] == {"skipped": "the two networks were evaluated on different test images (2 and 1 "
                                              "images; PH0002 scored for the DPU-Net only)"}
    assert json.loads((out / "demo.json").read_text(encoding="utf-8"))["comparison"] == state["comparison"]


def test_a_failing_step_leaves_no_report(fakes, tmp_path, monkeypatch):
    def broken(*args):
        raise ScintisegError("not a whole-body scan", path="scan.dcm")

    monkeypatch.setattr(run_module, "predict_scans", broken)
    out = tmp_path / "demo"
    with pytest.raises(ScintisegError, match="scan.dcm: not a whole-body scan"):
        run_demo(DemoSettings(out=str(out), **TINY))
    assert not (out / "report.md").exists() and not (out / "demo.json").exists()
    assert (out / "demo-settings.json").is_file()  # the folder stays this demo's, for a resumed run
