"""The value classes a spec is read into (errors.Record and Frozen): they were dataclasses and
are plain classes with __slots__ now (cheaper to define at start-up), so they must still behave
as the dataclasses did: equal by value, hashed by value when frozen, unchangeable when frozen,
shown field by field, copied and pickled whole. Spec and Diagnostic stay dataclasses."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.budget import Budget
from cnncalc.engine import plan
from cnncalc.errors import Diagnostic, Frozen, Loc
from cnncalc.memory import estimate
from cnncalc.spec import load_file, parse
from cnncalc.spec.model import Block, Entry, Group, LayerSpec, Spec

ROOT = Path(__file__).resolve().parent.parent
RESNET = str(ROOT / "architectures" / "resnet18.yaml")


def test_loc_is_a_value():
    loc = Loc("a.yaml", 3, 7)
    assert loc == Loc("a.yaml", 3, 7) and loc != Loc("a.yaml", 3, 8) and loc != ("a.yaml", 3, 7)
    assert hash(loc) == hash(("a.yaml", 3, 7))  # as the dataclass hashed it: sets keep their order
    assert {loc: 1}[Loc("a.yaml", 3, 7)] == 1
    assert str(loc) == "a.yaml:3:7" and repr(loc) == "Loc(file='a.yaml', line=3, column=7)"
    with pytest.raises(AttributeError, match="cannot assign to field 'line'"):
        loc.line = 4
    with pytest.raises(AttributeError):
        del loc.file
    with pytest.raises(AttributeError):
        loc.other = 1  # __slots__: no other attribute either
    assert copy.deepcopy(loc) == loc and pickle.loads(pickle.dumps(loc)) == loc


def test_layer_specs_and_blocks_compare_by_value_and_cannot_change():
    spec = load_file(RESNET)
    conv = spec.layers[0]
    assert isinstance(conv, LayerSpec) and isinstance(conv, Frozen)
    values = [getattr(conv, name) for name in LayerSpec.__slots__]
    same = LayerSpec(*values)
    assert same == conv and same is not conv
    assert LayerSpec(values[0], "other", *values[2:]) != conv
    bare = LayerSpec(*values[:6])
    assert (bare.field_locs, bare.inputs, bare.inputs_given, bare.groups, bare.exprs) == ({}, (), False, (), {})
    assert repr(conv).startswith(f"LayerSpec(index=0, name={conv.name!r}, layer=")
    with pytest.raises(AttributeError):
        conv.name = "other"
    with pytest.raises(TypeError):
        hash(conv)  # its cfg is a dict, as with the dataclass
    block = next(iter(spec.blocks.values()))
    assert isinstance(block, Block) and block == Block(*(getattr(block, name) for name in Block.__slots__))
    with pytest.raises(AttributeError):
        block.name = "other"


def test_groups_are_equal_only_to_themselves_and_filled_in_as_expansion_goes():
    group = Group("layer1", "basic", 2, Loc("a.yaml", 1, 1), 0)
    other = Group("layer1", "basic", 2, Loc("a.yaml", 1, 1), 0)
    assert group != other and group == group and len({group, other}) == 2
    assert (group.output, group.layer_count, group.entries, group.arguments, group.call) == ("", 0, [], {}, {})
    assert group.entries is not other.entries and group.arguments is not other.arguments  # each its own
    group.layer_count += 1
    group.entries.append(Entry("conv", "layer", "layer1.conv", ("input",)))
    assert group.layer_count == 1 and group.kind == "basic x2"
    assert repr(group).startswith("Group(name='layer1', block='basic', repeat=2, loc=Loc(")


def test_entries_compare_by_value_and_are_not_hashed():
    entry = Entry("conv", "layer", "b.conv", ("input",))
    assert entry == Entry("conv", "layer", "b.conv", ("input",), None, True)
    assert entry != Entry("conv", "layer", "b.conv", ("input",), when="x > 1")
    entry.present = False  # not frozen
    assert entry.present is False
    with pytest.raises(TypeError):
        hash(entry)
    assert copy.copy(entry) == entry and pickle.loads(pickle.dumps(entry)) == entry


def test_budget_and_memory_are_frozen_values():
    spec = load_file(RESNET)
    budget = Budget({"params": (12_000_000, Loc("r.yaml", 4, 3))}, batch_size=8)
    assert (budget.batch_size, budget.dtype, budget.optimizer, budget.training) == (8, "float32", "adam", False)
    assert budget == Budget({"params": (12_000_000, Loc("r.yaml", 4, 3))}, 8)
    with pytest.raises(AttributeError):
        budget.training = True
    planned = plan(spec)
    memory = estimate(planned, batch_size=2)
    again = estimate(planned, batch_size=2)
    assert memory == again and hash(memory) == hash(again) and memory != estimate(planned, batch_size=3)
    assert memory.training_total_bytes == sum(
        getattr(memory, name)
        for name in ("params_bytes", "buffers_bytes", "gradients_bytes", "optimizer_bytes", "saved_activations_bytes")
    )
    assert pickle.loads(pickle.dumps(memory)) == memory
    with pytest.raises(AttributeError):
        memory.batch_size = 4


def test_spec_and_diagnostic_stay_dataclasses():
    spec = parse("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n  - relu\n", "s.yaml")
    assert dataclasses.is_dataclass(spec) and "layers" in {f.name for f in dataclasses.fields(Spec)}
    shorter = dataclasses.replace(spec, layers=spec.layers[:1])
    assert len(shorter.layers) == 1 and shorter.order == (0,) and shorter.name == spec.name
    assert shorter != spec and dataclasses.replace(spec) == spec
    with pytest.raises(AttributeError):
        spec.name = "other"
    diagnostic = Diagnostic("spec.bad-value", "bad", Loc("s.yaml", 2, 5))
    changed = dataclasses.replace(diagnostic, message="worse")
    assert (changed.code, changed.message, changed.loc, changed.severity) == (
        "spec.bad-value",
        "worse",
        Loc("s.yaml", 2, 5),
        "error",
    )
    assert diagnostic == Diagnostic("spec.bad-value", "bad", Loc("s.yaml", 2, 5), "error") != changed
    assert len({diagnostic, Diagnostic("spec.bad-value", "bad", Loc("s.yaml", 2, 5))}) == 1
    assert repr(diagnostic) == (
        "Diagnostic(code='spec.bad-value', message='bad', loc=Loc(file='s.yaml', line=2, column=5), severity='error')"
    )
    with pytest.raises(AttributeError):
        diagnostic.message = "other"


def test_a_dataclass_record_leaves_out_fields_declared_compare_false_or_repr_false():
    @dataclasses.dataclass(init=False, repr=False, eq=False)
    class Result(Frozen):
        name: str
        index: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

        def __init__(self, name: str, index: dict | None = None):
            object.__setattr__(self, "name", name)
            object.__setattr__(self, "index", index or {})

    assert Result("a", {"x": 1}) == Result("a") and hash(Result("a", {"x": 1})) == hash(("a",))
    assert repr(Result("a", {"x": 1})).endswith(".Result(name='a')")
    assert copy.copy(Result("a", {"x": 1})).index == {"x": 1}  # copied whole


def test_json_path_does_not_import_the_json_package():
    """The JSON renderer uses the C encoder from _json: the json package would also load its
    decoder (about 1 ms of start-up)."""
    code = (
        "import sys\n"
        "from cnncalc.cli import main\n"
        f"sys.argv = ['cnncalc', 'plan', {RESNET!r}, '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('json' in sys.modules, '_json' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.split() == ["False", "True"], done.stderr
    assert '"schema_version": 1' in done.stdout and '"name": "conv1"' in done.stdout
