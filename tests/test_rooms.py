"""Rooms a person can hold (issue 11): no function in cnncalc/ over 60 lines. Complexity is
ruff's C901 (max-complexity 15 in pyproject.toml), which tests/test_lint.py runs; the export's
stricter measure is in tests/test_export_rooms.py. The pipeline shows in the file names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cnncalc

PACKAGE = Path(cnncalc.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 60


def _long_functions(text: str, limit: int = MAX_LINES) -> list[str]:
    return [
        f"{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_is_over_60_lines(path):
    assert _long_functions(path.read_text()) == []


def test_the_length_measure_finds_a_long_function():
    text = "def f():\n" + "    x = 1\n" * 60 + "\ndef g():\n    pass\n"
    assert _long_functions(text) == ["1 f: 61 lines"]


def test_the_front_end_shows_its_pipeline_in_file_names():
    files = {path.stem for path in (PACKAGE / "spec").glob("*.py")}
    assert {"sources", "document", "includes", "blocks", "bounds", "expand", "calls", "fields"} <= files
    assert {"substitute", "report", "model"} <= files
    assert not (PACKAGE / "spec.py").exists()  # one package, not a module beside it
