"""Arbitrary specs never crash the planner: they plan, or fail with located diagnostics."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.layers import LAYER_TYPES
from cnncalc.spec import parse

TYPE_NAMES = [cls.type_name for cls in LAYER_TYPES] + ["dense", "conv", "nope"]
FIELD_NAMES = sorted({f.name for cls in LAYER_TYPES for f in cls.fields} | {"name", "trainable", "type", "kernal"})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=70),
    st.floats(min_value=-2, max_value=4, allow_nan=False),
    st.sampled_from(["same", "valid", "x", "1e-5", "nearest", "tanh", ""]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=4)
configs = st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=5)
entries = st.one_of(
    st.sampled_from(TYPE_NAMES),
    st.builds(lambda t, v: {t: v}, st.sampled_from(TYPE_NAMES), st.one_of(values, configs)),
    st.builds(lambda t, c: {"type": t, **c}, st.sampled_from(TYPE_NAMES), configs),
    values,
)
specs = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=5), values),
        "input": st.one_of(st.lists(st.integers(-1, 40), max_size=4), values),
        "layers": st.one_of(st.lists(entries, max_size=8), values),
        "inputs": values,
    },
)


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_any_spec_plans_or_fails_with_located_diagnostics(data):
    text = yaml.safe_dump(data, sort_keys=False)
    try:
        plan(parse(text, "fuzz.yaml"))
    except SpecError as exc:
        assert exc.diagnostics
        for diag in exc.diagnostics:
            assert diag.loc is not None and diag.loc.file == "fuzz.yaml"
            assert 1 <= diag.loc.line <= max(1, text.count("\n") + 1)
            assert diag.message and diag.code


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet="[]{}:,-&*!|>'\"# \n\tabc01", max_size=60))
def test_any_text_plans_or_fails_cleanly(text):
    try:
        plan(parse(text, "fuzz.yaml"))
    except SpecError as exc:
        assert exc.diagnostics and all(d.loc is not None for d in exc.diagnostics)
