"""Every Keras layer type's docstring `Example:` holds in cnncalc and in Keras 3 itself, and
every Keras type is registered; the examples are what `cnncalc layers TYPE --convention keras`
prints."""

import importlib
import inspect
import pkgutil

import pytest
import yaml
from keras_cases import check_keras_layer, keras_spec
from keras_reference import build_keras, measure, planned
from test_registry import EXAMPLE, MERGE_EXAMPLE

import cnncalc.layers.keras as keras_pkg
from cnncalc.engine import plan
from cnncalc.layers.keras import KERAS_REGISTRY, KERAS_TYPES
from cnncalc.layers.keras.base import KerasLayer
from cnncalc.spec import parse


def test_every_keras_class_is_registered():
    defined = set()
    for module in pkgutil.iter_modules(keras_pkg.__path__):
        for _, obj in inspect.getmembers(
            importlib.import_module(f"cnncalc.layers.keras.{module.name}"), inspect.isclass
        ):
            if issubclass(obj, KerasLayer) and not obj.__name__.startswith("_") and obj is not KerasLayer:
                defined.add(obj)
    assert defined == set(KERAS_TYPES)
    assert {type(layer) for layer in KERAS_REGISTRY.values()} == set(KERAS_TYPES)


def _examples(merges: bool):
    for cls in KERAS_TYPES:
        if cls.merges != merges:
            continue
        lines = [text for text in inspect.getdoc(cls).splitlines() if "Example:" in text]
        assert lines, f"{cls.__name__} has no example"
        for number, line in enumerate(lines):
            match = (MERGE_EXAMPLE if merges else EXAMPLE).match(line)
            assert match, f"{cls.__name__}: malformed example line {line!r}"
            values = [group if group in ("+", "*") else yaml.safe_load(group) for group in match.groups()]
            yield pytest.param(cls.type_name, *values, id=f"{cls.__name__}@{number}")


@pytest.mark.parametrize(("type_name", "in_shape", "cfg", "out_shape", "params"), list(_examples(False)))
def test_docstring_example(type_name, in_shape, cfg, out_shape, params):
    # moving statistics (and Normalization's count) are parameters Keras counts as non-trainable
    frozen = {"BatchNormalization": 2 * in_shape[-1], "Normalization": 2 * in_shape[-1] + 1}.get(type_name, 0)
    check_keras_layer(type_name, cfg, in_shape, out_shape, params, frozen)


@pytest.mark.parametrize(("type_name", "first", "operator", "second", "out"), list(_examples(True)))
def test_merge_docstring_example(type_name, first, operator, second, out):
    text = (
        f"convention: keras\ninputs: {{a: {first}, b: {second}}}\n"
        f"layers:\n  - {{type: {type_name}, name: m, inputs: [a, b]}}\n"
    )
    result = plan(parse(text, "merge.yaml"))
    assert list(result.layers[0].output_shape) == out
    assert measure(result, build_keras(result)) == planned(result)


def test_keras_spec_helper_writes_one_field_per_line():
    assert keras_spec("Conv2D", {"filters": 8}, [4, 4, 1]).splitlines()[-1] == "    filters: 8"
