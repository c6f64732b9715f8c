"""Tests for scintiseg.experiments: the paper numbers in the specs, a tiny resumable run, the table."""

import dataclasses
import json

import pytest

from scintiseg.cli import main
from scintiseg.errors import ScintisegError
from scintiseg.experiments.runner import cell_config, run_experiment
from scintiseg.experiments.specs import (
    EXPERIMENTS,
    PAPER_A_TABLE2,
    PAPER_B_AUGMENTATION,
    PAPER_B_BASE,
    PAPER_B_COMPARE,
    ExperimentSpec,
    Row,
    paper_b_labelled,
)
from support import conftest_of


def _tiny_dataset(root):
    return conftest_of("train").write_tiny_dataset(root)


def test_specs_hold_the_papers_numbers_and_variants():
    assert set(EXPERIMENTS) == {"paper-a-table2", "paper-b-labels", "paper-b-recurrence",
                                "paper-b-aggregation", "paper-b-compare"}
    rows = PAPER_A_TABLE2.rows
    assert len(rows) == 6 and PAPER_A_TABLE2.runs == 5
    assert rows[-1].paper == {"dsc": 0.6414, "recall": 0.5812, "cpa": 0.7169}
    assert rows[-1].overrides["model_args"] == {"pooling": "fusion", "dac": "dac2", "rmp": True}
    labels = EXPERIMENTS["paper-b-labels"]
    # Paper B's shares are of all samples ("37% (≈840/2280)"; Table 6's "70% ... Llabel = 798" = every training
    # sample of its 70/30 split); `labelled` is a share of the training patients (session 63; before: 0.37 as is).
    assert [r.overrides["labelled"] for r in labels.rows if r.paper] == [paper_b_labelled(0.37)]
    assert paper_b_labelled(0.37) == pytest.approx(0.37 / 0.7, abs=1e-4) and paper_b_labelled(0.7) == 1.0
    assert [r.x for r in labels.rows] == [0.0, 0.1, 0.2, 0.37, 0.5, 0.7]
    # Both views are images, paper B trains on D2 (augmented), the network after its epochs is tested; Table 4's
    # parameters grow with t; the aggregated rows read one image per patient.
    for spec in EXPERIMENTS.values():
        assert spec.checkpoint == "last"
        for row in spec.rows:
            config = cell_config(spec, row, "d", __import__("pathlib").Path("o"), 0, {})
            assert config.views == ("first" if config.input_mode == "aggregate" else "each"), (spec.name, row.name)
            assert config.augment == (spec.name != "paper-a-table2")
    assert all(r.overrides["model_args"]["recurrent_untied"] for r in EXPERIMENTS["paper-b-recurrence"].rows)
    assert PAPER_B_BASE["area_weight"] == 0.004 and PAPER_B_BASE["length_weight"] == 0.0
    assert PAPER_B_AUGMENTATION.base["augment"] is False  # D2's stored copies are its augmentation
    # every table is on thoracic crops (paper B §2.1), so a whole-body data set is refused (researcher audit 74)
    assert {spec.field_of_view for spec in [*EXPERIMENTS.values(), PAPER_B_AUGMENTATION]} == {"crop"}


def test_cell_config_merges_base_row_and_user_settings(tmp_path):
    unet_row = PAPER_B_COMPARE.rows[1]
    config = cell_config(PAPER_B_COMPARE, unet_row, "d", tmp_path, 2, {"epochs": 3, "model_args": {"width": 8}})
    assert config.model == "unet" and config.model_args == {"pooling": "max", "width": 8}  # no rdinet 't'
    assert config.loss == "dice_bce" and config.labelled == 1.0 and config.input_mode == "aggregate"
    assert config.views == "first"  # D2_Agg: one aggregated image per patient
    assert config.seed == 2 and config.epochs == 3 and config.out.endswith("run2")


def test_tiny_experiment_runs_resumes_and_writes_table(tmp_path):
    data = _tiny_dataset(tmp_path / "data")
    spec = ExperimentSpec(
        name="tiny", title="tiny", source="test", runs=2,
        base={"model": "unet", "model_args": {"width": 4, "depth": 2}, "batch_size": 4, "lr": 3e-3,
              "normalisation": "zscore", "threads": 1},
        rows=(Row("max", {"model_args": {"pooling": "max"}}, {"dsc": 0.6086}),
              Row("avg", {"model_args": {"pooling": "avg"}}, {})),
    )
    out = tmp_path / "exp"
    table = run_experiment(spec, data, out, settings={"epochs": 1}, progress=False)
    text = table.read_text()
    assert "| max | 2 |" in text and "0.6086" in text and "n/a" in text
    assert len((out / "results.csv").read_text().splitlines()) == 5  # header + 2 rows x 2 runs
    assert (out / "tiny.png").stat().st_size > 0
    metrics = out / "max" / "run0" / "eval-test" / "metrics.json"
    stamp = metrics.stat().st_mtime_ns
    run_experiment(spec, data, out, settings={"epochs": 1}, progress=False)  # finished cells are skipped
    assert metrics.stat().st_mtime_ns == stamp
    # ... but not reused for other settings, nor the folder for another experiment (both were, silently)
    with pytest.raises(ScintisegError, match="this cell was trained with epochs 1, not 2: use another --out"):
        run_experiment(spec, data, out, settings={"epochs": 2}, progress=False)
    with pytest.raises(ScintisegError, match="holds the experiment 'tiny', not 'other'"):
        run_experiment(dataclasses.replace(spec, name="other"), data, out, settings={"epochs": 1}, progress=False)
    assert metrics.stat().st_mtime_ns == stamp
    # The network after its epochs is tested, as the papers test (session 63; `best` on validation before), and a
    # cell tested with another checkpoint is not mixed into the table.
    assert json.loads(metrics.read_text())["checkpoint"] == "last"
    with pytest.raises(ScintisegError, match="this cell was tested with last.pt, not best.pt: use another --out"):
        run_experiment(dataclasses.replace(spec, checkpoint="best"), data, out, settings={"epochs": 1}, progress=False)
    # A cell made before the Chan-Vese weights were renamed (config.yaml: nu, mu) with a loss that never reads them
    # is reused (session 63: every earlier cell, paper A's included, read as trained otherwise).
    saved = out / "max" / "run0" / "config.yaml"
    text = saved.read_text()
    assert "area_weight: 0.004\n" in text and "length_weight: 0.0\n" in text
    saved.write_text(text.replace("area_weight: 0.004\n", "nu: 0.004\n").replace("length_weight: 0.0\n", "mu: 0.0\n"))
    run_experiment(spec, data, out, settings={"epochs": 1}, progress=False)
    assert metrics.stat().st_mtime_ns == stamp
    with pytest.raises(ScintisegError, match="this cell was trained with loss 'dice_bce', not 'chan_vese'"):
        run_experiment(spec, data, out, settings={"epochs": 1, "loss": "chan_vese"}, progress=False)
    # a damaged cell, or record: one line naming the file and what to do (a JSON traceback before session 61)
    metrics.write_text("{")
    with pytest.raises(ScintisegError, match=f"{metrics}: cannot be read as JSON .*remove .*run0 to train"):
        run_experiment(spec, data, out, settings={"epochs": 1}, progress=False)
    metrics.write_text("[]")
    with pytest.raises(ScintisegError, match="holds no JSON object"):
        run_experiment(spec, data, out, settings={"epochs": 1}, progress=False)
    from scintiseg.experiments.runner import report_experiment

    (out / "experiment.json").write_text('{"spec": {"rows": 3}}')
    with pytest.raises(ScintisegError, match="experiment.json: its experiment spec is malformed"):
        report_experiment(out)


def test_cli_rejects_unknown_experiment(capsys):
    with pytest.raises(SystemExit):
        main(["experiment", "paper-z", "--data", "x"])


def _two_row_spec():
    return ExperimentSpec(
        name="tiny2", title="tiny", source="test", runs=2,
        base={"model": "unet", "model_args": {"width": 4, "depth": 2}, "batch_size": 4, "lr": 3e-3,
              "normalisation": "zscore", "threads": 1},
        rows=(Row("max", {"model_args": {"pooling": "max"}}, {"dsc": 0.6086}),
              Row("avg", {"model_args": {"pooling": "avg"}}, {})),
        reference="max",
    )


def test_every_row_is_scored_on_the_shared_test_set_and_the_report_regenerates(tmp_path):
    data = _tiny_dataset(tmp_path / "data")
    test_data = conftest_of("train").write_tiny_dataset(tmp_path / "held-out", patients=5, seed=1)
    spec, out = _two_row_spec(), tmp_path / "exp"
    table = run_experiment(spec, data, out, settings={"epochs": 1}, progress=False, test_set=test_data)
    per_image = (out / "avg" / "run1" / "eval-held-out" / "per_image.csv").read_text().splitlines()
    assert per_image[0].startswith("image_id,case_id,patient_id,view,tp,fp,fn")
    assert len(per_image) == 1 + 5 * 2  # ANT and POST of each of the 5 held-out patients
    assert not (out / "avg" / "run1" / "eval-test").exists()  # the data set's own test split is not used
    text = table.read_text()
    assert "Paired differences against \"max\"" in text and "| avg |" in text and "5 test patients" in text
    assert "held-out" in text
    paired = (out / "paired.csv").read_text().splitlines()
    assert paired[0] == "kind,a,b,metric,estimate,low,high,real,resamples"
    assert any(line.startswith("versus_reference,avg,max,dsc,") for line in paired)
    record = json.loads((out / "experiment.json").read_text())
    assert record["evaluation"] == "eval-held-out" and record["runs"] == 2
    assert record["field_of_view"] == "crop"  # so that `report` sets apart the fields crops do not read (audit 74)
    assert "`pixel_mm`, `window_size`, `degrade_data`: whole-body scans only" in text and "\npixel_mm:" not in text
    before = {name: (out / name).read_text() for name in ("table.md", "paired.csv", "results.csv")}
    for name in ("table.md", "paired.csv", "results.csv", "tiny2.png"):
        (out / name).unlink()
    assert main(["experiment", "report", str(out)]) == 0  # from the run folders alone
    assert {name: (out / name).read_text() for name in before} == before
    assert (out / "tiny2.png").stat().st_size > 0
    with pytest.raises(ScintisegError, match="trained on"):  # cells trained on other data are not reused
        run_experiment(spec, test_data, out, settings={"epochs": 1}, progress=False, test_set=test_data)



def test_a_network_too_deep_for_the_crops_fails_before_anything_trains(tmp_path):
    """Session 63: the cell's model was first built when it trained, so a DPU-Net whose RMP needs a larger bottleneck
    than 32 x 32 crops give failed after the earlier rows had trained (and the test set was made)."""
    data = _tiny_dataset(tmp_path / "data")
    spec = dataclasses.replace(_two_row_spec(), rows=(
        Row("max", {"model_args": {"pooling": "max"}}, {}),
        Row("rmp", {"model": "dpunet", "model_args": {"width": 4, "depth": 3, "rmp": True}}, {})))
    out = tmp_path / "exp"
    with pytest.raises(ScintisegError, match="DPUNet: the bottleneck would be 4 px but needs at least 5 px"):
        run_experiment(spec, data, out, settings={"epochs": 1}, progress=False)
    assert not (out / "max").exists()


def _files(root):
    return {path.relative_to(root): path.stat().st_mtime_ns for path in root.rglob("*")}


def test_a_data_set_of_another_field_of_view_is_refused_before_anything_is_made(tmp_path):
    """Researcher audit 74: paper-a-table2 on whole-body views trained whole-body models and wrote a normal-looking
    table beside the paper's numbers, which are of thoracic crops."""
    whole = conftest_of("train").write_tiny_dataset(tmp_path / "wb", size=64, pixel_mm=16.0)  # 1.02 m: whole body
    crops = _tiny_dataset(tmp_path / "crops")  # 32 px of 2.26 mm
    before = {root: _files(root) for root in (whole, crops)}
    spec, out = _two_row_spec(), tmp_path / "exp"
    with pytest.raises(ScintisegError, match=rf"^{whole}: a data set of whole-body views \(at least 1 m\), but tiny2 "
                       rf"trains and tests on thoracic crops.*`scintiseg dataset crop {whole} --out CROPS`"):
        run_experiment(spec, whole, out, runs=1, settings={"epochs": 1}, progress=False)
    whole_body_spec = dataclasses.replace(spec, field_of_view="whole-body")
    with pytest.raises(ScintisegError, match=rf"^{crops}: a data set of partial views .* tiny2 trains and tests on "
                       "whole-body views"):
        run_experiment(whole_body_spec, crops, out, runs=1, settings={"epochs": 1}, progress=False)
    assert not out.exists() and {root: _files(root) for root in (whole, crops)} == before


def test_a_split_leaving_too_few_outlined_patients_fails_before_the_test_set_is_made_and_saves_none(tmp_path):
    """Researcher audit 74: ``experiment`` saved the split it made into the user's data set, then failed with "need at
    least two training patients with outlines" (and, with the default phantom test set, only after making it)."""
    from scintiseg.experiments.test_set import PhantomTestSet
    from scintiseg.io.dataset import SPLITS_NAME, load_manifest, save_manifest

    data = _tiny_dataset(tmp_path / "data")
    (data / SPLITS_NAME).unlink()
    manifest = load_manifest(data)
    for case in manifest.cases[2:]:  # two patients outlined: the split made tests one and trains one
        case.masks.clear()
    save_manifest(manifest, data)
    before = _files(data)
    out, test_sets = tmp_path / "exp", tmp_path / "test-sets"
    with pytest.raises(ScintisegError, match=rf"^{data}: need at least two training patients with outlines .* the split "
                       "left 1 in training and 1 in test: outline more patients.*no splits.json was written"):
        run_experiment(_two_row_spec(), data, out, runs=1, settings={"epochs": 1}, progress=False,
                       test_set=PhantomTestSet(patients=2), test_sets=test_sets)
    assert _files(data) == before and not out.exists() and not test_sets.exists()


def test_a_cells_result_is_its_pooled_scores_and_its_lesion_detection(tmp_path):
    from scintiseg.experiments.runner import cell_result

    (tmp_path / "eval-test").mkdir()
    (tmp_path / "eval-test" / "metrics.json").write_text(json.dumps({
        "pooled": {"dsc": 0.6, "recall": 0.5, "cpa": 0.7, "iou": 0.4},
        "per_image": {"dsc": 0.9, "recall": 0.8, "cpa": 0.95, "iou": 0.85},
        "detection": {"lesions": 8, "detected": 6, "sensitivity": 0.75, "false_positives": 3, "fp_per_image": 1.5},
        "images": 2}))
    result = cell_result(tmp_path)
    assert {k: result[k] for k in ("dsc", "recall", "cpa", "iou")} == {"dsc": 0.6, "recall": 0.5, "cpa": 0.7, "iou": 0.4}
    assert result["dsc_image"] == 0.9 and result["sensitivity"] == 0.75 and result["fp_per_image"] == 1.5
    assert result["images"] == 2
