"""docs/spec.md's examples are true: each YAML example with an `input:` plans, and every
`# -> [shape], N params` comment on a top-level entry is what cnncalc reports for it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from cnncalc.engine import plan
from cnncalc.spec import parse

ROOT = Path(__file__).resolve().parent.parent
SPEC_MD = (ROOT / "docs" / "spec.md").read_text()
# fenced blocks, also those indented under a list item
BLOCKS = [textwrap.dedent(body) for _, body in re.findall(r"^( *)```yaml\n(.*?)^\1```", SPEC_MD, flags=re.S | re.M)]
EXAMPLES = [block for block in BLOCKS if "\ninput:" in "\n" + block]
SHAPE = re.compile(r"\[[\d, ]+\]")
PARAMS = re.compile(r"([\d,]+) params")


def test_the_reference_has_examples():
    assert len(EXAMPLES) > 40
    assert sum(len(re.findall(r"^  - .*# ->", text, flags=re.M)) for text in EXAMPLES) > 60


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example_plans_as_its_comments_say(text):
    # an example that includes a block file is read from where the architectures live
    result = plan(parse(text, str(ROOT / "architectures" / "example.yaml")))
    rows = {row.name: row for row in result.layers}
    entries = iter(result.spec.root.entries)
    items = yaml.safe_load(text)["layers"]
    top_level = _entry_lines(text)
    assert len(top_level) == len(items)
    for item, line in zip(items, top_level):
        outputs = item.get("outputs", []) if isinstance(item, dict) else []
        records = [next(entries) for _ in range(max(1, len(outputs)))]
        comment = line.split("#", 1)[1] if "# ->" in line else ""
        if not comment:
            continue
        shapes = [tuple(yaml.safe_load(s)) for s in SHAPE.findall(comment)]
        planned = [_planned(record, rows) for record in records]
        if "each" in comment:
            shapes = shapes * len(planned)
        assert [shape for shape, _ in planned][: len(shapes)] == shapes, line
        if PARAMS.search(comment):
            assert sum(params for _, params in planned) == int(PARAMS.search(comment)[1].replace(",", "")), line


def _entry_lines(text: str) -> list[str]:
    """The lines that start each top-level entry of `layers:` (with the entry's comment)."""
    inside, starts = False, []
    for line in text.splitlines():
        if line.startswith("layers:"):
            inside = True
        elif inside and line.startswith("  - "):
            starts.append(line)
        elif inside and line and not line.startswith(" "):
            inside = False
    return starts


def _planned(record, rows) -> tuple[tuple, int]:
    """(output shape, parameters) of a top-level entry: a layer, or a block call or list."""
    if record.kind == "layer":
        row = rows[record.target]
        return row.output_shape, row.params
    group = record.target
    inside = [row for row in rows.values() if group in row.spec.groups]
    return rows[group.output].output_shape, sum(row.params for row in inside)


def test_every_table_column_is_named_in_the_help_and_the_readme():
    from click.testing import CliRunner

    from cnncalc.cli import cli
    from cnncalc.render.table import COLUMNS

    help_text = " ".join(CliRunner().invoke(cli, ["plan", "--help"]).output.split())
    listed = re.search(r"table columns, comma-separated: (.*?) \[default", help_text).group(1)
    assert [name.strip() for name in listed.split(",")] == list(COLUMNS)
    readme = " ".join((ROOT / "README.md").read_text().split())
    paragraph = re.search(r"`--columns` chooses the table's columns, in order, from (.*?); the default", readme).group(
        1
    )
    assert set(re.findall(r"`(\w+)`", paragraph)) == set(COLUMNS)
