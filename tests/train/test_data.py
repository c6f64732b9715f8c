"""Tests for scintiseg.train.data: patient-level splits, labelled share, datasets (inputs: tests/prepare)."""

import json
import warnings

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import SPLITS_NAME
from scintiseg.prepare.splits import split_dataset
from scintiseg.train.data import AUTO_TEST_SHARE, SplitMadeWarning, split_cases
from scintiseg.train.loop import train
from support import conftest_of


def _patients():
    # 10 patients with two cases each (e.g. a crop and its augmentation)
    return {f"P{p}_{k}": f"P{p}" for p in range(10) for k in range(2)}


def test_split_keeps_patients_together_and_labelled_share_is_by_patient():
    patients_of = _patients()
    test = [c for c in patients_of if patients_of[c] in ("P0", "P1")]
    splits = {"seed": 0, "test": test, "train": [c for c in patients_of if c not in test]}
    split = split_cases(patients_of, splits, val_fraction=0.25, labelled=0.5, seed=3)
    groups = {name: {patients_of[c] for c in getattr(split, name)} for name in ("train", "val", "test")}
    assert groups["test"] == {"P0", "P1"}
    assert not (groups["train"] & groups["val"]) and not (groups["train"] & groups["test"])
    assert len(groups["val"]) == 2 and len(groups["train"]) == 6
    labelled_patients = {patients_of[c] for c in split.labelled}
    assert len(labelled_patients) == 3 and labelled_patients <= groups["train"]
    # both cases of a labelled patient are labelled
    assert all(c in split.labelled for c in split.train if patients_of[c] in labelled_patients)
    again = split_cases(patients_of, splits, val_fraction=0.25, labelled=0.5, seed=3)
    assert again == split


def test_generated_cases_never_validate_and_copies_of_val_patients_are_dropped():
    patients_of = _patients()  # case P<p>_1 plays the augmented copy of P<p>_0
    patients_of.update({f"G{g}": f"GAN{g}" for g in range(30)})  # GAN patients, more than the real ones
    generated = frozenset({f"P{p}_1" for p in range(10)} | {f"G{g}" for g in range(30)})
    splits = {"seed": 0, "test": ["P0_0", "P0_1"], "train": [c for c in patients_of if not c.startswith("P0_")]}
    for seed in range(5):
        split = split_cases(patients_of, splits, val_fraction=0.25, seed=seed, generated=generated)
        assert split.val and not set(split.val) & generated
        val_patients = {patients_of[c] for c in split.val}
        assert all(p.startswith("P") for p in val_patients)
        assert not any(patients_of[c] in val_patients for c in split.train)  # their copies are dropped
        assert {f"G{g}" for g in range(30)} <= set(split.train)


def test_split_uses_folds_and_refuses_leaks():
    patients_of = _patients()
    folds = [{"train": ["P2_0", "P2_1"], "val": ["P3_0"]}]
    split = split_cases(patients_of, {"test": ["P0_0"], "train": [], "folds": folds}, fold=0)
    assert split.val == ["P3_0"] and split.train == ["P2_0", "P2_1"]
    with pytest.raises(ScintisegError, match="both"):
        split_cases(patients_of, {"test": ["P2_0"], "train": [], "folds": folds}, fold=0)
    with pytest.raises(ScintisegError, match="fold 1"):
        split_cases(patients_of, {"test": [], "train": [], "folds": folds}, fold=1)


def test_cases_of_different_sizes_are_a_clear_error_not_a_numpy_traceback():
    from scintiseg.train.data import Sample, SegmentationDataset

    small = Sample("A", "A", np.zeros((1, 128, 128), np.float32), np.zeros((1, 128, 128), np.float32))
    large = Sample("GAN-1", "GAN-1", np.zeros((1, 256, 256), np.float32), np.zeros((1, 256, 256), np.float32))
    with pytest.raises(ScintisegError, match="A is 128x128, GAN-1 is 256x256"):
        SegmentationDataset([small, large])


def test_training_without_splits_makes_a_seeded_patient_split_saves_it_and_says_so(tmp_path, tiny_config):
    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=10)
    (data / SPLITS_NAME).unlink()
    with pytest.warns(SplitMadeWarning, match=f"no {SPLITS_NAME}: made a patient-level split .* seed 3"):
        train(tiny_config(data=str(data), out=str(tmp_path / "run"), epochs=1, seed=3, normalisation="percentile"))
    saved = json.loads((data / SPLITS_NAME).read_text())
    expected = split_dataset(data, test=AUTO_TEST_SHARE, seed=3, write=False)
    assert saved["test"] == expected["test"] and len(saved["test_patients"]) == 2  # 20 % of 10 patients
    # a second run finds the saved split and neither changes it nor warns again
    before = (data / SPLITS_NAME).read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SplitMadeWarning)
        train(tiny_config(data=str(data), out=str(tmp_path / "run2"), epochs=1, seed=4, normalisation="percentile"))
    assert (data / SPLITS_NAME).read_bytes() == before


def _unannotate(data, cases: dict[str, str]) -> None:
    """``cases``: case id -> "unknown" (its ANT mask removed) or "pseudo" (its ANT listed as a pseudo-label)."""
    from scintiseg.io.dataset import load_manifest, save_manifest

    manifest = load_manifest(data)
    for case in manifest.cases:
        if cases.get(case.case_id) == "unknown":
            case.masks.pop("ANT")
        elif cases.get(case.case_id) == "pseudo":
            case.meta["pseudo"] = ["ANT"]
    save_manifest(manifest, data)


def test_a_split_too_few_outlined_patients_train_in_is_not_saved_and_says_what_it_left(tmp_path, tiny_config):
    """Researcher audit 74: the split made for a data set without one was saved into the user's data set, then the
    run failed with "need at least two training patients with outlines", which said neither how many the split
    left nor what helps."""
    from scintiseg.io.dataset import load_manifest, save_manifest

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=8)
    (data / SPLITS_NAME).unlink()
    manifest = load_manifest(data)
    for case in manifest.cases[2:]:  # two patients outlined: the split made tests one and trains one
        case.masks.clear()
    save_manifest(manifest, data)
    before = {path: path.read_bytes() for path in data.rglob("*") if path.is_file()}
    run = tmp_path / "run"
    with pytest.raises(ScintisegError, match=rf"^{data}: need at least two training patients with outlines to hold one "
                       r"out for validation; the split left 1 in training and 1 in test: outline more patients, or "
                       r"hold fewer out for test \(`scintiseg dataset split DIR --test SHARE`, 0 for none\); "
                       rf"no {SPLITS_NAME} was written"):
        train(tiny_config(data=str(data), out=str(run), epochs=1, normalisation="percentile"))
    assert {path: path.read_bytes() for path in data.rglob("*") if path.is_file()} == before and not run.exists()
    split_dataset(data, test=0.0, seed=0)  # the remedy it names: both outlined patients train (one validates)
    with pytest.warns(UserWarning, match="left out"):  # the six unannotated patients
        assert train(tiny_config(data=str(data), out=str(run), epochs=1, normalisation="percentile")).epochs_run == 1
    assert json.loads((run / "split.json").read_text())["val"] in (["P000"], ["P001"])


def test_case_truth_names_unannotated_and_pseudo_labelled_views():
    from scintiseg.io.dataset import Case
    from scintiseg.prepare.model_input import input_views
    from scintiseg.train.data import PERSON, PSEUDO_LABEL, UNKNOWN, case_truth

    case = Case("c", "p", "c.dcm", labels={"ANT": "a.json"}, masks={"POST": "p.png"}, meta={"pseudo": ["POST"]})
    assert case_truth(case, input_views("ant", ["ANT", "POST"])) == PERSON
    assert case_truth(case, input_views("post", ["ANT", "POST"])) == PSEUDO_LABEL
    assert case_truth(case, input_views("two_channel", ["ANT", "POST"])) == PSEUDO_LABEL
    assert case_truth(Case("d", "p", "d.dcm", labels={"POST": "p.json"}), ("ANT",)) == UNKNOWN
    assert input_views("ant", ["VIEW"]) == ("VIEW",) and input_views("ant", ["POST"]) == ("POST",)


def test_validation_patients_are_drawn_from_those_a_person_outlined():
    patients_of = _patients()
    splits = {"seed": 0, "test": [], "train": list(patients_of)}
    outlined = {c for c in patients_of if patients_of[c] in ("P7", "P8", "P9")}
    for seed in range(5):
        split = split_cases(patients_of, splits, val_fraction=0.5, seed=seed, outlined=outlined)
        assert {patients_of[c] for c in split.val} <= {"P7", "P8", "P9"} and split.val
    with pytest.raises(ScintisegError, match="two training patients with outlines"):
        split_cases(patients_of, splits, outlined={"P7_0"})
    # every case outlined: the same split as without the argument (earlier runs' splits stand)
    assert split_cases(patients_of, splits, seed=2, outlined=set(patients_of)) == split_cases(patients_of, splits, seed=2)


def test_a_data_set_with_real_scans_among_its_training_cases_says_so(tmp_path, tiny_config):
    """TrainData.real_scans (the checkpoint's data.real_scans): a training case not marked synthetic in the manifest;
    a real case that only tests does not count."""
    from scintiseg.io.dataset import load_manifest, save_manifest
    from scintiseg.train.loop import prepare_data

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=10, test=0.2)
    assert prepare_data(tiny_config(data=str(data), seed=1)).real_scans is False  # every case from the phantom
    test = set(json.loads((data / SPLITS_NAME).read_text())["test"])
    manifest = load_manifest(data)
    for case in manifest.cases:  # the test patients real: still trained on phantoms only
        case.synthetic = case.case_id not in test
    save_manifest(manifest, data)
    assert prepare_data(tiny_config(data=str(data), seed=1)).real_scans is False
    trained = prepare_data(tiny_config(data=str(data), seed=1)).train.samples[0].case_id
    for case in manifest.cases:
        case.synthetic = case.case_id != trained
    save_manifest(manifest, data)
    assert prepare_data(tiny_config(data=str(data), seed=1)).real_scans is True
    # ... and the run's checkpoint says so, which prediction reads (not "trained on phantoms only")
    from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint
    from scintiseg.predict.loader import load_model

    config = tiny_config(data=str(data), seed=1, epochs=1)
    train(config)
    assert load_model(checkpoint_path(config.out, "last")).info["synthetic"] is False
    # A run started from that model (--init) on phantoms only keeps it: its weights learned from real scans.
    for case in manifest.cases:
        case.synthetic = True
    save_manifest(manifest, data)
    tuned = tiny_config(data=str(data), seed=1, epochs=1, init=str(checkpoint_path(config.out, "last")),
                        out=str(tmp_path / "tuned"))
    train(tuned)
    state = load_checkpoint(checkpoint_path(tuned.out, "last"))
    assert state["data"]["real_scans"] is True and "adapted_on" not in state["data"]


def test_a_run_keeps_the_folders_its_starting_model_was_adapted_to(tmp_path):
    """learned_from: the --init model's adapted_on come first, the run's own after, each once; real_scans from
    either; a model that says neither adds nothing."""
    from scintiseg.models import create_model
    from scintiseg.models.checkpoint import load_checkpoint, save_checkpoint
    from scintiseg.train.loop import TrainData, learned_from

    network = create_model("unet", width=4, depth=2)
    start = load_checkpoint(save_checkpoint({"model": network.state_dict(),
                                             "data": {"adapted_on": ["/a", "/b"], "real_scans": True}},
                                            tmp_path / "start.pt"), required=("model",))
    plain = load_checkpoint(save_checkpoint({"model": network.state_dict(), "data": {"adapted_on": "/not-a-list"}},
                                            tmp_path / "plain.pt"), required=("model",))
    run = TrainData(None, None, adapted_on=("/b", "/c"))
    assert learned_from(run, start) == {"real_scans": True, "adapted_on": ["/a", "/b", "/c"]}
    assert learned_from(run, plain) == {"adapted_on": ["/b", "/c"]}
    assert learned_from(TrainData(None, None), plain) == {} == learned_from(TrainData(None, None), None)
    assert learned_from(TrainData(None, None, real_scans=True), None) == {"real_scans": True}


def test_training_leaves_out_unannotated_cases_and_validates_on_outlined_ones(tmp_path, tiny_config):
    """A site's data set: some scans without an outline (lesions unknown), one with a pseudo-label. A supervised
    run trains on the outlined and pseudo-labelled cases and says what it left out; it validates on outlined cases
    only; the Chan-Vese run keeps the unannotated ones, as unlabelled."""
    from scintiseg.train.data import PERSON, UNKNOWN, load_samples
    from scintiseg.train.loop import prepare_data

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=10, test=0.2)
    test = set(json.loads((data / SPLITS_NAME).read_text())["test"])
    pool = [c for c in (f"P{i:03d}" for i in range(10)) if c not in test]
    _unannotate(data, {pool[0]: "unknown", pool[1]: "unknown", pool[2]: "unknown", pool[3]: "pseudo"})
    with pytest.warns(UserWarning, match="3 training case.s. without an outline of ANT left out"):
        prepared = prepare_data(tiny_config(data=str(data), seed=1))
    trained = {s.case_id for s in prepared.train.samples}
    validated = {s.case_id for s in prepared.val.samples}
    assert not trained & set(pool[:3]) and not validated & set(pool[:4])
    assert trained | validated == set(pool[3:]) and pool[3] in trained
    assert all(s.truth == PERSON for s in prepared.val.samples)
    unlabelled = prepare_data(tiny_config(data=str(data), seed=1, loss="chan_vese"))
    flags = {s.case_id: bool(unlabelled.train.labelled[i]) for i, s in enumerate(unlabelled.train.samples)}
    assert {c for c, labelled in flags.items() if not labelled} == set(pool[:3])
    assert [s.truth for s in load_samples(data, pool[:1], "ant", "none")] == [UNKNOWN]
    assert load_samples(data, pool[:1], "ant", "none", keep=(PERSON,)) == []
    assert [s.truth for s in load_samples(data, pool[:1], "post", "none")] == [PERSON]  # its POST is outlined


def test_a_fold_validating_on_unannotated_patients_only_is_one_error_saying_how_to_split_again(tmp_path, tiny_config):
    from scintiseg.train.loop import prepare_data

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=6, test=0.0)
    _unannotate(data, {"P004": "unknown", "P005": "unknown"})
    ids = [f"P{i:03d}" for i in range(6)]
    folds = [{"train": ids[:4], "val": ids[4:]}]  # an old split's fold: its validation patients outlined nowhere
    (data / SPLITS_NAME).write_text(json.dumps({"train": ids, "test": [], "folds": folds}))
    with pytest.raises(ScintisegError, match="no validation case a person outlined .ANT. in fold 0: `scintiseg dataset split`"):
        prepare_data(tiny_config(data=str(data), fold=0))


def test_cut_windows_tile_the_input_padded_at_its_end_and_add_one_window_per_lesion():
    from scintiseg.train.data import cut_windows

    image = np.arange(2 * 150 * 40, dtype=np.float32).reshape(2, 150, 40) + 1
    target = np.zeros((1, 150, 40), np.float32)
    target[0, 100:104, 10:14] = 1
    tiles = cut_windows(image, target, 64)
    assert len(tiles) == 4  # rows at 0, 32, 64, 86; the 40 columns one window, padded
    padded = np.zeros((2, 150, 64), np.float32)
    padded[:, :, :40] = image
    for (window, window_target), start in zip(tiles, (0, 32, 64, 86)):
        np.testing.assert_array_equal(window, padded[:, start:start + 64])
        assert window.dtype == np.float32 and window.flags.c_contiguous and not np.shares_memory(window, image)
        assert window_target.shape == (1, 64, 64)
    lesion_image, lesion_target = cut_windows(image, target, 64, around_lesions=True)[-1]
    np.testing.assert_array_equal(lesion_image, padded[:, 70:134])  # centred on rows 100-103: 102 - 32
    assert lesion_target[0, 30:34, 10:14].all() and lesion_target.sum() == 16


def test_a_data_set_of_whole_body_scans_trains_on_windows_at_the_model_pixel_size(tmp_path):
    """Views of at least 1 m (here 112 rows of 9 mm) are resampled to the run's pixel size and cut into windows of
    its window size; every lesion pixel of the scan lands in some window; crops stay whole images."""
    from scintiseg.io.dataset import load_case, load_manifest
    from scintiseg.train.data import WholeBodyWindows, load_samples

    train_conftest = conftest_of("train")
    whole = train_conftest.write_tiny_dataset(tmp_path / "whole", patients=3, size=112, pixel_mm=9.0)
    case_id = load_manifest(whole).cases[0].case_id
    windows = WholeBodyWindows(pixel_mm=4.5, size=64)  # 112 rows of 9 mm -> 224 of 4.5 mm -> 6 x 6 windows a view
    samples = load_samples(whole, [case_id], "ant", "none", windows=windows)
    assert len(samples) == 2 * 36 and all(s.whole_body and s.image.shape == (1, 64, 64) for s in samples)
    _, masks = load_case(whole, case_id)
    lesion_area_mm2 = (masks["ANT"].sum() + masks["POST"].sum()) * 9.0 ** 2  # both views train (input mode ant)
    # the windows overlap: the lesion pixels they hold are at least the scan's (4.5 mm pixels), at most 4 times
    held_mm2 = sum(s.target.sum() for s in samples) * 4.5 ** 2
    assert lesion_area_mm2 * 0.8 <= held_mm2 <= 4 * lesion_area_mm2 * 1.2 and held_mm2 > 0
    crops = train_conftest.write_tiny_dataset(tmp_path / "crops", patients=3, size=32)
    crop = load_samples(crops, [load_manifest(crops).cases[0].case_id], "ant", "none", windows=windows)
    assert len(crop) == 1 and not crop[0].whole_body and crop[0].image.shape == (1, 32, 32)


def test_a_whole_body_data_set_makes_a_whole_body_model_that_predict_tiles(tmp_path, tiny_config):
    """The checkpoint of a run on whole-body scans records its pixel size and the whole window, so prediction
    resamples every scan to it and reads the whole body; a data set mixing whole-body scans and crops is refused."""
    from scintiseg.io.dataset import load_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint
    from scintiseg.predict.loader import load_model
    from scintiseg.scan import Scan

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=6, size=112, pixel_mm=9.0)
    config = tiny_config(data=str(data), out=str(tmp_path / "run"), epochs=1, pixel_mm=9.0, window_size=64)
    train(config)
    recorded = load_checkpoint(checkpoint_path(config.out, "best"))["data"]
    assert recorded["pixel_mm"] == 9.0 and recorded["window"] == "whole" and recorded["window_size"] == 64
    model = load_model(config.out)
    assert model.window == "whole" and model.pixel_mm == 9.0
    # one case turned into a thoracic-size view (112 rows of 2.26 mm: 25 cm) beside whole-body ones
    case = load_manifest(data).cases[0]
    counts = np.full((112, 112), 40, np.uint16)
    write_dicom(Scan({"ANT": counts, "POST": counts}, pixel_spacing=(2.26, 2.26)), data / case.image)
    with pytest.raises(ScintisegError, match=r"whole-body scans \(e.g. P\d+\) and partial views \(e.g. "
                                             f"{case.case_id}.*`scintiseg dataset crop`"):
        train(tiny_config(data=str(data), out=str(tmp_path / "mixed"), epochs=1, pixel_mm=9.0, window_size=64))


def test_lesion_windows_are_centred_on_each_lesion_and_stay_inside_the_view():
    """One window a lesion (8-connected), the lesion whole and central in it; one near an edge is moved inside."""
    from scintiseg.train.data import lesion_window_starts

    target = np.zeros((300, 120), np.float32)
    target[150:160, 60:66] = 1  # a lesion in the middle of the view
    target[160, 66] = 1  # touching it at a corner: the same lesion
    target[2:8, 110:118] = 1  # one at the top right corner
    starts = lesion_window_starts(target, 64)
    assert len(starts) == 2
    (r0, c0), (r1, c1) = sorted(starts)
    assert (r0, c0) == (0, 120 - 64)  # moved inside the view: the lesion is still in it
    assert target[r0:r0 + 64, c0:c0 + 64].sum() == 6 * 8
    assert r1 + 32 - 155 in (-1, 0, 1) and target[r1:r1 + 64, c1:c1 + 64].sum() == 61
    assert lesion_window_starts(np.zeros((40, 40)), 64) == []


def test_training_windows_of_whole_body_scans_add_one_on_each_lesion_validation_the_tiles_alone(tmp_path, tiny_config):
    """A whole-body training case gets its tiles and one window centred on each lesion of each view; the validation
    cases only their tiles (prepare_data)."""
    from scintiseg.io.dataset import load_manifest
    from scintiseg.train.data import WholeBodyWindows, load_samples, window_starts
    from scintiseg.train.loop import prepare_data

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=6, size=112, pixel_mm=9.0)
    case_id = load_manifest(data).cases[0].case_id
    tiles = load_samples(data, [case_id], "ant", "none", windows=WholeBodyWindows(4.5, 64))
    both = load_samples(data, [case_id], "ant", "none", windows=WholeBodyWindows(4.5, 64, around_lesions=True))
    assert [s.image.tobytes() for s in both[:36]] == [s.image.tobytes() for s in tiles[:36]]  # ANT's tiles first
    extra = len(both) - len(tiles)
    assert extra > 0 and all(s.target.sum() > 0 for s in both if not any(
        s.image.tobytes() == t.image.tobytes() for t in tiles))
    tiles_a_view = len(window_starts(224, 64)) ** 2
    data_run = prepare_data(tiny_config(data=str(data), out=str(tmp_path / "run"), pixel_mm=4.5, window_size=64))
    assert len(data_run.val) == 2 * tiles_a_view * len(data_run.split.val)
    assert len(data_run.train) > 2 * tiles_a_view * len(data_run.split.train)


def test_views_each_trains_and_validates_on_both_views_of_each_crop_with_its_case_s_labels(tmp_path, tiny_config):
    """Session 63: the papers' image sets hold both views of a patient (paper A: 410 images of 205 patients; paper B:
    D2's 2,280 images against D2_Agg's 1,140); `views="each"` makes each view of a crop its own image (POST
    mirrored), and the labelled share still goes by patient. Before, a crop data set trained on ANT alone."""
    from scintiseg.prepare.views import mirror
    from scintiseg.train.loop import prepare_data

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=10, test=0.2)
    first = prepare_data(tiny_config(data=str(data), seed=1, loss="chan_vese", labelled=0.5))
    each = prepare_data(tiny_config(data=str(data), seed=1, loss="chan_vese", labelled=0.5, views="each"))
    assert len(each.train) == 2 * len(first.train) and len(each.val) == 2 * len(first.val)
    names = [sample.case_id for sample in each.train.samples]
    assert names == [f"{s.case_id}_{view}" for s in first.train.samples for view in ("ANT", "POST")]
    assert [s.case for s in each.train.samples] == [s.case_id for s in first.train.samples for _ in range(2)]
    # the labelled flags follow the case (both views of a labelled patient labelled), and some are not
    assert each.train.labelled.tolist() == [flag for flag in first.train.labelled.tolist() for _ in range(2)]
    assert 0 < sum(first.train.labelled.tolist()) < len(first.train)
    # the tiny data set's POST is ANT mirrored: mirrored back, the two views are one image and one target
    ant, post = each.train.samples[0], each.train.samples[1]
    assert np.array_equal(ant.image, post.image) and np.array_equal(ant.target, post.target)
    assert not np.array_equal(ant.image, mirror(ant.image[0])[None])  # (the image is not symmetric itself)
    with pytest.raises(ScintisegError, match="--views each reads each view as a single-view image"):
        tiny_config(data=str(data), views="each", input_mode="aggregate")


def test_the_labelled_share_is_drawn_among_the_patients_with_labels():
    """Session 63: drawn among every training patient, the unannotated ones (no labels to keep) took part of the
    share: a data set half unannotated labelled about half the share asked for."""
    patients_of = _patients()
    splits = {"seed": 0, "test": ["P0_0", "P0_1"], "train": [c for c in patients_of if not c.startswith("P0_")]}
    annotated = {c for c in patients_of if patients_of[c] in ("P1", "P2", "P3", "P4", "P5", "P6")}
    for seed in range(5):
        split = split_cases(patients_of, splits, val_fraction=0.2, labelled=0.5, seed=seed, outlined=annotated,
                            annotated=annotated)
        kept = {patients_of[c] for c in split.labelled}
        trained = {patients_of[c] for c in split.train if c in annotated}
        assert kept <= trained and len(kept) == int(0.5 * len(trained) + 0.5)  # half, rounded half up
    # every case annotated: the same draw as without the argument (earlier runs' shares stand)
    assert split_cases(patients_of, splits, labelled=0.5, seed=3, annotated=set(patients_of)) == \
        split_cases(patients_of, splits, labelled=0.5, seed=3)


def test_views_each_trains_a_crop_outlined_on_one_view_on_that_view(tmp_path, tiny_config):
    """Session 63: with views "each" a case was judged by its ANT outline alone: a crop outlined only on POST was left
    out ("no outline of ANT"), one outlined only on ANT trained without a word about its POST."""
    from scintiseg.io.dataset import load_manifest, save_manifest
    from scintiseg.train.loop import prepare_data

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=10, test=0.2)
    trained = [s.case_id for s in prepare_data(tiny_config(data=str(data), seed=1)).train.samples]
    manifest = load_manifest(data)
    post_only, ant_only = trained[0], trained[1]
    for case in manifest.cases:
        if case.case_id == post_only:
            case.masks = {"POST": case.masks["POST"]}
        if case.case_id == ant_only:
            case.masks = {"ANT": case.masks["ANT"]}
    save_manifest(manifest, data)
    with pytest.warns(UserWarning, match=r"training left out 2 view\(s\) without an outline"):
        each = prepare_data(tiny_config(data=str(data), seed=1, views="each"))
    names = {s.case_id for s in each.train.samples}
    assert f"{post_only}_POST" in names and f"{post_only}_ANT" not in names
    assert f"{ant_only}_ANT" in names and f"{ant_only}_POST" not in names


def test_a_split_listing_generated_cases_in_test_or_validation_is_refused():
    """Session 63: a hand-edited splits.json with a GAN sample in test or in a fold's validation was taken as listed,
    scoring the training data (the comment said such a case must never validate or test; nothing enforced it)."""
    patients_of = {**_patients(), "gan_1": "gan_1", "aug_1": "aug_1"}
    generated = frozenset({"gan_1", "aug_1"})
    base = {"seed": 0, "test": ["P0_0", "P0_1"], "train": [c for c in patients_of if not c.startswith("P0_")]}
    assert split_cases(patients_of, base, generated=generated).test == ["P0_0", "P0_1"]
    with pytest.raises(ScintisegError, match="puts cases made from training data .* in test: gan_1"):
        split_cases(patients_of, {**base, "test": ["P0_0", "gan_1"]}, generated=generated)
    folds = [{"train": [c for c in base["train"] if c != "P1_0"], "val": ["P1_0", "aug_1"]}]
    with pytest.raises(ScintisegError, match="in fold 0 validation: aug_1"):
        split_cases(patients_of, {**base, "folds": folds}, fold=0, generated=generated)


def test_a_fold_validating_on_a_test_patient_is_refused():
    patients_of = _patients()
    folds = [{"train": ["P2_0", "P2_1"], "val": ["P3_0"]}]
    with pytest.raises(ScintisegError, match="in both val and test"):
        split_cases(patients_of, {"test": ["P3_1"], "train": [], "folds": folds}, fold=0)


def test_validation_leaves_at_least_one_patient_to_train_whatever_the_fraction():
    patients_of = _patients()
    splits = {"test": [], "train": [c for c in patients_of if patients_of[c] in ("P1", "P2")]}
    split = split_cases(patients_of, splits, val_fraction=0.9)
    assert len({patients_of[c] for c in split.val}) == 1 and len({patients_of[c] for c in split.train}) == 1


def test_a_lesion_window_on_a_view_smaller_than_the_window_starts_at_its_corner():
    """A side shorter than the window is zero-padded at its end (module docstring): the window starts at 0."""
    from scintiseg.train.data import lesion_window_starts

    target = np.zeros((40, 30), np.float32)
    target[20:24, 10:14] = 1
    assert lesion_window_starts(target, 64) == [(0, 0)]
