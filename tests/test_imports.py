"""The import rule of docs/architecture.md: internal imports sit at module level, so the dependency graph
that import-linter checks is what the code says; a function-level one is for start-up time only, and says
so with a ``# lazy: ...`` comment."""

import ast
from pathlib import Path

import scintiseg

PACKAGE = Path(scintiseg.__file__).parent


def _function_level_internal_imports() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                internal = (isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("scintiseg")) or (
                    isinstance(inner, ast.Import) and any(alias.name.startswith("scintiseg") for alias in inner.names))
                if internal:
                    text = " ".join(lines[inner.lineno - 1 : inner.end_lineno])
                    found.append((path.relative_to(PACKAGE).as_posix(), inner.lineno, text))
    return found


def test_every_function_level_internal_import_says_why():
    unmarked = [f"{file}:{line}: {text.strip()}" for file, line, text in _function_level_internal_imports()
                if "# lazy" not in text]
    assert not unmarked, "function-level imports without a '# lazy: <reason>' comment:\n" + "\n".join(unmarked)


def test_the_check_sees_the_lazy_imports_that_exist():
    # scintiseg.train loads its training loop on first use (torch stays out of `scintiseg train --help`)
    assert any(file == "train/__init__.py" for file, _, _ in _function_level_internal_imports())
