"""The report of `verify --against`: what differs between the plan and the model, by module
path, and the verdict."""

from __future__ import annotations

from cnncalc.against import SHOWN, Outcome
from cnncalc.render.safe import terminal
from cnncalc.render.text import aligned


def text(outcome: Outcome, target: str, version: str) -> str:
    """The differences (at most SHOWN of each kind), the totals, and the verdict."""
    lines: list[str] = []
    kinds: dict[str, int] = {}
    rows = [("Module or key", "Differs in", "Spec", "Model")]
    for finding in outcome.findings:
        kinds[finding.what] = kinds.get(finding.what, 0) + 1
        if kinds[finding.what] <= SHOWN:
            rows.append(tuple(terminal(cell) for cell in (finding.where, finding.what, finding.planned, finding.model)))
    if len(rows) > 1:
        lines += aligned(rows)
        more = {what: count - SHOWN for what, count in kinds.items() if count > SHOWN}
        lines += [f"... and {count} more: {terminal(what)}" for what, count in more.items()]
        lines.append("")
    for what, (planned, found) in outcome.totals.items():
        mark = "=" if planned == found else "!="
        lines.append(f"{what}: spec {_value(planned)} {mark} model {_value(found)}")
    if outcome.values:
        lines.append(f"values: {outcome.values}")
    lines.append("")
    model = f"{terminal(target)} ({terminal(outcome.model_name)}, torch {version})"
    compared = (
        f"{outcome.layers} layers against their modules, {outcome.keys} state_dict keys, {outcome.modules} modules"
    )
    count = len(outcome.findings)
    if count:
        lines.append(f"{count} difference{'s' if count > 1 else ''} from {model}; compared {compared}")
    else:
        lines.append(f"the spec is {model}: compared {compared}; all equal")
    if outcome.findings and not outcome.layers:
        lines.append(
            "(no layer of the spec is at a module path of the model: name the spec's layers as the "
            "model names its modules, e.g. name: conv1, or layer1 for a block call)"
        )
    if outcome.values is None:
        lines.append(
            "(shapes and counts only: --load-state-dict also runs both with the model's weights, "
            "which finds a branch fed from the wrong tensor of the same shape)"
        )
    return "\n".join(lines)


def _value(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return ", ".join(str(list(shape)) for shape in value)
