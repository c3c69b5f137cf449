"""tests/conftest.py marks the tests that use PyTorch, so `-m "not torch and not slow"` is a
fast inner loop that still runs every planner test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _collected(*arguments: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.slow
def test_torch_tests_are_marked_and_planner_tests_are_not():
    files = ["tests/test_zoo_torch_mobile.py", "tests/test_costs.py", "tests/security/test_sec_export.py"]
    without_torch = _collected("-m", "not torch", *files)
    everything = _collected(*files)
    assert not any("test_zoo_torch_mobile.py" in test for test in without_torch)  # through its zoo_torch fixture
    assert not any("receptive_fields_match_gradients" in test for test in without_torch)  # through a helper
    assert not any("hostile_expressions_never_run" in test for test in without_torch)  # in its own code
    assert any("test_reproducer_is_a_located_error" in test for test in without_torch)  # the planner's own
    assert 0 < len(without_torch) < len(everything)
