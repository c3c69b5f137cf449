"""Every output pasted in the README is what cnncalc prints today (tools/readme_outputs.py rewrites them)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import readme_outputs  # noqa: E402


def test_pasted_outputs_are_current():
    text = readme_outputs.README.read_text()
    expected = readme_outputs.expected_blocks(text)
    assert len(expected) == 6 and all(body.strip() for body in expected.values())
    # each block where the tool writes it (somewhere else in the README would not do)
    stale = [marker for marker, body in expected.items() if _pasted(text, marker) != body]
    assert not stale, f"stale README output after {stale}; run: python tools/readme_outputs.py"
    assert readme_outputs.update(text) == text


def _pasted(text: str, marker: str) -> str:
    """The text tools/readme_outputs.py replaces for `marker` (as its update() finds it)."""
    if marker.startswith("$ "):
        start = text.index(marker)
        return text[start : text.index("```", start)]
    start, end = readme_outputs._block_after(text, marker)
    return text[start:end]
