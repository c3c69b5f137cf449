"""`cnncalc sweep`'s outcomes as a table for people, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json

from cnncalc import __version__
from cnncalc.layers.base import fmt_shape
from cnncalc.render.safe import terminal
from cnncalc.render.text import aligned
from cnncalc.render.units import human_bytes, human_count
from cnncalc.sweep import Outcome

_VERDICT = {True: "fits", False: "over", None: "-"}


def _input(outcome: Outcome) -> str:
    return fmt_shape(outcome.input) if outcome.input else "-"


def text(outcomes: list[Outcome], names: list[str], memory: str, front: set[int] | None) -> str:
    """One row per variant; a refused one says why. `front`: the ids of the Pareto front's, marked *."""
    header = [*names, "Input", "Params", "MACs", memory, "Budget", ""]
    rows = [tuple(header)]
    for o in outcomes:
        values = [terminal(value) for _, value in o.values]
        if o.error is not None:
            rows.append((*values, _input(o), "-", "-", "-", "-", f"refused: {terminal(o.error)}"))
            continue
        mark = "*" if front is not None and id(o) in front else ""
        numbers = (f"{o.params:,}", human_count(o.macs), human_bytes(o.memory), _VERDICT[o.fits], mark)
        rows.append((*values, _input(o), *numbers))
    counts = _summary(outcomes, front)
    return "\n".join([*aligned(rows, right={len(names) + 1, len(names) + 2, len(names) + 3}), "", counts])


def _summary(outcomes: list[Outcome], front: set[int] | None) -> str:
    planned = [o for o in outcomes if o.error is None]
    fitting = sum(1 for o in planned if o.fits)
    budget = f", {fitting:,} within the budget" if any(o.fits is not None for o in planned) else ""
    marked = f"; * marks the {len(front):,} on the Pareto front" if front is not None else ""
    count = f"{len(outcomes):,} variant{'s' if len(outcomes) != 1 else ''}"
    return f"{count}: {len(planned):,} plan{budget}, {len(outcomes) - len(planned):,} refused{marked}"


def _record(o: Outcome, front: set[int] | None) -> dict:
    record = {
        "values": dict(o.values),
        "input_shape": list(o.input) if o.input else None,
        "params": o.params,
        "macs": o.macs,
        "memory_bytes": o.memory,
        "fits_budget": o.fits,
        "error": o.error,
    }
    if front is not None:
        record["pareto"] = id(o) in front
    return record


def as_json(name: str, outcomes: list[Outcome], settings: dict, front: set[int] | None) -> str:
    from cnncalc.render.json import SCHEMA_VERSION

    document = {
        "schema_version": SCHEMA_VERSION,
        "cnncalc_version": __version__,
        "name": name,
        "settings": settings,
        "variants": [_record(o, front) for o in outcomes],
    }
    return json.dumps(document, indent=2)


def as_csv(names: list[str], outcomes: list[Outcome], front: set[int] | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*names, "input_shape", "params", "macs", "memory_bytes", "fits_budget", "pareto", "error"])
    for o in outcomes:
        shape = "x".join(str(n) for n in o.input) if o.input else ""
        pareto = "" if front is None else id(o) in front
        fits = "" if o.fits is None else o.fits
        row = [_safe_cell(value) for _, value in o.values]
        row += [shape, o.params, o.macs, o.memory, fits, pareto, _safe_cell(o.error or "")]
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue()


def _safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (=, +, -, @ first), control characters written out."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
