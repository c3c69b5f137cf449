"""Spec text is neutralised per output format: no control character, escape sequence, workflow
command, rich markup, Markdown or HTML from a spec reaches a terminal, a CI log, a pull-request
comment or a report as anything but visible text; JSON and JUnit stay valid and exact."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.render.safe import markdown, markdown_code, terminal, terminal_lines
from cnncalc.render.text import snippet

# Each hostile text, and how a terminal or CI log must show it.
PAYLOADS = {
    "clear-screen": ("\x1b[2Jgone", "\\x1b[2Jgone"),
    "osc8-hyperlink": (
        "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
        "\\x1b]8;;http://evil.example\\x1b\\click\\x1b]8;;\\x1b\\",
    ),
    "osc0-title": ("\x1b]0;owned title\x07x", "\\x1b]0;owned title\\x07x"),
    "bell": ("ding\x07", "ding\\x07"),
    "carriage-return": ("real\rfake", "real\\rfake"),
    "c1-csi": ("\x9b2Jx", "\\x9b2Jx"),
    "error-line": ("x\n::error::pwned", "x\\n::error::pwned"),
    "add-mask": ("x\n::add-mask::x", "x\\n::add-mask::x"),
    "stop-commands": ("x\n::stop-commands::tok", "x\\n::stop-commands::tok"),
    "leading-command": ("::error file=a.yaml::pwned", "\\::error file=a.yaml::pwned"),
    "blank-then-command": ("\u00a0 ::warning::pwned", "\u00a0 \\::warning::pwned"),
    "old-command-syntax": ("a ##[error]pwned", "a #\\#[error]pwned"),
    "bidi-override": ("abc\u202egpj.exe", "abc\\u202egpj.exe"),
    "zero-width": ("a\u200bb\ufeffc\u2066d", "a\\u200bb\\ufeffc\\u2066d"),
    "rich-markup": (
        "[bold red]x[/] [link=http://evil]y[/link] :smile:",
        "[bold red]x[/] [link=http://evil]y[/link] :smile:",
    ),
    "html-markdown": (
        "<!-- [x](http://evil) <img src=x onerror=alert(1)> `c` *e* | p",
        "<!-- [x](http://evil) <img src=x onerror=alert(1)> `c` *e* | p",
    ),
}

# What must never reach a terminal or log raw: C0 controls other than the line feed cnncalc writes
# itself, DEL, C1 controls, and the bidi and zero-width format characters.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
ANNOTATION = re.compile(r"^::error file=[^,:]*,line=\d+,col=\d+,title=cnncalc%3A [a-z ]+::[^\r\n]*$")

SPEC = """\
name: {name}
description: {description}
input: [3, 8, 8]
layers:
  - conv2d: {{out_channels: 4, kernel_size: 3}}
  - relu
  - flatten
  - linear: 10
budget: {{max_params: 10}}
"""


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text)


def _spec(tmp_path, name: str, description: str = "plain", file: str = "spec.yaml"):
    path = tmp_path / file
    path.write_text(SPEC.format(name=_quoted(name), description=_quoted(description)), encoding="utf-8")
    return path


def run(args, exit_code):
    # color=True: click would otherwise strip some escape sequences itself, hiding what cnncalc writes
    result = runner().invoke(cli, [str(a) for a in args], color=True)
    assert result.exit_code == exit_code, (result.stdout, result.stderr, result.exception)
    return result.stdout, result.stderr


def assert_inert(text: str, *, own_annotations: bool = False) -> None:
    """No raw control or format character; no line a CI runner would read as a command."""
    assert not RAW.search(text), repr(RAW.search(text).group())
    assert "##[" not in text
    for line in text.split("\n"):
        if line.lstrip().startswith("::"):
            assert own_annotations and ANNOTATION.match(line), repr(line)


@pytest.mark.parametrize("raw, shown", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_terminal_escape(raw, shown):
    assert terminal(raw) == shown
    assert_inert(terminal(raw))


def test_ordinary_text_is_unchanged():
    for text in ("tiny-mnist", "U-Net (bilinear=False): 64-128-256 channels; 2x2 max-pool", "a::b", "C# [x]", "é 日本"):
        assert terminal(text) == text


@pytest.mark.parametrize("raw, shown", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_plan_table_shows_the_name_and_description_escaped(tmp_path, raw, shown):
    path = _spec(tmp_path, raw, raw)
    out, _ = run(["plan", path], 0)
    assert_inert(out)
    lines = out.split("\n")
    assert lines[0] == f"{shown}  (input [3, 8, 8])"
    description = terminal_lines(raw)  # a description keeps its line breaks, each line made safe
    assert lines[1 : 1 + len(description)] == description
    assert "\n".join(description) == shown.replace("\\n", "\n").replace("\n::", "\n\\::")
    assert "conv2d_1" in out and "Total params:" in out


def test_a_multi_line_description_keeps_its_lines_but_none_starts_a_command(tmp_path):
    path = _spec(tmp_path, "net", "first line\n::error::pwned\n  ::add-mask::x\n")
    out, _ = run(["plan", path], 0)
    assert_inert(out)
    assert out.split("\n")[1:4] == ["first line", "\\::error::pwned", "  \\::add-mask::x"]


def test_rich_markup_and_emoji_codes_in_cells_are_literal(tmp_path):
    # a block's name and its call's name reach table cells (names are restricted, kinds less so)
    path = tmp_path / "blocks.yaml"
    path.write_text(
        "name: '[bold]x[/bold] :smile:'\ninput: [3, 8, 8]\n"
        "blocks:\n  pair:\n    layers: [relu, relu]\nlayers:\n  - pair\n  - flatten\n",
        encoding="utf-8",
    )
    out, _ = run(["plan", path], 0)
    assert out.startswith("[bold]x[/bold] :smile:  (input [3, 8, 8])")
    assert "😄" not in out


@pytest.mark.parametrize("raw, shown", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_plan_json_keeps_the_exact_strings(tmp_path, raw, shown):
    path = _spec(tmp_path, raw, raw)
    out, _ = run(["plan", path, "--format", "json"], 0)
    assert out.isascii()  # control characters, bidi marks and U+2028 all as \\u escapes
    document = json.loads(out)
    assert (document["name"], document["description"]) == (raw, raw)


@pytest.mark.parametrize("raw, shown", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_diff_text_shows_names_escaped_and_json_keeps_them(tmp_path, raw, shown):
    old = _spec(tmp_path, raw, file="old.yaml")
    new = _spec(tmp_path, "new", file="new.yaml")
    new.write_text(new.read_text().replace("  - relu\n", "  - relu\n  - {type: relu, name: extra}\n"))
    out, _ = run(["diff", old, new], 0)
    assert_inert(out)
    assert out.split("\n")[0] == f"--- {old} ({shown})"
    assert "+  extra" in out
    document = json.loads(run(["diff", old, new, "--format", "json"], 0)[0])
    assert document["old"]["name"] == raw
    markdown_out, _ = run(["diff", old, new, "--format", "markdown"], 0)
    assert_inert(markdown_out)
    assert "| ➕ | `extra` | relu |" in markdown_out


# A value quoted back in a message: it passes validation as a string and is refused as a budget.
BAD_BUDGET = "<!-- [x](http://evil) <img src=x onerror=alert(1)> `c` *e* | p ##[error]z \x1b[2J\u202e"


def _bad_budget_spec(tmp_path):
    path = _spec(tmp_path, "net")
    path.write_text(
        path.read_text().replace("budget: {max_params: 10}", f"budget: {{max_params: {_quoted(BAD_BUDGET)}}}")
    )
    return path


def test_check_text_and_github_escape_messages(tmp_path):
    path = _bad_budget_spec(tmp_path)
    out, _ = run(["check", path], 2)
    assert_inert(out)
    assert "#\\#[error]z \\x1b[2J\\u202e" in out
    out, _ = run(["check", path, "--format", "github"], 2)
    assert_inert(out, own_annotations=True)
    first = out.split("\n")[0]
    assert ANNOTATION.match(first)
    assert first.endswith("`c` *e* | p #\\#[error]z \\x1b[2J\\u202e'")


def test_check_markdown_renders_spec_text_as_text(tmp_path):
    path = _bad_budget_spec(tmp_path)
    out, _ = run(["check", path, "--format", "markdown"], 2)
    assert_inert(out)
    row = next(line for line in out.split("\n") if line.startswith("| ⚠️ |"))
    assert "&lt;\\!-- \\[x\\]\\(http\\://evil\\) &lt;img src=x onerror=alert\\(1\\)&gt; \\`c\\` \\*e\\* \\| p" in row
    for raw in ("<!--", "<img", "](", "`c`", "*e*", " | p"):
        assert raw not in row
    assert len(re.split(r"(?<!\\)\|", row)) == 6 + 2  # the table's six cells, still


def test_check_junit_is_valid_xml_with_the_text_escaped(tmp_path):
    path = _bad_budget_spec(tmp_path)
    path.write_text(path.read_text().replace("\\u202e", "\\u202e\\x00\\x0b\\x0c\\x1f\\x7f\\x85"))
    out, _ = run(["check", path, "--format", "junit"], 2)
    assert_inert(out)
    root = ET.fromstring(out.split("\n", 1)[1])
    error = root.find("testsuite/testcase/error")
    assert error.get("type") == "spec.bad-value"
    assert error.get("message").endswith("\\x1b[2J\\u202e\\x00\\x0b\\x0c\\x1f\\x7f\\x85'")
    assert "&#" not in out  # nothing XML 1.0 forbids, not even as a character reference


def test_check_json_keeps_the_message_exact(tmp_path):
    path = _bad_budget_spec(tmp_path)
    out, _ = run(["check", path, "--format", "json"], 2)
    message = json.loads(out)["files"][0]["errors"][0]["message"]
    assert "<!-- [x](http://evil) <img src=x onerror=alert(1)>" in message


HOSTILE_FILE = "::error::pwned\n::add-mask::x\x1b[2J`<img src=x>|[l](http:evil).yaml"


def test_a_hostile_file_name_is_escaped_in_every_check_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        _spec(tmp_path, "net", file=HOSTILE_FILE)
    except OSError:  # pragma: no cover - a file system that refuses such names
        pytest.skip("the file system refuses the name")
    shown = terminal(HOSTILE_FILE)
    assert shown == "\\::error::pwned\\n::add-mask::x\\x1b[2J`<img src=x>|[l](http:evil).yaml"
    out, _ = run(["check", HOSTILE_FILE], 1)
    assert_inert(out)
    assert out.split("\n")[1].startswith(shown + "  params")
    out, _ = run(["check", HOSTILE_FILE, "--format", "github"], 1)
    assert_inert(out, own_annotations=True)
    assert out.startswith(
        "::error file=\\%3A%3Aerror%3A%3Apwned\\n%3A%3Aadd-mask%3A%3Ax\\x1b[2J`<img src=x>|[l](http%3Aevil).yaml,"
    )
    out, _ = run(["check", HOSTILE_FILE, "--format", "junit"], 1)
    assert ET.fromstring(out.split("\n", 1)[1]).find("testsuite").get("name") == shown
    out, _ = run(["check", HOSTILE_FILE, "--format", "markdown"], 1)
    assert f"| ❌ | ``{shown.replace('|', chr(92) + '|')}`` | params |" in out


def test_diff_markdown_shows_a_hostile_label_in_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "a``b <!-- x.yaml"
    _spec(tmp_path, "net", file=name)
    out, _ = run(["diff", name, name, "--format", "markdown"], 0)
    assert out.split("\n")[0] == "**cnncalc diff** ```a``b <!-- x.yaml``` → ```a``b <!-- x.yaml```"


# The error path: the message and the source line under it.


def test_a_raw_escape_in_a_comment_is_shown_escaped_with_the_caret_on_it(tmp_path):
    path = tmp_path / "esc.yaml"
    path.write_bytes(b"input: [3, 8, 8]\nlayers: [relu]  # \x1b[2J\x1b]0;t\x07 here\n")
    _, err = run(["plan", path], 2)
    assert_inert(err)
    lines = err.split("\n")
    assert lines[0].startswith(f"{path}:2:19: error: ")
    assert lines[1] == "    2 | layers: [relu]  # \\x1b[2J\\x1b]0;t\\x07 here"
    assert lines[2].index("^") == lines[1].index("\\x1b")


def test_the_caret_stays_under_its_column_after_escapes_before_it(tmp_path):
    path = tmp_path / "bidi.yaml"
    path.write_text('{name: "\u202e\u202ehi", input: [3, 8, 8], layers: [rleu]}\n', encoding="utf-8")
    _, err = run(["plan", path], 2)
    assert_inert(err)
    lines = err.split("\n")
    assert lines[1] == '    1 | {name: "\\u202e\\u202ehi", input: [3, 8, 8], layers: [rleu]}'
    assert lines[2].index("^") == lines[1].index("rleu")


@pytest.mark.parametrize("raw, shown", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_quoted_value_in_a_message_is_escaped(tmp_path, raw, shown):
    path = tmp_path / "bad.yaml"
    path.write_text(f"input: [3, 8, 8]\nlayers: [{{type: linear, out_features: {_quoted(raw)}}}]\n", encoding="utf-8")
    _, err = run(["plan", path], 2)
    assert_inert(err)
    assert err.startswith(f"{path}:2:")


def test_a_long_line_is_cut_to_a_window_around_the_column(tmp_path):
    path = tmp_path / "long.yaml"
    filler = "x" * 2_000_000
    path.write_text(f'{{name: "{filler}", input: [3, 8, 8], layers: [rleu], description: "{filler}"}}\n')
    _, err = run(["plan", path], 2)
    assert len(err) < 3000
    message, source, caret = err.split("\n")[:3]
    assert source.startswith("    1 | ...x") and source.endswith("x...")
    assert 100 <= len(source) - len("    1 | ") <= 130
    assert caret.index("^") == source.index("rleu")


def test_a_message_quoting_a_huge_value_is_shortened(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text(f'input: [3, 8, 8]\nlayers: [{{type: "\x1b{"y" * 1_000_000}"}}]\n'.replace("\x1b", "\\e"))
    _, err = run(["plan", path], 2)
    assert len(err) < 6000
    assert "characters)..." in err and "\\x1b" in err
    out, _ = run(["check", path, "--format", "github"], 2)
    assert len(out) < 6000


@pytest.mark.parametrize(
    "line, column",
    [("abc", 2), ("a\tb\x1bc", 4), ("\u202e" * 500, 250), ("é" * 130 + "\x07", 131), ("z" * 50, 60)],
)
def test_snippet_caret_lands_on_the_column(line, column):
    shown, caret = snippet(line, column)
    assert not RAW.search(shown)
    if column <= len(line):
        from cnncalc.render.safe import escape_char, is_unsafe

        char = line[column - 1]
        expected = " " if char == "\t" else escape_char(char) if is_unsafe(char) else char
        assert shown[caret : caret + len(expected)] == expected
    assert len(shown) <= 130


# Errors echoed by the command line itself.


def test_export_and_verify_errors_are_escaped(tmp_path, monkeypatch):
    import cnncalc.export
    import cnncalc.verify

    path = _spec(tmp_path, "net")
    hostile = "cannot export '\x1b]0;t\x07'\n::error::pwned"

    def refuse(*args, **kwargs):
        raise cnncalc.export.ExportError(hostile)

    monkeypatch.setattr(cnncalc.export, "to_pytorch", refuse)
    _, err = run(["export", path], 2)
    assert_inert(err)
    assert err == "error: cannot export '\\x1b]0;t\\x07'\\n::error::pwned\n"

    def unavailable(*args, **kwargs):
        raise cnncalc.verify.ValuesUnavailable("\x1b[2J\n::add-mask::x")

    monkeypatch.setattr(cnncalc.verify, "verify", unavailable)
    _, err = run(["verify", path, "--values"], 2)
    assert_inert(err)
    assert "(\\x1b[2J\\n::add-mask::x)" in err


def test_verify_report_escapes_names():
    from cnncalc.render.verify import text, torch_measured
    from cnncalc.verify import Comparison

    rows = [Comparison("::error::x\x1b[2J", "relu\n::add-mask::y", ((1,), 0, 0, 0), ((1,), 0, 0, 0))]
    out = text(rows, torch_measured("2.x", False))
    assert_inert(out)
    assert out.split("\n")[1].startswith("\\::error::x\\x1b[2J  relu\\n::add-mask::y")


def test_an_internal_error_message_is_escaped(tmp_path, monkeypatch, capsys):
    import cnncalc.engine
    from cnncalc.cli import main

    def crash(*args, **kwargs):
        raise RuntimeError("\x1b]8;;http://evil\x1b\\x\n::error::pwned")

    monkeypatch.setattr(cnncalc.engine, "plan", crash)
    monkeypatch.setattr(sys, "argv", ["cnncalc", "plan", str(_spec(tmp_path, "net"))])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 3
    err = capsys.readouterr().err
    assert_inert(err)
    assert "internal error: RuntimeError: \\x1b]8;;http://evil\\x1b\\x\\n::error::pwned\n" in err


def test_markdown_helpers():
    assert markdown("[x](http://evil)") == "\\[x\\]\\(http\\://evil\\)"
    assert markdown("a & b <c>") == "a &amp; b &lt;c&gt;"
    assert markdown("www.evil.example") == "www\\.evil.example"
    assert markdown_code("plain.yaml") == "`plain.yaml`"
    assert markdown_code("x|y") == "`x\\|y`"
    assert markdown_code("x\\|y") == "`x\\\\\\|y`"  # an odd run of backslashes keeps the pipe in the cell
    assert markdown_code("`") == "`` ` ``"


def test_a_real_process_writes_no_raw_escape(tmp_path):
    """Through a real process and pipe (no click test runner): the bytes on the pipe are inert."""
    name, _ = PAYLOADS["osc8-hyperlink"]
    path = _spec(tmp_path, name + "\n::error::pwned", "\x1b[2J\u202e")
    result = subprocess.run(
        [sys.executable, "-m", "cnncalc", "plan", str(path)], capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("utf-8")
    assert_inert(out)
    assert b"\x1b" not in result.stdout


def test_verify_with_a_nul_in_the_spec_name_is_no_internal_error(tmp_path):
    """The export is compiled under a fixed file name: spec text never reaches compile()."""
    from torch_reference import require_torch

    require_torch()
    path = tmp_path / "nul.yaml"
    path.write_text('name: "a\\0b"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    out, _ = run(["verify", path], 0)
    assert "forward()" in out
