"""Every output pasted in the README is what cnncalc prints today (tools/readme_outputs.py rewrites them)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import readme_outputs  # noqa: E402


def test_pasted_outputs_are_current():
    text = readme_outputs.README.read_text()
    stale = [marker for marker, body in readme_outputs.expected_blocks(text).items() if body not in text]
    assert not stale, f"stale README output after {stale}; run: python tools/readme_outputs.py"
