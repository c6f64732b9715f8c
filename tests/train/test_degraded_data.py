"""Tests for scintiseg.train.degraded_data: a whole-body data set's training scans degraded anew every epoch."""

import dataclasses

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import load_manifest, save_manifest
from scintiseg.train.data import PERSON, PSEUDO_LABEL, UNKNOWN, WholeBodyWindows, load_samples
from scintiseg.train.degraded_data import DegradedDataPool, dataset_views
from support import conftest_of

#: the tiny whole-body data set's views (112 rows of 9 mm: 1 m) read at 4.5 mm in windows of 64 pixels
PIXEL_MM, WINDOW = 4.5, 64


@pytest.fixture(scope="module")
def whole_body(tmp_path_factory):
    return conftest_of("train").write_tiny_dataset(tmp_path_factory.mktemp("whole") / "data", patients=6, size=112,
                                                   pixel_mm=9.0)


def _cases(root):
    return [case.case_id for case in load_manifest(root).cases]


def test_every_epoch_degrades_the_views_anew_and_the_same_epoch_is_made_again(whole_body):
    """Epoch ``e`` is a pure function of (seed, e) (a resumed run trains on what it would have), another epoch or seed
    draws other degradations, and none of them is the undegraded tiling of the scans."""
    views = dataset_views(whole_body, _cases(whole_body)[:2], PIXEL_MM)
    assert len(views) == 4 and {v.view for v in views} == {"ANT", "POST"}
    pool = DegradedDataPool(views, PIXEL_MM, "none", WINDOW, seed=3)
    first = pool.dataset(0)
    again = DegradedDataPool(views, PIXEL_MM, "none", WINDOW, seed=3).dataset(0)
    assert torch_equal(first.images, again.images) and torch_equal(first.targets, again.targets)
    epochs = [pool.dataset(e) for e in range(1, 4)] + [DegradedDataPool(views, PIXEL_MM, "none", WINDOW, 4).dataset(0)]
    assert all(not same_windows(first, other) for other in epochs)
    plain = load_samples(whole_body, _cases(whole_body)[:2], "ant", "none",
                         windows=WholeBodyWindows(PIXEL_MM, WINDOW, around_lesions=True))
    plain_images = np.stack([s.image for s in plain])
    assert all(len(d) != len(plain) or not np.array_equal(d.images.numpy(), plain_images) for d in [first] + epochs)
    # crops, matrices and exports change what a window holds: the draws do not all keep the whole view as written
    assert len({len(d) for d in [first] + epochs}) > 1


def test_the_lesion_mask_goes_through_every_degradation_with_its_image(whole_body):
    """The lesions of the tiny data set are 60 counts over a 20-30 background: in every degraded window the target's
    pixels are hotter than the rest (a mask left behind by a flip or a crop would not be), and every epoch holds
    lesions, each with one window around it."""
    pool = DegradedDataPool(dataset_views(whole_body, _cases(whole_body), PIXEL_MM), PIXEL_MM, "none", WINDOW, seed=0)
    for epoch in range(4):
        data = pool.dataset(epoch)
        images, targets = data.images.numpy()[:, 0], data.targets.numpy()[:, 0] > 0.5
        assert targets.any()
        held = [k for k in range(len(data)) if targets[k].any() and (~targets[k] & (images[k] > 0)).any()]
        hotter = [images[k][targets[k]].mean() > images[k][~targets[k] & (images[k] > 0)].mean() for k in held]
        assert len(held) > 10 and all(hotter), epoch


def test_views_without_an_outline_keep_their_truth_and_never_train_on_their_labels(tmp_path):
    root = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=3, size=112, pixel_mm=9.0)
    manifest = load_manifest(root)
    first, *rest = manifest.cases
    masks = {"ANT": first.masks["ANT"]}  # POST not annotated: its lesions are unknown, not absent
    save_manifest(dataclasses.replace(manifest, cases=[dataclasses.replace(first, masks=masks), *rest]), root)
    ids = _cases(root)
    supervised = dataset_views(root, ids, PIXEL_MM)
    assert [(v.case_id, v.view) for v in supervised if v.case_id == first.case_id] == [(first.case_id, "ANT")]
    every = dataset_views(root, ids, PIXEL_MM, keep=(PERSON, PSEUDO_LABEL, UNKNOWN), labelled={ids[1]})
    flags = {(v.case_id, v.view): (v.truth, v.labelled) for v in every}
    assert flags[(first.case_id, "POST")] == (UNKNOWN, False)
    assert flags[(first.case_id, "ANT")] == (PERSON, False)  # not in the labelled share
    assert flags[(ids[1], "ANT")] == (PERSON, True)
    data = DegradedDataPool(every, PIXEL_MM, "none", WINDOW).dataset(0)
    trained = {s.case_id for s, flag in zip(data.samples, data.labelled.tolist()) if flag}
    assert trained == {ids[1]}


def test_crops_and_two_view_inputs_are_refused_in_one_line(tmp_path):
    from scintiseg.train.config import TrainConfig

    crops = conftest_of("train").write_tiny_dataset(tmp_path / "crops", patients=3, size=32)
    with pytest.raises(ScintisegError, match=r"degrades whole-body scans; case P000 is a partial view \(32 rows"):
        dataset_views(crops, _cases(crops), PIXEL_MM)
    with pytest.raises(ScintisegError, match="needs input mode ant, not two_channel"):
        dataset_views(crops, _cases(crops), PIXEL_MM, input_mode="two_channel")
    with pytest.raises(ScintisegError, match="synthetic views are degraded by --degrade"):
        TrainConfig(data="d", degrade_data=True, synthetic="randomised").validate()
    with pytest.raises(ScintisegError, match="--input-mode ant, not 'aggregate'"):
        TrainConfig(data="d", degrade_data=True, input_mode="aggregate").validate()


def test_a_run_with_degrade_data_trains_each_epoch_on_new_draws_and_validates_on_the_scans_as_written(
        tmp_path, whole_body, tiny_config):
    from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint
    from scintiseg.train.data import window_starts
    from scintiseg.train.loop import prepare_data, train

    config = tiny_config(data=str(whole_body), out=str(tmp_path / "run"), pixel_mm=PIXEL_MM, window_size=WINDOW,
                         input_mode="ant", degrade_data=True, epochs=2)
    data = prepare_data(config)
    assert isinstance(data.pool, DegradedDataPool) and data.pixel_mm == PIXEL_MM
    assert not same_windows(data.for_epoch(0), data.for_epoch(1))
    assert same_windows(data.for_epoch(1), data.pool.dataset(1))
    assert len(data.val) == 2 * len(window_starts(224, WINDOW)) ** 2 * len(data.split.val)  # the tiles, undegraded
    assert not {s.patient_id for s in data.train.samples} & {s.patient_id for s in data.val.samples}
    result = train(config)
    assert result.epochs_run == 2
    recorded = load_checkpoint(checkpoint_path(config.out, "best"))
    assert recorded["data"]["window"] == "whole" and recorded["config"]["degrade_data"] is True


def torch_equal(a, b) -> bool:
    return tuple(a.shape) == tuple(b.shape) and bool((a == b).all())


def same_windows(a, b) -> bool:
    return torch_equal(a.images, b.images) and torch_equal(a.targets, b.targets)
