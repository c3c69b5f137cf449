"""What reading a spec leaves behind: no reference cycles (the command line pauses the cycle
collector, so a cycle would live until the process ends: `check` over many files grew by the
file), and a Spec or Plan that copies and pickles (for multiprocessing and caches)."""

from __future__ import annotations

import copy
import gc
import pickle
from pathlib import Path

import pytest

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.spec import load_file, parse

ROOT = Path(__file__).resolve().parents[1]

# a block call whose left-out entry has inputs: (ResNet's downsample): its name stands for a
# reference into its own scope
SKIPPED = """
input: [4, 8, 8]
blocks:
  unit:
    args: [down]
    layers:
      - {type: conv2d, name: a, out_channels: 4, kernel_size: 3, padding: 1}
      - {type: conv2d, name: skip, out_channels: 4, kernel_size: 1, inputs: input, when: down}
      - {type: add, inputs: [a, skip]}
layers:
  - {type: unit, down: false, repeat: 3}
"""
TOO_MANY = "input: [3, 8, 8]\nlayers:\n" + "  - {type: nope}\n" * 150


def _cyclic_garbage(read) -> int:
    """How many objects only the cycle collector could free after `read()` and dropping its result."""
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            result = read()
        except SpecError as exc:
            result = exc
        del result
        return gc.collect()
    finally:
        if collecting:
            gc.enable()


@pytest.mark.parametrize(
    "read",
    [
        lambda: plan(parse(SKIPPED)),
        lambda: plan(load_file(str(ROOT / "architectures" / "resnet50.yaml"))),
        lambda: parse(TOO_MANY),  # stopped early, at the 100th error
        lambda: parse("input: [3, 8, 8]\nblocks:\n  u: [relu]\nlayers:\n  - {type: u, repeat: 100001}\n"),
    ],
    ids=["skipped-entry", "resnet50", "error-cap", "too-large"],
)
def test_reading_a_spec_leaves_no_reference_cycles(read):
    assert _cyclic_garbage(read) == 0


def test_the_measure_finds_a_cycle():
    def cycle():
        a = []
        a.append(a)
        return a

    assert _cyclic_garbage(cycle) == 1


def test_a_spec_and_its_plan_copy_and_pickle():
    spec = load_file(str(ROOT / "architectures" / "resnet50.yaml"))
    planned = plan(spec)
    for made in (pickle.loads(pickle.dumps(planned)), copy.deepcopy(planned)):
        assert made.totals == planned.totals and [r.name for r in made.layers] == [r.name for r in planned.layers]
        assert plan(made.spec).totals == planned.totals


def test_the_shared_empty_mapping_refuses_changes():
    layer = parse("input: [3, 8, 8]\nlayers: [relu]\n").layers[0]
    with pytest.raises(TypeError):
        layer.exprs["x"] = "1"


def test_every_error_outside_the_expansion_is_reported():
    """The expansion stops after 100 errors; the top level is read whole (150 unknown keys)."""
    keys = "".join(f"key{i}: 1\n" for i in range(150))
    with pytest.raises(SpecError) as caught:
        parse("input: [3, 8, 8]\nlayers: [relu]\n" + keys)
    assert len(caught.value.diagnostics) == 150
    assert {d.code for d in caught.value.diagnostics} == {"spec.unknown-key"}


def test_the_expansion_stops_at_100_errors():
    with pytest.raises(SpecError) as caught:
        parse(TOO_MANY)
    assert len(caught.value.diagnostics) == 100


def test_a_list_with_a_failed_expression_is_reported_once():
    text = (
        "input: [3, 8, 8]\nblocks:\n  unit:\n    args: [k]\n    layers:\n"
        "      - {type: conv2d, out_channels: 4, kernel_size: [k, nope * 2]}\nlayers:\n  - {type: unit, k: 3}\n"
    )
    with pytest.raises(SpecError) as caught:
        parse(text)
    (found,) = caught.value.diagnostics
    assert (found.code, found.loc.line, found.loc.column) == ("spec.bad-expression", 6, 58)
    assert "object at" not in found.message


def test_a_budget_value_of_the_wrong_kind_is_shown_as_written():
    with pytest.raises(SpecError) as caught:
        parse("input: [3, 8, 8]\nlayers: [relu]\nbudget: {max_params: [1, 2], batch_size: [3]}\n")
    messages = [d.message for d in caught.value.diagnostics]
    assert messages == [
        "budget: max_params: expected a number such as 25000000, 25M or 4.1G, got '[1, 2]'",
        "budget: batch_size: expected an integer >= 1, got [3]",
    ]


IN_CHANNELS_AFTER_A_FAILURE = """
input: [4, 8, 8]
blocks:
  b:
    args: [c, g: 1]
    {let}
    layers:
      - {{type: conv2d, name: conv, out_channels: c, kernel_size: 1, groups: g}}
      - {{type: relu, name: extra{when}}}
layers:
  - {{type: b, name: s, c: 6, g: 3, repeat: 2}}
"""


@pytest.mark.parametrize(
    ("let", "when"),
    [("", ", when: in_channels != c"), ("let: {h: in_channels * 2}", "")],
    ids=["when", "let"],
)
def test_a_layer_that_does_not_plan_is_reported_before_the_in_channels_it_hides(let, when):
    """The second repetition's in_channels is the output of the first, which does not plan: the
    real cause (groups=3 and 4 channels, at the first call's conv) is reported, not that
    in_channels is not known."""
    spec = parse(IN_CHANNELS_AFTER_A_FAILURE.format(let=let, when=when), "groups.yaml")
    with pytest.raises(SpecError) as caught:
        plan(spec)
    (found,) = caught.value.diagnostics
    assert found.message.startswith("layer 's.0.conv' (conv2d): groups=3 does not divide the 4 input channels")
    assert (found.code, found.loc.line) == ("shape.invalid", 8)
    assert spec.layers[0].name == "s.0.conv"  # the expansion stopped in the second repetition
    assert all(layer.name.startswith("s.0.") for layer in spec.layers)


def test_inputs_in_a_sequential_list_is_one_error():
    text = (
        "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, name: a, out_channels: 3, kernel_size: 1}\n"
        "  - name: s\n    sequential:\n      - {type: conv2d, name: c1, out_channels: 3, kernel_size: 1}\n"
        "      - {type: add, inputs: [a, c1]}\n"
    )
    with pytest.raises(SpecError) as caught:
        parse(text)
    (found,) = caught.value.diagnostics
    assert (found.code, found.loc.line, found.loc.column) == ("spec.misplaced-key", 7, 29)


def test_the_layers_kept_when_the_expansion_stops_all_plan_up_to_the_one_at_fault():
    """Stopped part way, the spec keeps only layers whose inputs were made before them: a layer
    reading one defined later (`early`, reading `late`) is left out, not left dangling."""
    text = IN_CHANNELS_AFTER_A_FAILURE.format(let="", when=", when: in_channels != c").replace(
        "  - {type: b, name: s, c: 6, g: 3, repeat: 2}\n",
        "  - {type: relu, name: early, inputs: late}\n  - {type: b, name: s, c: 6, g: 3, repeat: 2, inputs: input}\n"
        "  - {type: relu, name: late, inputs: s}\n",
    )
    spec = parse(text, "forward.yaml")
    assert "early" not in [layer.name for layer in spec.layers]
    with pytest.raises(SpecError) as caught:
        plan(spec)
    (found,) = caught.value.diagnostics
    assert found.message.startswith("layer 's.0.conv' (conv2d): groups=3")
