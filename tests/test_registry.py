"""The layer registry: every type well formed, and its docstring examples true (in cnncalc and torch)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re

import pytest
import yaml
from layer_cases import check_layer
from torch_reference import require_torch

import cnncalc.layers as layers_pkg
from cnncalc.layers import LAYER_TYPES, REGISTRY, lookup
from cnncalc.layers.base import Field, LayerType

EXAMPLE = re.compile(r"^\s*Example: (\[[^\]]*\]) (\{.*\}) -> (\[[^\]]*\]) params=(\d+)\s*$")


MERGE_EXAMPLE = re.compile(r"^\s*Example: (\[[^\]]*\]) ([+*@]) (\[[^\]]*\]) -> (\[[^\]]*\]) params=0\s*$")


def _merge_examples():
    for cls in LAYER_TYPES:
        if not cls.merges:
            continue
        for line in (text for text in inspect.getdoc(cls).splitlines() if "Example:" in text):
            match = MERGE_EXAMPLE.match(line)
            assert match, f"{cls.__name__}: malformed example line {line!r}"
            first, _, second, out = match.groups()
            yield pytest.param(
                cls.type_name, yaml.safe_load(first), yaml.safe_load(second), yaml.safe_load(out), id=cls.__name__
            )


@pytest.mark.parametrize("type_name, first, second, out", list(_merge_examples()))
def test_merge_docstring_example(type_name, first, second, out):
    """A merge's `Example:` holds in cnncalc and in torch (add, cat along channels, mul, matmul)."""
    layer = lookup(type_name)
    cfg = {f.name: f.default for f in layer.fields}
    assert list(layer.output_shape_of(cfg, [tuple(first), tuple(second)])) == out
    torch = require_torch()
    a, b = torch.zeros(1, *first), torch.zeros(1, *second)
    result = {
        "add": lambda: a + b,
        "mul": lambda: a * b,
        "concat": lambda: torch.cat([a, b], dim=1),
        "matmul": lambda: torch.matmul(a, b),
    }[type_name]()
    assert list(result.shape[1:]) == out


def _examples():
    for cls in LAYER_TYPES:
        if cls.merges:
            continue
        for number, line in enumerate(text for text in inspect.getdoc(cls).splitlines() if "Example:" in text):
            match = EXAMPLE.match(line)
            assert match, f"{cls.__name__}: malformed example line {line!r}"
            in_shape, cfg, out_shape, params = match.groups()
            yield pytest.param(
                cls.type_name,
                yaml.safe_load(in_shape),
                yaml.safe_load(cfg),
                yaml.safe_load(out_shape),
                int(params),
                id=f"{cls.__module__.rsplit('.', 1)[-1]}.py:{cls.__name__}@{number}",
            )


@pytest.mark.parametrize("type_name, in_shape, cfg, out_shape, params", list(_examples()))
def test_docstring_example(type_name, in_shape, cfg, out_shape, params):
    """Each `Example:` line in a layer's docstring holds in cnncalc and in PyTorch."""
    check_layer(type_name, cfg, in_shape, out_shape, params, buffers=None)


@pytest.mark.parametrize("cls", LAYER_TYPES, ids=lambda c: c.type_name)
def test_layer_type_is_well_formed(cls: type[LayerType]):
    assert re.match(r"^[a-z][a-z0-9_]*$", cls.type_name)
    assert lookup(cls.type_name).__class__ is cls
    assert inspect.getdoc(cls), "every layer type documents itself"
    assert "Example:" in inspect.getdoc(cls), "every layer type has at least one Example: line"
    names = [f.name for f in cls.fields]
    assert len(names) == len(set(names))
    assert all(isinstance(f, Field) for f in cls.fields)
    if cls.main_field is not None:
        assert cls.main_field in names
    if cls.inferred_field is not None:
        assert cls.inferred_field in names
    keys = [k for f in cls.fields for k in (f.name, *f.aliases)]
    assert len(keys) == len(set(keys)), "a key may name one field only"
    assert not {"type", "name", "trainable"} & set(keys)


def test_every_layer_class_is_registered():
    """A LayerType subclass written in a family module but left out of LAYER_TYPES is a mistake."""
    defined = set()
    # every family module in cnncalc/layers, so a new one is checked too
    families = (m.name for m in pkgutil.iter_modules(layers_pkg.__path__) if m.name not in ("base", "keras"))
    for module_name in sorted(families):
        module = importlib.import_module(f"cnncalc.layers.{module_name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, LayerType) and obj is not LayerType and not obj.__name__.startswith("_"):
                defined.add(obj)
    assert defined == set(LAYER_TYPES)
    assert len(REGISTRY) >= len(LAYER_TYPES)


@pytest.mark.parametrize(
    "module_name",
    [
        "cnncalc.layers.conv",
        "cnncalc.layers.pool",
        "cnncalc.quantity",
        "cnncalc.render.units",
        "cnncalc.render.text",
        "cnncalc.layers.base",
        "cnncalc.layers",
        "cnncalc.layers.unsupported",
        "cnncalc.expressions",
    ],
)
def test_doctests(module_name):
    result = doctest.testmod(importlib.import_module(module_name))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("cls", LAYER_TYPES, ids=lambda c: c.type_name)
def test_every_layer_type_exports_to_pytorch(cls):
    # a torch.nn module for most; merges, chunk and split are expressions in forward(); the
    # rest are small modules the export defines, or functions that make a parameter or a torch.nn
    # module as torchvision holds it (a layer scale, a class token, attention)
    if cls.functional:
        assert "torch_forward" in vars(cls)
    elif not cls.torch_class.startswith("nn."):
        assert cls.torch_helper.startswith((f"class {cls.torch_class}(", f"def {cls.torch_class}("))


def test_layers_package_exports_registry():
    assert layers_pkg.LAYER_TYPES is LAYER_TYPES


def test_every_layer_type_is_documented_in_the_spec_reference():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "spec.md").read_text()
    headings = set(re.findall(r"^### (\S+)\s*$", text, flags=re.M))
    missing = {cls.type_name for cls in LAYER_TYPES} - headings
    assert not missing, f"docs/spec.md has no '### <type>' section for {sorted(missing)}"
