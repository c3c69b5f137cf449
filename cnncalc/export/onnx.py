"""Export a PyTorch-convention plan as an ONNX model, built with the `onnx` package (no torch).

Each layer type says which nodes compute it (LayerType.onnx_nodes, cnncalc/layers/onnx_code.py);
this module only walks the plan in order, names what the types add and makes the protos:

- values: each layer's output is named as the layer (`layer1.0.relu_2`), the network's inputs as
  the spec names them; a layer's inner values `<layer>/<op>_<k>`
- initializers: named as torch's state_dict names them (`layer1.0.conv1.weight`,
  `bn1.running_mean`), zeros by default (ones where torch starts a scale or a variance at one),
  seeded random values with random_weights; batch norm's num_batches_tracked, which inference
  never reads, is left out (Export.left_out counts it, so initializers + left_out = params + buffers)
- the batch axis is a symbolic `batch`: onnxruntime runs any batch size, and Netron shows
  `batch×3×224×224`; every other size is the plan's, written on every value (value_info) and
  checked by ONNX's own shape inference, which refuses a disagreement
"""

from __future__ import annotations

from math import prod, sqrt

from cnncalc import __version__
from cnncalc.engine import Plan
from cnncalc.export.drafts import ExportError
from cnncalc.layers.onnx_code import BIAS, ONES, VARIANCE, WEIGHT, ZEROS, OnnxLayer, refusal_lines

OPSET = 21  # GroupNormalization with a scale per channel (21), Gelu (20), Pad's wrap mode (19)
IR_VERSION = 10  # the IR of opset 21: what onnxruntime and Netron read
BATCH = "batch"
INSTALL = "pip install 'cnncalc[onnx]'"
MAX_BYTES = 2**31 - 1  # protobuf's limit on one message: the most an ONNX file without external data holds


class Export:
    """The model, and how many of the plan's buffer elements it leaves out (num_batches_tracked)."""

    def __init__(self, model, left_out: int):
        self.model, self.left_out = model, left_out


def require_onnx():
    """The onnx package, or an ExportError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ExportError(f"--to onnx needs the onnx package: {INSTALL}") from None
    return onnx


def to_onnx(plan: Plan, *, random_weights: bool = False, seed: int = 0, source: str | None = None) -> Export:
    """The plan as an onnx.ModelProto (opset 21), or ExportError naming the layers ONNX has no
    exact equivalent for here (their type and line)."""
    onnx = require_onnx()
    if random_weights and seed < 0:  # numpy's generators take none
        raise ExportError(f"--seed must be 0 or more, not {seed}")
    if plan.convention != "pytorch":
        raise ExportError(
            f"{plan.name!r} is written in the Keras convention (channels last): the ONNX export takes specs in "
            f"the PyTorch convention for now"
        )
    layers, refused = _layers(plan)
    if refused:
        lines = refusal_lines(refused, source)
        error = ExportError("\n  ".join(lines))
        error.lines = lines  # the command line shows each made safe for a terminal
        raise error
    return Export(_model(onnx, plan, layers, random_weights, seed), sum(g.left_out for g in layers))


def _layers(plan: Plan) -> tuple[list[OnnxLayer], list]:
    """Each layer's nodes, in planning order, and the layers refused (with their reasons)."""
    shapes = dict(plan.input_shapes)
    done, refused = [], []
    values: dict[str, str] = {}  # a layer whose output is not named as the layer: its output's name
    for position in plan.order:
        row = plan.layers[position]
        spec = row.spec
        reads = [values.get(name, name) for name in spec.inputs]
        g = OnnxLayer(row.name, reads, [shapes[name] for name in spec.inputs], row.output_shape)
        shapes[row.name] = row.output_shape
        result = spec.layer.onnx_nodes(spec.cfg, row.input_shape, g)
        if result is None:
            refused.append((row, g.reason))
            continue
        _name_output(g, result)
        if g.value != g.name:
            values[g.name] = g.value
        done.append(g)
    return done, refused


def _name_output(g: OnnxLayer, result: str) -> None:
    """The layer's output value takes its name, and the node making it too."""
    if not any(result in node.outputs for node in g.nodes):  # it passes a value on as it is
        result = g.node("Identity", [result])
    for node in g.nodes:
        node.inputs = [g.value if value == result else value for value in node.inputs]
        if result in node.outputs:
            node.outputs = [g.value if value == result else value for value in node.outputs]
            node.name = g.name


def _model(onnx, plan: Plan, layers: list[OnnxLayer], random_weights: bool, seed: int):
    import numpy as np

    helper, float_type = onnx.helper, onnx.TensorProto.FLOAT
    nodes, weights, value_info = [], [], []
    for g in layers:
        for name, constant in g.constants.items():
            dtype = np.int64 if constant.dtype == "int64" else np.float32
            tensor = onnx.numpy_helper.from_array(np.array(constant.values, dtype=dtype).reshape(constant.dims), name)
            nodes.append(helper.make_node("Constant", [], [name], name=name, value=tensor))
        for node in g.nodes:
            nodes.append(helper.make_node(node.op, node.inputs, node.outputs, name=node.name, **node.attributes))
        weights += g.initializers
        if g.name not in plan.output_shapes:
            value_info.append(helper.make_tensor_value_info(g.value, float_type, [BATCH, *g.out]))
    named = {g.name: g.value for g in layers}
    inputs = [helper.make_tensor_value_info(n, float_type, [BATCH, *s]) for n, s in plan.input_shapes.items()]
    outputs = [
        helper.make_tensor_value_info(named.get(n, n), float_type, [BATCH, *s]) for n, s in plan.output_shapes.items()
    ]
    # the inner values' shapes, inferred on the graph with its weights as inputs of their shapes,
    # without their values: the same inference, without copying a VGG's half a gigabyte
    shapes_only = [helper.make_tensor_value_info(w.name, float_type, list(w.shape)) for w in weights]
    light = helper.make_graph(nodes, plan.name, inputs + shapes_only, outputs, value_info=value_info)
    value_info += _inferred(onnx, _wrapped(onnx, light), {info.name for info in value_info})
    rng = np.random.default_rng(seed) if random_weights else None
    graph = helper.make_graph(nodes, plan.name, inputs, outputs, value_info=value_info)
    graph.doc_string = plan.description or ""
    model = _wrapped(onnx, graph)
    _check_size(model.ByteSize() + sum(_tensor_bytes(weight) for weight in weights))
    for weight in weights:  # written in place: a large model's weights are copied once, not thrice
        tensor = model.graph.initializer.add()
        tensor.name, tensor.data_type = weight.name, onnx.TensorProto.FLOAT
        tensor.dims.extend(weight.shape)
        tensor.raw_data = _values(np, weight, rng).astype("<f4", copy=False).tobytes()  # ONNX's byte order
    return model


def _tensor_bytes(weight) -> int:
    """At most how many bytes an initializer takes in the file: its float32 values, its name,
    and at most 11 bytes a dimension and 32 for the rest of its framing."""
    return 4 * prod(weight.shape) + len(weight.name.encode("utf-8")) + 11 * len(weight.shape) + 32


def _check_size(size: int) -> None:
    """Refused before the weights are made: a model larger than an ONNX file can hold (a spec's
    `linear: 100000` on 100,000 features is 40 GB) would fill memory, then fail to be written."""
    if size > MAX_BYTES:
        raise ExportError(
            f"the ONNX model would take {size:,} bytes (float32 weights), more than the {MAX_BYTES:,} "
            "(2 GiB) one ONNX file can hold"
        )


def _wrapped(onnx, graph):
    return onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="cnncalc",
        producer_version=__version__,
        ir_version=IR_VERSION,
    )


def _inferred(onnx, model, known: set[str]) -> list:
    """The values' shapes ONNX infers that `known` does not name (strict: a size it infers
    otherwise than the plan, written in the model's value_info, is an error)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except onnx.shape_inference.InferenceError as exc:  # a bug in a layer's onnx_nodes: say so plainly
        raise ExportError(f"ONNX's shape inference disagrees with the plan (please report it): {exc}") from None
    return [info for info in inferred.graph.value_info if info.name not in known]


def _values(np, weight, rng):
    """An initializer's starting values: zeros (ones for scales and variances), or seeded random
    ones of the same kind: weights and biases uniform in ±1/sqrt(fan_in) as torch starts them."""
    shape, start = weight.shape, weight.start
    if rng is None:
        fill = 1.0 if start in (ONES, VARIANCE) else 0.0
        return np.full(shape, fill, dtype=np.float32)
    bound = 1 / sqrt(weight.fan_in)
    if start in (WEIGHT, BIAS):
        values = (2 * rng.random(shape, dtype=np.float32) - 1) * np.float32(bound)
    elif start == ONES:
        values = 1 + 0.1 * rng.standard_normal(shape)
    elif start == VARIANCE:
        values = rng.uniform(0.5, 1.5, shape)
    else:
        assert start == ZEROS, start
        values = 0.1 * rng.standard_normal(shape)
    return values.astype(np.float32).reshape(shape) if prod(shape) else np.zeros(shape, np.float32)


def initializer_elements(model) -> int:
    """The initializers' total element count."""
    return sum(prod(tensor.dims) for tensor in model.graph.initializer)
