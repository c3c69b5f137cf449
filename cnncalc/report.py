"""`cnncalc report`: what an HTML report shows, as data.

Pure: the plan's JSON document (the same, versioned, as `plan --format json`), the budget's
verdicts as `check` gives them, and the fold depth the diagram starts at. cnncalc/render/report.py
writes it into the page; the page's script draws everything from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.render.json import plan_document

if TYPE_CHECKING:
    from cnncalc.checking import BudgetCheck
    from cnncalc.engine import Plan
    from cnncalc.memory import Memory

FOLD_ABOVE = 60  # layers: a larger network's diagram starts with its top-level blocks folded


def report_document(plan: Plan, memory: Memory, checks: list[BudgetCheck]) -> dict:
    """Everything the page shows."""
    return {
        "plan": plan_document(plan, memory),
        "budget": [_verdict(check) for check in checks],
        "fold_depth": 1 if len(plan.layers) > FOLD_ABOVE and plan.group_totals else None,
    }


def _verdict(check: BudgetCheck) -> dict:
    return {
        "what": check.what,
        "unit": check.unit,
        "limit": check.limit,
        "actual": check.actual,
        "passed": check.passed,
        "source": check.source,
        "detail": check.detail,
    }
