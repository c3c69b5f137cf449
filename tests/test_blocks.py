"""Reusable blocks in specs: arguments, `let:`, expressions, `when:`, `repeat:`, `sequential:`,
`include:`, multi-input blocks, and their export to PyTorch.

Each test plans a small inline spec. Tests marked xfail(strict=True) state the behaviour
expected of cnncalc where it currently falls short (a traceback, a hang, a wrong export,
or an accepted mistake); each reason says what happens today.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.export import class_name, to_pytorch
from cnncalc.spec import load_file, load_file_or_revision, parse

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def spec_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def planned(text: str, path: str = "blocks.yaml"):
    return plan(parse(spec_text(text), path))


@pytest.fixture
def entries_expanded(monkeypatch):
    """The entries the expansion visits (the work it does), one item each."""
    from cnncalc.spec.expand import Expander

    visited = []
    real = Expander.entry
    monkeypatch.setattr(Expander, "entry", lambda self, *arguments: visited.append(1) or real(self, *arguments))
    return visited


def diagnostics(text: str, path: str = "blocks.yaml"):
    with pytest.raises(SpecError) as caught:
        plan(parse(spec_text(text), path))
    return caught.value.diagnostics


def rows(result) -> dict:
    return {row.name: row for row in result.layers}


def conv_params(c_in: int, c_out: int, k: int, bias: bool = True, groups: int = 1) -> int:
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


# ---- arguments, defaults, `let:` ----------------------------------------------------------

UNIT = """
input: [3, 8, 8]
blocks:
  unit:
    args: [c, mid: c // 4, stride: 1]
    let: {w: mid * 2}
    layers:
      - {type: conv2d, name: conv1, out_channels: w, kernel_size: 1}
      - {type: conv2d, name: conv2, out_channels: c, kernel_size: 3, padding: 1, stride: stride}
layers:
  - CALL
"""


@pytest.mark.parametrize(
    ("call", "width", "output"),
    [
        ("{type: unit, name: a, c: 16}", 8, (16, 8, 8)),  # mid = 16 // 4 = 4, w = 8
        ("{type: unit, name: a, c: 16, mid: 2}", 4, (16, 8, 8)),  # a default overridden
        ("{type: unit, name: a, c: 16, stride: 2}", 8, (16, 4, 4)),
        ("{type: unit, name: a, c: 12, mid: 5, stride: 2}", 10, (12, 4, 4)),
        ("{unit: {c: 16}, name: a}", 8, (16, 8, 8)),  # the keyed form
    ],
)
def test_arguments_defaults_and_let(call, width, output):
    result = planned(UNIT.replace("CALL", call))
    layers = rows(result)
    assert list(layers) == ["a.conv1", "a.conv2"]
    assert layers["a.conv1"].output_shape == (width, 8, 8)
    assert layers["a.conv1"].params == conv_params(3, width, 1)
    assert layers["a.conv2"].output_shape == output
    assert layers["a.conv2"].params == conv_params(width, output[0], 3)
    assert result.output_shape == output


def test_a_block_without_arguments_is_just_its_layers():
    result = planned(
        """
        input: [3, 8, 8]
        blocks:
          act: [relu, {type: maxpool2d, kernel_size: 2}]
        layers:
          - act
          - {type: act, name: again}
        """
    )
    assert [r.name for r in result.layers] == ["act_1.relu_1", "act_1.maxpool2d_1", "again.relu_1", "again.maxpool2d_1"]
    assert result.output_shape == (3, 2, 2)


@pytest.mark.parametrize(
    ("call", "code", "line", "column", "message"),
    [
        ("{type: unit, name: a}", "spec.missing-key", 10, 5, "layer 'a' (unit): block 'unit' needs argument 'c'"),
        (
            "{type: unit, name: a, c: 4, strid: 2}",
            "spec.unknown-key",
            10,
            33,
            "layer 'a' (unit): block 'unit' has no argument 'strid'; did you mean 'stride'?",
        ),
        (
            "{type: unit, name: a, c: 4, colour: 2}",
            "spec.unknown-key",
            10,
            33,
            "block 'unit' has no argument 'colour'; its arguments are: c, mid, stride",
        ),
        ("unit: 4", "spec.bad-value", 10, 11, "layer 'unit_1' (unit): write the block's arguments as a mapping"),
        (
            "{type: unit, name: a, c: 4, repeat: 2, first: {strde: 2}}",
            "spec.unknown-key",
            10,
            52,
            "block 'unit' has no argument 'strde'; did you mean 'stride'?",
        ),
        (
            "{type: unti, name: a, c: 4}",
            "spec.unknown-type",
            10,
            12,
            "layer 1: unknown layer type 'unti'; did you mean",
        ),
    ],
)
def test_argument_mistakes(call, code, line, column, message):
    found = diagnostics(UNIT.replace("CALL", call))
    match = [d for d in found if d.code == code]
    assert match, [(d.code, d.message) for d in found]
    assert match[0].message.startswith(message) or message in match[0].message, match[0].message
    assert (match[0].loc.line, match[0].loc.column) == (line, column), match[0]


@pytest.mark.parametrize(
    ("definition", "message", "where"),
    [
        ("args: [c, c]", "args: 'c' is given twice", ("spec.bad-value", 4, 15)),
        (
            "args: [c, max: 3]",
            "args: 'max' is a function of the expression language; choose another name",
            ("spec.bad-name", 4, 15),
        ),
        # defaults see earlier arguments only
        ("args: [c, mid: d // 2, d: 4]", "no argument is named 'd'", ("spec.bad-expression", 4, 20)),
        ("args: [c]\n    let: {c: 3}", "let: 'c' is already an argument", ("spec.bad-name", 5, 11)),
        ("arg: [c]", "unknown key 'arg' in block 'unit'; did you mean 'args'?", ("spec.unknown-key", 4, 5)),
        ("args: 3", "args: expected a list such as [planes, stride: 1]", ("spec.bad-value", 4, 11)),
    ],
)
def test_block_definition_mistakes(definition, message, where):
    text = f"""
input: [3, 8, 8]
blocks:
  unit:
    {definition}
    layers:
      - {{type: conv2d, out_channels: 4, kernel_size: 1}}
layers:
  - unit
"""
    first = diagnostics(text)[0]  # (the call may then miss its argument c)
    assert message in first.message, first.message
    assert (first.code, first.loc.line, first.loc.column) == where, first


@pytest.mark.parametrize(
    ("blocks", "message", "where"),
    [
        pytest.param(
            "conv2d: [relu]",
            "block 'conv2d': 'conv2d' is a layer type; give the block another name",
            ("spec.bad-name", 3, 3),
        ),
        pytest.param(
            "sequential: [relu]",
            "block 'sequential': 'sequential' is a layer type",
            ("spec.bad-name", 3, 3),
        ),
        pytest.param(
            "x-y: [relu]",
            "block 'x-y': a block's name is letters, digits and '_'",
            ("spec.bad-name", 3, 3),
        ),
        ("unit: 3", "block 'unit': expected a mapping with `layers:`", ("spec.bad-value", 3, 9)),
        (
            "unit: {args: [c]}",
            "block 'unit': layers: expected a non-empty list of layers",
            ("spec.missing-key", 3, 9),
        ),
        (
            "unit: {layers: []}",
            "block 'unit': layers: expected a non-empty list of layers",
            ("spec.bad-value", 3, 18),
        ),
    ],
)
def test_bad_block_definitions(blocks, message, where):
    (found,) = diagnostics(f"input: [3, 8, 8]\nblocks:\n  {blocks}\nlayers: [relu]\n")
    assert found.message.startswith(message), found.message
    assert (found.code, found.loc.line, found.loc.column) == where, found


# ---- expressions ----------------------------------------------------------------------------

EXPRESSION = """
input: [3, 8, 8]
blocks:
  unit:
    args: [a, b, flag: true]
    layers:
      - {type: conv2d, name: conv, out_channels: "EXPR", kernel_size: 1}
layers:
  - {type: unit, name: u, a: 7, b: 2}
"""


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("a // b", 3),
        ("a % b", 1),
        ("a * b + 1", 15),
        ("(a + b) * 2", 18),
        ("a - b", 5),
        ("-b + a", 5),
        ("a // b * b", 6),
        ("int(a / b)", 3),
        ("abs(b - a)", 5),
        ("max(a, b)", 7),
        ("min(a, b, 4)", 2),
        ("a if a > b else b", 7),
        ("a if a < b else b", 2),
        ("1 if a == 7 and b != 3 else 2", 1),
        ("1 if 1 < b < a else 2", 1),  # chained comparison
        ("1 if b < 1 < a else 2", 2),
        ("1 if not flag else 2", 2),
        ("1 if b > 5 or flag else 2", 1),
        # make_divisible is torchvision's _make_divisible
        ("make_divisible(32 * 0.25, 8)", 8),
        ("make_divisible(960 * 0.25)", 240),
        ("make_divisible(100, 8)", 104),
        ("make_divisible(a * 10, 8)", 72),
        ("make_divisible(a, 8, 16)", 16),  # never below min_value
        ("make_divisible(a * 0.75 * 4, 8)", 24),  # 21 -> 24
        ("make_divisible(92, 16)", 96),
        ("make_divisible(75, 16)", 80),
        # powers: 2 ** i channels, C ** -0.5 attention scales
        ("2 ** b", 4),
        ("int(64 * 4 ** -0.5)", 32),
        ("(-2) ** 2", 4),
        ("2 ** 3 ** 1", 8),
    ],
)
def test_expression_values(expression, value):
    result = planned(EXPRESSION.replace("EXPR", expression))
    assert rows(result)["u.conv"].output_shape == (value, 8, 8)
    assert rows(result)["u.conv"].params == conv_params(3, value, 1)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("a // 0", "division by zero: 7 // 0"),
        ("a % 0", "division by zero: 7 % 0"),
        ("a / (b - 2)", "division by zero: 7 / 0"),
        ("aa * 2", "no argument is named 'aa'; did you mean 'a'?"),
        ("bb + 1", "no argument is named 'bb'; did you mean 'b'?"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("round(a)", "unknown function 'round'; the functions are make_divisible, min, max, int, abs"),
        ("2 ** 65", "the exponent 65 is too large: at most 64 in size"),
        ("a ** 2 ** 7", "the exponent 128 is too large"),
        ("(-a) ** 0.5", "-7 ** 0.5 is not a real number"),
        ("0 ** -1", "division by zero: 0 ** -1"),
        ("a ** 40", "the result is too large"),
        ("10.0 ** 29 ** 1 * 10.0 ** 29", "the result is too large"),
        ("a.real", "'a.real' is not allowed"),
        ("a.__class__", "is not allowed"),
        ("(lambda: 1)()", "is not allowed"),
        ("[a][0]", "is not allowed"),
        ("a << 1", "is not allowed"),
        ("f'{a}'", "is not allowed"),
        ("'x' + 'y'", "arithmetic needs numbers, got 'x'"),
        ("a < 'x'", "cannot compare 7 with 'x'"),
        ("max()", "max(): "),
        ("min(a, 'x')", "min() needs numbers, got 'x'"),
        ("a * 10000000000 * 10000000000 * 10000000000 * 1000", "the result is too large"),
        ("make_divisible(a, 0)", "make_divisible(): "),
    ],
)
def test_expression_errors(expression, message):
    found = diagnostics(EXPRESSION.replace("EXPR", expression))
    first = found[0]
    assert first.code == "spec.bad-expression", [(d.code, d.message) for d in found]
    assert message in first.message, first.message
    line = EXPRESSION.lstrip("\n").splitlines()[5]
    assert (first.loc.line, first.loc.column) == (6, line.index('"EXPR"') + 1)  # at the expression, in the block
    assert first.loc.file == "blocks.yaml"


def test_an_expression_split_by_a_flow_mapping_comma_says_to_quote_it():
    text = EXPRESSION.replace('"EXPR"', "make_divisible(a * 2, 8)")
    (found,) = diagnostics(text)
    assert "quote the expression" in found.message, found.message
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-expression", 6, 50)


def test_plain_text_values_are_not_expressions():
    result = planned(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            args: [pad: same]
            layers:
              - {type: conv2d, name: conv, out_channels: 4, kernel_size: 3, padding: pad}
              - {type: conv2d, name: conv_b, out_channels: 4, kernel_size: 3, padding: same}
        layers:
          - {type: unit, name: u}
        """
    )
    assert rows(result)["u.conv"].output_shape == (4, 8, 8)
    assert rows(result)["u.conv_b"].output_shape == (4, 8, 8)


def test_a_layer_type_can_be_an_argument():
    result = planned(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            args: [act: relu]
            layers:
              - {type: conv2d, name: conv, out_channels: 4, kernel_size: 1}
              - {type: act, name: act}
        layers:
          - {type: unit, name: a}
          - {type: unit, name: b, act: hardswish}
        """
    )
    assert rows(result)["a.act"].type_name == "relu"
    assert rows(result)["b.act"].type_name == "hardswish"


# ---- names, repeat, first, repeat_name ------------------------------------------------------

RESNET_LIKE = """
input: [3, 16, 16]
blocks:
  unit:
    args: [planes, stride: 1, downsample: false]
    layers:
      - {type: conv2d, name: conv1, out_channels: planes, kernel_size: 3, stride: stride, padding: 1, bias: false}
      - {type: batchnorm2d, name: bn1}
      - name: downsample
        when: downsample
        inputs: input
        sequential:
          - {type: conv2d, out_channels: planes, kernel_size: 1, stride: stride, bias: false}
          - batchnorm2d
      - {type: add, name: add, inputs: [bn1, downsample]}
layers:
  - {type: conv2d, name: stem, out_channels: 8, kernel_size: 1}
  - {type: unit, name: layer1, planes: 8, repeat: 2}
  - {type: unit, name: layer2, planes: 16, repeat: 3, first: {stride: 2, downsample: true}}
"""


def test_hierarchical_names_with_repeat_and_first():
    result = planned(RESNET_LIKE)
    unit = ["conv1", "bn1", "add"]
    first = ["conv1", "bn1", "downsample.0", "downsample.1", "add"]
    expected = (
        ["stem"]
        + [f"layer1.{i}.{n}" for i in range(2) for n in unit]
        + [f"layer2.0.{n}" for n in first]
        + [f"layer2.{i}.{n}" for i in (1, 2) for n in unit]
    )
    assert [r.name for r in result.layers] == expected
    layers = rows(result)
    assert layers["layer1.1.add"].output_shape == (8, 16, 16)
    assert layers["layer2.0.conv1"].output_shape == (16, 8, 8)
    assert layers["layer2.0.downsample.0"].output_shape == (16, 8, 8)
    assert layers["layer2.0.downsample.0"].params == 8 * 16
    assert layers["layer2.0.add"].spec.inputs == ("layer2.0.bn1", "layer2.0.downsample.1")
    # without a downsample, `downsample` means what it would have read: the block's input
    assert layers["layer2.1.add"].spec.inputs == ("layer2.1.bn1", "layer2.0.add")
    assert layers["layer1.0.add"].spec.inputs == ("layer1.0.bn1", "stem")
    assert layers["layer2.2.conv1"].params == conv_params(16, 16, 3, bias=False)
    assert result.output_shape == (16, 8, 8)
    expected_params = (
        conv_params(3, 8, 1)
        + 2 * (conv_params(8, 8, 3, bias=False) + 16)
        + (conv_params(8, 16, 3, bias=False) + 32 + 8 * 16 + 32)
        + 2 * (conv_params(16, 16, 3, bias=False) + 32)
    )
    assert result.totals.params == expected_params


def test_groups_describe_calls_and_repetitions():
    result = planned(RESNET_LIKE)
    groups = {g.name: g for g in result.groups}
    assert groups["layer2"].kind == "unit x3"
    assert groups["layer2"].output == "layer2.2.add"
    assert groups["layer2.0"].arguments == {"planes": 16, "stride": 2, "downsample": True}
    assert groups["layer2.1"].arguments == {"planes": 16, "stride": 1, "downsample": False}
    assert groups["layer2.0.downsample"].block == "sequential"
    assert "layer2.1.downsample" not in groups  # left out: no layers


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ("repeat: 3", ["0", "1", "2"]),
        ("repeat: 3, repeat_name: 'denselayer{n}'", ["denselayer1", "denselayer2", "denselayer3"]),
        ("repeat: 2, repeat_name: 'block{i}'", ["block0", "block1"]),
        ("repeat: 2, repeat_name: 'b{i}_{n}'", ["b0_1", "b1_2"]),
    ],
)
def test_repeat_names(options, names):
    result = planned(
        f"""
        input: [3, 8, 8]
        blocks:
          unit:
            layers:
              - {{type: conv2d, name: conv, out_channels: 3, kernel_size: 1}}
        layers:
          - {{type: unit, name: dense, {options}}}
        """
    )
    assert [r.name for r in result.layers] == [f"dense.{n}.conv" for n in names]


def test_the_repetition_index_in_a_calls_arguments():
    result = planned(
        """
        input: [4, 8, 8]
        blocks:
          grow:
            args: [c]
            layers:
              - {type: conv2d, name: conv, out_channels: c, kernel_size: 1}
        layers:
          - {type: grow, name: g, c: 4 + 2 * i, repeat: 3, repeat_name: "block{n}"}
        """
    )
    layers = rows(result)
    assert [layers[f"g.block{n}.conv"].output_shape[0] for n in (1, 2, 3)] == [4, 6, 8]
    assert layers["g.block2.conv"].params == conv_params(4, 6, 1)


def test_repeat_inside_a_block_may_use_an_argument():
    result = planned(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            layers: [{type: conv2d, name: conv, out_channels: 3, kernel_size: 1}]
          stage:
            args: [depth]
            layers:
              - {type: unit, name: blocks, repeat: depth}
        layers:
          - {type: stage, name: s, depth: 4}
        """
    )
    assert [r.name for r in result.layers] == [f"s.blocks.{i}.conv" for i in range(4)]


@pytest.mark.parametrize(
    ("options", "message", "column"),
    [
        ("repeat: 0", "repeat: expected an integer from 1 to 100,000, got 0", 35),
        ("repeat: 2.5", "repeat: expected an integer from 1 to 100,000, got 2.5", 35),
        ("repeat: true", "repeat: expected an integer from 1 to 100,000, got true", 35),
        ("repeat: '2'", "repeat: expected an integer from 1 to 100,000", 35),
        ("repeat: 2, first: 3", "first: expected a mapping of arguments, e.g. {stride: 2}", 45),
        ("repeat_name: 'b{i}'", "repeat_name: needs repeat:", 40),
        ("repeat: 2, repeat_name: blk", "repeat_name: 'blk' needs {i} or {n}", 51),
        ("repeat: 2, repeat_name: 'b.{i}'", "repeat_name: expected a name with {i}", 51),
    ],
)
def test_repeat_mistakes(options, message, column):
    found = diagnostics(
        f"""
        input: [3, 8, 8]
        blocks:
          unit: [relu]
        layers:
          - {{type: unit, name: u, {options}}}
        """
    )
    (first,) = found
    assert first.message.startswith(f"layer 'u' (unit): {message}"), first.message
    assert (first.code, first.loc.line, first.loc.column) == ("spec.bad-value", 5, column)  # at the value


REPEAT_KEYS = ["repeat: 2", "first: {a: 1}", "repeat_name: 'x{i}'"]


@pytest.mark.parametrize("key", REPEAT_KEYS)
def test_repeat_keys_on_a_plain_layer_are_refused(key):
    (found,) = diagnostics(f"input: [3, 8, 8]\nlayers:\n  - {{type: relu, name: r, {key}}}\n")
    assert "is for block calls; define a block to repeat these layers" in found.message
    value = len("  - {type: relu, name: r, ") + len(key.split(": ")[0]) + 3
    assert (found.loc.line, found.loc.column) == (3, value)


@pytest.mark.parametrize("key", REPEAT_KEYS)
def test_repeat_keys_on_a_plain_layer_are_misplaced_keys(key):
    (found,) = diagnostics(f"input: [3, 8, 8]\nlayers:\n  - {{type: relu, name: r, {key}}}\n")
    assert found.code == "spec.misplaced-key"


# ---- when: and sequential: ------------------------------------------------------------------

SEQUENTIAL = """
input: [3, 8, 8]
blocks:
  unit:
    args: [c, bn: true]
    layers:
      - name: body
        sequential:
          - {type: conv2d, out_channels: c, kernel_size: 3, padding: 1, bias: false}
          - {type: batchnorm2d, when: bn}
          - relu
          - {type: conv2d, name: last, out_channels: c, kernel_size: 1}
layers:
  - {type: unit, name: a, c: 4}
  - {type: unit, name: b, c: 4, bn: false}
  - name: features
    sequential:
      - {type: conv2d, out_channels: 8, kernel_size: 1}
      - {type: unit, c: 8}
      - {type: unit, c: 8, repeat: 2}
"""


def test_sequential_indices_count_present_entries_only():
    names = [r.name for r in planned(SEQUENTIAL).layers]
    assert names[:7] == ["a.body.0", "a.body.1", "a.body.2", "a.body.last", "b.body.0", "b.body.1", "b.body.last"]
    assert rows(planned(SEQUENTIAL))["b.body.1"].type_name == "relu"
    assert names[7:] == [
        "features.0",
        "features.1.body.0",
        "features.1.body.1",
        "features.1.body.2",
        "features.1.body.last",
        *(f"features.2.{i}.body.{n}" for i in range(2) for n in ("0", "1", "2", "last")),
    ]


def test_a_left_out_entrys_name_means_its_input():
    result = planned(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            args: [pre: false, post: false]
            layers:
              - {type: conv2d, name: first, out_channels: 6, kernel_size: 1, when: pre}
              - {type: conv2d, name: mid, out_channels: 4, kernel_size: 1}
              - {type: concat, name: cat, inputs: [first, mid]}
              - {type: relu, name: last, when: post}
        layers:
          - {type: unit, name: a}
          - {type: unit, name: b, pre: true, post: true}
          - {type: conv2d, name: head, inputs: a, out_channels: 2, kernel_size: 1}
        """
    )
    layers = rows(result)
    assert "a.first" not in layers and "a.last" not in layers
    assert layers["a.mid"].spec.inputs == ("input",)
    assert layers["a.cat"].spec.inputs == ("input", "a.mid")
    assert layers["a.cat"].output_shape == (7, 8, 8)
    assert layers["b.mid"].spec.inputs == ("b.first",)
    assert layers["b.cat"].output_shape == (10, 8, 8)
    assert layers["head"].spec.inputs == ("a.cat",)  # the block's output: its last present entry
    assert layers["head"].params == conv_params(7, 2, 1)


@pytest.mark.parametrize(
    ("condition", "present"),
    [("true", True), ("false", False), ("s > 1", False), ("s == 1", True), ("s == 1 and not proj", True)],
)
def test_when_conditions(condition, present):
    result = planned(
        f"""
        input: [3, 8, 8]
        blocks:
          unit:
            args: [s: 1, proj: false]
            layers:
              - {{type: conv2d, name: conv, out_channels: 3, kernel_size: 1}}
              - {{type: relu, name: act, when: {condition}}}
        layers:
          - {{type: unit, name: u}}
        """
    )
    assert ("u.act" in rows(result)) is present


@pytest.mark.parametrize("condition", ["1", "c", "'yes'", "[true]", "c + 1"])
def test_when_must_be_boolean(condition):
    found = diagnostics(
        f"""
        input: [3, 8, 8]
        blocks:
          unit:
            args: [c: 3]
            layers:
              - {{type: relu, name: act, when: {condition}}}
        layers:
          - {{type: unit, name: u}}
        """
    )
    (first,) = found
    assert "when: expected true or false" in first.message
    assert (first.code, first.loc.line, first.loc.column) == ("spec.bad-value", 6, 39)  # at the condition


def test_inputs_inside_a_sequential_list_are_refused():
    found = diagnostics(
        """
        input: [3, 8, 8]
        layers:
          - {type: relu, name: r}
          - name: s
            sequential:
              - {type: relu, inputs: r}
        """
    )
    (first,) = found
    assert "layers in a `sequential:` list each read the one before" in first.message
    assert (first.loc.line, first.loc.column) == (6, 30)  # at `inputs: r`


def test_inputs_inside_a_sequential_list_is_a_misplaced_key():
    (found,) = diagnostics(
        "input: [3, 8, 8]\nlayers:\n  - {type: relu, name: r}\n  - name: s\n    sequential:\n"
        "      - {type: relu, inputs: r}\n"
    )
    assert found.code == "spec.misplaced-key"


# ---- nesting, recursion, size limits --------------------------------------------------------


def test_nested_blocks():
    result = planned(
        """
        input: [3, 16, 16]
        blocks:
          cbr:
            args: [c, k: 3, s: 1]
            layers:
              - {type: conv2d, name: conv, out_channels: c, kernel_size: k, stride: s, padding: k // 2, bias: false}
              - {type: batchnorm2d, name: bn}
              - {type: relu, name: act}
          stage:
            args: [c, s: 1, expand: 2]
            let: {hidden: "make_divisible(c * expand * 0.5, 8)"}
            layers:
              - {type: cbr, name: a, c: hidden, s: s}
              - {type: cbr, name: b, c: c, k: 1}
        layers:
          - {type: stage, name: s1, c: 8, repeat: 2, first: {s: 2}}
          - {type: stage, name: s2, c: 16, expand: 3, s: 2}
        """
    )
    layers = rows(result)
    assert layers["s1.0.a.conv"].output_shape == (8, 8, 8)
    assert layers["s1.1.b.conv"].output_shape == (8, 8, 8)
    assert layers["s2.a.conv"].output_shape == (24, 4, 4)  # make_divisible(16 * 3 * 0.5) = 24
    assert layers["s2.a.conv"].params == conv_params(8, 24, 3, bias=False)
    assert layers["s2.b.conv"].params == conv_params(24, 16, 1, bias=False)
    assert result.output_shape == (16, 4, 4)


@pytest.mark.parametrize(
    ("blocks", "call", "chain"),
    [
        ("a:\n    layers:\n      - {type: a, name: again}", "{type: a, name: top, repeat: 3}", "a -> a"),
        (
            "a:\n    layers:\n      - {type: b, name: x}\n  b:\n    layers:\n      - {type: a, name: y}",
            "{type: a, name: top}",
            "a -> b -> a",
        ),
        # recursion that would stop: still refused (blocks may not use themselves)
        (
            "a:\n    args: [n]\n    layers:\n      - relu\n      - {type: a, name: sub, n: n - 1, when: n > 0}",
            "{type: a, name: top, n: 3}",
            "a -> a",
        ),
        # a block passed as an argument to itself
        (
            "a:\n    args: [kind]\n    layers:\n      - {type: kind, name: body, kind: kind}",
            "{type: a, name: top, kind: a}",
            "a -> a",
        ),
    ],
    ids=["itself", "each-other", "bounded", "as-an-argument"],
)
def test_a_block_using_itself_is_a_clean_error(blocks, call, chain, entries_expanded):
    found = diagnostics(f"input: [3, 8, 8]\nblocks:\n  {blocks}\nlayers:\n  - {call}\n")
    assert 0 < len(entries_expanded) <= 4  # stopped at the second call, not after many
    assert found[0].code == "spec.block-cycle"
    assert found[0].message.endswith(f"blocks use each other without end: {chain}")


def test_a_huge_repeat_is_refused_quickly(entries_expanded):
    text = """
    input: [3, 8, 8]
    blocks:
      inner: [relu]
      outer:
        layers:
          - {type: inner, name: r, repeat: 1000}
    layers:
      - {type: outer, name: top, repeat: 1000}
    """
    found = diagnostics(text)
    assert entries_expanded == []  # refused from the counts as written, before expanding any entry
    assert found[0].code == "spec.too-large"
    assert "more than 100,000 layers" in found[0].message
    # refused before expanding, at the call whose repeat: passes the limit
    assert found[0].message.startswith("layer 'top' (outer): ")
    assert (found[0].loc.line, found[0].loc.column) == (8, 38)


# ---- multi-input blocks, chunk and split ----------------------------------------------------

MULTI = """
input: [4, 8, 8]
blocks:
  fuse:
    args: [c]
    inputs: [x, skip]
    layers:
      - {type: conv2d, name: proj, inputs: x, out_channels: c, kernel_size: 1}
      - {type: concat, name: cat, inputs: [skip, proj]}
  split_unit:
    args: [c, act: relu]
    layers:
      - {type: chunk, chunks: 2, outputs: [left, right]}
      - {type: conv2d, name: conv, inputs: right, out_channels: c // 2, kernel_size: 3, padding: 1}
      - {type: act, name: act}
      - {type: concat, name: cat, inputs: [left, act]}
layers:
  - {type: conv2d, name: stem, out_channels: 8, kernel_size: 1}
  - {type: split_unit, name: s1, c: 8, act: hardswish}
  - {type: split_unit, name: s2, c: 8, repeat: 2}
  - {type: fuse, name: f, inputs: [s2, stem], c: 4}
"""


def test_multi_input_blocks_and_chunk_outputs():
    result = planned(MULTI)
    layers = rows(result)
    assert layers["s1.left"].output_shape == (4, 8, 8)
    assert layers["s1.right"].output_shape == (4, 8, 8)
    assert layers["s1.conv"].spec.inputs == ("s1.right",)
    assert layers["s1.act"].type_name == "hardswish"
    assert layers["s1.cat"].spec.inputs == ("s1.left", "s1.act")
    assert layers["s2.1.left"].spec.inputs == ("s2.0.cat",)
    assert layers["f.proj"].spec.inputs == ("s2.1.cat",)
    assert layers["f.cat"].spec.inputs == ("stem", "f.proj")
    assert layers["f.cat"].output_shape == (12, 8, 8)
    assert layers["f.proj"].params == conv_params(8, 4, 1)
    assert result.totals.params == conv_params(4, 8, 1) + 3 * conv_params(4, 4, 3) + conv_params(8, 4, 1)


def test_split_with_a_list_argument_and_left_out_outputs():
    result = planned(
        """
        input: [6, 8, 8]
        blocks:
          unit:
            args: [sizes, cut: true]
            layers:
              - {type: split, sizes: sizes, outputs: [p, q, r], when: cut}
              - {type: concat, name: cat, inputs: [r, p]}
        layers:
          - {type: unit, name: a, sizes: [1, 2, 3]}
          - {type: unit, name: b, sizes: [1, 1, 2], cut: false}
        """
    )
    layers = rows(result)
    assert [layers[f"a.{n}"].output_shape[0] for n in "pqr"] == [1, 2, 3]
    assert layers["a.cat"].output_shape == (4, 8, 8)
    assert layers["b.cat"].spec.inputs == ("a.cat", "a.cat")  # both pieces left out: the input
    assert layers["b.cat"].output_shape == (8, 8, 8)


@pytest.mark.parametrize(
    ("call", "message", "where"),
    [
        ("{type: fuse, name: f, c: 4}", "block 'fuse' takes 2 input(s) (x, skip), got 1", ("graph.arity", 18, 5)),
        (
            "{type: fuse, name: f, c: 4, inputs: [stem, stem, stem]}",
            "block 'fuse' takes 2 input(s) (x, skip), got 3",
            ("graph.arity", 18, 41),
        ),
        (
            "{type: fuse, name: f, c: 4, inputs: [stem, stem], repeat: 2}",
            "repeat: needs a block with one input",
            ("spec.bad-value", 18, 63),
        ),
        (
            "{type: fuse, name: f, c: 4, inputs: [stem, nope]}",
            "no layer is named 'nope'",
            ("graph.unknown-input", 18, 48),
        ),
    ],
)
def test_multi_input_mistakes(call, message, where):
    text = MULTI.split("layers:\n  - {type: conv2d, name: stem")[0]
    text += f"layers:\n  - {{type: conv2d, name: stem, out_channels: 8, kernel_size: 1}}\n  - {call}\n"
    (found,) = diagnostics(text)
    assert message in found.message, found.message
    assert (found.code, found.loc.line, found.loc.column) == where, found


def test_a_block_only_sees_its_own_names():
    found = diagnostics(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            layers:
              - {type: conv2d, name: conv, out_channels: 3, kernel_size: 1}
              - {type: add, name: add, inputs: [conv, stem]}
        layers:
          - {type: conv2d, name: stem, out_channels: 3, kernel_size: 1}
          - {type: unit, name: a}
          - {type: add, inputs: [a.conv, stem]}
        """
    )
    inside, outside = found
    assert inside.message == "layer 'a.add' (add): no layer is named 'stem' in this block"
    assert (inside.code, inside.loc.line, inside.loc.column) == ("graph.unknown-input", 6, 47)
    assert outside.message.startswith("layer 'add_1' (add): no layer is named 'a.conv'")
    assert (outside.code, outside.loc.line, outside.loc.column) == ("graph.unknown-input", 10, 26)


# ---- errors inside block bodies -------------------------------------------------------------


def test_an_error_inside_a_block_names_the_full_layer_at_the_blocks_line():
    found = diagnostics(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            args: [c, groups: 1]
            layers:
              - {type: conv2d, name: conv1, out_channels: c, kernel_size: 1}
              - {type: conv2d, name: conv2, out_channels: c, kernel_size: 3, padding: 1, groups: groups}
        layers:
          - {type: unit, name: layer1, c: 12, groups: 3}
          - {type: unit, name: layer2, c: 12, groups: 8, repeat: 2, first: {groups: 4}}
        """
    )
    assert len(found) == 1
    assert found[0].code == "shape.invalid"
    assert found[0].message == (
        "layer 'layer2.1.conv2' (conv2d): groups=8 does not divide the 12 input channels"
        " (in 'layer2.1', the call at blocks.yaml:10)"
    )
    assert (found[0].loc.line, found[0].loc.column) == (7, 90)  # the `groups: groups` in the block


def test_a_graph_cycle_inside_a_block_names_full_layers():
    found = diagnostics(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            layers:
              - {type: conv2d, name: a, inputs: b, out_channels: 3, kernel_size: 1}
              - {type: conv2d, name: b, inputs: a, out_channels: 3, kernel_size: 1}
        layers:
          - {type: unit, name: layer1}
        """
    )
    (first,) = found
    assert (first.code, first.loc.line, first.loc.column) == ("graph.cycle", 5, 9)  # the first layer of the cycle
    assert "layer1.a -> layer1.b -> layer1.a" in first.message


# ---- trainable: false -----------------------------------------------------------------------

FROZEN = """
input: [3, 8, 8]
blocks:
  unit:
    args: [c]
    layers:
      - {type: conv2d, name: conv, out_channels: c, kernel_size: 1}
      - {type: batchnorm2d, name: bn}
layers:
  - {type: unit, name: a, c: 4, trainable: false}
  - {type: unit, name: b, c: 4, repeat: 2, trainable: false}
  - {type: unit, name: c, c: 4}
  - name: d
    trainable: false
    sequential:
      - {type: conv2d, out_channels: 4, kernel_size: 1}
"""


def test_trainable_false_on_a_block_call_freezes_its_layers():
    result = planned(FROZEN)
    frozen = {r.name for r in result.layers if not r.trainable}
    assert frozen == {"a.conv", "a.bn", "b.0.conv", "b.0.bn", "b.1.conv", "b.1.bn", "d.0"}
    assert result.totals.trainable_params == 20 + 8  # c.conv + c.bn
    assert result.totals.non_trainable_params == result.totals.params - 28


# ---- include: -------------------------------------------------------------------------------


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec_text(text))
    return path


def test_include_is_relative_to_the_including_file(tmp_path):
    (tmp_path / ".git").mkdir()  # a work tree: includes may leave the spec's directory, not the repository
    _write(
        tmp_path / "lib" / "a.yaml",
        """
        include: more/b.yaml
        blocks:
          ua:
            args: [c]
            layers:
              - {type: conv2d, name: conv, out_channels: c, kernel_size: 1}
        """,
    )
    _write(tmp_path / "lib" / "more" / "b.yaml", "blocks:\n  ub: [relu]\n")
    main = _write(
        tmp_path / "specs" / "main.yaml",
        """
        input: [3, 8, 8]
        include: ../lib/a.yaml
        layers:
          - {type: ua, name: x, c: 4}
          - {type: ub, name: y}
        """,
    )
    result = plan(load_file(str(main)))
    assert [r.name for r in result.layers] == ["x.conv", "y.relu_1"]
    assert result.output_shape == (4, 8, 8)


@pytest.mark.parametrize(
    ("files", "code", "where", "message"),
    [
        ({}, "spec.unreadable", "main.yaml:2:10", "include: cannot read"),
        (
            {
                "lib/c1.yaml": "blocks:\n  x: [relu]\ninclude: c2.yaml\n",
                "lib/c2.yaml": "blocks:\n  y: [relu]\ninclude: c1.yaml\n",
            },
            "spec.include-cycle",
            "lib/c2.yaml:3:10",
            "include: ",
        ),
        (
            {"lib/c1.yaml": "blocks:\n  x: [relu]\ninclude: ../main.yaml\n"},
            "spec.include-cycle",
            "lib/c1.yaml:3:10",
            "include: ",
        ),
        (
            {"lib/c1.yaml": "blocks:\n  unit: [relu]\n"},
            "spec.duplicate-name",
            "main.yaml:4:3",
            "block 'unit' is already defined at",
        ),
        (
            {"lib/c1.yaml": "input: [3, 8, 8]\nlayers: [relu]\n"},
            "spec.bad-value",
            "lib/c1.yaml:1:1",
            "an included file is a mapping with `blocks:`",
        ),
        ({"lib/c1.yaml": "blocks:\n  x: [relu\n"}, "spec.syntax", "lib/c1.yaml:2:6", "invalid YAML"),
        (
            {"lib/c1.yaml": "blocks:\n  x: [relu]\nlayers: [relu]\n"},
            "spec.unknown-key",
            "lib/c1.yaml:3:1",
            "unknown key 'layers'",
        ),
    ],
    ids=["missing", "cycle", "back-to-the-spec", "duplicate-block", "not-blocks", "syntax", "unknown-key"],
)
def test_include_mistakes(tmp_path, files, code, where, message):
    for name, text in files.items():
        _write(tmp_path / name, text)
    main = _write(
        tmp_path / "main.yaml",
        """
        input: [3, 8, 8]
        include: lib/c1.yaml
        blocks:
          unit: [relu]
        layers:
          - unit
        """,
    )
    with pytest.raises(SpecError) as caught:
        plan(load_file(str(main)))
    (found,) = caught.value.diagnostics
    assert (found.code, str(found.loc)) == (code, f"{tmp_path}/{where}"), found
    assert message in found.message, found.message


def test_duplicate_block_names_name_the_first_definition(tmp_path):
    _write(tmp_path / "lib.yaml", "blocks:\n  unit: [relu]\n")
    main = _write(
        tmp_path / "main.yaml", "input: [3, 8, 8]\ninclude: lib.yaml\nblocks:\n  unit: [relu]\nlayers: [unit]\n"
    )
    with pytest.raises(SpecError) as caught:
        plan(load_file(str(main)))
    [diag] = caught.value.diagnostics
    assert diag.message.startswith(f"block 'unit' is already defined at {tmp_path / 'lib.yaml'}:")
    assert diag.loc.line == 4


# ---- export ---------------------------------------------------------------------------------

EXPORTED = {
    "unit": UNIT.replace("CALL", "{type: unit, name: layer1, c: 16, repeat: 3, first: {stride: 2}}"),
    "resnet_like": RESNET_LIKE,
    "multi_input_and_chunk": MULTI,
    "nested": """
input: [3, 16, 16]
blocks:
  cbr:
    args: [c, k: 3, s: 1, act: relu]
    layers:
      - {type: conv2d, name: conv, out_channels: c, kernel_size: k, stride: s, padding: k // 2, bias: false}
      - {type: batchnorm2d, name: bn}
      - {type: act, name: act}
  stage:
    args: [c, s: 1, expand: 2]
    let: {hidden: "make_divisible(c * expand * 0.5, 8)"}
    layers:
      - {type: cbr, name: a, c: hidden, s: s}
      - {type: cbr, name: b, c: c, k: 1, act: hardswish}
      - {type: identity, name: id, when: s == 1 and expand > 1}
layers:
  - {type: stage, name: s1, c: 8, repeat: 2, first: {s: 2}}
  - {type: stage, name: s2, c: 16, expand: 3, repeat: 2, first: {s: 2, expand: 1}}
""",
    "repeat_name_and_index": """
input: [4, 8, 8]
blocks:
  grow:
    args: [c]
    layers:
      - {type: conv2d, name: conv, out_channels: c, kernel_size: 1}
      - {type: relu, name: relu}
layers:
  - {type: grow, name: g, c: 4 + 2 * i, repeat: 3, repeat_name: "block{n}"}
""",
    "frozen": FROZEN,
}


SKIPPED_FIRST_ENTRY = """
input: [3, 8, 8]
blocks:
  unit:
    args: [pre]
    layers:
      - {type: conv2d, name: first, out_channels: 6, kernel_size: 1, when: pre}
      - {type: conv2d, name: mid, out_channels: 4, kernel_size: 1}
layers:
  - {type: unit, name: a, pre: false}
  - {type: unit, name: b, pre: true}
"""

EXPORTED.update(
    {
        # `mid` reads x where `first` is left out, first's output where it is present
        "wiring-after-a-left-out-entry": SKIPPED_FIRST_ENTRY,
        "wiring-after-a-left-out-entry-reversed": SKIPPED_FIRST_ENTRY.replace("a, pre: false", "a, pre: true").replace(
            "b, pre: true", "b, pre: false"
        ),
        "sequential-with-a-left-out-entry": """
input: [3, 8, 8]
layers:
  - name: body
    sequential:
      - {type: conv2d, out_channels: 4, kernel_size: 1}
      - {type: batchnorm2d, when: false}
      - relu
""",
        "sequential-in-a-block-with-a-left-out-entry": SEQUENTIAL,
        "chunk-outputs-left-out-in-some-calls": """
input: [6, 8, 8]
blocks:
  unit:
    args: [n: 3]
    layers:
      - {type: chunk, chunks: 3, outputs: [p, q, r], when: n == 3}
      - {type: concat, name: cat, inputs: [r, p]}
layers:
  - {type: unit, name: a}
  - {type: unit, name: b, n: 2}
""",
    }
)


@pytest.mark.parametrize("name", list(EXPORTED))
def test_block_specs_export_and_verify(name):
    from torch_reference import require_torch

    require_torch()
    from cnncalc.verify import verify

    result = plan(parse(spec_text(EXPORTED[name]), f"{name}.yaml"))
    comparisons = verify(result, device="cpu")
    assert comparisons and all(c.ok for c in comparisons), [c for c in comparisons if not c.ok]


@pytest.mark.parametrize("name", list(EXPORTED))
def test_export_defines_one_class_per_block(name):
    result = plan(parse(spec_text(EXPORTED[name]), f"{name}.yaml"))
    code = to_pytorch(result)
    classes = re.findall(r"^class (\w+)\(nn\.(?:Module|Sequential)\):", code, flags=re.M)
    expected = sorted(class_name(block) for block in result.spec.blocks)
    assert sorted(classes) == sorted([*expected, class_name(result.name)])
    compile(code, f"{name}.py", "exec")


def test_exported_frozen_layers_do_not_train():
    from torch_reference import require_torch

    require_torch()
    result = plan(parse(spec_text(FROZEN), "frozen.yaml"))
    namespace: dict = {"__name__": "exported"}
    exec(compile(to_pytorch(result), "frozen.py", "exec"), namespace)
    model = namespace[class_name(result.name)]()
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"c.conv.weight", "c.conv.bias", "c.bn.weight", "c.bn.bias"}
    assert sum(p.numel() for p in model.parameters()) == result.totals.params


def test_exported_state_dict_keys_follow_the_spec_names():
    from torch_reference import require_torch

    require_torch()
    result = plan(parse(spec_text(RESNET_LIKE), "resnet_like.yaml"))
    namespace: dict = {"__name__": "exported"}
    exec(compile(to_pytorch(result), "resnet_like.py", "exec"), namespace)
    model = namespace[class_name(result.name)]()
    with_params = {name.rsplit(".", 1)[0] for name, _ in model.named_parameters()}
    assert with_params == {r.name for r in result.layers if r.params}


# ---- known problems: each states the behaviour expected ----------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("input: [3, 8, 8]\nlayers:\n  - {type: relu, when: false}\n", 3),
        ("input: [3, 8, 8]\nblocks:\n  u:\n    layers:\n      - {type: relu, when: false}\nlayers:\n  - u\n", 7),
    ],
    ids=["top-level", "in-a-block"],
)
def test_a_spec_with_every_layer_left_out_is_a_clean_error(text, line):
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "empty.yaml"))
    (found,) = caught.value.diagnostics
    assert found.message == "layers: every entry is left out by `when:`; nothing is left to plan"
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-value", line, 5)  # the first entry


@pytest.mark.parametrize("expression", ["int(a * 1e308 * 10)", "make_divisible(a * 1e308 * 10, 8)"])
def test_infinity_in_an_expression_is_a_clean_error(expression):
    (found,) = diagnostics(EXPRESSION.replace("EXPR", expression))
    assert "is too large" in found.message, found.message
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-expression", 6, 50)


def test_deeply_nested_blocks_are_a_clean_error():
    lines = ["input: [3, 8, 8]", "blocks:"]
    depth = 500
    for k in range(depth):
        body = f"{{type: b{k + 1}, name: n}}" if k < depth - 1 else "relu"
        lines += [f"  b{k}:", "    layers:", f"      - {body}"]
    lines += ["layers:", "  - {type: b0, name: top}"]
    (found,) = diagnostics("\n".join(lines) + "\n", "deep.yaml")
    assert found.message.endswith("(b50): blocks are nested more than 50 deep"), found.message
    # at b49's entry, the call of b50 that is the 51st level
    assert (found.code, found.loc.line, found.loc.column) == ("spec.too-large", 2 + 3 * 50, 9)


@pytest.mark.parametrize("expression", ["a" + " + a" * 500, "-" * 500 + "a", "not " * 1000 + "flag"])
def test_a_very_long_expression_is_refused_cleanly(expression):
    (found,) = diagnostics(EXPRESSION.replace("EXPR", expression))
    assert found.message.endswith("the expression is longer than 500 characters; split it with let: values")
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-expression", 6, 50)


@pytest.mark.parametrize(("expression", "value"), [("a" + " + a" * 50, 7 * 51), ("-" * 50 + "a", 7)])
def test_a_long_expression_under_the_limit_is_computed(expression, value):
    assert len(expression) < 500  # and nested less than 100 deep
    assert rows(planned(EXPRESSION.replace("EXPR", expression)))["u.conv"].output_shape == (value, 8, 8)


_PLAN_STDIN = (
    "import sys\n"
    "from cnncalc.spec import parse\n"
    "from cnncalc.engine import plan\n"
    "from cnncalc.errors import SpecError\n"
    "try:\n"
    "    plan(parse(sys.stdin.read(), 'huge.yaml'))\n"
    "except SpecError as exc:\n"
    "    print(exc.diagnostics[0].code)\n"
)


def test_a_huge_repeat_of_entries_without_layers_is_refused_quickly():
    """Both cases run at once, in separate processes, so a hang costs the test suite 4 s."""
    entries = {
        "left-out-entries": "{type: relu, when: false}",
        "mistake-in-the-block": "{type: conv2d, out_channels: 3}",
    }
    processes = {}
    for case, entry in entries.items():
        text = spec_text(
            f"""
            input: [3, 8, 8]
            blocks:
              inner:
                layers:
                  - {entry}
              outer:
                layers:
                  - {{type: inner, name: r, repeat: 1000}}
            layers:
              - {{type: outer, name: top, repeat: 1000}}
            """
        )
        process = subprocess.Popen(
            [sys.executable, "-c", _PLAN_STDIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        process.stdin.write(text)
        process.stdin.close()
        processes[case] = process
    deadline = time.monotonic() + 4
    slow = []
    for case, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            slow.append(case)
        else:
            assert process.stdout.read().strip().startswith("spec."), process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert not slow, f"still expanding after 4 s: {slow}"


@pytest.mark.parametrize("expression", ["a // 0", "aa * 2", "a ** 99"])
def test_a_bad_expression_is_reported_once(expression):
    found = diagnostics(EXPRESSION.replace("EXPR", expression))
    assert [(d.code, d.loc.line, d.loc.column) for d in found] == [("spec.bad-expression", 6, 50)], found


def test_an_expression_error_names_the_layer_and_field():
    found = diagnostics(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            args: [a, b]
            layers:
              - {type: conv2d, name: conv, out_channels: a // b, kernel_size: 1}
        layers:
          - {type: unit, name: good, a: 4, b: 2}
          - {type: unit, name: bad, a: 4, b: 0}
        """
    )
    (first,) = found
    assert "'bad.conv'" in first.message and "out_channels" in first.message, first.message
    assert (first.code, first.loc.line, first.loc.column) == ("spec.bad-expression", 6, 50)  # `a // b`


def test_a_when_error_names_the_layer():
    found = diagnostics(
        """
        input: [3, 8, 8]
        blocks:
          unit:
            args: [s: 1]
            layers:
              - {type: conv2d, name: conv, out_channels: 3, kernel_size: 1}
              - {type: relu, name: act, when: s}
        layers:
          - {type: unit, name: u}
        """
    )
    (first,) = found
    assert "'u.act'" in first.message, first.message
    assert (first.code, first.loc.line, first.loc.column) == ("spec.bad-value", 7, 39)  # `when: s`


def test_an_unknown_argument_is_located_at_its_key():
    found = diagnostics(UNIT.replace("CALL", "{type: unit, name: a, c: 4, strid: 2}"))
    assert (found[0].loc.line, found[0].loc.column) == (10, 33)  # the `s` of `strid`


@pytest.mark.parametrize(
    ("call", "codes"),
    [
        ("{type: unit, name: a}", [("spec.missing-key", 10, 5)]),  # the call
        ("{type: unit, name: a, cc: 4}", [("spec.unknown-key", 10, 27)]),  # `cc`
    ],
    ids=["missing", "misspelt"],
)
def test_a_missing_argument_is_reported_once(call, codes):
    found = diagnostics(UNIT.replace("CALL", call))
    assert [(d.code, d.loc.line, d.loc.column) for d in found] == codes, [d.message for d in found]


def test_a_duplicate_block_points_at_the_names(tmp_path):
    _write(tmp_path / "lib.yaml", "blocks:\n  unit:\n    layers: [relu]\n")
    main = _write(
        tmp_path / "main.yaml",
        "input: [3, 8, 8]\ninclude: lib.yaml\nblocks:\n  unit:\n    layers: [relu]\nlayers: [unit]\n",
    )
    with pytest.raises(SpecError) as caught:
        plan(load_file(str(main)))
    [diag] = caught.value.diagnostics
    assert (diag.loc.line, diag.loc.column) == (4, 3), str(diag.loc)
    assert diag.message.endswith("lib.yaml:2"), diag.message


def test_a_repeat_over_the_limit_says_the_limit():
    (found,) = diagnostics("input: [3, 8, 8]\nblocks:\n  u: [relu]\nlayers:\n  - {type: u, repeat: 100001}\n")
    assert found.message.endswith("repeat: expected an integer from 1 to 100,000, got 100001"), found.message
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-value", 5, 23)


def test_first_without_repeat_is_an_error():
    (found,) = diagnostics(UNIT.replace("CALL", "{type: unit, name: a, c: 4, first: {stride: 2}}"))
    assert found.message == "layer 'a' (unit): first: sets the first repetition's arguments; it needs repeat:"
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-value", 10, 40)


def test_a_block_input_named_twice_is_an_error():
    found = diagnostics(
        """
        input: [3, 8, 8]
        blocks:
          dup:
            inputs: [x, x]
            layers:
              - {type: concat, name: cat, inputs: [x, x]}
        layers:
          - {type: conv2d, name: stem, out_channels: 3, kernel_size: 1}
          - {type: dup, name: d, inputs: [stem, input]}
        """
    )
    first = found[0]  # (the call is then checked against a block of one input, and reported too)
    assert first.message == "block 'dup': inputs: each input needs its own name, got ['x', 'x']"
    assert (first.code, first.loc.line, first.loc.column) == ("spec.bad-value", 4, 13)


def test_a_layer_named_like_a_block_input_is_an_error():
    found = diagnostics(
        """
        input: [3, 8, 8]
        blocks:
          two:
            inputs: [x, skip]
            layers:
              - {type: conv2d, name: skip, inputs: x, out_channels: 5, kernel_size: 1}
              - {type: concat, name: cat, inputs: [x, skip]}
        layers:
          - {type: conv2d, name: stem, out_channels: 3, kernel_size: 1}
          - {type: two, name: a, inputs: [stem, input]}
        """
    )
    (first,) = found
    assert first.message == "layer name 'skip' is the block's input; give the layer another name"
    assert (first.code, first.loc.line, first.loc.column) == ("spec.duplicate-name", 6, 30)  # `name: skip`


@pytest.mark.parametrize("argument", ["first", "repeat", "when", "name", "trainable", "outputs"])
def test_an_argument_named_like_an_entry_key_is_refused(argument):
    found = diagnostics(
        f"""
        input: [3, 8, 8]
        blocks:
          unit:
            args: [c, {argument}: 1]
            layers:
              - {{type: conv2d, out_channels: c, kernel_size: 1}}
        layers:
          - {{type: unit, c: 3}}
        """
    )
    first = found[0]
    assert f"args: {argument!r} is kept for cnncalc's own use" in first.message, first.message
    assert (first.code, first.loc.line, first.loc.column) == ("spec.bad-name", 4, 15), found


def test_chunk_index_beside_outputs_is_an_error():
    (found,) = diagnostics("input: [6, 8, 8]\nlayers:\n  - {type: chunk, chunks: 2, outputs: [l, m], index: 1}\n")
    assert found.message == "layer 'chunk_1' (chunk): give either index: or outputs:, not both"
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-value", 3, 54)  # `index: 1`


def test_include_from_a_git_revision(tmp_path, monkeypatch):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    _write(tmp_path / "specs" / "blocks" / "lib.yaml", "blocks:\n  unit: [relu]\n")
    _write(tmp_path / "specs" / "spec.yaml", "input: [3, 8, 8]\ninclude: blocks/lib.yaml\nlayers: [unit]\n")
    monkeypatch.chdir(tmp_path)
    quiet = {"capture_output": True, "check": True}
    subprocess.run([git, "init", "-q"], **quiet)
    subprocess.run([git, "add", "."], **quiet)
    subprocess.run([git, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "spec"], **quiet)
    subprocess.run([git, "branch", "feat/x"], **quiet)  # a revision with a slash in its name
    (tmp_path / "specs" / "blocks" / "lib.yaml").write_text("blocks:\n  unit: [relu, relu]\n")  # changed since
    for revision in ("HEAD", "feat/x"):
        spec = load_file_or_revision(f"{revision}:specs/spec.yaml")
        assert [layer.name for layer in spec.layers] == ["unit_1.relu_1"]
    monkeypatch.chdir(tmp_path / "specs")  # the spec at the working directory's top
    assert len(load_file_or_revision("feat/x:spec.yaml").layers) == 1


# Export: what the exported module must do for each kind of block spec

EXPORT_PROBLEMS = {
    # export refuses: "a block is built differently by its calls in a way one class cannot express yet"
    # (a functional layer, chunk or split, whose values differ between calls)
    "chunk-count-differs-between-calls": """
input: [8, 8, 8]
blocks:
  unit:
    args: [n]
    layers:
      - {type: chunk, chunks: n, index: 0}
layers:
  - {type: unit, name: a, n: 2}
  - {type: unit, name: b, n: 2}
  - {type: unit, name: c, n: 1}
""",
    "split-sizes-differ-between-calls": """
input: [6, 8, 8]
blocks:
  unit:
    args: [sizes]
    layers:
      - {type: split, sizes: sizes, outputs: [p, q, r]}
      - {type: concat, name: cat, inputs: [r, p]}
layers:
  - {type: unit, name: a, sizes: [1, 2, 3]}
  - {type: unit, name: b, sizes: [1, 1, 2]}
""",
}
RESERVED_ARGUMENT_SPEC = """
input: [3, 8, 8]
blocks:
  unit:
    args: [NAME]
    layers:
      - {type: conv2d, name: conv, out_channels: NAME, kernel_size: 1}
layers:
  - {type: unit, name: a, NAME: 4}
"""


@pytest.mark.parametrize("name", ["self", "nn", "super", "class", "lambda", "None", "first", "i"])
def test_argument_names_the_export_or_the_call_needs_are_refused(name):
    """Python keywords, the exported code's own names, entry keys and the repetition index."""
    with pytest.raises(SpecError) as caught:
        parse(RESERVED_ARGUMENT_SPEC.replace("NAME", name), "reserved.yaml")
    first = caught.value.diagnostics[0]
    assert first.message.startswith(f"block 'unit': args: {name!r}"), first.message
    assert (first.loc.line, first.loc.column) == (5, 12)


@pytest.mark.parametrize("name", list(EXPORT_PROBLEMS))
def test_block_specs_whose_calls_differ_in_a_chunk_or_split_export(name):
    from torch_reference import require_torch

    require_torch()
    from cnncalc.verify import verify

    result = plan(parse(spec_text(EXPORT_PROBLEMS[name]), "problem.yaml"))  # each plans fine
    comparisons = verify(result, device="cpu")
    assert all(c.ok for c in comparisons), [c for c in comparisons if not c.ok]


# From a new user's trial of 0.6.0: each of these once misled or failed


def test_a_required_argument_after_a_defaulted_one_exports_and_verifies():
    from torch_reference import require_torch

    require_torch()
    from cnncalc.verify import verify

    text = """
    input: [3, 8, 8]
    blocks:
      unit:
        args: [stride: 1, out]
        layers:
          - {type: conv2d, name: conv, out_channels: out, kernel_size: 3, padding: 1, stride: stride}
    layers:
      - {type: unit, name: a, out: 4, repeat: 2, first: {stride: 2}}
    """
    result = planned(text)
    code = to_pytorch(result)
    assert "Unit(3, 4, stride=2)" in code
    assert all(c.ok for c in verify(result, device="cpu"))


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("outt", "got string 'outt'; no argument is named 'outt'; did you mean 'out'?"),
        ("out * * 2", "in 'out * * 2': this is not a valid expression"),
    ],
)
def test_a_misspelt_argument_or_a_broken_expression_says_so(value, fragment):
    text = f"""
    input: [3, 8, 8]
    blocks:
      unit:
        args: [out]
        layers:
          - {{type: conv2d, name: conv, out_channels: {value}, kernel_size: 1}}
    layers:
      - {{type: unit, name: a, out: 4}}
    """
    [found] = diagnostics(text)
    assert fragment in found.message, found.message
    code = "spec.bad-expression" if fragment.startswith("in '") else "spec.bad-value"
    assert (found.code, found.loc.line, found.loc.column) == (code, 6, 50)  # the value, in the block


def test_an_expression_cut_at_a_comma_is_reported_once():
    text = """
    input: [16, 8, 8]
    blocks:
      se:
        args: [c]
        layers:
          - {type: conv2d, name: fc1, out_channels: make_divisible(c * 0.25, 8), kernel_size: 1}
    layers:
      - {type: se, name: a, c: 16}
    """
    [found] = diagnostics(text)
    assert "the expression stops short" in found.message and "quote the expression" in found.message
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-expression", 6, 49)


def test_an_entry_key_among_a_block_calls_arguments_is_explained():
    text = """
    input: [3, 8, 8]
    blocks:
      unit:
        args: [out]
        layers:
          - {type: conv2d, name: conv, out_channels: out, kernel_size: 1}
    layers:
      - unit: {out: 4, repeat: 2}
    """
    [found] = diagnostics(text)
    assert (found.code, found.loc.line, found.loc.column) == ("spec.misplaced-key", 8, 20)  # `repeat`
    assert "'repeat' goes beside the block's name, not among its arguments" in found.message


def test_a_shape_error_in_a_block_names_the_call_that_met_it():
    text = """
    input: [8, 8, 8]
    blocks:
      unit:
        args: [out]
        layers:
          - {type: conv2d, name: conv, out_channels: out, kernel_size: 1}
          - {type: add, name: add, inputs: [conv, input]}
    layers:
      - {type: unit, name: fine, out: 8}
      - {type: unit, name: wrong, out: 4}
    """
    [found] = diagnostics(text)
    assert (found.code, found.loc.line, found.loc.column) == ("shape.mismatch", 7, 40)  # the add's inputs
    assert found.message.endswith("(in 'wrong', the call at blocks.yaml:10)"), found.message


def test_a_written_when_stays_in_the_exported_class_even_where_every_call_agrees():
    text = """
    input: [4, 8, 8]
    blocks:
      unit:
        args: [out, shortcut: true]
        layers:
          - {type: conv2d, name: conv, out_channels: out, kernel_size: 1}
          - {type: conv2d, name: proj, inputs: input, out_channels: out, kernel_size: 1, when: shortcut}
          - {type: add, name: add, inputs: [conv, proj]}
    layers:
      - {type: unit, name: a, out: 8}
    """
    code = to_pytorch(planned(text))
    assert "        if shortcut:" in code.splitlines()


def test_a_note_met_by_every_call_of_a_block_line_is_printed_once():
    from clirun import runner

    from cnncalc.cli import cli

    out = runner().invoke(cli, ["plan", "architectures/resnet50.yaml"]).stdout
    notes = [line for line in out.splitlines() if ": note: " in line]
    assert len(notes) == 1 and notes[0].endswith("(and 2 more calls of this line)"), notes


INVERTED_RESIDUAL = """
input: [3, 32, 32]
blocks:
  inverted_residual:
    args: [oup, stride: 1, t: 6]
    let: {hidden: in_channels * t}
    layers:
      - {type: conv2d, name: expand, out_channels: hidden, kernel_size: 1, bias: false, when: t != 1}
      - {type: conv2d, name: dw, out_channels: hidden, kernel_size: 3, stride: stride, padding: 1, groups: hidden, bias: false}
      - {type: conv2d, name: project, out_channels: oup, kernel_size: 1, bias: false}
      - {type: add, name: add, inputs: [project, input], when: stride == 1 and in_channels == oup}
layers:
  - {type: conv2d, name: stem, out_channels: 16, kernel_size: 3, padding: 1}
  - {type: inverted_residual, name: b1, oup: 16, t: 1}
  - {type: inverted_residual, name: b2, oup: 24, repeat: 2, first: {stride: 2}}
"""


def test_in_channels_is_the_blocks_input_width_in_each_call():
    """MobileNetV2's inverted residual without an `inp` argument: the expansion follows the
    input (16 x 6 = 96, then 24 x 6 = 144) and the residual is added only where widths match."""
    found = rows(planned(INVERTED_RESIDUAL))
    assert found["b2.0.expand"].output_shape == (96, 32, 32)
    assert found["b2.1.expand"].output_shape == (144, 16, 16)
    assert "b1.expand" not in found and "b1.add" in found  # t = 1; 16 -> 16 at stride 1
    assert "b2.0.add" not in found and "b2.1.add" in found


def test_in_channels_exports_as_the_constructor_argument_and_verifies():
    from torch_reference import require_torch

    require_torch()
    from cnncalc.verify import verify

    result = planned(INVERTED_RESIDUAL)
    code = to_pytorch(result)
    assert "        hidden = in_channels * t" in code.splitlines()
    assert "        self.use_add = stride == 1 and in_channels == oup" in code.splitlines()
    assert all(c.ok for c in verify(result, device="cpu"))


def test_in_channels_of_a_layer_defined_later_is_a_clear_error():
    text = INVERTED_RESIDUAL.replace(
        "  - {type: inverted_residual, name: b1, oup: 16, t: 1}",
        "  - {type: inverted_residual, name: b1, oup: 16, t: 1, inputs: late}\n"
        "  - {type: conv2d, name: late, inputs: stem, out_channels: 16, kernel_size: 1}",
    )
    [found] = diagnostics(text)
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-expression", 5, 19)  # the let: using it
    assert "in_channels is not known here" in found.message and "layer 'b1'" in found.message


def test_an_argument_named_in_channels_is_the_argument():
    text = """
    input: [3, 8, 8]
    blocks:
      unit:
        args: [in_channels]
        layers:
          - {type: conv2d, name: conv, out_channels: in_channels * 2, kernel_size: 1}
    layers:
      - {type: unit, name: a, in_channels: 5}
    """
    assert rows(planned(text))["a.conv"].output_shape == (10, 8, 8)


def test_a_layer_type_given_as_an_argument_exports_and_verifies():
    """The activation is an argument; unnamed, it is relu_1 in one call and silu_1 in another."""
    from torch_reference import require_torch

    require_torch()
    from cnncalc.verify import verify

    text = """
    input: [3, 32, 32]
    blocks:
      cba:
        args: [c, act: relu]
        layers:
          - {type: conv2d, out_channels: c, kernel_size: 3}
          - {type: act}
    layers:
      - {type: cba, c: 8, act: relu}
      - {type: cba, c: 8, act: swish}
    """
    assert all(c.ok for c in verify(planned(text), device="cpu"))


def test_verify_values_on_a_model_too_large_for_memory_is_a_clear_error(tmp_path):
    from clirun import runner
    from torch_reference import require_torch

    from cnncalc.cli import cli

    require_torch()
    spec = tmp_path / "huge.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - {type: conv2d, out_channels: 1600000000000, kernel_size: 1}\n")
    assert runner().invoke(cli, ["verify", str(spec)]).exit_code == 0  # the meta device: no memory
    result = runner().invoke(cli, ["verify", "--values", str(spec)])
    assert result.exit_code == 2
    assert "cannot run" in result.stderr and "verify without --values" in result.stderr


# From a code review of 0.6.0: each of these crashed, exported wrong code or was refused

REVIEWED = {
    "let-values-that-are-text": """
input: [3, 16, 16]
blocks:
  cba:
    args: [c]
    let: {act: hardswish, pad: same}
    layers:
      - {type: conv2d, name: conv, out_channels: c, kernel_size: 3, padding: pad}
      - {type: act, name: act}
layers:
  - {type: cba, name: a, c: 8}
  - {type: cba, name: b, c: 16}
""",
    "an-argument-named-layers": """
input: [3, 16, 16]
blocks:
  stage:
    args: [layers, bn: true]
    layers:
      - {type: conv2d, out_channels: layers, kernel_size: 3, padding: 1}
      - {type: batchnorm2d, when: bn}
      - {type: conv2d, out_channels: 2 * layers, kernel_size: 1}
layers:
  - {type: stage, name: a, layers: 8}
  - {type: stage, name: b, layers: 4, bn: false}
""",
    "a-call-that-passes-its-input-on": """
input: [3, 16, 16]
blocks:
  maybe:
    args: [c, use: true]
    layers:
      - {type: conv2d, name: conv, out_channels: c, kernel_size: 3, padding: 1}
      - {type: conv2d, name: extra, out_channels: 5, kernel_size: 1, inputs: input, when: use}
layers:
  - {type: maybe, name: m1, c: 8, use: false}
  - {type: maybe, name: m2, c: 8}
  - {type: global_avgpool2d}
  - {type: linear, out_features: 10}
""",
    "an-empty-repetition": """
input: [8, 16, 16]
blocks:
  inner:
    args: [flag, bn]
    layers:
      - name: body
        when: flag
        sequential:
          - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
          - {type: batchnorm2d, when: bn}
layers:
  - {type: inner, name: r, repeat: 3, first: {flag: false}, flag: true, bn: i == 1}
""",
    "a-default-from-in_channels-and-keyword-arguments": """
input: [16, 8, 8]
blocks:
  se:
    args: [squeeze: 'make_divisible(in_channels // 4, 8)']
    layers:
      - {type: conv2d, name: fc1, out_channels: squeeze, kernel_size: 1}
      - {type: conv2d, name: fc2, out_channels: 'make_divisible(20, divisor=8)', kernel_size: 1}
layers:
  - {type: se, name: a}
""",
}


@pytest.mark.parametrize("name", list(REVIEWED))
def test_reviewed_block_specs_plan_export_and_verify(name):
    from torch_reference import require_torch

    require_torch()
    from cnncalc.verify import verify

    result = planned(REVIEWED[name])
    assert all(c.ok for c in verify(result, device="cpu"))


def test_a_call_that_passes_its_input_on_shows_that_input_as_its_output():
    from cnncalc.render.json import plan_document

    document = plan_document(planned(REVIEWED["a-call-that-passes-its-input-on"]))
    m1 = next(block for block in document["blocks"] if block["name"] == "m1")
    assert m1["output"] == "input" and m1["output_shape"] == [3, 16, 16]


def test_a_file_included_along_two_paths_is_read_once(tmp_path):
    _write(
        tmp_path / "common.yaml",
        "blocks:\n  cbr:\n    args: [c]\n    layers:\n      - {type: conv2d, name: conv, out_channels: c, kernel_size: 1}\n",
    )
    _write(tmp_path / "a.yaml", "include: common.yaml\nblocks:\n  two: [{type: cbr, name: x, c: 8}]\n")
    _write(tmp_path / "b.yaml", "include: common.yaml\nblocks:\n  three: [{type: cbr, name: y, c: 4}]\n")
    main = _write(
        tmp_path / "main.yaml",
        "input: [3, 8, 8]\ninclude: [a.yaml, b.yaml, ./common.yaml]\nlayers: [two, three, {type: cbr, c: 2}]\n",
    )
    assert [row.output_shape[0] for row in plan(load_file(str(main))).layers] == [8, 4, 2]
