"""Tests for scintiseg.train.evaluate and the file-based path of training (data set on disk)."""

import csv
import json

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import load_splits
from scintiseg.train.config import TrainConfig
from scintiseg.train.evaluate import cases_of_split, evaluate_run, evaluate_samples
from scintiseg.train.loop import prepare_data, train
from support import write_masks


def test_prepare_data_splits_by_patient(tiny_split_dataset):
    config = TrainConfig(data=str(tiny_split_dataset), input_mode="aggregate", normalisation="zscore", labelled=0.5)
    data = prepare_data(config)
    test = set(json.loads((tiny_split_dataset / "splits.json").read_text())["test"])
    seen = {s.patient_id for s in data.train.samples} | {s.patient_id for s in data.val.samples}
    assert not seen & test and len(test) == 2
    assert data.train.images.shape[1:] == (1, 32, 32)
    assert len(data.train) == 3 and bool(data.train.labelled.all())  # 6 train patients -> 5 train, 1 val; half labelled


def test_evaluate_run_writes_metrics_csv_and_overlays(tiny_split_dataset, tmp_path):
    config = TrainConfig(data=str(tiny_split_dataset), out=str(tmp_path / "run"), model="unet",
                         model_args={"width": 4, "depth": 2}, epochs=2, batch_size=4, lr=3e-3,
                         normalisation="zscore", progress=False)
    train(config)
    metrics = evaluate_run(tmp_path / "run", split="test", overlays=1)
    folder = tmp_path / "run" / "eval-test"
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved["images"] == 2 and saved["split"] == "test"
    assert saved["detection"]["images"] == 2 and saved["checkpoint"] == "best"
    assert set(saved["pooled"]) == {"dsc", "recall", "cpa", "iou"}
    assert metrics["per_image"]["dsc"] == pytest.approx(saved["per_image"]["dsc"])  # per image is never undefined
    lines = (folder / "per_case.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("case_id,patient_id,dsc")
    for row in csv.DictReader(lines):  # the pixel counts add up to the image's lesion and predicted pixels
        assert int(row["tp"]) + int(row["fn"]) == int(row["lesion_pixels"])
        assert int(row["tp"]) + int(row["fp"]) == int(row["predicted_pixels"])
    overlays = sorted(p.name for p in (folder / "overlays").glob("*.png"))
    assert len(overlays) == 2 and overlays[0].startswith("best_1_") and overlays[1].startswith("worst_1_")
    # The threshold given is the one applied: above a probability of 1 nothing, above 1e-9 every pixel.
    for threshold, share in ((1.0, 0.0), (1e-9, 1.0)):
        evaluate_run(tmp_path / "run", split="test", threshold=threshold, overlays=0, out=tmp_path / "t")
        rows = [line.split(",") for line in (tmp_path / "t" / "per_case.csv").read_text().splitlines()]
        column = rows[0].index("predicted_pixels")
        assert [int(row[column]) for row in rows[1:]] == [round(share * 32 * 32)] * 2


def test_evaluate_samples_perfect_model_scores_one():
    import torch

    from scintiseg.train.data import Sample

    class Oracle(torch.nn.Module):  # returns the image itself as logits: image = +-10 where lesion / not
        def forward(self, x):
            return x

    mask = np.zeros((1, 16, 16), np.float32)
    mask[0, 4:8, 4:8] = 1
    sample = Sample("C1", "P1", (mask * 20 - 10).astype(np.float32), mask)
    empty = Sample("C2", "P2", np.full((1, 16, 16), -10, np.float32), np.zeros((1, 16, 16), np.float32))
    metrics, rows, _ = evaluate_samples(Oracle(), [sample, empty])
    assert metrics["pooled"]["dsc"] == 1.0 and metrics["per_image"]["dsc"] == 1.0
    assert metrics["detection"]["sensitivity"] == 1.0 and metrics["detection"]["fp_per_image"] == 0.0
    assert [r["lesions"] for r in rows] == [1, 0]


def test_per_case_rows_carry_each_images_pixel_counts_as_counted_by_hand(tmp_path):
    """A 4 x 4 lesion predicted 2 columns to the right (8 of its pixels hit, 8 missed, 8 beside it) plus a false 2 x 2
    blob: TP 8, FP 12, FN 8; a lesion-free image predicted empty: 0, 0, 0. The file holds them under the names
    scintiseg.experiments.paired reads, and reading it back gives them exactly."""
    import torch

    from scintiseg.experiments.test_set import read_image_scores
    from scintiseg.train.data import Sample
    from scintiseg.train.evaluate import _csv_text

    class Oracle(torch.nn.Module):  # the image is its own logits: +10 where predicted, -10 elsewhere
        def forward(self, x):
            return x

    truth = np.zeros((1, 16, 16), np.float32)
    truth[0, 4:8, 4:8] = 1
    predicted = np.zeros((1, 16, 16), np.float32)
    predicted[0, 4:8, 6:10] = 1
    predicted[0, 12:14, 12:14] = 1
    samples = [Sample("C1", "P1", predicted * 20 - 10, truth),
               Sample("C2", "P2", np.full((1, 16, 16), -10, np.float32), np.zeros((1, 16, 16), np.float32))]
    _, rows, _ = evaluate_samples(Oracle(), samples)
    assert [(r["tp"], r["fp"], r["fn"]) for r in rows] == [(8, 12, 8), (0, 0, 0)]
    assert (rows[0]["lesion_pixels"], rows[0]["predicted_pixels"]) == (16, 20)
    assert rows[0]["dsc"] == pytest.approx(2 * 8 / (2 * 8 + 12 + 8))
    assert (rows[0]["lesions"], rows[0]["detected"], rows[0]["false_positives"]) == (1, 1, 1)
    (tmp_path / "per_case.csv").write_text(_csv_text(rows), encoding="utf-8")  # as evaluate_run writes it
    header = (tmp_path / "per_case.csv").read_text().splitlines()[0].split(",")
    assert {"tp", "fp", "fn"} <= set(header) and header[:3] == ["case_id", "patient_id", "dsc"]
    back = read_image_scores(tmp_path)
    assert [(r["tp"], r["fp"], r["fn"]) for r in back] == [(8, 12, 8), (0, 0, 0)]


def _masks_as_predicted(root, folder, change=None):
    """Every test view's true mask as another tool's prediction (``change(identifier, mask)`` edits one)."""
    return write_masks(root, folder, change, cases=load_splits(root)["test"])



def test_another_tools_masks_scored_as_a_hand_count(tiny_dataset, tmp_path):
    """The true masks score 1; one view predicted empty and one with a false blob give the hand-counted scores."""
    from scintiseg.errors import ScintisegError
    from scintiseg.prepare.splits import split_dataset
    from scintiseg.train.evaluate import evaluate_predictions

    split_dataset(tiny_dataset, test=0.5, seed=0)
    perfect = evaluate_predictions(_masks_as_predicted(tiny_dataset, tmp_path / "a"), tiny_dataset, overlays=0)
    assert perfect["images"] == 4 and perfect["pooled"]["dsc"] == 1.0 and perfect["detection"]["sensitivity"] == 1.0
    assert perfect["detection"]["false_positives"] == 0 and not (tmp_path / "a" / "eval-test" / "overlays").exists()

    edited = {}

    def change(identifier, mask):
        if not edited:
            edited["empty"] = (identifier, int(mask.sum()))
            return np.zeros_like(mask)
        if len(edited) == 1:
            edited["extra"] = identifier
            mask = mask.copy()
            mask[-3:, -3:] = True  # 9 false pixels, one false blob
        return mask

    folder = _masks_as_predicted(tiny_dataset, tmp_path / "b", change)
    metrics = evaluate_predictions(folder, tiny_dataset, out=tmp_path / "eval", overlays=1)
    lesion_pixels = 4 * 25  # every tiny view holds one 5 x 5 lesion
    tp = lesion_pixels - edited["empty"][1]
    assert metrics["pooled"]["dsc"] == pytest.approx(2 * tp / (2 * tp + 9 + edited["empty"][1]))
    assert metrics["detection"] == {"lesions": 4, "detected": 3, "sensitivity": 0.75, "predicted": 4,
                                    "false_positives": 1, "fp_per_image": 0.25, "images": 4}
    rows = {line.split(",")[0]: line for line in (tmp_path / "eval" / "per_case.csv").read_text().splitlines()[1:]}
    assert rows[edited["empty"][0]].split(",")[2] == "0" and len(rows) == 4
    counts = {row["case_id"]: (int(row["tp"]), int(row["fp"]), int(row["fn"]))
              for row in csv.DictReader((tmp_path / "eval" / "per_case.csv").open())}
    assert counts[edited["empty"][0]] == (0, 0, edited["empty"][1])  # the lesion missed whole
    assert counts[edited["extra"]] == (25, 9, 0)  # found whole, with the 9 false pixels
    assert len(list((tmp_path / "eval" / "overlays").glob("*.png"))) == 2
    next(folder.glob("*.nii.gz")).unlink()
    with pytest.raises(ScintisegError, match="no mask for 1 of the 4 views"):
        evaluate_predictions(folder, tiny_dataset)
    with pytest.raises(ScintisegError, match="not 'val'"):
        evaluate_predictions(folder, tiny_dataset, split="val")


def test_false_positives_per_image_are_counted_over_images_not_lesions(tiny_dataset, tmp_path):
    """One test view outlined with no lesion (an empty LabelMe file): 4 images, 3 lesions; a false blob on every
    view gives 4 false positives, 1 per image."""
    from scintiseg.io.dataset import load_manifest, load_splits
    from scintiseg.io.labelme import read_labelme, write_labelme
    from scintiseg.prepare.splits import split_dataset
    from scintiseg.scan import Annotation
    from scintiseg.train.evaluate import evaluate_predictions

    split_dataset(tiny_dataset, test=0.5, seed=0)
    case = load_manifest(tiny_dataset).case(load_splits(tiny_dataset)["test"][0])
    outline = tiny_dataset / case.labels["ANT"]
    write_labelme(Annotation([], read_labelme(outline).image_shape, view="ANT"), outline)

    def false_blob(identifier, mask):
        mask = mask.copy()
        mask[-3:, -3:] = True
        return mask

    metrics = evaluate_predictions(_masks_as_predicted(tiny_dataset, tmp_path / "p", false_blob), tiny_dataset,
                                   overlays=0)
    detection = metrics["detection"]
    assert (detection["images"], detection["lesions"], detection["false_positives"]) == (4, 3, 4)
    assert detection["fp_per_image"] == 1.0


def test_a_fused_studys_mask_is_scored_on_ants_grid_against_both_views_outlines(tiny_dataset, tmp_path, monkeypatch):
    """A model reading ANT and POST fused (``export-nnunet --fuse``) predicts one mask per study, ``<case>``: it is
    scored against the union of both views' outlines on ANT's grid; where a view's own mask is there too, the views
    are scored as views."""
    from scintiseg.errors import ScintisegError
    from scintiseg.io.dataset import load_case, load_manifest
    from scintiseg.prepare.splits import split_dataset
    from scintiseg.io.nnunet import write_nifti_view
    from scintiseg.prepare.model_input import fused_counts
    from scintiseg.train.evaluate import evaluate_predictions

    test = split_dataset(tiny_dataset, test=0.5, seed=0)["test"]
    manifest = load_manifest(tiny_dataset)
    folder = tmp_path / "fused"
    folder.mkdir()
    unions = {}
    for case_id in test:
        scan, masks = load_case(tiny_dataset, manifest.case(case_id))
        _, unions[case_id] = fused_counts(scan, masks, "two_channel")
        write_nifti_view(unions[case_id], scan.pixel_spacing, folder / f"{case_id}.nii.gz")
    assert all(union.sum() > 25 for union in unions.values())  # the POST outline lands elsewhere than ANT's
    perfect = evaluate_predictions(folder, tiny_dataset, overlays=1)
    assert perfect["images"] == 2 and perfect["pooled"]["dsc"] == 1.0
    assert perfect["detection"]["lesions"] == perfect["detection"]["detected"] >= 2
    ant_only = {}
    for case_id in test:  # the ANT outline alone: the POST lesion missed
        scan, masks = load_case(tiny_dataset, manifest.case(case_id))
        ant_only[case_id] = masks["ANT"]
        write_nifti_view(masks["ANT"], scan.pixel_spacing, folder / f"{case_id}.nii.gz")
    metrics = evaluate_predictions(folder, tiny_dataset, out=tmp_path / "e2", overlays=0)
    found = sum(int(m.sum()) for m in ant_only.values())
    total = sum(int(u.sum()) for u in unions.values())
    assert metrics["pooled"]["dsc"] == pytest.approx(2 * found / (found + total))
    assert metrics["pooled"]["recall"] == pytest.approx(found / total)
    scan, masks = load_case(tiny_dataset, manifest.case(test[0]))
    write_nifti_view(masks["ANT"], scan.pixel_spacing, folder / f"{test[0]}_ANT.nii.gz")  # a per-view mask wins
    with pytest.raises(ScintisegError, match="no mask for 1 of the 3 views"):
        evaluate_predictions(folder, tiny_dataset, out=tmp_path / "e3")
    (folder / f"{test[0]}_ANT.nii.gz").unlink()

    def unaligned(scan, masks, mode):
        raise ScintisegError("posterior view is -31, +5 pixels off the anterior one (more than 20)")

    monkeypatch.setattr("scintiseg.train.evaluate.fused_counts", unaligned)
    with pytest.raises(ScintisegError, match=f"case {test[0]}: posterior view is") as caught:
        evaluate_predictions(folder, tiny_dataset, out=tmp_path / "e4")
    assert f"{test[0]}.dcm" in str(caught.value)


def test_only_views_a_person_outlined_are_scored_and_the_rest_counted(tmp_path):
    """A test case without an outline of the view the model reads (lesions unknown) and one whose outline is a
    pseudo-label are not scored, by a run's evaluation or by another tool's masks, and metrics.json counts them;
    before, the first was scored as lesion-free."""
    import shutil

    from scintiseg.errors import ScintisegError
    from scintiseg.io.dataset import load_manifest, save_manifest
    from scintiseg.io.nnunet import nnunet_identifier
    from scintiseg.train.evaluate import evaluate_predictions
    from support import conftest_of

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=8, test=0.5)
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="unet", model_args={"width": 4, "depth": 2},
                         epochs=1, batch_size=4, normalisation="zscore", progress=False)
    train(config)
    test = json.loads((data / "splits.json").read_text())["test"]
    manifest = load_manifest(data)
    manifest.case(test[0]).masks.pop("ANT")
    manifest.case(test[1]).meta["pseudo"] = ["ANT"]
    save_manifest(manifest, data)
    metrics = evaluate_run(tmp_path / "run", split="test", overlays=0)
    assert metrics["images"] == len(test) - 2 and metrics["left_out"] == {"pseudo": 1, "unknown": 1}
    rows = (tmp_path / "run" / "eval-test" / "per_case.csv").read_text()
    assert test[0] not in rows and test[1] not in rows and test[2] in rows

    predicted = tmp_path / "masks"  # another tool's masks: the data set's own, copied
    predicted.mkdir()
    for case in manifest.cases:
        for view, mask in case.masks.items():
            shutil.copy(data / mask, predicted / f"{nnunet_identifier(case.case_id, view)}.png")
    scored = evaluate_predictions(predicted, data, overlays=0)
    assert scored["images"] == 2 * len(test) - 2 and scored["left_out"] == {"unknown": 1, "pseudo": 1}
    assert scored["pooled"]["dsc"] == 1.0
    for case_id in test[2:]:
        manifest.case(case_id).masks = {}
    manifest.case(test[0]).masks.pop("POST")
    manifest.case(test[1]).masks.pop("POST")
    save_manifest(manifest, data)
    with pytest.raises(ScintisegError, match="no case of the test split has a person's outline"):
        evaluate_run(tmp_path / "run", split="test", overlays=0)
    with pytest.raises(ScintisegError, match="no view a person outlined"):
        evaluate_predictions(predicted, data, overlays=0)


def test_a_whole_body_models_run_reads_the_data_set_at_its_pixel_size(tmp_path):
    """A run whose checkpoint records a pixel size (a whole-body model: the shipped one, an adapted one) is scored on
    scans resampled to it, as prediction reads them; before, a site's scans at another matrix met it unresampled."""
    from scintiseg.io.dataset import load_case, load_manifest
    from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
    from scintiseg.prepare.resample import resample_map
    from support import conftest_of

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=6, test=0.34)  # 32 x 32 at 2.26 mm
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="unet", model_args={"width": 4, "depth": 2},
                         epochs=1, batch_size=4, normalisation="zscore", progress=False)
    train(config)
    best = checkpoint_path(tmp_path / "run", "best")
    state = load_checkpoint(best)
    state["data"] = {**state["data"], "pixel_mm": 4.52, "window": "whole"}
    save_checkpoint(state, best)
    evaluate_run(tmp_path / "run", split="test", overlays=0)
    import csv

    rows = list(csv.DictReader((tmp_path / "run" / "eval-test" / "per_case.csv").open()))
    manifest = load_manifest(data)
    assert rows
    for row in rows:
        case_id, lesion_pixels = row["case_id"], int(row["lesion_pixels"])
        _, masks = load_case(data, manifest.case(case_id))
        assert lesion_pixels == int((resample_map(masks["ANT"].astype(np.float32), (16, 16)) >= 0.5).sum())
        assert lesion_pixels < int(masks["ANT"].sum())


def test_images_of_two_sizes_are_one_error_naming_the_way_to_score_them():
    from scintiseg.errors import ScintisegError
    from scintiseg.models import create_model
    from scintiseg.train.data import Sample

    samples = [Sample("a", "p", np.zeros((1, 32, 16), np.float32), np.zeros((1, 32, 16), np.float32)),
               Sample("b", "q", np.zeros((1, 64, 16), np.float32), np.zeros((1, 64, 16), np.float32))]
    with pytest.raises(ScintisegError, match="2 sizes .32x16, 64x16. .* `scintiseg evaluate --predictions`"):
        evaluate_samples(create_model("unet", width=4, depth=2), samples)


def test_views_of_any_matrix_are_padded_for_the_network_and_scored_on_their_own_pixels():
    """A scan resampled to a whole-body model's pixel size has any matrix (997 x 249 from 2048 x 512 at 1.1 mm): the
    input is padded to the network's multiple and the output cropped back, so every pixel and only those is scored."""
    import torch

    from scintiseg.models import create_model
    from scintiseg.train.data import Sample

    class Echo(torch.nn.Module):  # a depth-2 network (sides multiples of 4) that returns its input as logits
        depth = 2

        def forward(self, x):
            assert x.shape[-2] % 4 == 0 and x.shape[-1] % 4 == 0
            return x

    mask = np.zeros((1, 37, 21), np.float32)
    mask[0, 30:37, 15:21] = 1  # a lesion at the bottom-right corner, where the padding goes
    sample = Sample("C1", "P1", (mask * 20 - 10).astype(np.float32), mask)
    metrics, rows, predictions = evaluate_samples(Echo(), [sample])
    assert predictions.shape == (1, 37, 21) and metrics["pooled"]["dsc"] == 1.0 and rows[0]["lesion_pixels"] == 42
    # a real network of depth 2 runs too (it refuses sides that are not multiples of 4)
    evaluate_samples(create_model("unet", width=4, depth=2), [sample])


def test_a_whole_body_run_is_scored_on_every_view_as_prediction_reads_a_scan(tmp_path):
    """A model trained on whole-body scans (112 rows of 9 mm) is scored on ANT and POST of each test scan, each its
    own image ``<case>_<VIEW>`` with that view's outline; a crop model on the same data set reads ANT only."""
    import csv

    from scintiseg.io.dataset import load_splits
    from support import conftest_of

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=6, size=112, pixel_mm=9.0, test=0.34)
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="unet", model_args={"width": 4, "depth": 2},
                         epochs=1, batch_size=8, normalisation="zscore", progress=False, pixel_mm=9.0, window_size=64)
    train(config)
    metrics = evaluate_run(tmp_path / "run", split="test", overlays=0)
    test = load_splits(data)["test"]
    rows = list(csv.DictReader((tmp_path / "run" / "eval-test" / "per_case.csv").open()))
    assert sorted(row["case_id"] for row in rows) == sorted(f"{c}_{v}" for c in test for v in ("ANT", "POST"))
    assert metrics["images"] == 2 * len(test)
    by_name = {row["case_id"]: int(row["lesion_pixels"]) for row in rows}
    from scintiseg.io.dataset import load_case

    for case_id in test:  # each view scored against its own outline (POST is stored mirrored: the same area)
        _, masks = load_case(data, case_id)
        assert by_name[f"{case_id}_ANT"] == int(masks["ANT"].sum()) and by_name[f"{case_id}_POST"] == int(masks["POST"].sum())


def test_another_tools_masks_count_every_unoutlined_view_of_each_case_s_scan(tmp_path):
    """Session 63: an imported data set's ``views`` are those every case shares (one lone POST scan makes them
    ["POST"]); the views left unscored are counted on each case's own scan. Before, ``set(manifest.views) - annotated``
    said 2 where 4 views had no outline (P000's ANT, P001's POST, both of P002's), as `evaluate --predictions ...
    --split all` said 3 of an imported site's 5."""
    import shutil

    from scintiseg.io.dataset import load_manifest, save_manifest
    from scintiseg.io.nnunet import nnunet_identifier
    from scintiseg.train.evaluate import evaluate_predictions
    from support import conftest_of

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=4, test=0.5)
    predicted = tmp_path / "masks"  # another tool's masks: the data set's own, copied
    predicted.mkdir()
    manifest = load_manifest(data)
    for case in manifest.cases:
        for view, mask in case.masks.items():
            shutil.copy(data / mask, predicted / f"{nnunet_identifier(case.case_id, view)}.png")
    manifest.views = ["POST"]
    for case_id, views in (("P000", ["ANT"]), ("P001", ["POST"]), ("P002", ["ANT", "POST"])):
        for view in views:
            manifest.case(case_id).masks.pop(view)
    save_manifest(manifest, data)
    scored = evaluate_predictions(predicted, data, split="all", overlays=0)
    assert scored["left_out"] == {"unknown": 4, "pseudo": 0} and scored["images"] == 4


@pytest.mark.parametrize("images, worst", [(2, 0), (3, 1), (5, 2)])
def test_write_overlays_never_draws_an_image_as_both_best_and_worst(tmp_path, images, worst):
    from types import SimpleNamespace  # lazy: this test only

    from scintiseg.train.evaluate import write_overlays  # lazy: this test only

    samples = [SimpleNamespace(image=np.zeros((1, 8, 8), np.float32), target=np.ones((1, 8, 8), np.float32))
               for _ in range(images)]
    rows = [{"case_id": f"C{i}", "dsc": i / 10, "lesion_pixels": 64} for i in range(images)]
    written = write_overlays(samples, rows, np.zeros((images, 8, 8), bool), tmp_path, 2)
    best = {p.name.split("_", 2)[2] for p in written if p.name.startswith("best_")}
    drawn_worst = {p.name.split("_", 2)[2] for p in written if p.name.startswith("worst_")}
    assert len(best) == 2 and len(drawn_worst) == worst and not best & drawn_worst
    assert best == {f"C{images - 1}.png", f"C{images - 2}.png"}  # the highest DSC
    if worst:
        assert "C0.png" in drawn_worst  # the lowest DSC


@pytest.mark.parametrize("content", ['{"train": ["P0', "[]", '{"train": []}', '{"train": [], "val": 5}'])
def test_a_damaged_split_json_is_one_line_naming_it(tmp_path, content):
    """Session 66: a cut or edited RUN/split.json ended `scintiseg evaluate --split val` in a traceback
    (JSONDecodeError, TypeError, KeyError)."""
    (tmp_path / "split.json").write_text(content)
    with pytest.raises(ScintisegError) as error:
        cases_of_split(tmp_path, tmp_path / "data", "val")
    assert str(error.value).startswith(f"{tmp_path / 'split.json'}: ") and "\n" not in str(error.value)
    (tmp_path / "split.json").write_text('{"train": ["A"], "val": ["B", "C"]}')
    assert cases_of_split(tmp_path, tmp_path / "data", "val") == ["B", "C"]


def test_a_runs_rows_and_another_tools_rows_name_a_view_alike_by_the_data_sets_case_id(tmp_path):
    """Researcher audit 74: ``evaluate --predictions`` named its rows by the masks' nnU-Net identifier
    (``1_2_826_..._ANT``) while ``evaluate --run`` kept the data set's case id (``1.2.826..._ANT``), so the per-case
    tables of the shipped, adapted and trained models could not be joined."""
    import shutil

    from scintiseg.io.dataset import load_manifest, save_manifest
    from scintiseg.io.nnunet import nnunet_identifier
    from scintiseg.prepare.splits import split_dataset
    from scintiseg.train.evaluate import evaluate_predictions
    from support import conftest_of

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=6)
    manifest = load_manifest(data)
    for case in manifest.cases:  # a PACS archive's case ids: SOP instance UIDs
        case.case_id = f"1.2.826.0.1.{case.case_id[1:]}"
    save_manifest(manifest, data)
    test = split_dataset(data, test=0.34, seed=0)["test"]
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), model="unet", model_args={"width": 4, "depth": 2},
                         epochs=1, batch_size=4, normalisation="zscore", progress=False, views="each")
    train(config)
    evaluate_run(tmp_path / "run", split="test", overlays=0)
    predicted = tmp_path / "masks"  # another tool's masks, named as nnU-Net names them: the data set's own
    predicted.mkdir()
    for case in manifest.cases:
        for view, mask in case.masks.items():
            shutil.copy(data / mask, predicted / f"{nnunet_identifier(case.case_id, view)}.png")
    assert (predicted / "1_2_826_0_1_000_ANT.png").is_file()
    evaluate_predictions(predicted, data, overlays=1)

    def names(folder):
        return sorted(row["case_id"] for row in csv.DictReader((folder / "per_case.csv").open()))

    expected = sorted(f"{case_id}_{view}" for case_id in test for view in ("ANT", "POST"))
    assert names(tmp_path / "run" / "eval-test") == expected == names(predicted / "eval-test")
    assert {path.name.split("_", 2)[2] for path in (predicted / "eval-test" / "overlays").glob("*.png")} <= {
        f"{name}.png" for name in expected}
