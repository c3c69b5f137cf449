"""Random networks in the Keras convention (tests/random_keras.py) against Keras 3 itself: where
Keras builds the network layer by layer, cnncalc plans it, and its Keras export builds a model
with every layer's output shape, count_params() and non-trainable weights as planned, and the
planned MACs (torch's flop counter around a call on the torch backend); where Keras refuses a
layer, cnncalc refuses that same layer. `python tests/random_keras.py SEED` prints one network."""

import pytest
from keras_reference import build_keras, macs, measure, planned, require_keras
from random_keras import generate

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.spec import parse

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Keras's hints (a softmax over one value)
SEEDS = range(300)


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def keras_refuses(net) -> tuple[str, str] | None:
    """(the first layer Keras refuses to build, its reason), or None if it builds them all."""
    keras = require_keras()
    tensors = {"input": keras.Input(tuple(net.input_shape))}
    previous = "input"
    for class_name, kwargs, inputs, name in net.layers:
        try:
            layer = getattr(keras.layers, class_name)(**{k: _tuples(v) for k, v in kwargs.items()}, name=name)
            sources = [tensors[source] for source in inputs] or [tensors[previous]]
            tensors[name] = layer(sources if layer.__class__.__name__ in _MERGES else sources[0])
        except (ValueError, TypeError) as exc:
            return name, str(exc).splitlines()[0]
        previous = name
    return None


_MERGES = {"Add", "Concatenate", "Multiply", "Subtract", "Average", "Maximum", "Minimum"}


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"k{seed:04d}")
def test_random_keras_network_matches_keras(seed):
    net = generate(seed)
    refused = keras_refuses(net)
    try:
        result = plan(parse(net.text, "random.yaml"))
    except SpecError as exc:
        first = exc.diagnostics[0]
        assert refused is not None, f"cnncalc refuses what Keras builds: {first.message}\n{net.text}"
        assert f"layer {refused[0]!r}" in first.message, (first.message, refused, net.text)
        return
    assert refused is None, f"Keras refuses {refused}, cnncalc planned it\n{net.text}"
    model = build_keras(result)
    assert measure(result, model) == planned(result), net.text
    assert macs(result, model) == result.totals.macs, net.text
