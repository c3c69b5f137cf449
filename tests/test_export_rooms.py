"""The export in rooms (issue 11): layer types describe their own export, the export asks them.

No layer type is special-cased by name in cnncalc/export/; the channel expressions a layer
passes on come from LayerType.channel_symbols, the names the module's helpers take from the
registry; and each function there stays small.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

import cnncalc.export
from cnncalc import expressions
from cnncalc.engine import plan
from cnncalc.export.naming import RESERVED, module_names
from cnncalc.export.prelude import HELPER_FUNCTIONS
from cnncalc.layers import REGISTRY, lookup
from cnncalc.layers.base import LayerType
from cnncalc.layers.merge import Concat
from cnncalc.spec import parse

EXPORT = Path(cnncalc.export.__file__).parent
SOURCES = sorted(EXPORT.glob("*.py"))

FORK = """
name: fork-net
input: [3, 8, 8]
blocks:
  fork:
    args: [a, b]
    layers:
      - {type: conv2d, name: left, out_channels: a, kernel_size: 1, inputs: [input]}
      - {type: conv2d, name: right, out_channels: b, kernel_size: 1, inputs: [input]}
      - {type: concat, name: join, inputs: [left, right]}
      - {type: conv2d, name: mix, out_channels: 4, kernel_size: 1}
layers:
  - {type: fork, name: f1, a: 2, b: 3}
  - {type: fork, name: f2, a: 5, b: 1}
"""


def _code(text: str) -> list[str]:
    return cnncalc.export.to_pytorch(plan(parse(text))).splitlines()


def test_the_package_keeps_the_public_names():
    for name in ("export", "to_pytorch", "Exported", "ExportError", "class_name", "attribute_names"):
        assert hasattr(cnncalc.export, name), name
    assert "make_divisible" in RESERVED and "torch" in RESERVED and "x" in RESERVED


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_layer_type_is_special_cased_by_name(path):
    """No `type_name` and no comparison with a layer type's name: the layer types describe themselves."""
    text = path.read_text()
    assert "type_name" not in text
    names = set(REGISTRY)
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Compare):
            continue
        for operand in [node.left, *node.comparators]:
            items = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
            constants = {item.value for item in items if isinstance(item, ast.Constant)}
            assert not constants & names, f"{path.name}:{node.lineno} compares with a layer type's name"


def _size(function: ast.AST) -> tuple[int, int]:
    """(lines, cyclomatic complexity counted strictly: branches, loops, handlers, with, assert,
    each comprehension and its conditions, each extra operand of and/or, conditional expressions)."""
    complexity = 1
    for node in ast.walk(function):
        if isinstance(node, (ast.If, ast.IfExp, ast.For, ast.While, ast.ExceptHandler, ast.With, ast.Assert)):
            complexity += 1
        elif isinstance(node, ast.comprehension):
            complexity += 1 + len(node.ifs)
        elif isinstance(node, ast.BoolOp):
            complexity += len(node.values) - 1
    return function.end_lineno - function.lineno + 1, complexity


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_functions_stay_small(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines, complexity = _size(node)
            assert lines <= 60 and complexity <= 15, (
                f"{path.name}:{node.lineno} {node.name}: {lines} lines, CCN {complexity}"
            )


def test_the_size_measure_counts_branches():
    tree = ast.parse("def f(a):\n    if a and a > 1:\n        return [x for x in a if x]\n    return a if a else 0\n")
    assert _size(tree.body[0]) == (4, 1 + 1 + 1 + 2 + 1)


def test_channel_symbols_of_the_layer_types():
    channels = {0: "c"}
    conv = lookup("conv2d")
    cfg = {"out_channels": 8}
    assert conv.channel_symbols(cfg, {"out_channels": "2 * c"}, [channels], (4, 8, 8), (8, 8, 8)) == {0: "2 * c"}
    assert conv.channel_symbols(cfg, {}, [channels], (4, 8, 8), (8, 8, 8)) == {0: "8"}
    # linear sets the last axis; relu and pooling keep the channels; flatten drops them
    assert lookup("linear").channel_symbols({"out_features": 5}, {}, [{}], (4, 3), (4, 5)) == {1: "5"}
    assert lookup("relu").channel_symbols({}, {}, [channels], (4, 8, 8), (4, 8, 8)) == channels
    assert lookup("maxpool2d").channel_symbols({}, {}, [{0: "c", 1: "h"}], (4, 8, 8), (4, 4, 4)) == channels
    assert lookup("flatten").channel_symbols({}, {}, [channels], (4, 2, 2), (16,)) == {}
    # permute moves them; concat adds them up along the channels only; chunk divides them
    permute = lookup("permute")
    assert permute.channel_symbols({"dims": (0, 2, 3, 1)}, {}, [channels], (4, 6, 7), (6, 7, 4)) == {2: "c"}
    concat = lookup("concat")
    two = [{0: "a"}, {0: "b + 1"}]
    assert concat.channel_symbols({"dim": 1}, {}, two, (2, 8, 8), (3, 8, 8)) == {0: "a + (b + 1)"}
    assert concat.channel_symbols({"dim": 2}, {}, two, (2, 8, 8), (2, 16, 8)) == {}
    assert concat.channel_symbols({"dim": 1}, {}, [{0: "a"}, {}], (2, 8, 8), (3, 8, 8)) == {}
    chunk = lookup("chunk")
    halves = chunk.channel_symbols({"chunks": 2, "dim": 1}, {}, [{0: "c * 2"}], (8, 4, 4), (4, 4, 4))
    assert halves == {0: "(c * 2) // 2"}
    assert lookup("split").channel_symbols({"sizes": 2, "dim": 1}, {}, [channels], (8, 4, 4), (2, 4, 4)) == {}
    assert lookup("add").channel_symbols({}, {}, [{0: "a"}, {0: "b"}], (2, 4, 4), (2, 4, 4)) == {0: "a"}


def test_the_export_asks_the_layer_type_for_its_channels(monkeypatch):
    """The conv after a concat reads `a + b` channels because Concat says so; told otherwise (and
    still right), the export writes what the type says."""
    assert "        self.mix = nn.Conv2d(a + b, 4, 1)" in _code(FORK)

    def reversed_sum(self, cfg, exprs, sources, shape, out):
        return {0: " + ".join(reversed([symbols[0] for symbols in sources]))}

    monkeypatch.setattr(Concat, "channel_symbols", reversed_sum)
    assert "        self.mix = nn.Conv2d(b + a, 4, 1)" in _code(FORK)

    # a description that is wrong for some call is not written: each call's value is checked
    monkeypatch.setattr(Concat, "channel_symbols", lambda self, cfg, exprs, sources, shape, out: {0: "a"})
    code = _code(FORK)
    assert not any("nn.Conv2d(a, 4, 1)" in line for line in code)
    assert "        self.mix = nn.Conv2d(mix_in_channels, 4, 1)" in code  # each call passes its own
    assert any(line.startswith("        self.f1 = Fork(3, 2, 3, mix_in_channels=5)") for line in code)


def test_helper_class_names_come_from_the_registry(monkeypatch):
    """A layer type's helper class takes its name in the module: a model named like it is renamed."""

    class Zorro(LayerType):
        type_name = "zorro"
        torch_class = "Zorro"
        torch_helper = "class Zorro(nn.Module):\n    pass\n"

    assert Zorro.torch_helper_names() == ("Zorro",)
    text = "name: zorro\ninput: [3]\nlayers:\n  - {type: linear, out_features: 2}\n"
    assert "class Zorro(nn.Module):" in _code(text)
    monkeypatch.setitem(REGISTRY, "zorro", Zorro())
    assert "Zorro" in module_names(None)
    assert "class ZorroModel(nn.Module):" in _code(text)
    # the helpers the layer types bring, as the export reserves them
    assert {"Permute", "layer_scale_parameter", "StochasticDepth", "LayerNorm2d"} <= module_names(None)


def test_every_function_of_the_expressions_is_defined_or_builtin():
    """The export defines the expression language's functions that Python lacks, and their names are taken."""
    assert set(expressions.FUNCTIONS) - set(dir(builtins)) == set(HELPER_FUNCTIONS)
    assert set(HELPER_FUNCTIONS) <= RESERVED
    namespace: dict = {}
    exec(HELPER_FUNCTIONS["make_divisible"], namespace)  # the module's own text, not a spec's
    for value, divisor in [(32 * 0.25, 8), (960 * 0.25, 8), (100, 8), (17, 4), (3, 8)]:
        assert namespace["make_divisible"](value, divisor) == expressions.make_divisible(value, divisor)


def test_a_per_axis_list_of_expressions_is_written_as_a_tuple_of_them():
    """`kernel_size: [k, 3]` in a block is `(k, 3)` in its class, not a new constructor argument
    per call (and a `let:` used only there is used)."""
    from cnncalc.engine import plan
    from cnncalc.export import to_pytorch
    from cnncalc.spec import parse

    text = (
        "input: [4, 16, 16]\nblocks:\n  b:\n    args: [k: 3]\n    let: {p: k // 2}\n    layers:\n"
        "      - {type: conv2d, out_channels: 8, kernel_size: [k, 3], padding: [p, 1]}\n"
        "layers:\n  - {type: b, name: b1}\n  - {type: b, name: b2, k: 1}\n"
    )
    code = to_pytorch(plan(parse(text, "b.yaml")))
    assert "nn.Conv2d(in_channels, 8, (k, 3), padding=(p, 1))" in code
    assert "B(8, k=1)" in code and "conv2d_1_kernel_size" not in code


def test_members_named_by_digits_keep_their_names_outside_a_sequential():
    """torchvision's ASPP.convs: branches named 0, 1, ... that all read the block's input are
    registered by those names (add_module), so the module paths are the spec's names."""
    from cnncalc.engine import plan
    from cnncalc.export import export
    from cnncalc.spec import parse

    text = (
        "input: [8, 4, 4]\nblocks:\n  branches:\n"
        '    - {type: conv2d, name: "0", inputs: input, out_channels: 2, kernel_size: 1}\n'
        '    - {type: conv2d, name: "1", inputs: input, out_channels: 2, kernel_size: 1, trainable: false}\n'
        '    - {type: concat, name: cat, inputs: ["0", "1"]}\n'
        "layers:\n  - {type: branches, name: convs}\n"
    )
    exported = export(plan(parse(text, "b.yaml")))
    assert exported.paths["convs.0"] == "convs.0" and exported.paths["convs.1"] == "convs.1"
    assert 'self.add_module("0", nn.Conv2d(in_channels, 2, 1))' in exported.code
    assert 'getattr(self, "1")(x)' in exported.code
    assert "self.get_submodule('convs.1').requires_grad_(False)" in exported.code


def test_a_comparison_of_a_name_with_itself_is_written_as_the_branch_it_takes():
    """`out if in_channels != out else in_channels` called with out = in_channels is written
    `in_channels`, not `in_channels if in_channels != in_channels else in_channels` (ruff's
    PLR0124; found by the DDPM UNet's ResnetBlock)."""
    from cnncalc.export.values import substitute

    text = "out if in_channels != out else in_channels"
    assert substitute(text, {"out": "in_channels"}) == "in_channels"
    assert substitute("a if b == b else c", {}) == "a"
    assert substitute(text, {"out": "64"}) == "64 if in_channels != 64 else in_channels"
