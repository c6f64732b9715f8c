"""Tests for scintiseg.models.interpolate: WiSE-FT weights between a network and its fine-tune, and soups."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models import create_model
from scintiseg.models.checkpoint import FORMAT, VERSION, load_checkpoint, load_model_from_checkpoint, save_checkpoint
from scintiseg.models.interpolate import (
    average_checkpoints,
    average_weights,
    interpolate_checkpoints,
    interpolate_weights,
)

DATA = {"input_mode": "ant", "normalisation": "robust", "window_size": 64, "pixel_mm": 2.26, "window": "whole"}


def _network(seed: int, **kwargs):
    torch.manual_seed(seed)
    network = create_model("unet", width=4, depth=2, **kwargs)
    norms = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms
    with torch.no_grad():  # BatchNorm statistics that differ between the two, as after a fine-tune
        for module in norms:
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.num_batches_tracked.fill_(seed)
    return network


def _save(network, path, data=DATA, **extra):
    state = {"epoch": 1, "model": network.state_dict(), "model_config": dict(network.config), "data": dict(data),
             "optimizer": {"state": {}, "param_groups": []}, **extra}
    return save_checkpoint(state, path)


@pytest.fixture
def pair(tmp_path):
    base, tuned = _network(0), _network(1)
    return base, tuned, _save(base, tmp_path / "base.pt"), _save(tuned, tmp_path / "tuned.pt", history=[{"epoch": 1}])


def test_weights_are_the_straight_line_between_the_two(pair):
    base, tuned, _, _ = pair
    a, b = base.state_dict(), tuned.state_dict()
    for alpha in (0.0, 0.3, 1.0):
        mixed = interpolate_weights(a, b, alpha)
        for name, value in mixed.items():
            if value.is_floating_point():  # running means and variances too
                torch.testing.assert_close(value, (1 - alpha) * a[name] + alpha * b[name])
            else:
                assert torch.equal(value, b[name])  # BatchNorm batch counters: the fine-tune's


def test_the_written_checkpoint_predicts_between_its_ends(pair, tmp_path):
    base, tuned, base_path, tuned_path = pair
    out = interpolate_checkpoints(base_path, tuned_path, 0.5, tmp_path / "mixed.pt")
    state = load_checkpoint(out)
    assert state["data"] == DATA and state["history"] == [{"epoch": 1}]  # the fine-tune's record
    assert "optimizer" not in state
    record = state["interpolation"]
    assert record["alpha"] == 0.5 and record["base"] == "base.pt" and record["tuned"] == "tuned.pt"
    assert len(record["base_sha256"]) == 64 and record["base_sha256"] != record["tuned_sha256"]
    mixed, _ = load_model_from_checkpoint(out)
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        y, y0, y1 = mixed(x), base.eval()(x), tuned.eval()(x)
    assert not torch.allclose(y, y0) and not torch.allclose(y, y1)
    # the ends reproduce the two networks exactly
    for alpha, network in ((0.0, base), (1.0, tuned)):
        end, _ = load_model_from_checkpoint(interpolate_checkpoints(base_path, tuned_path, alpha, tmp_path / f"e{alpha}.pt"))
        with torch.no_grad():
            torch.testing.assert_close(end(x), network(x))


def test_another_network_is_refused_naming_the_file(pair, tmp_path):
    _, _, base_path, _ = pair
    other = _save(create_model("unet", width=8, depth=2), tmp_path / "other.pt")
    with pytest.raises(ScintisegError, match="another network") as info:
        interpolate_checkpoints(base_path, other, 0.5, tmp_path / "out.pt")
    assert "other.pt" in str(info.value)
    assert not (tmp_path / "out.pt").exists()


def test_a_checkpoint_older_than_an_argument_holds_the_same_network_as_one_recording_its_default(tmp_path):
    """A DPU-Net saved before ``rmp_shared_conv`` was recorded mixes with one that records its default (True), and
    not with one made with the other value (session 64: the exact comparison refused its own fine-tune)."""
    torch.manual_seed(0)
    network = create_model("dpunet", preset="small", depth=2)
    old = dict(network.config)
    old.pop("rmp_shared_conv")
    state = {"epoch": 1, "model": network.state_dict(), "model_config": old, "data": dict(DATA)}
    before = save_checkpoint(state, tmp_path / "before.pt")
    after = _save(network, tmp_path / "after.pt")
    assert load_checkpoint(interpolate_checkpoints(before, after, 0.5, tmp_path / "mixed.pt"))
    other = create_model("dpunet", preset="small", depth=2, rmp_shared_conv=False)
    with pytest.raises(ScintisegError, match="another network"):
        interpolate_checkpoints(before, _save(other, tmp_path / "other.pt"), 0.5, tmp_path / "out.pt")


def test_another_input_is_refused(pair, tmp_path):
    _, tuned, base_path, _ = pair
    percentile = _save(tuned, tmp_path / "percentile.pt", data=DATA | {"normalisation": "percentile"})
    with pytest.raises(ScintisegError, match="normalisation 'percentile'"):
        interpolate_checkpoints(base_path, percentile, 0.5, tmp_path / "out.pt")


def test_inputs_are_compared_as_prediction_reads_them(pair, tmp_path):
    """Each side's input contract (formats.InputContract), not its raw record: a field one file leaves to the default
    and the other records as that default is the same input; a whole-body and a thoracic-crop reading are not."""
    _, tuned, base_path, _ = pair
    said = _save(tuned, tmp_path / "said.pt", data=DATA | {"task": "lesions"})
    assert load_checkpoint(interpolate_checkpoints(base_path, said, 0.5, tmp_path / "out.pt"))["data"] == DATA | {
        "task": "lesions"}  # the fine-tune's record, as written
    crop = _save(tuned, tmp_path / "crop.pt", data=DATA | {"window": "thoracic"})
    with pytest.raises(ScintisegError, match="was made for window 'thoracic', base.pt for 'whole'"):
        interpolate_checkpoints(base_path, crop, 0.5, tmp_path / "out2.pt")
    broken = _save(tuned, tmp_path / "broken.pt", data=DATA | {"pixel_mm": "2.26"})
    with pytest.raises(ScintisegError, match="pixel size '2.26' is not a number of mm"):
        average_checkpoints([base_path, broken], tmp_path / "out3.pt")


@pytest.mark.parametrize("field, value", [("window_size", 128), ("pixel_mm", 4.52), ("input_mode", "ant_post"),
                                          ("classes", ["other", "spine"])])
def test_every_input_field_must_agree(pair, tmp_path, field, value):
    _, tuned, base_path, _ = pair
    other = _save(tuned, tmp_path / "other.pt", data=DATA | {field: value})
    with pytest.raises(ScintisegError, match=f"was made for {field} "):
        interpolate_checkpoints(base_path, other, 0.5, tmp_path / "out.pt")


@pytest.mark.parametrize("alpha", [-0.1, 1.5])
def test_alpha_outside_the_segment_is_refused(pair, tmp_path, alpha):
    _, _, base_path, tuned_path = pair
    with pytest.raises(ScintisegError, match="alpha must lie in"):
        interpolate_checkpoints(base_path, tuned_path, alpha, tmp_path / "out.pt")


def test_a_model_entry_that_is_not_a_state_dict_is_refused(pair, tmp_path):
    base, _, base_path, _ = pair
    broken = tmp_path / "broken.pt"  # by hand: save_checkpoint refuses to write it
    torch.save({"model": [1, 2], "model_config": dict(base.config), "data": DATA, "format": FORMAT, "version": VERSION},
               broken)
    with pytest.raises(ScintisegError, match="not a state dict"):
        interpolate_checkpoints(broken, base_path, 0.5, tmp_path / "out.pt")


def test_a_soup_is_the_mean_of_its_members_and_keeps_the_last_ones_record(pair, tmp_path):
    base, tuned, base_path, tuned_path = pair
    third = _network(2)
    third_path = _save(third, tmp_path / "third.pt", history=[{"epoch": 3}])
    states = [net.state_dict() for net in (base, tuned, third)]
    mean = average_weights(states)
    for name, value in mean.items():
        if value.is_floating_point():  # BatchNorm statistics too
            torch.testing.assert_close(value, sum(state[name] for state in states) / 3)
        else:
            assert torch.equal(value, states[-1][name])
    out = average_checkpoints([base_path, tuned_path, third_path], tmp_path / "soup.pt")
    state = load_checkpoint(out)
    assert state["history"] == [{"epoch": 3}] and "optimizer" not in state
    assert [m["file"] for m in state["soup"]["members"]] == ["base.pt", "tuned.pt", "third.pt"]
    # two members: the soup is the interpolation at alpha 0.5
    two = load_checkpoint(average_checkpoints([base_path, tuned_path], tmp_path / "two.pt"))["model"]
    half = load_checkpoint(interpolate_checkpoints(base_path, tuned_path, 0.5, tmp_path / "half.pt"))["model"]
    for name in two:
        torch.testing.assert_close(two[name], half[name])


def test_a_mix_of_weights_keeps_what_any_of_its_networks_learned_from(pair, tmp_path):
    """An adapted or real-data network mixed with a phantom one (either end of an interpolation, any member of a
    soup): the result's data block says what any of them learned from, and a packaged member's shipped record (which
    would call the mix trained on phantoms only) is not carried into a soup."""
    base, tuned, base_path, tuned_path = pair
    adapted = _save(base, tmp_path / "adapted.pt", data={**DATA, "adapted_on": ["/site"]})
    real = _save(tuned, tmp_path / "real.pt", data={**DATA, "real_scans": True, "adapted_on": ["/other", "/site"]})
    shipped = _save(tuned, tmp_path / "shipped.pt", shipped={"trained_on": "phantoms", "synthetic": True})
    mixed = load_checkpoint(interpolate_checkpoints(adapted, tuned_path, 0.5, tmp_path / "wise.pt"))["data"]
    assert mixed == {**DATA, "adapted_on": ["/site"]}  # from the base, though the record is the fine-tune's
    plain = load_checkpoint(interpolate_checkpoints(base_path, tuned_path, 0.5, tmp_path / "plain.pt"))["data"]
    assert plain == DATA
    soup = load_checkpoint(average_checkpoints([adapted, real, shipped], tmp_path / "soup.pt"))
    assert soup["data"] == {**DATA, "real_scans": True, "adapted_on": ["/site", "/other"]} and "shipped" not in soup


def test_a_soup_refuses_one_member_and_a_foreign_network(pair, tmp_path):
    _, _, base_path, tuned_path = pair
    with pytest.raises(ScintisegError, match="at least two"):
        average_checkpoints([base_path], tmp_path / "out.pt")
    other = _save(create_model("unet", width=8, depth=2), tmp_path / "other.pt")
    with pytest.raises(ScintisegError, match="another network") as info:
        average_checkpoints([base_path, tuned_path, other], tmp_path / "out.pt")
    assert "other.pt" in str(info.value) and not (tmp_path / "out.pt").exists()


def test_an_output_that_is_one_of_the_inputs_is_refused_and_left_as_it_was(pair, tmp_path):
    _, _, base_path, tuned_path = pair
    before = tuned_path.read_bytes()
    for mix in (lambda: interpolate_checkpoints(base_path, tuned_path, 0.5, tuned_path),
                lambda: average_checkpoints([base_path, tuned_path], tmp_path / "." / tuned_path.name)):
        with pytest.raises(ScintisegError, match="is one of the checkpoints being mixed") as error:
            mix()
        assert str(tuned_path.name) in str(error.value)
    assert tuned_path.read_bytes() == before
