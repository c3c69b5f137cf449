"""Several inputs and outputs: top-level `inputs:` names each network input with its shape, and
`outputs:` lists the layers (or block calls) whose values the network returns."""

from __future__ import annotations

import json

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.memory import estimate
from cnncalc.spec import parse

SPEC = """\
name: two_heads
inputs:
  image: [3, 32, 32]
  t: [16]
outputs: [p4, stage, head]
blocks:
  down:
    args: [c]
    layers:
      - {type: conv2d, name: conv, out_channels: c, kernel_size: 3, padding: 1}
      - {type: maxpool2d, name: pool, kernel_size: 2}
layers:
  - {type: conv2d, name: c1, out_channels: 16, kernel_size: 3, padding: 1}
  - {type: relu, name: r1}
  - {type: maxpool2d, name: p4, kernel_size: 2}
  - {type: down, name: stage, c: 16}
  - {type: linear, name: temb, inputs: t, out_features: 16}
  - {type: global_avgpool2d, name: gap, inputs: stage}
  - {type: add, name: head, inputs: [gap, temb]}
"""


def test_inputs_and_outputs_are_planned_by_name():
    result = plan(parse(SPEC, "two_heads.yaml"))
    assert result.input_shapes == {"image": (3, 32, 32), "t": (16,)}
    assert result.input_shape == (3, 32, 32)  # the first input: what the first layer reads
    # a block call stands for its last layer
    assert result.output_shapes == {"p4": (16, 16, 16), "stage.pool": (16, 8, 8), "head": (16,)}
    rows = {row.name: row for row in result.layers}
    assert rows["c1"].spec.inputs == ("image",) and rows["temb"].spec.inputs == ("t",)
    assert not [w for w in result.warnings if w.code == "note.unread"]  # outputs are read by the caller


def test_one_input_is_called_input():
    result = plan(parse("input: [3, 8, 8]\nlayers: [relu]\n", "one.yaml"))
    assert result.input_shapes == {"input": (3, 8, 8)}
    assert result.output_shapes == {"relu_1": (3, 8, 8)}


def test_json_keeps_single_shapes_and_adds_the_named_ones(tmp_path):
    path = tmp_path / "two_heads.yaml"
    path.write_text(SPEC)
    document = json.loads(runner().invoke(cli, ["plan", str(path), "--format", "json"]).stdout)
    assert document["input_shape"] is None and document["output_shape"] is None  # several: by name only
    assert document["input_shapes"] == {"image": [3, 32, 32], "t": [16]}
    assert document["output_shapes"] == {"p4": [16, 16, 16], "stage.pool": [16, 8, 8], "head": [16]}
    table = runner().invoke(cli, ["plan", str(path)]).stdout
    assert "two_heads  (image [3, 32, 32], t [16])" in table
    assert "Outputs: p4 [16, 16, 16], stage.pool [16, 8, 8], head [16]" in table


def test_memory_counts_every_input_and_holds_every_output():
    result = plan(parse(SPEC, "two_heads.yaml"))
    single = plan(parse(SPEC.replace("outputs: [p4, stage, head]\n", ""), "two_heads.yaml"))
    held = estimate(result, batch_size=2).saved_activations_bytes
    # p4 is saved anyway (stage.conv keeps its input); stage's output, which only a mean reads, is held
    # until the loss as an output too: 2 x 16 x 8 x 8 float32 more than with the one output, head
    assert held == estimate(single, batch_size=2).saved_activations_bytes + 2 * 16 * 8 * 8 * 4
    # both inputs are alive at the start, with the weights
    assert estimate(result).inference_peak_bytes >= (3 * 32 * 32 + 16) * 4 + result.totals.params * 4


def _errors(text):
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "bad.yaml"))
    return [(d.code, d.loc.line, d.loc.column, d.message) for d in caught.value.diagnostics]


@pytest.mark.parametrize(
    "text, code, line, column, fragment",
    [
        ("input: [3, 8, 8]\ninputs: {a: [3]}\nlayers: [relu]\n", "spec.bad-value", 2, 9, "not both"),
        ("inputs: [3, 8, 8]\nlayers: [relu]\n", "spec.bad-value", 1, 9, "a mapping of names to shapes"),
        ("inputs: {a: [3], 'b c': [4]}\nlayers: [relu]\n", "spec.bad-name", 1, 18, "is not a name"),
        ("inputs: {a: [3], b: [0]}\nlayers: [relu]\n", "spec.bad-value", 1, 21, "inputs: b: expected a shape"),
        (
            "inputs: {a: [3], b: [4]}\nlayers: [relu, {type: relu, name: b}]\n",
            "spec.duplicate-name",
            2,
            16,
            "is the name of an input",
        ),
        ("input: [3]\noutputs: [relu_9]\nlayers: [relu]\n", "graph.unknown-input", 2, 11, "did you mean 'relu_1'?"),
        (
            "inputs: {a: [3], b: [3]}\noutputs: [b]\nlayers: [relu]\n",
            "graph.unknown-input",
            2,
            11,
            "an input is not an output",
        ),
        ("input: [3]\noutputs: [relu_1, relu_1]\nlayers: [relu]\n", "spec.duplicate-name", 2, 19, "listed twice"),
        (
            "inputs: {a: [3], b: [3]}\nlayers: [{type: relu, inputs: c}]\n",
            "graph.unknown-input",
            2,
            31,
            "no layer is named 'c'",
        ),
    ],
)
def test_wrong_inputs_and_outputs_are_located(text, code, line, column, fragment):
    ((got_code, got_line, got_column, message),) = _errors(text)
    assert (got_code, got_line, got_column) == (code, line, column), message
    assert fragment in message


def test_an_unread_layer_note_names_the_outputs():
    text = "input: [3]\noutputs: [a, b]\nlayers:\n  - {type: relu, name: a}\n  - {type: relu, name: b}\n  - {type: relu, name: c, inputs: a}\n"
    (note,) = [w for w in plan(parse(text, "n.yaml")).warnings if w.code == "note.unread"]
    assert "layer 'c' (relu): nothing reads its output, and the network's outputs are 'a', 'b'" in note.message


@pytest.mark.torch
def test_export_takes_each_input_and_returns_the_outputs_and_verifies(tmp_path):
    from torch_reference import measure_saved_bytes_of, require_torch

    torch = require_torch()
    from cnncalc.export import to_pytorch

    result = plan(parse(SPEC, "two_heads.yaml"))
    code = to_pytorch(result)
    assert "def forward(self, image: torch.Tensor, t: torch.Tensor) -> tuple[" in code
    namespace: dict = {"__name__": "exported"}
    exec(compile(code, "exported.py", "exec"), namespace)
    model = namespace["TwoHeads"]()
    outputs = model(torch.zeros(2, 3, 32, 32), torch.zeros(2, 16))
    assert [tuple(o.shape[1:]) for o in outputs] == list(result.output_shapes.values())
    assert estimate(result, batch_size=2).saved_activations_bytes == measure_saved_bytes_of(
        model, result.input_shapes, batch_size=2
    )
    path = tmp_path / "two_heads.yaml"
    path.write_text(SPEC)
    verified = runner().invoke(cli, ["verify", str(path), "--values"])
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    (whole,) = [line for line in verified.stdout.splitlines() if line.startswith("forward()")]
    assert "[16, 16, 16], [16, 8, 8], [16]" in whole and whole.endswith("ok")


NESTED = """\
input: [3, 16, 16]
outputs: [OUTPUTS]
blocks:
  pair:
    layers:
      - {type: conv2d, name: a, out_channels: 4, kernel_size: 3, padding: 1}
      - {type: conv2d, name: b, out_channels: 6, kernel_size: 3, stride: 2}
  stage:
    layers:
      - {type: pair, name: inner}
      - {type: relu, name: act}
layers:
  - {type: stage, name: s1}
  - {type: stage, name: s2}
  - {type: global_avgpool2d, name: gap}
"""

INSIDE_CALLS = {
    # a layer inside a block call: the block's class returns it after its output
    "one level": ("stage.conv, head", SPEC),
    # two levels down, in one of two calls of the same class; the other call's caller ignores it
    "two levels": ("s1.inner.a, gap", NESTED),
    # the inner block's own output, and a layer two levels down in the other call
    "its output and a sibling": ("s2.inner.b, s2.inner.a, s1.inner.b, gap", NESTED),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(INSIDE_CALLS))
def test_an_output_inside_a_block_call_is_returned_by_the_export_and_verifies(name):
    from torch_reference import require_torch

    require_torch()
    from cnncalc.export import export
    from cnncalc.verify import verify

    outputs, text = INSIDE_CALLS[name]
    text = text.replace("outputs: [p4, stage, head]", "outputs: [OUTPUTS]").replace("OUTPUTS", outputs)
    result = plan(parse(text, "inside.yaml"))
    exported = export(result)
    compile(exported.code, "exported.py", "exec")
    comparisons = verify(result, device="cpu")
    assert [c for c in comparisons if not c.ok] == []
    assert comparisons[-1].measured[0] == tuple(result.output_shapes.values())
    assert list(result.output_shapes) == outputs.split(", ")


@pytest.mark.parametrize(
    ("layers", "outputs", "message"),
    [
        ("  - {type: pair, name: r, repeat: 2}\n", "r.0.a, r", "'r.0.a' is inside a `repeat:` call ('r')"),
        (
            "  - sequential:\n      - {type: pair, name: p}\n  - {type: pair, name: q}\n",
            "q.a, q",
            "block 'pair' returns layers inside it (outputs:), and is also called inside an nn.Sequential",
        ),
    ],
    ids=["inside a repeat", "the same block in a list"],
)
def test_an_output_an_nn_sequential_would_hide_is_refused_by_the_export(layers, outputs, message):
    from cnncalc.export import ExportError, to_pytorch

    head = NESTED[: NESTED.index("  stage:")].replace("OUTPUTS", outputs)
    result = plan(parse(f"{head}layers:\n{layers}", "inside.yaml"))
    with pytest.raises(ExportError) as raised:
        to_pytorch(result)
    assert message in str(raised.value)


def test_a_block_of_several_inputs_given_inputs_in_a_sequential_list_is_an_error_not_a_crash():
    text = (
        "input: [3, 8, 8]\nblocks:\n  two: {inputs: [a, b], layers: [{type: add, inputs: [a, b]}]}\n"
        "layers:\n  - sequential:\n      - {type: conv2d, name: c, out_channels: 3, kernel_size: 1}\n"
        "      - {type: two, inputs: [c, c]}\n"
    )
    ((code, line, _, message),) = _errors(text)
    assert (code, line) == ("spec.misplaced-key", 7) and "move this layer out of the list" in message


def test_forward_arguments_are_distinct_whatever_the_input_names():
    """`input_2` and `a-b` (written input_2 too, by position) were the same argument (found by review)."""
    from cnncalc.export.naming import model_input_variables

    assert model_input_variables(["input_2", "a-b"]) == ["input_2", "input_2_2"]
    assert model_input_variables(["a-b", "input_1"]) == ["input_1_2", "input_1"]
    assert model_input_variables(["image", "t"]) == ["image", "t"]


def test_an_empty_outputs_list_is_refused():
    ((code, line, _, message),) = _errors("input: [3]\noutputs: []\nlayers: [relu]\n")
    assert (code, line) == ("spec.bad-value", 2) and "got []" in message
