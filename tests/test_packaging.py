"""The wheel holds every package: pyproject.toml lists packages explicitly, so a new
sub-package left out of the list would be missing from a real (non-editable) install."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_under_cnncalc_is_listed_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    listed = set(re.findall(r'"([\w.]+)"', re.search(r"^packages = \[(.*)\]$", text, re.M).group(1)))
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "cnncalc").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found == listed


def test_the_reports_assets_are_package_data():
    """A real install carries only the .py files of the packages, and the package data listed."""
    import fnmatch

    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assets = ROOT / "cnncalc" / "render" / "assets"
    files = [path.relative_to(assets.parent).as_posix() for path in assets.iterdir()]
    assert files and all(any(fnmatch.fnmatch(f, pattern) for pattern in data["cnncalc.render"]) for f in files)
