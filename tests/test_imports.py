"""The import rule of docs/architecture.md: internal imports sit at module level, so the dependency graph
that import-linter checks is what the code says; a function-level one is for start-up time only, and says
so with a ``# lazy: ...`` comment.

The scripts beside the package (``benchmarks/``, ``scripts/``) keep the same rule for every import, their
own libraries' included: nothing checks their graph, and a reader of a script should see what it needs at
its top."""

import ast
from collections.abc import Callable, Iterable
from pathlib import Path

import scintiseg

PACKAGE = Path(scintiseg.__file__).parent
REPO = Path(__file__).resolve().parents[1]
#: Folders of scripts (not packages) whose every function-level import says why.
SCRIPT_FOLDERS = ("benchmarks", "scripts")


def _internal(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").startswith("scintiseg")
    return any(alias.name.startswith("scintiseg") for alias in node.names)


def _function_level_imports(files: Iterable[Path], base: Path,
                            checked: Callable[[ast.Import | ast.ImportFrom], bool]) -> list[tuple[str, int, str]]:
    """``(file relative to base, line, statement text)`` of every ``checked`` import inside a function."""
    found = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        inside: dict[int, ast.Import | ast.ImportFrom] = {}  # by line: a nested function's import is walked twice
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside.update((inner.lineno, inner) for inner in ast.walk(node)
                              if isinstance(inner, (ast.Import, ast.ImportFrom)) and checked(inner))
        for line, inner in sorted(inside.items()):
            text = " ".join(lines[line - 1 : inner.end_lineno])
            found.append((path.relative_to(base).as_posix(), line, text))
    return found


def _function_level_internal_imports() -> list[tuple[str, int, str]]:
    return _function_level_imports(sorted(PACKAGE.rglob("*.py")), PACKAGE, _internal)


def _function_level_script_imports() -> list[tuple[str, int, str]]:
    files = sorted(path for folder in SCRIPT_FOLDERS for path in (REPO / folder).glob("*.py"))
    return _function_level_imports(files, REPO, lambda node: True)


def _unmarked(found: list[tuple[str, int, str]]) -> list[str]:
    return [f"{file}:{line}: {text.strip()}" for file, line, text in found if "# lazy" not in text]


def test_every_function_level_internal_import_says_why():
    unmarked = _unmarked(_function_level_internal_imports())
    assert not unmarked, "function-level imports without a '# lazy: <reason>' comment:\n" + "\n".join(unmarked)


def test_every_function_level_import_of_a_script_says_why():
    unmarked = _unmarked(_function_level_script_imports())
    assert not unmarked, "function-level imports without a '# lazy: <reason>' comment:\n" + "\n".join(unmarked)


def test_the_check_sees_the_lazy_imports_that_exist():
    # scintiseg.train loads its training loop on first use (torch stays out of `scintiseg train --help`)
    assert any(file == "train/__init__.py" for file, _, _ in _function_level_internal_imports())
    # the start-up benchmark loads the phantom only where the real NM1 scan is missing
    assert any(file == "benchmarks/bench_startup.py" for file, _, _ in _function_level_script_imports())


def test_a_lazy_package_lists_the_names_it_imports_on_first_use():
    """The packages that import their names on first use (PEP 562) still list them (tab completion, ``help()``)."""
    import importlib

    for name in ("scintiseg", "scintiseg.phantom", "scintiseg.predict", "scintiseg.train"):
        package = importlib.import_module(name)
        assert set(package.__all__) <= set(dir(package)), name
