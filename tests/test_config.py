"""scintiseg.config: typed configurations from dicts, YAML and JSON, validated, with CLI flags from the fields."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import pytest
import yaml

from scintiseg import config as config_module
from scintiseg.config import Config, add_arguments, coerce, from_args, option, parse_key_values
from scintiseg.errors import ScintisegError


@dataclass
class Blur(Config):
    kind: ClassVar[str] = "blur config"

    sigma: tuple[float, float] = (1.0, 1.0)
    weights: dict[int, float] = field(default_factory=lambda: {1: 0.5, 2: 0.5})


@dataclass
class Job(Config):
    kind: ClassVar[str] = "job config"

    name: str = option("job", help="what the job is called")
    mode: str = option("fast", choices=("fast", "exact"), help="how hard to try")
    views: list[str] = option(default_factory=lambda: ["ANT"], choices=("ANT", "POST"),
                              parse=lambda text: [v.strip().upper() for v in text.split(",")])
    steps: int = 10
    rate: float = 0.5
    fold: int | None = None
    verbose: bool = False
    extra: dict[str, Any] = option(default_factory=dict, flags=("--extra", "-x"))
    blur: Blur = field(default_factory=Blur)

    def validate(self) -> None:
        super().validate()
        if self.steps < 1:
            raise ScintisegError(f"steps must be >= 1, got {self.steps}")


def test_from_dict_converts_values_to_the_field_types():
    job = Job.from_dict({"steps": "3", "rate": 1, "fold": "none", "verbose": "yes",
                         "blur": {"sigma": [2, 3], "weights": {"4": "1"}}})
    assert job.steps == 3 and isinstance(job.rate, float) and job.fold is None and job.verbose is True
    assert job.blur == Blur(sigma=(2.0, 3.0), weights={4: 1.0})  # JSON/YAML lists -> tuples, "4" -> 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stesp": 3}, "job.yaml: unknown job config keys: stesp"),
        ({"blur": {"sgima": [1, 1]}}, "job.yaml: unknown job config keys: blur.sgima"),
        ({"steps": 2.5}, "job.yaml: job config key 'steps': expected an integer, got 2.5"),
        ({"blur": {"sigma": [1, 2, 3]}}, "job.yaml: job config key 'blur.sigma': expected 2 values"),
        ({"blur": 3}, "job.yaml: job config key 'blur' must be a mapping"),
        ({"mode": "slow"}, "job.yaml: mode must be one of fast, exact, got 'slow'"),
        ({"views": ["ANT", "LAT"]}, "job.yaml: views must be one of ANT, POST, got ['ANT', 'LAT']"),
        ({"steps": 0}, "job.yaml: steps must be >= 1, got 0"),
        ({"rate": "inf"}, "job.yaml: rate must be a finite number, got inf"),  # a flag's text, YAML's .inf
        ({"rate": float("nan")}, "job.yaml: rate must be a finite number, got nan"),
        ({"blur": {"sigma": [1.0, float("-inf")]}}, "job.yaml: sigma must be a finite number, got (1.0, -inf)"),
        ({"blur": {"weights": {1: float("nan")}}}, None),  # a mapping's values are the consumer's to check
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key_and_the_file(data, message):
    if message is None:
        Job.from_dict(data, path="job.yaml")
        return
    with pytest.raises(ScintisegError) as error:
        Job.from_dict(data, path="job.yaml")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


@dataclass
class Seeded(Config):
    seed: int = 0


@pytest.mark.parametrize("seed", [0, 7, 2**32 - 1])
def test_a_configuration_seed_is_checked_by_the_seed_rule(seed):
    assert Seeded(seed=seed).seed == seed
    with pytest.raises(ScintisegError, match=r"^seed must be a whole number from 0 to 4294967295, got -1$"):
        Seeded(seed=-1)


def test_choices_are_checked_on_construction_too():
    with pytest.raises(ScintisegError, match="mode must be one of fast, exact"):
        Job(mode="slow")


def test_yaml_and_json_round_trips(tmp_path):
    job = Job(name="a", mode="exact", views=["POST", "ANT"], fold=2, extra={"width": 8},
              blur=Blur(sigma=(0.5, 2.0), weights={3: 0.25}))
    job.save_yaml(tmp_path / "job.yaml")
    job.save_json(tmp_path / "job.json")
    assert Job.from_yaml(tmp_path / "job.yaml") == job
    assert Job.from_json(tmp_path / "job.json") == job
    assert list(yaml.safe_load((tmp_path / "job.yaml").read_text())) == list(asdict(job))  # declaration order


def test_unreadable_files_are_one_line_errors(tmp_path):
    (tmp_path / "bad.yaml").write_text("steps: [1,\n")
    (tmp_path / "list.yaml").write_text("- 1\n")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ScintisegError, match="malformed YAML"):
        Job.from_yaml(tmp_path / "bad.yaml")
    with pytest.raises(ScintisegError, match="must hold a mapping"):
        Job.from_yaml(tmp_path / "list.yaml")
    with pytest.raises(ScintisegError, match="malformed JSON"):
        Job.from_json(tmp_path / "bad.json")
    with pytest.raises(ScintisegError, match="cannot read configuration"):
        Job.from_yaml(tmp_path / "missing.yaml")


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_loader(request, monkeypatch):
    """Each hostile-file test runs with libyaml's loader and with the pure-Python fallback."""
    if request.param == "libyaml":
        if not yaml.__with_libyaml__:
            pytest.skip("PyYAML built without libyaml")
        assert issubclass(config_module.YAML_LOADER, yaml.CSafeLoader)  # the fast one is the default
    else:
        monkeypatch.setattr(config_module, "YAML_LOADER", yaml.SafeLoader)
    return request.param


def _refused(read, path):
    """The one-line project error (naming the file) that reading ``path`` raises."""
    with pytest.raises(ScintisegError) as error:
        read(path)
    assert error.value.path == str(path) and "\n" not in str(error.value)
    return error.value.problem


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (b"name: caf\xe9\nsteps: 3\n", "not UTF-8 text (byte 0xe9 at offset 9)"),  # Latin-1
        (b"steps: 3\nname: \xc3\x28\xff\n", "not UTF-8 text (byte 0xc3 at offset 15)"),
        (b"rate: !!float abc\n", "malformed YAML"),  # PyYAML's constructors raise ValueError,
        (b"fold: 2001-13-45\n", "malformed YAML"),  # ... ValueError (a timestamp),
        (b"fold: !!bool maybe\n", "malformed YAML"),  # ... KeyError,
        (b"fold: !!int\n", "malformed YAML"),  # ... IndexError,
        (b"fold: !!timestamp soon\n", "malformed YAML"),  # ... AttributeError
    ],
)
def test_undecodable_yaml_is_one_line_error_naming_the_file(tmp_path, yaml_loader, document, problem):
    (tmp_path / "job.yaml").write_bytes(document)
    assert _refused(Job.from_yaml, tmp_path / "job.yaml").startswith(problem)


def test_undecodable_json_is_one_line_error_naming_the_file(tmp_path):
    (tmp_path / "job.json").write_bytes(b'{"name": "caf\xe9"}')
    assert _refused(Job.from_json, tmp_path / "job.json") == "not UTF-8 text (byte 0xe9 at offset 13)"


@pytest.mark.parametrize("depth", [150, 20_000])
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, yaml_loader, depth):
    # 150 levels: under libyaml's own limit (1,000), so scintiseg's limit speaks; 20,000: the pure-Python
    # composer recursed once per level and raised RecursionError.
    (tmp_path / "deep.yaml").write_text(f"extra: {{x: {'[' * depth}{']' * depth}}}\n")
    (tmp_path / "deep.json").write_text(f'{{"extra": {{"x": {"[" * depth}{"]" * depth}}}}}')
    problem = _refused(Job.from_yaml, tmp_path / "deep.yaml")
    assert "nested" in problem or "maximum nesting depth" in problem
    assert "nested" in _refused(Job.from_json, tmp_path / "deep.json")
    if depth == 150:
        assert problem == f"nested more than {config_module.MAX_CONFIG_DEPTH} levels deep: not a configuration"


def test_a_recursive_alias_is_refused(tmp_path, yaml_loader):
    (tmp_path / "loop.yaml").write_text("extra: {x: &loop [*loop]}\n")  # a list that holds itself
    assert "nested more than" in _refused(Job.from_yaml, tmp_path / "loop.yaml")


def test_an_alias_bomb_is_refused_before_anything_expands_it(tmp_path, yaml_loader):
    # "Billion laughs": 9 levels of 9 aliases stand for 9**9 (387 million) strings in a 600-byte file.
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    (tmp_path / "bomb.yaml").write_text("extra:\n" + "".join(f"  {line}\n" for line in lines))
    problem = _refused(Job.from_yaml, tmp_path / "bomb.yaml")
    assert problem.startswith(f"more than {config_module.MAX_CONFIG_VALUES:,} values")


def test_a_few_anchors_and_aliases_still_work(tmp_path, yaml_loader):
    (tmp_path / "job.yaml").write_text("extra: {a: &pair [1, 2], b: *pair}\nblur: {sigma: *pair}\n")
    job = Job.from_yaml(tmp_path / "job.yaml")
    assert job.extra == {"a": [1, 2], "b": [1, 2]} and job.blur.sigma == (1.0, 2.0)


def test_files_over_the_size_limit_are_refused_unread(tmp_path, yaml_loader):
    limit = config_module.MAX_CONFIG_BYTES
    (tmp_path / "big.yaml").write_text("name: " + "x" * limit + "\n")
    (tmp_path / "big.json").write_text('{"name": "' + "x" * limit + '"}')
    (tmp_path / "at_limit.yaml").write_text("name: " + "x" * (limit - 7) + "\n")  # exactly the limit
    assert _refused(Job.from_yaml, tmp_path / "big.yaml") == "larger than 1 MiB: not a configuration file"
    assert _refused(Job.from_json, tmp_path / "big.json") == "larger than 1 MiB: not a configuration file"
    assert (tmp_path / "at_limit.yaml").stat().st_size == limit
    assert len(Job.from_yaml(tmp_path / "at_limit.yaml").name) == limit - 7


def test_a_large_yaml_is_parsed_by_libyaml_quickly(tmp_path):
    # A 900 KB document of long lists (fuzz input yaml:807): pure-Python PyYAML took over 10 s.
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML built without libyaml")
    points = ", ".join(["[0.0, 0.0]"] * 75_000)
    (tmp_path / "long.yaml").write_text(f"extra: {{x: [{points}]}}\n")
    assert 800_000 < (tmp_path / "long.yaml").stat().st_size < config_module.MAX_CONFIG_BYTES
    # libyaml, not pure Python, reads it (0.2-0.3 s against over 10 s; the time itself is the fuzz harness's to
    # watch: under a loaded machine a bound of 6 s here failed with libyaml in use, session 62)
    assert config_module.YAML_LOADER is yaml.CSafeLoader
    problem = _refused(Job.from_yaml, tmp_path / "long.yaml")  # 225,001 values: more than any configuration
    assert problem.startswith("more than")


def test_updated_lays_values_over_an_instance_nested_key_by_key():
    base = Job(steps=5, blur=Blur(sigma=(2.0, 2.0), weights={1: 1.0}))
    changed = base.updated({"mode": "exact", "blur": {"sigma": [3, 4]}})
    assert changed.steps == 5 and changed.mode == "exact"
    assert changed.blur == Blur(sigma=(3.0, 4.0), weights={1: 1.0})  # weights kept from base, not the default
    assert base.mode == "fast" and base.blur.sigma == (2.0, 2.0)  # the original is unchanged


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser, Job)
    return parser.parse_args(argv)


def test_every_field_but_nested_configs_is_a_flag():
    parser = argparse.ArgumentParser()
    add_arguments(parser, Job)
    flags = {option for action in parser._actions for option in action.option_strings}
    assert {"--name", "--mode", "--views", "--steps", "--rate", "--fold", "--verbose", "--no-verbose",
            "--extra", "-x"} <= flags
    assert not any("blur" in flag for flag in flags)
    assert "--mode {fast,exact}" in parser.format_help() and "what the job is called" in parser.format_help()


def test_flags_override_values_which_override_defaults():
    args = _parse(["--steps", "7", "--views", "post,ant", "--no-verbose", "-x", "width=8", "-x", "rmp=true"])
    job = from_args(Job, args, {"steps": 3, "rate": 0.25, "verbose": True, "extra": {"depth": 2}})
    assert job.steps == 7 and job.rate == 0.25 and job.name == "job"  # flag > values > default
    assert job.views == ["POST", "ANT"] and job.verbose is False
    assert job.extra == {"depth": 2, "width": 8, "rmp": True}  # KEY=VALUE pairs are added to the mapping
    assert vars(_parse([])) == {}  # flags not given stay out of the namespace


def test_bad_flag_values_name_the_flag():
    with pytest.raises(ScintisegError, match="^--steps: expected an integer"):
        from_args(Job, _parse(["--steps", "2.5"]))
    with pytest.raises(ScintisegError, match="^--extra expects KEY=VALUE"):
        from_args(Job, _parse(["--extra", "width"]))
    with pytest.raises(SystemExit):  # a choice argparse knows is refused by argparse itself
        _parse(["--mode", "slow"])


def test_parse_key_values_reads_yaml_scalars():
    assert parse_key_values(["a=1", "b=true", "c=x", "d=", "e=0.5"], "--set") == {
        "a": 1, "b": True, "c": "x", "d": None, "e": 0.5}
    # Text YAML cannot read stays text (PyYAML raised ValueError for an impossible date, KeyError for a bad bool).
    assert parse_key_values(["f=2001-13-45", "g=!!bool maybe", "h=[1,"], "--set") == {
        "f": "2001-13-45", "g": "!!bool maybe", "h": "[1,"}


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [("3", int, 3), (2, float, 2.0), ("no", bool, False), ("1", bool, True), ("Yes", bool, True), ("0", bool, False),
     (None, int | None, None), ("None", int | None, None), ("NULL", str | None, None), ("7", int | None, 7),
     ([1, 2], tuple[float, ...], (1.0, 2.0)), (["a"], list[str], ["a"]), ({"1": 2}, dict[int, float], {1: 2.0})],
)
def test_coerce(value, annotation, expected):
    result = coerce(value, annotation)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("value", "annotation"), [(True, int), ("maybe", bool), (1.5, int), ("x", list[str])])
def test_coerce_refuses(value, annotation):
    with pytest.raises((TypeError, ValueError)):
        coerce(value, annotation)


def test_phantom_config_json_written_before_the_base_loads_back_equal(tmp_path):
    from scintiseg.phantom.config import profile

    config = profile("small")
    # the way write_cohort stored phantom_config.json before the config base existed
    (tmp_path / "phantom_config.json").write_text(json.dumps(asdict(config), indent=1) + "\n")
    assert type(config).from_json(tmp_path / "phantom_config.json") == config
    config.save_json(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "phantom_config.json").read_bytes()


@pytest.mark.parametrize(
    "module",
    ["scintiseg.config", "scintiseg.train.config", "scintiseg.gan.config", "scintiseg.phantom.config",
     "scintiseg.cli.train", "scintiseg.cli.gan", "scintiseg.cli.phantom", "scintiseg.cli.experiment"],
)
def test_configs_and_their_commands_import_no_torch(module):
    code = f"import sys, {module}; print(sorted({{'torch', 'monai', 'matplotlib'}} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@dataclass
class Run(Config):
    """A command's settings: flags spelled otherwise, without a flag, told by argparse, repeated, said as flags."""

    kind: ClassVar[str] = "run settings"
    said_as_flags: ClassVar[bool] = True

    out: str = option("runs/x", parse=config_module.path_text, help="output folder")
    min_area_px: int = option(4, flags=("--min-area",), help="smallest area")
    window: str | None = option(None, choices=("whole", "thoracic"), default_help="the model's own", help="where")
    lr: float = option(1e-3, help="learning rate")
    seed: int = option(0, help="the seed")
    boxes: list[str] = option(default_factory=list, repeat=True, metavar="DIR", help="box folders")
    progress: bool = option(True, flags=())


def _run_parser(**kwargs) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_arguments(parser, Run, **kwargs)
    return parser


def test_flags_spelled_otherwise_left_out_repeated_and_described():
    parser = _run_parser()
    flags = {option for action in parser._actions for option in action.option_strings}
    assert {"--out", "--min-area", "--window", "--lr", "--seed", "--boxes"} <= flags
    assert not {"--min-area-px", "--progress", "--no-progress"} & flags  # flags=(): no flag
    text = " ".join(parser.format_help().split())
    assert "--min-area MIN_AREA" in text and "--boxes DIR" in text  # the value named after the flag, or as told
    # a choice field shows its choices as argparse does, in the usage line and beside the flag, not again in the text
    assert "[--window {whole,thoracic}]" in text and "--window {whole,thoracic} where (default: the model's own)" in text
    args = parser.parse_args(["--min-area", "9", "--boxes", "a,b", "--boxes", "c", "--out", "runs/y/"])
    run = from_args(Run, args, {"progress": False})  # a field without a flag takes its value from the command
    assert (run.min_area_px, run.boxes, run.out, run.progress) == (9, ["a,b", "c"], "runs/y", False)


def test_an_optional_field_takes_none_whatever_its_choices():
    assert Run().window is None and Run(window="whole").window == "whole"
    with pytest.raises(ScintisegError, match=r"^--window must be one of whole, thoracic, got 'chest'$"):
        Run(window="chest")
    with pytest.raises(ScintisegError, match="mode must be one of fast, exact, got None"):
        Job(mode=None)  # a field that may not be None still may not


def test_said_as_flags_names_each_field_by_its_flag():
    with pytest.raises(ScintisegError, match=r"^--lr must be a finite number, got nan$"):
        Run(lr=float("nan"))
    with pytest.raises(ScintisegError, match=r"^--seed must be a whole number from 0 to 4294967295, got -1$"):
        Run(seed=-1)


def test_a_value_refused_by_the_checks_can_be_named_by_the_flag_that_gave_it():
    with pytest.raises(ScintisegError) as error:
        from_args(Job, _parse(["--steps", "0"]), name_flags=True)
    assert str(error.value) == "--steps must be >= 1, got 0"
    with pytest.raises(ScintisegError) as error:  # given by the file, not a flag: named as the file names it
        from_args(Job, _parse([]), {"steps": 0}, path="job.yaml", name_flags=True)
    assert str(error.value) == "job.yaml: steps must be >= 1, got 0"
    with pytest.raises(ScintisegError) as error:  # by default named as the configuration names it (train, gan)
        from_args(Job, _parse(["--steps", "0"]))
    assert str(error.value) == "steps must be >= 1, got 0"


def test_typed_flags_are_converted_by_argparse(capsys):
    with pytest.raises(SystemExit):
        _run_parser(typed=True).parse_args(["--min-area", "2.5"])
    assert "argument --min-area: invalid int value: '2.5'" in capsys.readouterr().err
    args = _run_parser(typed=True).parse_args(["--min-area", "3", "--lr", "0.5"])
    assert (args.min_area_px, args.lr) == (3, 0.5) and from_args(Run, args) == Run(min_area_px=3, lr=0.5)
    with pytest.raises(ScintisegError, match="^--min-area: expected an integer"):  # untyped: from_args converts
        from_args(Run, _run_parser().parse_args(["--min-area", "2.5"]))

    def even(text: str) -> int:
        if int(text) % 2:
            raise argparse.ArgumentTypeError(f"not even: {text}")
        return int(text)

    with pytest.raises(SystemExit):
        _run_parser(types={"seed": even}).parse_args(["--seed", "3"])
    assert "argument --seed: not even: 3" in capsys.readouterr().err


def test_reading_the_configuration_module_imports_no_yaml_or_numpy():
    """``predict --help`` builds flags from a configuration: PyYAML and scintiseg.io (NumPy) come on first use."""
    code = ("import json, sys, scintiseg.config as c; before = sorted({'yaml', 'numpy'} & set(sys.modules)); "
            "loader = c.YAML_LOADER.__name__; print(json.dumps([before, 'yaml' in sys.modules, loader]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[], True, "CSafeLoader" if yaml.__with_libyaml__ else "SafeLoader"]


@dataclass
class _Augmented(Config):
    augment: str = option("none", choices=("none", "flip", "flip,noise"), help="what is drawn")


def test_a_choice_holding_a_comma_keeps_its_name_and_is_listed_in_the_text():
    parser = argparse.ArgumentParser()
    add_arguments(parser, _Augmented)
    text = " ".join(parser.format_help().split())
    assert "--augment AUGMENT" in text and "(one of none, flip, flip,noise; default: none)" in text
    assert "{none,flip,flip,noise}" not in text  # braces would hide where one choice ends
