"""Every diagnostic code the code base raises is in the one catalogue, cnncalc.errors.CODES."""

import pathlib
import re

from cnncalc.errors import CODES

SOURCE = pathlib.Path(__file__).resolve().parent.parent / "cnncalc"
# a code passed to whatever makes a diagnostic: report.error("graph.cycle", ...), code="shape.rank", ...
RAISED = re.compile(
    r"""(?:\.error|\.warning|\.note|Diagnostic|LayerError)\(\s*["']([a-z]+\.[a-z][a-z-]*)["']"""
    r"""|\bcode\s*=\s*["']([a-z]+\.[a-z][a-z-]*)["']"""
)
QUOTED = re.compile(r"""["']([a-z]+\.[a-z][a-z-]*)["']""")


def _sources() -> list[str]:
    paths = [path for path in SOURCE.rglob("*.py") if path.name != "errors.py" or path.parent != SOURCE]
    return [path.read_text(encoding="utf-8") for path in paths]


def codes_used() -> set[str]:
    """Codes passed where a diagnostic is made, and any quoted `family.name` of a family seen
    there or in CODES (a code kept in a table, then passed on)."""
    texts = _sources()
    raised = {m.group(1) or m.group(2) for text in texts for m in RAISED.finditer(text)}
    families = {code.split(".")[0] for code in raised | set(CODES)}
    quoted = {m.group(1) for text in texts for m in QUOTED.finditer(text) if m.group(1).split(".")[0] in families}
    return raised | quoted | {"shape.invalid"}  # LayerError's default code, set in errors.py


def test_the_search_finds_codes_made_in_each_way():
    used = codes_used()
    assert {"spec.syntax", "shape.rank", "shape.not-flat", "budget.none"} <= used, sorted(used)
    assert len(used) >= len(CODES)


# once raised but missing from CODES: kept as a test of their own
CATALOGUED_LATE = {"graph.arity", "graph.cycle", "graph.unknown-input", "note.layer", "note.in-place", "note.unread"}


def test_every_code_used_is_catalogued():
    assert codes_used() - set(CODES) == set()


def test_the_graph_and_note_codes_are_catalogued():
    assert CATALOGUED_LATE <= codes_used()  # they are raised
    assert CATALOGUED_LATE <= set(CODES)


def test_every_catalogued_code_is_used():
    assert set(CODES) - codes_used() == set()


def test_codes_have_a_meaning():
    assert all(isinstance(text, str) and text for text in CODES.values())
