"""The code base stays clean: ruff's lint rules and formatter, as configured in pyproject.toml."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        if os.environ.get("CNNCALC_REQUIRE_TORCH"):  # CI installs the whole test extra
            pytest.fail("ruff is part of the test extra")
        pytest.skip("ruff not installed")
    return ruff


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command):
    done = subprocess.run(
        [_ruff(), *command, "--no-cache", "cnncalc", "tests", "tools"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
