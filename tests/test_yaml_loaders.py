"""The two YAML loaders agree: libyaml (PyYAML's C parser, used when PyYAML has it) and the
pure-Python fallback (cnncalc/yaml_pure.py, or CNNCALC_PURE_YAML=1) give every spec the same
tree, the same locations and the same diagnostics, word for word.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc import yamlload
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.spec import load_file

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURES = sorted((ROOT / "architectures").rglob("*.yaml"))
FIXTURES = sorted((ROOT / "tests" / "errors").glob("*.yaml"))

pytestmark = pytest.mark.skipif(not yamlload.HAVE_LIBYAML, reason="PyYAML without libyaml: only one loader")


def _located(node, where: str = "") -> list:
    """Every value of a tree with its path, location and key locations, for readable diffs."""
    rows = [(where or "/", node.loc.line, node.loc.column, type(node.value).__name__)]
    if isinstance(node.value, dict):
        for key, child in node.value.items():
            rows.append((f"{where}/{key} (key)", node.key_locs[key].line, node.key_locs[key].column))
            rows += _located(child, f"{where}/{key}")
    elif isinstance(node.value, list):
        for index, child in enumerate(node.value):
            rows += _located(child, f"{where}/{index}")
    else:
        rows[0] += (node.value,)
    return rows


def _load(monkeypatch, pure: bool, text: str, path: str = "spec.yaml"):
    """("tree", located rows, the tree) or ("error", diagnostics) with one loader."""
    monkeypatch.setattr(yamlload, "PURE", pure)
    try:
        root = yamlload.load(text, path)
    except SpecError as exc:
        return ("error", [(d.code, d.message, d.loc) for d in exc.diagnostics])
    return ("tree", root and _located(root), root)


def _both(monkeypatch, text: str, path: str = "spec.yaml"):
    c_result = _load(monkeypatch, False, text, path)
    pure_result = _load(monkeypatch, True, text, path)
    assert c_result[:2] == pure_result[:2]
    return c_result


@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: str(p.relative_to(ROOT / "architectures")))
def test_every_architecture_gives_the_same_tree(monkeypatch, path: Path):
    kind, rows, tree = _both(monkeypatch, path.read_text(encoding="utf-8"), str(path))
    assert kind == "tree" and len(rows) > 5
    monkeypatch.setattr(yamlload, "PURE", True)
    assert yamlload.load(path.read_text(encoding="utf-8"), str(path)) == tree  # YNode equality, locations included


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_error_fixture_gives_the_same_diagnostics(monkeypatch, path: Path):
    found = {}
    for pure in (False, True):
        monkeypatch.setattr(yamlload, "PURE", pure)
        with pytest.raises(SpecError) as caught:
            plan(load_file(str(path)))
        found[pure] = [(d.code, d.message, d.loc, d.severity) for d in caught.value.diagnostics]
    assert found[True] == found[False]
    expected_code = path.read_text().splitlines()[0].split()[3]  # "# expect: LINE:COL CODE MESSAGE"
    assert found[True][0][0] == expected_code


# (YAML, code, line, column, start of the message): each error path of the loaders, with what
# libyaml says; the pure loader must say the same, at the same place.
ERRORS = [
    ("layers: [relu\n", "spec.syntax", 1, 9, "invalid YAML: unexpected end of file: did not find expected ',' or ']'"),
    ("a: {b: 1 c: 2}\n", "spec.syntax", 1, 11, "invalid YAML: did not find expected ',' or '}' (while parsing a flow"),
    ("a: b: c\n", "spec.syntax", 1, 5, "invalid YAML: mapping values are not allowed in this context"),
    ("a:\n  - b\n  c: d\n", "spec.syntax", 3, 3, "invalid YAML: did not find expected '-' indicator"),
    ("a:\n  b: 1\n c: 2\n", "spec.syntax", 3, 2, "invalid YAML: did not find expected key"),
    ("a:\n\tb: 1\n", "spec.syntax", 2, 1, "invalid YAML: found character that cannot start any token"),
    ("-\t1\n", "spec.syntax", 1, 2, "invalid YAML: found character that cannot start any token"),
    ("name: é\U0001d538\x07\n", "spec.syntax", 1, 9, "invalid YAML: character U+0007 is not allowed"),
    ("a: 1\nb: \x1b[31m\n", "spec.syntax", 2, 4, "invalid YAML: character U+001B is not allowed"),
    ("a: *nope\n", "spec.syntax", 1, 4, "invalid YAML: found undefined alias"),
    ("a: &x 1\nb: &x 2\n", "spec.syntax", 2, 4, "invalid YAML: second occurrence (found duplicate anchor;"),
    ("a: 1\n---\nb: 2\n", "spec.syntax", 2, 1, "invalid YAML: but found another document"),
    ('a: "x\\qy"\n', "spec.syntax", 1, 6, "invalid YAML: found unknown escape character (while parsing a quoted"),
    ('a: "\\x4z"\n', "spec.syntax", 1, 7, "invalid YAML: did not find expected hexdecimal number"),
    ("a: 'unclosed\n", "spec.syntax", 1, 4, "invalid YAML: unexpected end of file: found unexpected end of stream"),
    ("a: |x\n  b\n", "spec.syntax", 1, 5, "invalid YAML: did not find expected comment or line break"),
    ("a: |0\n  b\n", "spec.syntax", 1, 5, "invalid YAML: found an indentation indicator equal to 0"),
    ("a: !<tag:x\n", "spec.syntax", 1, 4, "invalid YAML: unexpected end of file: did not find the expected '>'"),
    ("a: !!\n", "spec.syntax", 1, 4, "invalid YAML: unexpected end of file: did not find expected tag URI"),
    ("a: !!str[1]\n", "spec.syntax", 1, 9, "invalid YAML: did not find expected whitespace or line break"),
    ("%FOO bar\n--- a\n", "spec.syntax", 1, 5, "invalid YAML: found unknown directive name"),
    ("%YAML 1.1\n%YAML 1.1\n--- a\n", "spec.syntax", 2, 1, "invalid YAML: found duplicate %YAML directive"),
    ("a: @b\n", "spec.syntax", 1, 4, "invalid YAML: found character that cannot start any token"),
    ("[a:,b]\n", "spec.syntax", 1, 3, "invalid YAML: found unexpected ':' (while scanning a plain scalar"),
    ("a: b\ufeffc: [\n", "spec.syntax", 1, 7, "invalid YAML: mapping values are not allowed in this context"),
    ("a: &\n", "spec.syntax", 1, 4, "invalid YAML: unexpected end of file: did not find expected alphabetic"),
    ("{", "spec.syntax", 2, 1, "invalid YAML: unexpected end of file: did not find expected node content"),
    ("a: " + "[" * 70 + "]" * 70 + "\n", "spec.too-large", 1, 67, "spec is nested more than 64 deep"),
    ("".join(" " * i + "- \n" for i in range(100)), "spec.too-large", 65, 65, "spec is nested more than 64 deep"),
    # past YAML's own limit of 1,000 levels, the value where cnncalc's limit is passed
    ("a: " + "[" * 1200 + "]" * 1200 + "\n", "spec.too-large", 1, 67, "spec is nested more than 64 deep"),
    ("".join(" " * i + "a:\n" for i in range(1001)), "spec.too-large", 64, 64, "spec is nested more than 64 deep"),
    ("a: &x 1\nb: " + "[" * 63 + "*x, " + "[" * 1000 + "]" * 1063, "spec.too-large", 1, 4, "spec is nested more"),
    ("a: b: c\nd: " + "[" * 1200, "spec.syntax", 1, 5, "invalid YAML: mapping values are not allowed"),
    ("a: " + "[" * 70 + "*nope" + "]" * 70 + "\n", "spec.syntax", 1, 74, "invalid YAML: found undefined alias"),
    ("a: " + "[" * 70 + "]" * 70 + "\nb: [\n", "spec.syntax", 3, 1, "invalid YAML: unexpected end of file"),
    ("a: !!timestamp 2001-12-14\n", "spec.bad-value", 1, 4, "unsupported value '2001-12-14' (date)"),
    ("a: !foo 1\n", "spec.bad-tag", 1, 4, "unsupported tag '!foo'"),
    ("a: .inf\n", "spec.bad-value", 1, 4, ".inf is not a number cnncalc computes with"),
    ("a: 1\na: 2\n", "spec.duplicate-key", 2, 1, "duplicate key 'a' (first defined at line 1, column 1)"),
]


@pytest.mark.parametrize(("text", "code", "line", "column", "message"), ERRORS)
def test_each_error_path_gives_the_same_diagnostic(monkeypatch, text, code, line, column, message):
    kind, diagnostics = _both(monkeypatch, text)[:2]
    assert kind == "error"
    (found_code, found_message, loc), *_ = diagnostics
    assert (found_code, loc.line, loc.column) == (code, line, column), diagnostics
    assert found_message.startswith(message), found_message


# Where the two parsers of YAML differ and the pure loader follows libyaml.
TREES = [
    ("a: [1,\t2]\n", {"a": [1, 2]}),  # tabs between tokens in a flow collection
    ("a:\t1\nb: 2\t# two\n", {"a": 1, "b": 2}),  # tabs after a key and after a value
    ("a: b\tc\n", {"a": "b\tc"}),  # a tab inside a plain scalar
    ("{a: b?c}\n", {"a": "b?c"}),  # '?' is text inside a flow collection
    ("a: !\n", {"a": ""}),  # a lone '!' on no value
    ("a: [!!str, b]\n", {"a": ["", "b"]}),  # a tag may end at ',' in a flow collection
    ("a: >-#c\n  b\n", {"a": "b"}),  # a comment right after a block scalar's indicators
]


@pytest.mark.parametrize(("text", "plain"), TREES)
def test_where_the_parsers_differ_the_pure_loader_reads_as_libyaml(monkeypatch, text, plain):
    kind, rows, tree = _both(monkeypatch, text)
    assert kind == "tree" and tree.plain() == plain


@pytest.mark.parametrize(
    ("text", "kind", "where"),
    [
        ("a: {b: }\n", "NoneType", (1, 8)),  # an empty value in a flow collection: where the next token starts
        ("a: [b: , 1]\n", "NoneType", (1, 8)),
        ("a: {b: 1,\n    c: }\n", "NoneType", (2, 8)),
        ("\ufeffa: 1\n", "int", (1, 4)),  # a byte order mark at the start takes no column
        ("a: b\ufeffc\nd: 1\n", "int", (2, 4)),
    ],
)
def test_empty_values_and_marks_are_located_as_libyaml_locates_them(monkeypatch, text, kind, where):
    rows = _both(monkeypatch, text)[1]
    first = next(row for row in rows if row[3:4] == (kind,))
    assert (first[1], first[2]) == where, rows


SEEDS = [
    """name: seed
description: "a \\"quoted\\" text"  # a comment
input: [3, 32, 32]
blocks:
  unit: &unit
    params: {c: 8}
    layers:
      - {type: conv2d, out_channels: c, kernel_size: 3, padding: 1}
      - batchnorm2d
      - relu
layers:
  - {type: unit, c: 16, repeat: 2}
  - <<: *unit
    name: merged
  - maxpool2d: {kernel_size: 2}
  - flatten
  - linear: {out_features: 10}
""",
    """input: [1, 28, 28]
layers:
  - conv2d:
      out_channels: 6
      kernel_size: 5
  - relu
  - conv2d: {out_channels: 16, kernel_size: 5, padding: '0'}
  - note: |
      a block
      scalar
  - other: >-
      folded
  - !!str tagged
  - [nested, [list, {a: 1}]]
""",
]
MUTATIONS = list("[]{}:,-?!&*|>'\"#%@`\t\n \\") + ["\x85", "\u2028", "\ufeff", "é", "---", "!!str ", "&a ", "*a", "\r"]


def test_mutated_specs_give_the_same_result_with_both_loaders(monkeypatch):
    """Hundreds of broken and odd variants of two specs: the same tree or the same diagnostic."""
    rng = random.Random(11)
    errors = 0
    for _ in range(400):
        text = rng.choice(SEEDS)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            if rng.random() < 0.6:
                text = text[:at] + rng.choice(MUTATIONS) + text[at:]
            else:
                text = text[:at] + text[at + rng.randint(1, 3) :]
        errors += _both(monkeypatch, text)[0] == "error"
    assert 40 < errors < 360  # both kinds of outcome were compared


def test_the_pure_loader_is_not_imported_on_the_default_path():
    code = "import sys; from cnncalc import yamlload; yamlload.load('a: [1]', 'x'); print('cnncalc.yaml_pure' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "CNNCALC_PURE_YAML"}
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert shown.stdout.strip() == "False"


def test_cnncalc_pure_yaml_selects_the_pure_loader():
    code = "from cnncalc import yamlload; print(yamlload.PURE, yamlload.load('a: [1]', 'x').plain())"
    env = {**os.environ, "CNNCALC_PURE_YAML": "1"}
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert shown.stdout.strip() == "True {'a': [1]}"


@pytest.mark.slow
def test_the_yaml_tests_pass_with_the_pure_loader():
    """The error fixtures and the YAML-related tests, run again with CNNCALC_PURE_YAML=1."""
    files = [
        "tests/test_errors.py",
        "tests/test_fuzz_specs.py",
        "tests/security/test_sec_input.py",
        "tests/security/test_sec_limits.py",
        "tests/test_yaml_loaders.py",
    ]
    env = {**os.environ, "CNNCALC_PURE_YAML": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow and not torch", *files]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
