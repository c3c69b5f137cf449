"""Every kind of bad spec: one fixture each in tests/errors/, stating its expected diagnostics.

A fixture's header lines read `# expect: LINE:COL CODE MESSAGE-START`; the
diagnostics must come in that order, with those locations, codes and messages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.errors import CODES, SpecError
from cnncalc.spec import load_file, parse

FIXTURES = sorted((Path(__file__).parent / "errors").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (\S+) (.*)$")


def _expected(path: Path):
    rows = [EXPECT.match(line) for line in path.read_text().splitlines() if line.startswith("# expect:")]
    assert rows and all(rows), f"{path.name}: needs '# expect: LINE:COL CODE MESSAGE' header lines"
    return [(int(m[1]), int(m[2]), m[3], m[4]) for m in rows]


def _diagnostics(path: Path):
    with pytest.raises(SpecError) as caught:
        plan(load_file(str(path)))
    return caught.value.diagnostics


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_diagnostics(path: Path):
    found = _diagnostics(path)
    expected = _expected(path)
    assert [(d.loc.line, d.loc.column, d.code) for d in found] == [e[:3] for e in expected], [
        f"{d.loc}: {d.code} {d.message}" for d in found
    ]
    for diag, (_, _, _, message) in zip(found, expected):
        assert diag.message.startswith(message), diag.message
        assert diag.loc.file == str(path)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_through_cli(path: Path):
    """Exit 2, `path:line:col: error: ...` on stderr, a caret under the column, no traceback."""
    before = path.read_bytes()
    result = runner().invoke(cli, ["plan", str(path)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    line, column, _, message = _expected(path)[0]
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:{line}:{column}: error: {message}"), result.stderr
    caret_line = result.stderr.splitlines()[2]
    assert caret_line.index("^") - caret_line.index("|") - 2 == column - 1
    assert result.stdout == ""
    assert path.read_bytes() == before, "a spec is never modified"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_json_errors(path: Path):
    result = runner().invoke(cli, ["plan", str(path), "--format", "json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    line, column, code, _ = _expected(path)[0]
    assert document["errors"][0]["line"] == line
    assert document["errors"][0]["column"] == column
    assert document["errors"][0]["code"] == code


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"input: [3, 8, 8]\nname: caf\xe9\nlayers: [relu]\n")
    diag = _diagnostics(path)[0]
    assert (diag.code, diag.loc.line, diag.loc.column) == ("spec.encoding", 2, 10)


def test_missing_file(tmp_path):
    result = runner().invoke(cli, ["plan", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml:1:1: error: cannot read spec: No such file or directory" in result.stderr


def test_directory_instead_of_file(tmp_path):
    result = runner().invoke(cli, ["plan", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{tmp_path}:1:1: error: cannot read spec: "), result.stderr
    result = runner().invoke(cli, ["plan", str(tmp_path), "--format", "json"])
    (error,) = json.loads(result.stdout)["errors"]
    assert (error["code"], error["file"], error["line"], error["column"]) == ("spec.unreadable", str(tmp_path), 1, 1)


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(SpecError) as caught:
        parse("input: " + "[" * 3000 + "]" * 3000 + "\nlayers: [relu]\n", "deep.yaml")
    (found,) = caught.value.diagnostics
    assert found.code in CODES and found.loc.file == "deep.yaml" and found.loc.line == 1, found


@pytest.mark.parametrize("depth", [70, 3000])  # 3000: past YAML's own limit of 1,000 levels
def test_nesting_deeper_than_64_is_too_large_where_it_passes_64(depth):
    with pytest.raises(SpecError) as caught:
        parse("input: " + "[" * depth + "]" * depth + "\nlayers: [relu]\n", "deep.yaml")
    (found,) = caught.value.diagnostics
    # the top-level mapping is the first level, so the 64th bracket (column 71) is the 65th
    assert (found.code, found.loc.line, found.loc.column) == ("spec.too-large", 1, 7 + 64), found
    assert found.message == "spec is nested more than 64 deep"


def test_merge_keys_are_allowed():
    text = """
input: [3, 32, 32]
layers:
  - &conv {type: conv2d, out_channels: 16, kernel_size: 3, padding: 1}
  - {<<: *conv, name: second, out_channels: 32, padding: 0}
"""
    result = plan(parse(text, "merge.yaml"))
    assert [r.output_shape for r in result.layers] == [(16, 32, 32), (32, 30, 30)]
    assert result.layers[1].params == 32 * 16 * 9 + 32


def test_fields_beside_a_null_type_key():
    """`- conv2d:` followed by its fields at the same indentation reads as one layer."""
    text = """
input: [3, 32, 32]
layers:
  - conv2d:
    out_channels: 8
    kernel_size: 3
"""
    assert plan(parse(text, "sibling.yaml")).layers[0].output_shape == (8, 30, 30)


def test_a_layer_repeated_by_alias_needs_its_own_name():
    text = (
        "input: [3, 8, 8]\nlayers:\n  - &block {type: conv2d, name: c, out_channels: 3, kernel_size: 1}\n  - *block\n"
    )
    with pytest.raises(SpecError) as caught:
        parse(text, "alias.yaml")
    (found,) = caught.value.diagnostics
    assert found.code == "spec.duplicate-name" and found.loc.file == "alias.yaml", found
    assert "a YAML alias repeats this layer" in found.message


@pytest.mark.xfail(
    strict=True,
    reason="an alias is the anchor's node, so the error points at the anchored entry's name (3:33), "
    "not at the copy (`- *block`) that needs a name of its own",
)
def test_a_layer_repeated_by_alias_is_located_at_the_alias():
    text = (
        "input: [3, 8, 8]\nlayers:\n  - &block {type: conv2d, name: c, out_channels: 3, kernel_size: 1}\n  - *block\n"
    )
    with pytest.raises(SpecError) as caught:
        parse(text, "alias.yaml")
    (found,) = caught.value.diagnostics
    assert (found.loc.line, found.loc.column) == (4, 5), found


def test_a_field_given_twice_names_both_spellings():
    text = "input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 3, filters: 4, kernel_size: 1}\n"
    with pytest.raises(SpecError) as caught:
        parse(text, "twice.yaml")
    (found,) = caught.value.diagnostics
    assert found.message.endswith("out_channels is given twice, as 'out_channels' and as 'filters'")
    assert (found.code, found.loc.line, found.loc.column) == ("spec.duplicate-key", 3, 31)  # at `filters`


def test_values_are_shown_as_yaml_writes_them():
    with pytest.raises(SpecError) as caught:
        parse("input: [3, 8, 8]\nlayers:\n  - relu: true\n", "yaml.yaml")
    (found,) = caught.value.diagnostics
    assert found.message.endswith("got true")
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-value", 3, 11)  # at `true`


def test_conv_after_global_pool_mentions_it():
    text = "input: [3, 8, 8]\nlayers:\n  - global_avgpool2d\n  - conv2d: {out_channels: 3, kernel_size: 1}\n"
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "rank.yaml"))
    (found,) = caught.value.diagnostics
    assert "must come before `flatten` and global pooling" in found.message
    assert (found.code, found.loc.line, found.loc.column) == ("shape.rank", 4, 5)  # the conv2d's entry


def test_conv_on_a_flat_input_spec_names_the_input():
    text = "input: [784]\nlayers:\n  - conv2d: {out_channels: 3, kernel_size: 1}\n"
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "rank.yaml"))
    (found,) = caught.value.diagnostics
    assert found.message.endswith("gets [784]; the spec's input is [784]")
    assert (found.code, found.loc.line, found.loc.column) == ("shape.rank", 3, 5)


def test_misspelt_input_key_is_reported_once():
    with pytest.raises(SpecError) as caught:
        parse("inptu: [3, 8, 8]\nlayers: [relu]\n", "typo.yaml")
    assert [(d.code, d.loc.line, d.loc.column, d.message) for d in caught.value.diagnostics] == [
        ("spec.unknown-key", 1, 1, "unknown key 'inptu' at the top level; did you mean 'input'?")
    ]


@pytest.mark.parametrize(
    ("key", "shown", "column"), [("? [a, b]", "a list", 8), ("? {a: 1}", "a mapping", 8), ("1", "1", 6)]
)
def test_a_key_that_is_not_a_name_is_described_not_dumped(key, shown, column):
    with pytest.raises(SpecError) as caught:
        parse(f"input: [3, 8, 8]\nlayers:\n  - {{{key} : 1}}\n", "k.yaml")
    (found,) = caught.value.diagnostics
    assert found.message == f"keys must be names, not {shown}"
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-key", 3, column)  # at the key


@pytest.mark.parametrize(
    ("value", "hint", "code"),
    [
        ('"(3, 3)"', "a tuple is not a value here; write a pair as a YAML list, e.g. [3, 3]", "spec.bad-expression"),
        ('"3"', "got string '3' (remove the quotes for a number)", "spec.bad-value"),
        ("1e2", "got string '1e2' (YAML reads 1e2 as text; write the number out)", "spec.bad-value"),
    ],
)
def test_hints_for_values_written_as_in_python(value, hint, code):
    with pytest.raises(SpecError) as caught:
        plan(
            parse(f"input: [3, 8, 8]\nlayers:\n  - {{type: conv2d, out_channels: 4, kernel_size: {value}}}\n", "h.yaml")
        )
    (found,) = caught.value.diagnostics
    assert hint in found.message and (found.code, found.loc.line, found.loc.column) == (code, 3, 50), found
