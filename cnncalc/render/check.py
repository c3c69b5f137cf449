"""Budget-check results for the places CI lives: text, JSON, GitHub annotations, JUnit XML, Markdown."""

from __future__ import annotations

import json

from cnncalc import __version__
from cnncalc.checking import BudgetCheck, FileResult, exit_status
from cnncalc.render.safe import MESSAGE_WIDTH, markdown_code, shorten, terminal
from cnncalc.render.safe import markdown as markdown_text
from cnncalc.render.units import human_bytes, human_count

LABELS = {
    "params": "params",
    "trainable_params": "trainable params",
    "macs": "MACs",
    "flops": "FLOPs",
    "memory": "memory",
}


def amount(check: BudgetCheck, value: int) -> str:
    return human_bytes(value) if check.unit == "bytes" else human_count(value)


def used(check: BudgetCheck) -> str:
    if not check.limit:
        return "0.0%" if not check.actual else "inf"
    share = f"{100 * check.actual / check.limit:.1f}%"
    return ">100.0%" if not check.passed and share == "100.0%" else share  # never "100.0%" beside FAIL


def describe(check: BudgetCheck) -> str:
    """'params 61,100,840 exceeds the budget 25,000,000 (244.4% of it)'."""
    what = LABELS[check.what] + (f" ({check.detail})" if check.detail else "")
    verb = "is within" if check.passed else "exceeds"
    return (
        f"{what} {check.actual:,} {verb} the budget {check.limit:,} "
        f"({amount(check, check.actual)} of {amount(check, check.limit)}, {used(check)})"
    )


def text(results: list[FileResult]) -> str:
    from cnncalc.render.text import aligned, format_diagnostics

    rows = [("File", "Budget", "Limit", "Actual", "Margin", "Used", "Result")]
    errors = []
    details: dict[str, list[str]] = {}  # how memory was measured, said once below the table
    for result in results:
        for check in result.checks:
            sign = "+" if check.margin >= 0 else "-"
            if check.detail:
                details.setdefault(check.detail, []).append(result.path)
            rows.append(
                (
                    terminal(result.path),
                    LABELS[check.what],
                    amount(check, check.limit),
                    amount(check, check.actual),
                    sign + amount(check, abs(check.margin)),
                    used(check),
                    "pass" if check.passed else "FAIL",
                )
            )
        if result.diagnostics:
            rows.append((terminal(result.path), "-", "-", "-", "-", "-", "ERROR"))
            errors.append(format_diagnostics(result.diagnostics, result.source))
    lines = aligned(rows, right={2, 3, 4, 5})
    checks = [c for r in results for c in r.checks]
    failed = sum(not c.passed for c in checks)
    notes = [
        f"memory: {detail}" + ("" if len(paths) == len(results) else f" ({', '.join(map(terminal, paths))})")
        for detail, paths in details.items()
    ]
    summary = f"{_count(len(checks), 'budget')} checked in {_count(len(results), 'file')}: {failed} exceeded"
    if errors:
        summary += f", {_count(len(errors), 'file')} invalid"
    return "\n".join([*lines, *notes, "", summary, *([""] + errors if errors else [])])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def document(results: list[FileResult]) -> dict:
    from cnncalc.render.json import SCHEMA_VERSION

    return {
        "schema_version": SCHEMA_VERSION,
        "cnncalc_version": __version__,
        "exit_status": exit_status(results),
        "files": [
            {
                "file": r.path,
                "name": r.name,
                "status": r.status,
                "checks": [
                    {
                        "budget": c.what,
                        "limit": c.limit,
                        "actual": c.actual,
                        "margin": c.margin,
                        "passed": c.passed,
                        "unit": c.unit,
                        "detail": c.detail or None,
                        "source": c.source,
                        "line": c.loc.line,
                        "column": c.loc.column,
                    }
                    for c in r.checks
                ],
                "errors": [d.to_dict() for d in r.diagnostics],
            }
            for r in results
        ],
    }


def as_json(results: list[FileResult]) -> str:
    return json.dumps(document(results), indent=2)


def _message(diag) -> str:
    return shorten(diag.message, MESSAGE_WIDTH)


def _escape_data(value: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (`%`, CR, LF)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    """A workflow command's property value: the message's escapes, and `:` and `,` too."""
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(results: list[FileResult]) -> str:
    """GitHub Actions workflow commands: an ::error annotation on each exceeded budget's line.

    Spec text (paths, messages) has its control characters written out first, so none of it
    can end the command's line and start another; then GitHub's own escapes apply."""
    lines = []
    for result in results:
        for diag in result.diagnostics:
            loc = diag.loc
            lines.append(
                f"::error file={_escape_property(terminal(loc.file))},line={loc.line},col={loc.column},"
                f"title={_escape_property('cnncalc: invalid spec')}::{_escape_data(terminal(_message(diag)))}"
            )
        for check in result.checks:
            if check.passed:
                continue
            source = "" if check.source == "spec" else " (set on the command line)"
            lines.append(
                f"::error file={_escape_property(terminal(check.loc.file))},line={check.loc.line},"
                f"col={check.loc.column},"
                f"title={_escape_property('cnncalc: budget exceeded')}::{_escape_data(describe(check) + source)}"
            )
    checks = [c for r in results for c in r.checks]
    lines.append(
        f"cnncalc: {_count(len(checks), 'budget')} checked in {_count(len(results), 'file')}, "
        f"{sum(not c.passed for c in checks)} exceeded, {sum(r.status == 'error' for r in results)} invalid"
    )
    return "\n".join(lines)


def junit(results: list[FileResult]) -> str:
    """JUnit XML: a test suite per file, a test case per budget (an error case for an invalid spec).

    Spec text goes through `terminal`: XML 1.0 cannot hold most control characters at all,
    not even as character references, and a report viewer shows the rest as the terminal would."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="cnncalc check")
    total = failures = errors = 0
    for result in results:
        path = terminal(result.path)
        suite = ET.SubElement(root, "testsuite", name=path)
        suite_failures = suite_errors = 0
        for check in result.checks:
            case = ET.SubElement(suite, "testcase", classname=path, name=f"max_{check.what}")
            if not check.passed:
                suite_failures += 1
                failure = ET.SubElement(case, "failure", message=describe(check), type="budget-exceeded")
                failure.text = f"{terminal(str(check.loc))}: {describe(check)}"
            else:
                ET.SubElement(case, "system-out").text = describe(check)
        for diag in result.diagnostics:
            suite_errors += 1
            case = ET.SubElement(suite, "testcase", classname=path, name="spec")
            message = terminal(_message(diag))
            error = ET.SubElement(case, "error", message=message, type=diag.code)
            error.text = f"{terminal(str(diag.loc))}: {message}"
        count = len(result.checks) + len(result.diagnostics)
        suite.set("tests", str(count))
        suite.set("failures", str(suite_failures))
        suite.set("errors", str(suite_errors))
        total, failures, errors = total + count, failures + suite_failures, errors + suite_errors
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def markdown(results: list[FileResult]) -> str:
    """A summary for a pull-request comment; spec text in it is shown literally (no HTML, links
    or emphasis from it)."""
    checks = [c for r in results for c in r.checks]
    failed = sum(not c.passed for c in checks)
    invalid = [r for r in results if r.status == "error"]
    if invalid:
        headline = f"**cnncalc check: {len(invalid)} invalid spec{'s' if len(invalid) != 1 else ''}**"
    elif failed:
        headline = f"**cnncalc check: {failed} of {len(checks)} budgets exceeded**"
    else:
        headline = f"**cnncalc check: all {len(checks)} budgets met**"
    lines = [headline, "", "| | Spec | Budget | Limit | Actual | Used |", "|---|---|---|--:|--:|--:|"]
    for result in results:
        for check in result.checks:
            mark = "✅" if check.passed else "❌"
            what = LABELS[check.what] + (f" ({check.detail})" if check.detail else "")
            lines.append(
                f"| {mark} | {markdown_code(result.path)} | {what} | {amount(check, check.limit)} | "
                f"{amount(check, check.actual)} | {used(check)} |"
            )
        for diag in result.diagnostics:
            message = markdown_text(_message(diag))
            lines.append(f"| ⚠️ | {markdown_code(result.path)} | invalid spec, line {diag.loc.line} | | | {message} |")
    return "\n".join(lines)
