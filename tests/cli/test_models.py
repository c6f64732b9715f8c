"""``scintiseg models list`` and ``scintiseg models table``."""

import json

from scintiseg.cli import main


def test_list_json_names_every_model_with_presets(capsys):
    assert main(["models", "list", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    names = {entry["name"] for entry in payload}
    assert {"unet", "dpunet", "rdinet", "monai_basicunet", "monai_dynunet"} <= names
    dpunet = next(entry for entry in payload if entry["name"] == "dpunet")
    assert dpunet["presets"]["paper"]["width"] == 64 and dpunet["arguments"]["rmp_pool_sizes"] == [2, 3, 4, 5]


def test_table_counts_parameters_and_flops(capsys, tmp_path):
    out = tmp_path / "table.json"
    code = main(["models", "table", "--json", "--no-timing", "--models", "unet", "--size", "64", "--output", str(out)])
    assert code == 0
    table = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == table
    rows = {row["preset"]: row for row in table["rows"]}
    assert rows["default"]["parameters"] == 1_942_289
    # FLOPs scale with the image area and roughly with width squared (paper preset = 4x the width)
    assert 10 < rows["paper"]["gflops_per_image"] / rows["default"]["gflops_per_image"] < 17
    assert rows["default"]["infer_ms_per_image"] is None


def test_table_times_one_small_model(capsys):
    assert main(["models", "table", "--json", "--models", "monai_dynunet", "--presets", "default", "--size", "32", "--repeats", "1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["infer_ms_per_image"] > 0 and row["train_ms_per_image"] > 0


def test_unknown_model_is_one_line_and_exit_2(capsys):
    assert main(["models", "table", "--models", "nope", "--no-timing"]) == 2
    err = capsys.readouterr().err
    assert "unknown model" in err and "Traceback" not in err


def test_interpolate_writes_a_checkpoint_between_the_shipped_model_and_a_copy(tmp_path, capsys):
    import torch

    from scintiseg.models.checkpoint import load_checkpoint, save_checkpoint
    from scintiseg.predict.loader import SHIPPED_WEIGHTS

    state = load_checkpoint(SHIPPED_WEIGHTS)
    state["model"] = {k: v * 2 if v.is_floating_point() else v for k, v in state["model"].items()}
    tuned = save_checkpoint(state, tmp_path / "tuned.pt")
    out = tmp_path / "wise.pt"
    assert main(["models", "interpolate", "shipped", str(tuned), "--alpha", "0.25", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    mixed, shipped = load_checkpoint(out)["model"], load_checkpoint(SHIPPED_WEIGHTS)["model"]
    name = next(k for k, v in shipped.items() if v.is_floating_point() and v.abs().sum() > 0)
    torch.testing.assert_close(mixed[name], 1.25 * shipped[name])


def test_interpolate_with_a_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["models", "interpolate", "shipped", str(tmp_path / "none.pt"), "--alpha", "0.5",
                 "--out", str(tmp_path / "o.pt")])
    err = capsys.readouterr().err
    assert code == 2 and "none.pt" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.pt").exists()


def test_average_writes_the_mean_of_the_shipped_model_and_two_copies(tmp_path, capsys):
    import torch

    from scintiseg.models.checkpoint import load_checkpoint, save_checkpoint
    from scintiseg.predict.loader import SHIPPED_WEIGHTS

    copies = []
    for factor in (2, 3):
        state = load_checkpoint(SHIPPED_WEIGHTS)
        state["model"] = {k: v * factor if v.is_floating_point() else v for k, v in state["model"].items()}
        copies.append(str(save_checkpoint(state, tmp_path / f"x{factor}.pt")))
    out = tmp_path / "soup.pt"
    assert main(["models", "average", "shipped", *copies, "--out", str(out)]) == 0
    assert "mean of 3" in capsys.readouterr().out
    soup, shipped = load_checkpoint(out)["model"], load_checkpoint(SHIPPED_WEIGHTS)["model"]
    name = next(k for k, v in shipped.items() if v.is_floating_point() and v.abs().sum() > 0)
    torch.testing.assert_close(soup[name], 2 * shipped[name])  # (1 + 2 + 3) / 3


def test_average_of_one_checkpoint_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["models", "average", "shipped", "--out", str(tmp_path / "o.pt")])
    err = capsys.readouterr().err
    assert code == 2 and "at least two" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.pt").exists()


def test_no_subcommand_or_a_size_below_1_exits_2(capsys):
    assert main(["models"]) == 2
    assert main(["models", "table", "--size", "0", "--no-timing", "--models", "unet"]) == 2
    assert "--size, --batch and --repeats must be positive" in capsys.readouterr().err
