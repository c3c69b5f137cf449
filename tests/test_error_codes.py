"""Every diagnostic code the code base raises is in the one catalogue, cnncalc.errors.CODES."""

import pathlib
import re

from cnncalc.errors import CODES

SOURCE = pathlib.Path(__file__).resolve().parent.parent / "cnncalc"
CODE = re.compile(r"""["']((?:spec|shape|budget|yaml|export)\.[a-z][a-z-]*)["']""")


def codes_used() -> set[str]:
    paths = [path for path in SOURCE.rglob("*.py") if path.name != "errors.py" or path.parent != SOURCE]
    found = {m.group(1) for path in paths for m in CODE.finditer(path.read_text(encoding="utf-8"))}
    return found | {"shape.invalid"}  # LayerError's default code, set in errors.py


def test_every_code_used_is_catalogued():
    assert codes_used() - set(CODES) == set()


def test_every_catalogued_code_is_used():
    assert set(CODES) - codes_used() == set()


def test_codes_have_a_meaning():
    assert all(isinstance(text, str) and text for text in CODES.values())
