"""`cnncalc check`: a plan's totals against the limits its spec (cnncalc.budget) and the command
line set, and the outcome of checking each file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.budget import LIMITED
from cnncalc.dtypes import DEFAULT_DTYPE, DEFAULT_OPTIMIZER
from cnncalc.errors import Frozen, Loc

if TYPE_CHECKING:
    from cnncalc.engine import Plan
    from cnncalc.spec import Spec


class BudgetCheck(Frozen):
    """One limit and the plan's value for it."""

    __slots__ = ("what", "limit", "actual", "loc", "source", "detail")
    what: str
    limit: int
    actual: int
    loc: Loc  # the limit's line in the spec, or the spec's first line for a command-line limit
    source: str  # "spec" or "command line"
    detail: str  # what memory means here: "training with adam, batch 32, bfloat16"

    def __init__(self, what: str, limit: int, actual: int, loc: Loc, source: str, detail: str = ""):
        _set = object.__setattr__
        _set(self, "what", what)
        _set(self, "limit", limit)
        _set(self, "actual", actual)
        _set(self, "loc", loc)
        _set(self, "source", source)
        _set(self, "detail", detail)

    @property
    def unit(self) -> str:
        return LIMITED[self.what]

    @property
    def passed(self) -> bool:
        return self.actual <= self.limit  # a budget equal to the value passes

    @property
    def margin(self) -> int:
        return self.limit - self.actual


class MemorySettings(Frozen):
    """The memory settings given on the command line (None: the budget's, else the default)."""

    __slots__ = ("batch_size", "dtype", "optimizer", "training")
    batch_size: int | None
    dtype: str | None
    optimizer: str | None
    training: bool | None

    def __init__(
        self,
        batch_size: int | None = None,
        dtype: str | None = None,
        optimizer: str | None = None,
        training: bool | None = None,
    ):
        _set = object.__setattr__
        _set(self, "batch_size", batch_size)
        _set(self, "dtype", dtype)
        _set(self, "optimizer", optimizer)
        _set(self, "training", training)


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


class FileResult(Frozen):
    """The outcome of checking one spec file."""

    __slots__ = ("path", "name", "checks", "diagnostics", "source")
    path: str
    name: str | None
    checks: list[BudgetCheck]
    diagnostics: list  # Diagnostic: the spec is invalid, or there is nothing to check
    source: str | dict | None  # the spec's text, or its files' by path: for snippets

    def __init__(
        self,
        path: str,
        name: str | None,
        checks: list[BudgetCheck],
        diagnostics: list,
        source: str | dict | None = None,
    ):
        _set = object.__setattr__
        _set(self, "path", path)
        _set(self, "name", name)
        _set(self, "checks", checks)
        _set(self, "diagnostics", diagnostics)
        _set(self, "source", source)

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
