"""`scintiseg gan train|sample|evaluate` end to end on a tiny data set (native 32 x 32, crops 64 x 64)."""

import json

import pytest
import yaml

from support import conftest_of

from scintiseg.cli import main
from scintiseg.io import dataset as ds


@pytest.fixture
def real_crops(tmp_path):
    """tests/gan/conftest.py's tiny data set of thoracic crops (test folders are not packages: loaded by path)."""
    return conftest_of("gan").write_real_crops(tmp_path / "crops")


def test_train_resume_sample_check_evaluate(real_crops, tmp_path, capsys):
    config = tmp_path / "gan.yaml"
    config.write_text(yaml.safe_dump({"native_size": 32, "output_size": 64, "latent_dim": 16, "base_width": 8, "batch_size": 2}))
    run = tmp_path / "run"
    args = ["gan", "train", "--data", str(real_crops), "--out", str(run), "--config", str(config), "--quiet", "--sample-every", "1"]
    assert main(args + ["--epochs", "1", "--k", "2"]) == 0
    assert (run / "checkpoints" / "last.pt").is_file() and (run / "samples" / "epoch_0001.png").is_file()
    assert main(args + ["--epochs", "1"]) == 2  # refuses to overwrite a run
    killed = [run / ".history.csv.ab12cd.part", run / "checkpoints" / ".last.pt.ef34gh.part"]  # a writer killed mid-write
    for path in killed:
        path.write_text("half")
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    assert not any(path.exists() for path in killed)
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 3  # header + 2 epochs
    # 4 images, batch 2 -> 2 D batches per epoch, k = 2 -> 1 G step per epoch (k kept on resume)
    assert history[-1].split(",")[1:3] == ["2", "4"]

    out = tmp_path / "gan_data"
    assert main(["gan", "sample", "--run", str(run), "--n", "3", "--out", str(out), "--seed", "5", "--quiet"]) == 0
    report = ds.check_dataset(out)
    assert report.valid, [str(p) for p in report.errors]
    manifest = ds.load_manifest(out)
    assert manifest.views == ["ANT", "POST"] and {c.origin for c in manifest.cases} == {"gan"}
    scan, masks = ds.load_case(out, manifest.cases[0])
    assert scan.shape == (64, 64) and scan.view("ANT").dtype.kind == "u"

    capsys.readouterr()
    assert main(["gan", "evaluate", "--run", str(run), "--data", str(real_crops), "--n", "4", "--quiet"]) == 0
    quality = json.loads((run / "evaluation" / "quality.json").read_text())
    assert quality["n_generated"] == 4 and quality["n_real"] == 4
    assert (run / "evaluation" / "grid_generated.png").is_file() and (run / "evaluation" / "quality.md").is_file()
    # whole-body scans are not what the GAN learned: refused as training refuses them (compared before session 61)
    whole = tmp_path / "whole"
    assert main(["phantom", "--patients", "2", "--profile", "small", "--out", str(whole), "--workers", "1"]) == 0
    capsys.readouterr()
    assert main(["gan", "evaluate", "--run", str(run), "--data", str(whole), "--n", "4", "--quiet",
                 "--out", str(tmp_path / "eval_whole")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a square thoracic crop" in err and not (tmp_path / "eval_whole").exists()


def test_bad_run_folder_is_one_line_error(tmp_path, capsys):
    assert main(["gan", "sample", "--run", str(tmp_path), "--n", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a GAN run folder" in err


def test_train_upsample_resize_is_saved_and_sampled(real_crops, tmp_path):
    config = tmp_path / "gan.yaml"
    config.write_text(yaml.safe_dump({"native_size": 32, "output_size": 64, "latent_dim": 16, "base_width": 8, "batch_size": 2}))
    run = tmp_path / "run"
    args = ["gan", "train", "--data", str(real_crops), "--out", str(run), "--config", str(config), "--quiet", "--epochs", "1", "--k", "1"]
    assert main(args + ["--upsample", "resize"]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["upsample"] == "resize"
    out = tmp_path / "gan_data"
    assert main(["gan", "sample", "--run", str(run), "--n", "2", "--out", str(out), "--seed", "1", "--quiet"]) == 0
    assert ds.check_dataset(out).valid


def _gan_train_args(*extra):
    from scintiseg.cli import build_parser

    return build_parser("gan").parse_args(["gan", "train", "--data", "d", "--out", "o", *extra])


def test_train_flags_are_generated_from_gan_config_with_the_documented_names():
    import dataclasses

    from scintiseg.cli import build_parser
    from scintiseg.gan.config import GanConfig

    gan = build_parser("gan")._subparsers._group_actions[0].choices["gan"]
    train = gan._subparsers._group_actions[0].choices["train"]
    flags = {option for action in train._actions for option in action.option_strings}
    assert {"--" + f.name.replace("_", "-") for f in dataclasses.fields(GanConfig)} <= flags
    assert {"--lesion-aware", "--minutes", "--resume", "--config", "--real-flip", "--minibatch-std"} <= flags
    assert not any(f.name in vars(_gan_train_args()) for f in dataclasses.fields(GanConfig))  # not given: absent


def test_train_config_precedence_defaults_yaml_lesion_aware_flags(tmp_path):
    from scintiseg.cli.gan import resolve_config
    from scintiseg.gan.config import LESION_AWARE, GanConfig

    assert resolve_config(_gan_train_args()) == GanConfig()
    config_file = tmp_path / "gan.yaml"
    config_file.write_text(yaml.safe_dump({"k": 5, "epochs": 7, "native_size": 32}))
    config = resolve_config(_gan_train_args("--config", str(config_file), "--lesion-aware", "--mask-match", "0.5",
                                            "--no-real-flip", "--views", "ant"))
    assert config.epochs == 7 and config.native_size == 32  # from the YAML
    assert config.k == LESION_AWARE["k"] and config.upsample == "resize" and config.minibatch_std  # preset > YAML
    assert config.mask_match == 0.5 and config.real_flip is False  # flags > preset
    assert config.views == ["ANT"]


def test_bad_train_flag_is_one_line_error_naming_the_flag(real_crops, tmp_path, capsys):
    assert main(["gan", "train", "--data", str(real_crops), "--out", str(tmp_path / "r"), "--k", "two"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--k: expected an integer, got 'two'" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("flag", "value", "said"), [
    ("--threads", "-1", "threads must be 0 (torch's default) or more, got -1"),  # was torch's RuntimeError
    ("--lr-g", "-0.001", "lr_g must be positive, got -0.001"),  # was Adam's ValueError, after the crops were read
    ("--lr-d", "nan", "lr_d must be a finite number, got nan"),
    ("--beta1", "1.5", "beta1 must lie in [0, 1), got 1.5"),  # was Adam's ValueError (session 61)
    ("--beta2", "-1", "beta2 must lie in [0, 1), got -1.0"),
])
def test_impossible_train_values_are_one_line_before_the_crops_are_read(real_crops, tmp_path, capsys, flag, value, said):
    assert main(["gan", "train", "--data", str(real_crops), "--out", str(tmp_path / "r"), flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.endswith(said) and not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv", [["sample", "--run", "r", "--out", "o", "--n", "0"],
                                  ["sample", "--run", "r", "--out", "o", "--n", "1", "--batch-size", "0"],
                                  ["evaluate", "--run", "r", "--data", "d", "--n", "0"]])
def test_a_count_below_1_is_argparses_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["gan", *argv])
    assert stopped.value.code == 2 and "must be at least 1, got 0" in capsys.readouterr().err


def test_minutes_not_above_0_is_refused_before_training(tmp_path, capsys):
    assert main(["gan", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--minutes", "0"]) == 2
    assert capsys.readouterr().err.strip().endswith("--minutes must be positive, got 0.0")
    assert not (tmp_path / "r").exists()


def test_evaluate_writes_to_run_evaluation_by_default(tmp_path, monkeypatch):
    import scintiseg.gan.evaluate as gan_evaluate

    given = {}

    def fake(run, data, out, n, seed, progress):
        given.update(out=out, n=n, seed=seed)
        return {"memorisation": {"ratio": 1.0, "possible_copies": 0.0}, "counts": {"wasserstein_relative": 0.0},
                "noise": {"real": {"fano": 1.0}, "generated": {"fano": 1.0}}}

    monkeypatch.setattr(gan_evaluate, "evaluate_run", fake)
    assert main(["gan", "evaluate", "--run", str(tmp_path / "run"), "--data", "d"]) == 0
    assert given == {"out": tmp_path / "run" / "evaluation", "n": 200, "seed": 0}
