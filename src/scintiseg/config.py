"""One small base for typed configurations: dataclasses read from a dict, YAML or JSON, validated, as CLI flags.

A configuration is a ``@dataclass`` subclass of :class:`Config`. Its fields carry what a reader, the
validator and the command line need in ``dataclasses.field`` metadata, written with :func:`option`:

- ``help``: one line for ``--help``;
- ``choices``: the allowed values (of each item, for a list field), checked by :meth:`Config.validate`;
- ``flags``: the command-line spellings (default ``--field-name``; ``()``: no flag, a setting that only a file, the
  API or a flag the command writes itself sets);
- ``parse``: how a flag's text becomes the value (default: the field type, lists split at commas);
- ``metavar``: the value's name in ``--help`` (default: the flag's name in capitals);
- ``default_help``: what ``--help`` says the default is where the value alone does not say it (a ``None`` that
  means "the model's own");
- ``repeat``: a list field's flag is given once per item (``--boxes A --boxes B``), for items that may hold commas.

Two rules hold for every configuration (:meth:`Config.validate`): no number is NaN or infinite (YAML reads ``.inf``
and ``.nan``, Python's ``float()`` reads ``inf`` and ``nan`` from a flag: a learning rate of ``inf`` passed every
``> 0`` check and trained on NaN losses), and a field named ``seed`` is a whole number from 0 to 2**32 - 1
(:func:`scintiseg.seeds.check_seed`; NumPy's generators refuse a negative seed with a traceback). A field that may be
``None`` takes ``None`` whatever its choices ("not set": the model's own window).

:meth:`Config.from_dict` converts values to the field types (YAML and flags both give strings where a
number is meant) and refuses unknown keys with one line that names the keys and the file; a field whose
type is itself a :class:`Config` takes a nested mapping. :func:`add_arguments` adds one flag per field
to an ``argparse`` parser and :func:`from_args` resolves defaults < a mapping (a ``--config`` file) <
the flags given (with ``name_flags``, a value the configuration's checks refuse is named by the flag that gave it).

Example::

    @dataclass
    class BlurConfig(Config):
        kind: ClassVar[str] = "blur config"
        sigma: float = option(1.0, help="Gaussian sigma in pixels")
        mode: str = option("reflect", choices=("reflect", "nearest"), help="border handling")

    parser = argparse.ArgumentParser()
    add_arguments(parser, BlurConfig)
    config = from_args(BlurConfig, parser.parse_args(["--sigma", "2"]))
    config.save_yaml("run/blur.yaml")
    assert BlurConfig.from_yaml("run/blur.yaml") == config
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from scintiseg.errors import ScintisegError
from scintiseg.seeds import check_seed

if TYPE_CHECKING:
    from pathlib import Path

    import yaml

ConfigT = TypeVar("ConfigT", bound="Config")

#: Largest configuration file read (YAML or JSON), in bytes. A configuration is a few KB (the phantom's,
#: the largest, is 1.7 KB as JSON; a training configuration 0.5 KB as YAML): 1 MiB is 600 times that,
#: so no configuration comes near it, while it bounds what a hostile file costs to parse before the checks
#: below run (libyaml, at worst 1 MiB of one-character values: a few seconds on a busy 2-core machine).
MAX_CONFIG_BYTES = 1 << 20
#: Deepest nesting read (a configuration nests three or four levels: config, nested config, mapping, list).
#: Consumers of the values recurse; PyYAML's pure-Python composer and the json decoder do as well.
MAX_CONFIG_DEPTH = 100
#: Most values (scalars, lists, mappings) a document may hold, a YAML alias counted each time it repeats:
#: refuses an alias bomb ("billion laughs": 9 levels of 9 aliases name 387 million strings in 600 bytes)
#: before anything expands it. A configuration holds a few hundred values.
MAX_CONFIG_VALUES = 100_000
#: libyaml's safe loader when PyYAML was built with it: C, tens of times faster than the pure-Python
#: ``SafeLoader`` it falls back to (the fuzz run's 900 KB documents: 0.2-0.3 s against more than 10 s). Set on first
#: use (:func:`__getattr__`): PyYAML is imported by what reads or writes YAML, not by a command's ``--help``.
YAML_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader]


def __getattr__(name: str) -> Any:
    """:data:`YAML_LOADER` on first use (PEP 562)."""
    if name == "YAML_LOADER":
        return _yaml_loader()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _yaml_loader() -> type[yaml.SafeLoader] | type[yaml.CSafeLoader]:
    """:data:`YAML_LOADER`: the one set (a test sets the pure-Python one), else libyaml's where PyYAML has it."""
    loader = globals().get("YAML_LOADER")
    if loader is None:
        import yaml  # lazy: start-up time (predict --help builds its flags from a configuration, and reads no YAML)

        loader = globals()["YAML_LOADER"] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


def option(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    help: str = "",
    choices: Sequence[Any] | None = None,
    flags: Sequence[str] | None = None,
    parse: Callable[[str], Any] | None = None,
    metavar: str | None = None,
    default_help: str | None = None,
    repeat: bool = False,
) -> Any:
    """A configuration field: ``dataclasses.field`` with the metadata of the module docstring."""
    metadata: dict[str, Any] = {"help": help}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    if flags is not None:
        metadata["flags"] = tuple(flags)
    if parse is not None:
        metadata["parse"] = parse
    if metavar is not None:
        metadata["metavar"] = metavar
    if default_help is not None:
        metadata["default_help"] = default_help
    if repeat:
        metadata["repeat"] = True
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


class Config:
    """Base of the typed configurations; subclasses are dataclasses (see the module docstring).

    Validation runs on construction, so an instance always holds possible values; subclasses extend
    :meth:`validate` with their other checks (ranges, combinations) after ``super().validate()``.
    """

    #: What the configuration is called in error messages ("unknown gan config keys: ...").
    kind: ClassVar[str] = "configuration"
    #: Keys an earlier version wrote, and the field each is read as now (a file or checkpoint written before a
    #: field was renamed still loads, its value meaning what it meant then).
    renamed: ClassVar[dict[str, str]] = {}
    #: Whether :meth:`validate`'s messages name a field by its flag (``--batch-size must be a finite number``), for a
    #: configuration a person sets as a command's flags (the demo's), rather than by its name.
    said_as_flags: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ScintisegError` naming the first field whose value is not one of its choices, a number that
        is NaN or infinite, or a seed out of range (module docstring)."""
        for item in dataclasses.fields(self):
            choices = item.metadata.get("choices")
            value = getattr(self, item.name)
            values = value if isinstance(value, (list, tuple)) else [value]
            name = _flags(item)[0] if self.said_as_flags else item.name
            if any(isinstance(v, float) and not math.isfinite(v) for v in values):
                raise ScintisegError(f"{name} must be a finite number, got {value!r}")
            if item.name == "seed":
                check_seed(value, name)
            if choices is None or (value is None and _may_be_none(type(self), item.name)):
                continue
            if any(v not in choices for v in (value if isinstance(value, list) else [value])):
                raise ScintisegError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-able dict of every field (nested configurations as nested dicts)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[ConfigT], data: Mapping[str, Any], path: str | Path | None = None) -> ConfigT:
        """Build from a mapping over the defaults, converting values to the field types.

        Args:
            data: field name -> value; a nested configuration takes a nested mapping (missing keys keep
                their defaults).
            path: the file ``data`` came from, named in every error.

        Raises:
            ScintisegError: an unknown key, a value of the wrong type, or an impossible value.
        """
        return cls._build(data, None, path, "", cls.kind)

    def updated(self: ConfigT, data: Mapping[str, Any], path: str | Path | None = None) -> ConfigT:
        """A validated copy with the values of ``data`` laid over this one (nested mappings key by key)."""
        return type(self)._build(data, self, path, "", self.kind)

    @classmethod
    def from_yaml(cls: type[ConfigT], path: str | Path) -> ConfigT:
        """Read a configuration written by :meth:`save_yaml` (or by hand)."""
        return cls.from_dict(read_yaml(path), path=path)

    def save_yaml(self, path: str | Path) -> None:
        """Write the configuration atomically as YAML, fields in declaration order."""
        import yaml  # lazy: start-up time (YAML_LOADER)

        from scintiseg.io.atomic import write_text_atomic  # lazy: start-up time (scintiseg.io reads DICOM: NumPy)

        write_text_atomic(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_json(cls: type[ConfigT], path: str | Path) -> ConfigT:
        """Read a configuration written by :meth:`save_json`."""
        from pathlib import Path  # lazy: start-up time (predict --help builds its flags from a configuration)

        path = Path(path)
        text = _read_config_text(path)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ScintisegError(f"malformed JSON ({exc})", path=path) from None
        except RecursionError:  # the json decoder recurses once per level
            raise ScintisegError("nested too deeply to read: not a configuration", path=path) from None
        _check_document(data, _json_children, path)
        return cls.from_dict(data, path=path)

    def save_json(self, path: str | Path) -> None:
        """Write the configuration atomically as indented JSON."""
        from scintiseg.io.atomic import write_text_atomic  # lazy: start-up time (scintiseg.io reads DICOM: NumPy)

        write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def _renamed_keys(cls, data: Mapping[str, Any], path: str | Path | None, where: str, kind: str
                      ) -> Mapping[str, Any]:
        """``data`` with each of :attr:`renamed`'s earlier keys under the field it is read as now; an error where
        a mapping gives both names of one field."""
        if not any(old in data for old in cls.renamed):
            return data
        renamed = dict(data)
        for old, new in cls.renamed.items():
            if old in renamed:
                if new in renamed:
                    raise ScintisegError(f"{kind} keys {where + old!r} and {where + new!r} both given: {old!r} is the "
                                         f"earlier name of {new!r}", path=path)
                renamed[new] = renamed.pop(old)
        return renamed

    @classmethod
    def _build(cls: type[ConfigT], data: Any, base: Config | None, path: str | Path | None, where: str,
               kind: str) -> ConfigT:
        """``from_dict`` (``base`` None) or ``updated``.

        ``where`` prefixes nested keys (``camera.``) and ``kind`` is the outermost configuration's, so
        an error names the key as the file spells it.
        """
        if not isinstance(data, Mapping):
            what = f"{kind} key {where[:-1]!r}" if where else f"a {kind}"
            raise ScintisegError(f"{what} must be a mapping, got {type(data).__name__}", path=path)
        names = [item.name for item in dataclasses.fields(cls) if item.init]
        data = cls._renamed_keys(data, path, where, kind)
        unknown = sorted(str(key) for key in set(data) - set(names))
        if unknown:
            raise ScintisegError(f"unknown {kind} keys: {', '.join(where + key for key in unknown)}", path=path)
        hints = typing.get_type_hints(cls)
        values = {} if base is None else {name: getattr(base, name) for name in names}
        for key, value in data.items():
            hint = hints[key]
            if isinstance(hint, type) and issubclass(hint, Config):
                nested = None if base is None else getattr(base, key)
                values[key] = hint._build(value, nested, path, f"{where}{key}.", kind)
                continue
            try:
                values[key] = coerce(value, hint)
            except (TypeError, ValueError) as exc:
                raise ScintisegError(f"{kind} key {where + key!r}: {exc}", path=path) from None
        try:
            return cls(**values)
        except ScintisegError as exc:
            raise ScintisegError(exc.problem, path=path) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; one :class:`ScintisegError` naming the file for anything that is not one.

    The file is refused unread above :data:`MAX_CONFIG_BYTES`, refused when it is not UTF-8, and its
    document is checked (:data:`MAX_CONFIG_DEPTH`, :data:`MAX_CONFIG_VALUES`, aliases counted each
    time they repeat) after composing and before constructing, so an alias bomb is never expanded.
    """
    from pathlib import Path  # lazy: start-up time (predict --help builds its flags from a configuration)

    import yaml  # lazy: start-up time (YAML_LOADER)

    path = Path(path)
    loader = _yaml_loader()(_read_config_text(path))
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_document(node, _yaml_children, path)
        try:
            data = None if node is None else loader.construct_document(node)
        except (ValueError, LookupError, AttributeError, TypeError) as exc:
            # PyYAML's scalar constructors let these escape on values they cannot read: "!!float abc",
            # "2001-13-45" (a timestamp), "!!bool maybe" (KeyError), "!!int" (IndexError), "!!timestamp x".
            raise ScintisegError(f"malformed YAML (cannot read a value: {exc})", path=path) from None
    except yaml.YAMLError as exc:
        raise ScintisegError(f"malformed YAML ({' '.join(str(exc).split())})", path=path) from None
    except RecursionError:  # the pure-Python composer recurses once per level, before the depth check
        raise ScintisegError("nested too deeply to read: not a configuration", path=path) from None
    finally:
        loader.dispose()
    data = data or {}
    if not isinstance(data, dict):
        raise ScintisegError("a configuration file must hold a mapping", path=path)
    return data


def _read_config_text(path: Path) -> str:
    """The UTF-8 text of a configuration file of at most :data:`MAX_CONFIG_BYTES` (larger: refused unread)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ScintisegError(f"cannot read configuration ({exc.strerror})", path=path) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ScintisegError(f"larger than {MAX_CONFIG_BYTES >> 20} MiB: not a configuration file", path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScintisegError(f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})", path=path) from None


def _yaml_children(node: yaml.Node) -> Sequence[yaml.Node]:
    if node.id == "mapping":  # a yaml.MappingNode (told by its id: PyYAML is imported on first use, YAML_LOADER)
        return [item for pair in node.value for item in pair]
    if node.id == "sequence":  # a yaml.SequenceNode
        return node.value
    return ()


def _json_children(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return value.values()  # JSON keys are strings
    if isinstance(value, list):
        return value
    return ()


def _check_document(root: Any, children: Callable[[Any], Iterable[Any]], path: Path) -> None:
    """Refuse a document deeper than :data:`MAX_CONFIG_DEPTH` or with more than :data:`MAX_CONFIG_VALUES` values.

    Walks the tree as if every alias were expanded (a YAML alias is the node it names, reached again),
    iteratively, and stops at the first limit crossed: a bomb costs at most ``MAX_CONFIG_VALUES`` steps
    and a recursive alias (``&a [*a]``) ends at the depth limit.
    """
    count = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_CONFIG_VALUES:
            raise ScintisegError(
                f"more than {MAX_CONFIG_VALUES:,} values (an alias counts each time it repeats): not a configuration",
                path=path,
            )
        if depth > MAX_CONFIG_DEPTH:
            raise ScintisegError(f"nested more than {MAX_CONFIG_DEPTH} levels deep: not a configuration", path=path)
        stack.extend((child, depth + 1) for child in children(node))


def coerce(value: Any, annotation: Any) -> Any:
    """Convert ``value`` (from YAML, JSON or a CLI string) to the field type ``annotation``.

    Handles ``X | None``, ``bool``, ``int``, ``float``, ``str``, ``dict[K, V]``, ``list[X]`` and
    ``tuple[X, ...]`` / ``tuple[X, Y]`` (JSON and YAML store tuples as lists); other types pass through.
    """
    args = typing.get_args(annotation)
    if type(None) in args:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        annotation = next(a for a in args if a is not type(None))
        args = typing.get_args(annotation)
    origin = typing.get_origin(annotation) or annotation
    if origin is dict:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a mapping, got {value!r}")
        key_type, value_type = args or (Any, Any)
        return {coerce(k, key_type): coerce(v, value_type) for k, v in value.items()}
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list, got {value!r}")
        if origin is list:
            return [coerce(v, args[0] if args else Any) for v in value]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0]) for v in value)
        if args and len(args) != len(value):
            raise ValueError(f"expected {len(args)} values, got {value!r}")
        return tuple(coerce(v, a) for v, a in zip(value, args or [Any] * len(value)))
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError(f"expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected an integer, got {value!r}") from None
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {value!r}") from None
    if annotation is str:
        return "" if value is None else str(value)
    return value


def parse_key_values(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """Repeated ``KEY=VALUE`` flags (``flag`` names them in errors) -> dict of YAML-typed values.

    ``["pooling=fusion", "rmp=true", "width=16"]`` -> ``{"pooling": "fusion", "rmp": True, "width": 16}``:
    values are read as YAML scalars, so numbers, booleans and ``null`` get their types.
    """
    import yaml  # lazy: start-up time (YAML_LOADER)

    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ScintisegError(f"{flag} expects KEY=VALUE, got {item!r}")
        try:
            parsed[key.strip()] = yaml.load(text, Loader=_yaml_loader()) if text.strip() else None
        except (yaml.YAMLError, ValueError, LookupError, AttributeError, TypeError):  # read_yaml says why
            parsed[key.strip()] = text
    return parsed


def _flag_fields(config_class: type[Config]) -> list[tuple[dataclasses.Field, Any]]:
    """(field, type) of every field that is a flag: all but nested configurations and fields of ``flags=()``."""
    hints = typing.get_type_hints(config_class)
    return [
        (item, hints[item.name])
        for item in dataclasses.fields(config_class)
        if item.init and item.metadata.get("flags") != ()
        and not (isinstance(hints[item.name], type) and issubclass(hints[item.name], Config))
    ]


def _flags(item: dataclasses.Field) -> tuple[str, ...]:
    return item.metadata.get("flags") or ("--" + item.name.replace("_", "-"),)


def _default(item: dataclasses.Field) -> Any:
    return item.default_factory() if item.default is dataclasses.MISSING else item.default


def _may_be_none(config_class: type[Config], name: str) -> bool:
    """Whether field ``name``'s type is ``X | None``."""
    return type(None) in typing.get_args(typing.get_type_hints(config_class)[name])


def path_text(text: str) -> str:
    """A path flag's text as :class:`pathlib.Path` spells it (``runs/demo/`` -> ``runs/demo``): ``parse`` for a
    ``str`` field that a hand-written ``type=Path`` flag set before."""
    from pathlib import Path  # lazy: start-up time (predict --help builds its flags from a configuration)

    return str(Path(text))


def _number_type(hint: Any) -> type | None:
    """``int`` or ``float`` for a field of that type (``X | None`` included), else None."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] if type(None) in typing.get_args(hint) else [hint]
    return args[0] if len(args) == 1 and args[0] in (int, float) else None


def add_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config_class: type[Config],
    *,
    typed: bool = False,
    types: Mapping[str, Callable[[str], Any]] | None = None,
) -> None:
    """Add one flag per field of ``config_class`` (``--field-name``; default: not given).

    Flags left out of the command line are absent from the parsed namespace, so :func:`from_args`
    can lay the given ones over defaults and a configuration file. A ``bool`` field gets
    ``--name / --no-name``; a ``dict`` field is a repeatable ``KEY=VALUE`` flag whose pairs are added to
    the mapping; a ``list`` field takes comma-separated items (one item per flag with ``repeat``).

    Args:
        parser: the parser or argument group.
        config_class: the configuration whose fields become flags.
        typed: argparse converts the text of each ``int`` or ``float`` flag (``X | None`` too) as it parses the
            command line, so a value that is no number is argparse's usage error naming the flag, as with a
            hand-written ``type=int``; without it :func:`from_args` converts it (a :class:`ScintisegError`).
        types: argparse types of some fields' flags, over ``typed`` (``{"seed": scintiseg.cli.arguments.seed}``).
    """
    for item, hint in _flag_fields(config_class):
        origin = typing.get_origin(hint) or hint
        default = _default(item)
        choices = item.metadata.get("choices")
        metavar = item.metadata.get("metavar")
        # a single-valued choice field without its own metavar shows its choices as argparse does ({a,b}), in the
        # usage line and beside the flag, so the help text need not list them again; not where a choice holds a comma
        # ({none,translation,cutout,translation,cutout} would hide where one ends)
        shows_choices = (bool(choices) and origin is not list and hint is not bool and metavar is None
                         and not any("," in str(choice) for choice in choices))
        known = (f"{'each ' if origin is list else ''}one of {', '.join(map(str, choices))}; "
                 if choices and not shows_choices else "")
        shown = ",".join(map(str, default)) if origin is list else default
        shown = item.metadata.get("default_help", shown)
        text = f"{item.metadata.get('help') or item.name.replace('_', ' ')} ({known}default: {shown})".replace("%", "%%")
        flags = _flags(item)
        if hint is bool:
            parser.add_argument(*flags, dest=item.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=text)
        elif origin is dict:
            parser.add_argument(*flags, dest=item.name, action="append", default=argparse.SUPPRESS,
                                metavar=metavar or "KEY=VALUE", help=text)
        elif origin is list and item.metadata.get("repeat"):
            parser.add_argument(*flags, dest=item.name, action="append", default=argparse.SUPPRESS,
                                metavar=metavar or "ITEM", help=text)
        elif origin is list:
            parser.add_argument(*flags, dest=item.name, default=argparse.SUPPRESS,
                                metavar=metavar or ",".join(map(str, default)) or "ITEM,...", help=text)
        else:
            kind = (types or {}).get(item.name) or (_number_type(hint) if typed else None)
            parser.add_argument(*flags, dest=item.name, default=argparse.SUPPRESS, choices=choices, help=text,
                                metavar=None if shows_choices else metavar or flags[0].lstrip("-").replace("-", "_").upper(),
                                **({"type": kind} if kind else {}))


def from_args(
    config_class: type[ConfigT],
    args: argparse.Namespace,
    values: Mapping[str, Any] | None = None,
    path: str | Path | None = None,
    *,
    name_flags: bool = False,
) -> ConfigT:
    """Resolve a configuration: defaults < ``values`` (e.g. a ``--config`` file) < the flags given.

    Args:
        config_class: the class whose flags :func:`add_arguments` added.
        args: the parsed command line.
        values: field values under the flags (a configuration file, a preset).
        path: the file ``values`` came from, named in errors.
        name_flags: an impossible value's message that begins with the name of a field a flag gave begins with the
            flag instead (``--min-area must be at least 1``, not ``min_area_px must ...``).

    Raises:
        ScintisegError: a flag value of the wrong type (naming the flag), an unknown key in ``values``
            or an impossible value.
    """
    merged = dict(values or {})
    given = vars(args)
    flags = {}
    for item, hint in _flag_fields(config_class):
        if item.name not in given:
            continue
        flag, raw = _flags(item)[0], given[item.name]
        flags[item.name] = flag
        origin = typing.get_origin(hint) or hint
        try:
            if origin is dict:
                merged[item.name] = {**(merged.get(item.name) or {}), **parse_key_values(raw, flag)}
            elif not isinstance(raw, str) and origin is not list:  # converted by argparse (add_arguments' types)
                merged[item.name] = coerce(raw, hint)
            elif origin is list and item.metadata.get("repeat"):  # one item per flag given
                parse = item.metadata.get("parse") or (lambda text: text)
                merged[item.name] = coerce([parse(text) for text in raw], hint)
            elif "parse" in item.metadata:
                merged[item.name] = item.metadata["parse"](raw)
            elif origin is list:
                merged[item.name] = coerce([part.strip() for part in raw.split(",") if part.strip()], hint)
            else:
                merged[item.name] = coerce(raw, hint)
        except (TypeError, ValueError) as exc:
            raise ScintisegError(f"{flag}: {exc}") from None
    try:
        return config_class.from_dict(merged, path=path)
    except ScintisegError as exc:
        name, space, rest = exc.problem.partition(" ")
        if not (name_flags and space and name in flags):
            raise
        raise ScintisegError(f"{flags[name]} {rest}", path=exc.path) from None
