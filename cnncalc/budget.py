"""Budgets: the limits a spec sets (read from its `budget:`), and checking a plan's totals
against them and the command line's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnncalc.dtypes import DEFAULT_DTYPE, DEFAULT_OPTIMIZER, DTYPE_BYTES, OPTIMIZER_STATES
from cnncalc.errors import Loc

if TYPE_CHECKING:
    from cnncalc.engine import Plan
    from cnncalc.spec import Spec
    from cnncalc.spec.report import Report
    from cnncalc.yamlload import YNode

# budget limits: spec key -> (what is limited, unit)
BUDGET_LIMITS = {
    "max_params": ("params", "count"),
    "max_trainable_params": ("trainable_params", "count"),
    "max_macs": ("macs", "count"),
    "max_flops": ("flops", "count"),
    "max_memory": ("memory", "bytes"),
}
BUDGET_SETTINGS = ("batch_size", "dtype", "optimizer", "training")
BUDGET_UNITS = dict(BUDGET_LIMITS.values())  # what is limited -> "count" or "bytes"
LIMITED = BUDGET_UNITS  # what a budget limits, in report order, with its unit


@dataclass(frozen=True)
class Budget:
    """Limits a spec sets for `cnncalc check`, each with where it is written.

    Memory is the inference peak, or with `training: true` the training total,
    at `batch_size` and `dtype` (and `optimizer` for training).
    """

    limits: dict[str, tuple[int, Loc]]  # "params", "macs", ... -> (limit, location)
    batch_size: int = 1
    dtype: str = DEFAULT_DTYPE
    optimizer: str = DEFAULT_OPTIMIZER
    training: bool = False


def parse_budget(node: YNode, report: Report) -> Budget | None:
    """A spec's `budget:` mapping; its problems go to `report`."""
    if not isinstance(node.value, dict) or not node.value:
        report.error("spec.bad-value", "budget: expected a mapping such as {max_params: 25M, max_macs: 4.1G}", node.loc)
        return None
    limits: dict[str, tuple[int, Loc]] = {}
    settings: dict = {}
    errors_before = len(report.diagnostics)
    for key, value in node.value.items():
        if key in BUDGET_LIMITS:
            _limit(key, value, node.key_locs[key], limits, report)
        elif key in BUDGET_SETTINGS:
            _setting(key, value, settings, report)
        else:
            report.unknown_key(key, (*BUDGET_LIMITS, *BUDGET_SETTINGS), node.key_locs[key], "in budget")
    if not limits and len(report.diagnostics) == errors_before:
        report.error(
            "spec.bad-value", f"budget: sets no limit; give at least one of {', '.join(BUDGET_LIMITS)}", node.loc
        )
    return Budget(limits, **settings)


def _limit(key: str, value: YNode, key_loc: Loc, limits: dict, report: Report) -> None:
    from cnncalc.quantity import QuantityError, parse_quantity

    what, unit = BUDGET_LIMITS[key]
    try:
        limits[what] = (parse_quantity(value.value, unit=unit), key_loc)
    except QuantityError as exc:
        report.error("spec.bad-value", f"budget: {key}: {exc}", value.loc)


def _setting(key: str, value: YNode, settings: dict, report: Report) -> None:
    from cnncalc.layers.base import yaml_text

    given = value.value
    if key == "batch_size":
        ok, expected = isinstance(given, int) and not isinstance(given, bool) and given >= 1, "an integer >= 1"
    elif key == "training":
        ok, expected = isinstance(given, bool), "true or false"
    else:
        choices = tuple(DTYPE_BYTES if key == "dtype" else OPTIMIZER_STATES)
        ok, expected = given in choices, f"one of {', '.join(choices)}"
    if ok:
        settings[key] = given
    elif key == "training":
        report.error("spec.bad-value", "budget: training: expected true or false", value.loc)
    else:
        report.error("spec.bad-value", f"budget: {key}: expected {expected}, got {yaml_text(given)}", value.loc)


@dataclass(frozen=True)
class BudgetCheck:
    what: str
    limit: int
    actual: int
    loc: Loc  # the limit's line in the spec, or the spec's first line for a command-line limit
    source: str  # "spec" or "command line"
    detail: str = ""  # what memory means here: "training with adam, batch 32, bfloat16"

    @property
    def unit(self) -> str:
        return LIMITED[self.what]

    @property
    def passed(self) -> bool:
        return self.actual <= self.limit  # a budget equal to the value passes

    @property
    def margin(self) -> int:
        return self.limit - self.actual


@dataclass(frozen=True)
class MemorySettings:
    batch_size: int | None = None
    dtype: str | None = None
    optimizer: str | None = None
    training: bool | None = None


def check(plan: Plan, spec: Spec, flags: dict[str, int], settings: MemorySettings) -> list[BudgetCheck]:
    """Every limit for `spec`: the spec's own, with command-line `flags` taking precedence."""
    budget = spec.budget
    first_line = Loc(spec.path, 1, 1)
    limits: dict[str, tuple[int, Loc, str]] = {}
    if budget is not None:
        for what, (limit, loc) in budget.limits.items():
            limits[what] = (limit, loc, "spec")
    for what, limit in flags.items():
        limits[what] = (limit, first_line, "command line")

    def pick(name: str, default):
        value = getattr(settings, name)
        if value is not None:
            return value
        return getattr(budget, name) if budget is not None else default

    results = []
    for what in LIMITED:
        if what not in limits:
            continue
        limit, loc, source = limits[what]
        detail = ""
        if what == "memory":
            training = pick("training", False)
            batch_size = pick("batch_size", 1)
            dtype, optimizer = pick("dtype", DEFAULT_DTYPE), pick("optimizer", DEFAULT_OPTIMIZER)
            from cnncalc.memory import estimate

            memory = estimate(plan, batch_size=batch_size, dtype=dtype, optimizer=optimizer)
            actual = memory.training_total_bytes if training else memory.inference_peak_bytes
            mode = f"training with {optimizer}" if training else "inference peak"
            detail = f"{mode}, batch {batch_size}, {dtype}"
        elif what == "flops":
            actual = plan.totals.flops
        else:
            actual = getattr(plan.totals, what)
        results.append(BudgetCheck(what, limit, actual, loc, source, detail))
    return results


@dataclass(frozen=True)
class FileResult:
    """The outcome of checking one spec file."""

    path: str
    name: str | None
    checks: list[BudgetCheck]
    diagnostics: list  # Diagnostic: the spec is invalid, or there is nothing to check
    source: str | None = None

    @property
    def status(self) -> str:
        if self.diagnostics:
            return "error"
        return "pass" if all(c.passed for c in self.checks) else "fail"


def exit_status(results: list[FileResult]) -> int:
    """0 when every budget holds, 1 when one is exceeded, 2 when a spec is invalid: the worst wins."""
    from cnncalc.errors import EXIT_ERROR, EXIT_FAIL, EXIT_OK

    statuses = {r.status for r in results}
    if "error" in statuses:
        return EXIT_ERROR
    return EXIT_FAIL if "fail" in statuses else EXIT_OK
