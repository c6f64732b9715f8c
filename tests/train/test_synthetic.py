"""On-the-fly synthetic training: windows, determinism, the refreshed pool, and a run that records its grid."""

import numpy as np
import pytest

from scintiseg.losses import BOX_LESION
from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint
from scintiseg.train.config import TrainConfig
from scintiseg.errors import ScintisegError
from scintiseg.phantom.config import PhantomConfig, profile
from scintiseg.train.loop import synthetic_settings, train
from scintiseg.train.synthetic import (
    SyntheticPool,
    SyntheticSettings,
    cut_window,
    patient_samples,
    validation_dataset,
)

# The 512 x 128 phantom at 4.52 mm, resampled to a 9.04 mm model grid (256 x 64): fast enough for tests.
SMALL = SyntheticSettings(profile="small", pixel_mm=9.04, window_size=32, windows_per_view=2, seed=3)


def test_cut_window_pads_a_small_view_and_keeps_it_whole():
    rng = np.random.default_rng(0)
    image = np.ones((1, 20, 10), np.float32)
    target = np.zeros((1, 20, 10), np.float32)
    target[0, 5, 5] = 1
    window, window_target = cut_window(image, target, 32, rng)
    assert window.shape == (1, 32, 32) and window_target.shape == (1, 32, 32)
    assert window.sum() == 200 and window_target.sum() == 1


def test_cut_window_focus_holds_a_lesion():
    rng = np.random.default_rng(1)
    image = np.zeros((1, 500, 200), np.float32)
    target = np.zeros((1, 500, 200), np.float32)
    target[0, 440:445, 20:25] = 1
    held = [cut_window(image, target, 64, rng, focus=1.0)[1].sum() for _ in range(20)]
    assert min(held) > 0
    uniform = [cut_window(image, target, 64, rng, focus=0.0)[1].sum() for _ in range(50)]
    assert sum(h > 0 for h in uniform) < 25  # a 64 x 64 window over 500 x 200 rarely finds it by chance
    boxed = np.where(target > 0, BOX_LESION, 0.0).astype(np.float32)  # a reader's box said to hold a lesion
    assert min((cut_window(image, boxed, 64, rng, focus=1.0)[1] == BOX_LESION).sum() for _ in range(20)) > 0


def test_patient_samples_deterministic_and_on_the_model_grid():
    first = patient_samples(5, SMALL)
    again = patient_samples(5, SMALL)
    other = patient_samples(6, SMALL)
    assert len(first) == 4  # two views x two windows
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.target, b.target)
    assert not np.array_equal(first[0].image, other[0].image)
    for sample in first:
        assert sample.image.shape == (1, 32, 32) and sample.image.dtype == np.float32
        assert set(np.unique(sample.target)) <= {0.0, 1.0}
        assert np.isfinite(sample.image).all()


def test_pool_refreshes_the_oldest_patients_and_workers_do_not_change_the_data():
    pool = SyntheticPool(SMALL, pool_patients=4, refresh=0.5, workers=0)
    assert list(pool.indices(0)) == [0, 1, 2, 3] and list(pool.indices(1)) == [2, 3, 4, 5]
    first, second = pool.dataset(0), pool.dataset(1)
    assert len(first) == len(second) == 16
    np.testing.assert_array_equal(first.images[8:].numpy(), second.images[:8].numpy())  # patients 2 and 3 stay
    background = SyntheticPool(SMALL, pool_patients=4, refresh=0.5, workers=1)
    try:
        np.testing.assert_array_equal(background.dataset(0).images.numpy(), first.images.numpy())
        np.testing.assert_array_equal(background.dataset(1).images.numpy(), second.images.numpy())  # prefetched
    finally:
        background.close()


def test_synthetic_run_records_pixel_size_and_whole_window_and_resumes(tmp_path):
    config = TrainConfig(out=str(tmp_path / "run"), model="unet", model_args={"width": 4, "depth": 2},
                         synthetic="small", pixel_mm=9.04, window_size=32, pool_patients=3, refresh=0.34,
                         val_patients=1, epochs=2, batch_size=4, threads=1, progress=False, generator_workers=0,
                         seed=3)
    result = train(config)
    assert result.epochs_run == 2
    state = load_checkpoint(checkpoint_path(result.run_dir, "last"))
    assert state["data"]["pixel_mm"] == pytest.approx(9.04)
    assert state["data"]["window"] == "whole" and state["data"]["window_size"] == 32
    longer = TrainConfig.from_dict(config.to_dict() | {"epochs": 3})
    assert train(longer, resume=True).epochs_run == 3


def test_synthetic_needs_single_view_input_and_a_known_profile():
    with pytest.raises(ScintisegError, match="input-mode ant"):
        TrainConfig(synthetic="small", input_mode="aggregate")
    with pytest.raises(ScintisegError, match="profile"):
        TrainConfig(synthetic="no-such-profile")


def test_training_windows_are_cut_from_the_input_prediction_builds():
    """Training and prediction see the same numbers: the whole-view input prediction builds for a training
    view equals the one training cut its windows from (issue 13, one code path)."""
    import torch

    from scintiseg.predict.loader import model_from_network
    from scintiseg.predict.pipeline import model_scan
    from scintiseg.predict.windows import whole_view_windows
    from scintiseg.prepare.model_input import model_input
    from scintiseg.train.synthetic import training_views

    model = model_from_network(torch.nn.Conv2d(1, 1, 1), normalisation=SMALL.normalisation,
                               pixel_mm=SMALL.pixel_mm, window="whole")
    samples = patient_samples(2, SMALL)
    for v, (scan, mask, rng) in enumerate(training_views(2, SMALL)):
        view = scan.view_names[0]
        trained = model_input(scan, "ant", SMALL.normalisation, view=view)
        predicted = whole_view_windows(model_scan(scan, model), "ant", model.normalisation)[0].image
        np.testing.assert_array_equal(trained.image, predicted)
        for k in range(SMALL.windows_per_view):
            window, target = cut_window(trained.image, trained.target({view: mask}), SMALL.window_size, rng)
            np.testing.assert_array_equal(window, samples[v * SMALL.windows_per_view + k].image)
            np.testing.assert_array_equal(target, samples[v * SMALL.windows_per_view + k].target)


def test_ctrl_c_stops_a_synthetic_run_with_one_line_and_no_worker_traceback(tmp_path):
    """The generator process ignores SIGINT (Ctrl-C, or `pkill -INT` of the command line, which matches the
    forked worker too): the run stops through the training process, with the CLI's one line."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    command = [sys.executable, "-m", "scintiseg", "train", "--out", str(tmp_path / "run"), "--model", "unet",
               "-m", "width=4", "-m", "depth=2", "--synthetic", "small", "--pixel-mm", "9.04", "--window-size", "32",
               "--pool-patients", "40", "--val-patients", "1", "--epochs", "50", "--threads", "1", "--no-progress"]
    # The run starts with Ctrl-C's default action even when this test runs in a background job, whose shell
    # ignores SIGINT for everything it starts (Python then keeps ignoring it and the run could not be stopped).
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    workers: list[int] = []
    for _ in range(120):  # the generator process starts when the first pool is made
        time.sleep(0.25)
        if children.exists() and children.read_text().split():
            workers = [int(pid) for pid in children.read_text().split()]
            break
    if not workers:
        process.kill()
        pytest.skip("no generator process seen (a platform without /proc)")
    def ignores_sigint(pid: int) -> bool:  # SigIgn in /proc/PID/status: bit 1 (value 2) is SIGINT
        try:
            line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("SigIgn:"))
        except (OSError, StopIteration):
            return False
        return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))

    for _ in range(240):  # until the worker's initializer has set SIGINT aside (slow on a loaded machine)
        if all(ignores_sigint(pid) for pid in workers):
            break
        time.sleep(0.25)
    for pid in workers:
        os.kill(pid, signal.SIGINT)
    time.sleep(2)
    assert process.poll() is None  # the worker's SIGINT did not end the run
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "Traceback" not in stderr, stderr
    assert "interrupted" in stderr


def test_the_run_seed_changes_the_patients_and_validation_patients_are_not_training_ones():
    from dataclasses import replace

    from scintiseg.train.synthetic import validation_dataset

    first = patient_samples(0, SMALL)
    assert not np.array_equal(first[0].image, patient_samples(0, replace(SMALL, seed=4))[0].image)
    val = validation_dataset(SMALL, 1)
    assert val.samples[0].patient_id != first[0].patient_id  # patient 0 trains; validation has its own
    assert not np.array_equal(val.samples[0].image, first[0].image)


def test_synthetic_config_lays_its_yaml_over_the_profile_in_every_generator_process(tmp_path):
    """``--synthetic-config``: the YAML's settings reach the phantom the generator processes and the validation
    patients draw from (session 69: the region network learns the hands-on-thighs pose no profile draws), and the run
    folder keeps that phantom."""
    overrides = tmp_path / "thighs.yaml"
    overrides.write_text("anatomy:\n  arm_positions: {thighs: 1.0}\n")
    grid = {"pixel_mm": 9.04, "window_size": 32, "seed": 3}
    config = TrainConfig(synthetic="small", synthetic_config=str(overrides), **grid)
    settings = synthetic_settings(config)
    plain = synthetic_settings(TrainConfig(synthetic="small", **grid))
    assert settings.phantom_config().anatomy.arm_positions == {"thighs": 1.0}
    assert plain.phantom_config().anatomy.arm_positions != {"thighs": 1.0}
    here = SyntheticPool(settings, pool_patients=2, refresh=0.5, workers=0).dataset(0)
    assert not np.array_equal(here.images.numpy(), SyntheticPool(plain, 2, 0.5, workers=0).dataset(0).images.numpy())
    background = SyntheticPool(settings, pool_patients=2, refresh=0.5, workers=1)
    try:
        np.testing.assert_array_equal(background.dataset(0).images.numpy(), here.images.numpy())
    finally:
        background.close()
    assert not np.array_equal(validation_dataset(settings, 1).images.numpy(),
                              validation_dataset(plain, 1).images.numpy())
    run = TrainConfig.from_dict(config.to_dict() | {"out": str(tmp_path / "run"), "model": "unet",
                                                     "model_args": {"width": 4, "depth": 2}, "pool_patients": 2,
                                                     "val_patients": 1, "epochs": 1, "batch_size": 4, "threads": 1,
                                                     "progress": False, "generator_workers": 0})
    train(run)
    kept = PhantomConfig.from_json(tmp_path / "run" / "synthetic_phantom.json")
    assert kept == config.phantom_settings() and kept != profile("small")
    longer = TrainConfig.from_dict(run.to_dict() | {"epochs": 2})
    overrides.write_text("anatomy:\n  arm_positions: {raised: 1.0}\n")  # the file changed under the run
    with pytest.raises(ScintisegError, match=r"thighs\.yaml: gives another phantom than the run started with"):
        train(longer, resume=True)
    overrides.write_text("anatomy:\n  arm_positions: {thighs: 1.0}\n")
    assert train(longer, resume=True).epochs_run == 2


def test_synthetic_config_is_read_when_a_run_starts_and_its_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("anatomy:\n  arm_positions: {feet: 1.0}\n")
    with pytest.raises(ScintisegError, match=r"bad\.yaml: anatomy\.arm_positions: unknown position"):
        synthetic_settings(TrainConfig(synthetic="small", synthetic_config=str(bad)))
    missing = TrainConfig(synthetic="small", synthetic_config=str(tmp_path / "missing.yaml"))  # a recorded config loads
    with pytest.raises(ScintisegError, match=r"missing\.yaml: cannot read"):
        missing.phantom_settings()
    with pytest.raises(ScintisegError, match="give --synthetic PROFILE"):
        TrainConfig(synthetic_config=str(bad))
