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
