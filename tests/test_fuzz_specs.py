"""Arbitrary specs never crash cnncalc: they plan and render, or fail with located diagnostics."""

from __future__ import annotations

import io

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_specs import generate, valid_seeds

from cnncalc.checking import MemorySettings, check
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.export import to_pytorch
from cnncalc.layers import LAYER_TYPES
from cnncalc.memory import estimate
from cnncalc.render import json as json_render
from cnncalc.render.table import COLUMNS, render
from cnncalc.spec import BUDGET_LIMITS, BUDGET_SETTINGS, parse

TYPE_NAMES = [cls.type_name for cls in LAYER_TYPES] + ["dense", "conv", "nope", "sequential", "blk", "c"]
ENTRY_KEYS = {"name", "trainable", "type", "kernal", "inputs", "when", "repeat", "first", "repeat_name", "outputs", "c"}
FIELD_NAMES = sorted({f.name for cls in LAYER_TYPES for f in cls.fields} | ENTRY_KEYS)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=70),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["same", "valid", "x", "1e-5", "nearest", "tanh", "", "25M", "2GiB", "1e999", "[/]"]),
    # expressions and names, as blocks use them
    st.sampled_from(
        [
            "c",
            "c * 2",
            "c // 0",
            "make_divisible(c * 0.5, 8)",
            "4 if c else 1",
            "c > 1",
            "b-1{n}",
            "min(c",
            "input",
            "blk",
            "__import__('os')",
            "1e308 * 10",
            "nearest-exact",
        ]
    ),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=4)
configs = st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=5)
entries = st.one_of(
    st.sampled_from(TYPE_NAMES),
    st.builds(lambda t, v: {t: v}, st.sampled_from(TYPE_NAMES), st.one_of(values, configs)),
    st.builds(lambda t, c: {"type": t, **c}, st.sampled_from(TYPE_NAMES), configs),
    values,
)
blocks = st.dictionaries(
    st.sampled_from(["blk", "conv2d", "other", "1x"]),
    st.one_of(
        st.lists(entries, max_size=4),
        st.fixed_dictionaries(
            {},
            optional={
                "args": st.one_of(
                    st.lists(st.one_of(st.sampled_from(["c", "d", "self", "i"]), configs), max_size=3), values
                ),
                "let": st.one_of(configs, values),
                "inputs": st.one_of(st.lists(st.sampled_from(["x", "y", "input"]), max_size=3), values),
                "layers": st.one_of(st.lists(entries, max_size=4), values),
            },
        ),
        values,
    ),
    max_size=2,
)
budgets = st.dictionaries(st.sampled_from([*BUDGET_LIMITS, *BUDGET_SETTINGS, "max_parms"]), values, max_size=4)
specs = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=5), values),
        "description": st.text(max_size=8),
        "input": st.one_of(st.lists(st.integers(-1, 40), max_size=4), values),
        "layers": st.one_of(st.lists(entries, max_size=8), values),
        "budget": st.one_of(budgets, values),
        "inputs": values,
        "blocks": st.one_of(blocks, values),
        "include": values,
    },
)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_any_spec_plans_or_fails_with_located_diagnostics(data):
    text = yaml.safe_dump(data, sort_keys=False)
    try:
        spec = parse(text, "fuzz.yaml")
        planned = plan(spec)
    except SpecError as exc:
        assert exc.diagnostics
        for diag in exc.diagnostics:
            assert diag.loc is not None and diag.loc.file == "fuzz.yaml"
            assert 1 <= diag.loc.line <= max(1, text.count("\n") + 1)
            assert diag.message and diag.code
        return
    # whatever plans also renders, exports to code that compiles, and checks against budgets
    memory = estimate(planned, batch_size=3)
    json_render.dumps(json_render.plan_document(planned, memory))
    render(planned, memory, io.StringIO(), list(COLUMNS))
    compile(to_pytorch(planned), "exported.py", "exec")
    check(planned, spec, {}, MemorySettings())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet="[]{}:,-&*!|>'\"# \n\tabc01", max_size=60))
def test_any_text_plans_or_fails_cleanly(text):
    try:
        plan(parse(text, "fuzz.yaml"))
    except SpecError as exc:
        assert exc.diagnostics and all(d.loc is not None for d in exc.diagnostics)


# generated when the test first draws a seed, not when pytest collects the file
VALID_SEEDS = st.deferred(lambda: st.sampled_from(valid_seeds(1500)))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=VALID_SEEDS,
    name=st.text(max_size=12),
    description=st.text(max_size=20),
    budget=st.dictionaries(
        st.sampled_from([*BUDGET_LIMITS]),
        st.one_of(scalars, st.sampled_from(["1.1GiB", "0.5", "3M"])),
        min_size=1,
        max_size=3,
    ),
    batch=st.integers(min_value=1, max_value=10**6),
)
def test_valid_networks_render_export_and_check_whatever_the_text(seed, name, description, budget, batch):
    """Valid random networks with arbitrary names, descriptions and budgets: every output works."""
    document = yaml.safe_load(generate(seed).text)
    document.update(name=name, description=description, budget=budget)
    text = yaml.safe_dump(document, sort_keys=False)
    try:
        spec = parse(text, "fuzz.yaml")
    except SpecError as exc:  # an invalid name or budget: located, never a crash
        assert all(d.loc is not None for d in exc.diagnostics)
        return
    planned = plan(spec)
    memory = estimate(planned, batch_size=batch)
    json_render.dumps(json_render.plan_document(planned, memory))
    render(planned, memory, io.StringIO(), list(COLUMNS))
    compile(to_pytorch(planned, source=name), "exported.py", "exec")
    check(planned, spec, {}, MemorySettings(batch_size=batch))


@settings(max_examples=100, deadline=None, derandomize=True)
# 10**30 - 1: the largest number a spec may hold (cnncalc.yamlload.MAX_DIGITS)
@given(st.lists(st.integers(min_value=1, max_value=10**30 - 1), min_size=3, max_size=3), st.integers(1, 2**63 - 1))
def test_enormous_shapes_render(shape, out_features):
    text = yaml.safe_dump(
        {
            "input": shape,
            "layers": [{"conv2d": {"out_channels": 2, "kernel_size": 1}}, "flatten", {"linear": out_features}],
        }
    )
    planned = plan(parse(text, "huge.yaml"))
    assert planned.layers[0].output_shape == (2, *shape[1:])  # sizes this large are still exact
    assert planned.output_shape == (out_features,)
    assert planned.layers[2].params == (2 * shape[1] * shape[2] + 1) * out_features
    memory = estimate(planned, batch_size=7)
    json_render.dumps(json_render.plan_document(planned, memory))
    render(planned, memory, io.StringIO(), list(COLUMNS))
