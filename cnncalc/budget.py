"""Budgets: the limits a spec sets, read from its `budget:` (cnncalc.checking compares a plan's
totals with them and with the command line's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.dtypes import DEFAULT_DTYPE, DEFAULT_OPTIMIZER, DTYPE_BYTES, OPTIMIZER_STATES
from cnncalc.errors import Frozen, Loc

if TYPE_CHECKING:
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


class Budget(Frozen):
    """Limits a spec sets for `cnncalc check`, each with where it is written.

    Memory is the inference peak, or with `training: true` the training total,
    at `batch_size` and `dtype` (and `optimizer` for training).
    """

    __slots__ = ("limits", "batch_size", "dtype", "optimizer", "training")
    limits: dict[str, tuple[int, Loc]]  # "params", "macs", ... -> (limit, location)
    batch_size: int
    dtype: str
    optimizer: str
    training: bool

    def __init__(
        self,
        limits: dict[str, tuple[int, Loc]],
        batch_size: int = 1,
        dtype: str = DEFAULT_DTYPE,
        optimizer: str = DEFAULT_OPTIMIZER,
        training: bool = False,
    ):
        _set = object.__setattr__
        _set(self, "limits", limits)
        _set(self, "batch_size", batch_size)
        _set(self, "dtype", dtype)
        _set(self, "optimizer", optimizer)
        _set(self, "training", training)


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
        limits[what] = (parse_quantity(value.plain(), unit=unit), key_loc)
    except QuantityError as exc:
        report.error("spec.bad-value", f"budget: {key}: {exc}", value.loc)


def _setting(key: str, value: YNode, settings: dict, report: Report) -> None:
    from cnncalc.layers.base import yaml_text

    given = value.plain()
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
