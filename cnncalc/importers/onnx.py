"""`cnncalc import model.onnx`: an ONNX graph as a readable spec in the PyTorch convention.

The inverse of cnncalc/export/onnx.py, and of what torch.onnx writes for simple networks: each
node, or a known run of nodes (Pad+Conv, MatMul+Add, Sigmoid+Mul, Reshape+Transpose+Reshape, ...),
becomes one spec layer. Weights are read only for their shapes (channels, kernel sizes, whether a
bias is there); Constant nodes and small initializers that give shapes, pads or scales are read as
values. Anything else is refused, every unsupported node named, never guessed.

Names: the spec's names allow letters, digits, `_` and `-`, not dots, so a node's name is written
with its dots as `-` (`layer1.0.conv1` -> `layer1-0-conv1`: read back by turning each `-` into a
dot). torch.onnx's scoped names (`/layer1/layer1.0/conv1/Conv`) become the module path
(`layer1.0.conv1`) first. A name that needs more than that (other characters, a clash, a reserved
word) is made valid and carries its ONNX name in a comment, JSON-escaped, so nothing in a name can
break the YAML. Pure: `to_spec` returns the spec text; the command line writes it.

The result is checked: the spec is planned and each layer's output shape compared with the shapes
ONNX's own inference gives the graph; a difference is an error, not a spec.
"""

from __future__ import annotations

import json
import os
import re
import stat
from math import prod
from pathlib import Path

import yaml

from cnncalc.spec.model import MAX_LAYERS

INSTALL = "pip install 'cnncalc[onnx]'"
NAME_CHARS = re.compile(r"[^A-Za-z0-9_\-]")
SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|[0-9]{1,9}")  # written with `.` -> `-`, read back exactly
SMALL = 4096  # initializers read as values (shapes, pads, scales); larger ones only for their shapes
MAX_BYTES = 2**31 - 1  # protobuf's limit: a larger file is no ONNX model (its weights would be external)
# nodes, values and weights in all: each costs the checker, ONNX's shape inference and the import a
# hundred times its bytes, and a spec holds at most 200,000 values: a larger model could hardly import
MAX_ENTRIES = 2 * MAX_LAYERS


class ImportRefused(Exception):
    """The model cannot be written as a spec: `lines`, the first a summary, each to show on its own line."""

    def __init__(self, lines: list[str]):
        super().__init__("\n  ".join(lines))
        self.lines = lines


class _Unsupported(Exception):
    """This node (with its attributes or inputs) has no spec layer."""


def require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportRefused([f"importing an ONNX model needs the onnx package: {INSTALL}"]) from None
    return onnx


def spec_name(onnx_name: str) -> str:
    """The spec name for a layer name as cnncalc's export writes it: dots as `-`."""
    return onnx_name.replace(".", "-")


def module_path(onnx_name: str) -> str:
    """torch.onnx's `/layer1/layer1.0/conv1/Conv` -> `layer1.0.conv1`; other names as they are."""
    if not onnx_name.startswith("/"):
        return onnx_name
    parts = [p for p in onnx_name.split("/") if p]
    if len(parts) > 1:
        parts = parts[:-1]  # the op type
    kept = [p for i, p in enumerate(parts) if i + 1 == len(parts) or not parts[i + 1].startswith(p + ".")]
    return ".".join(kept) or "node"


def _quoted(text: str) -> str:
    """A YAML scalar of `text`, on one line, ASCII, quoted: nothing in it can break the structure."""
    lines = yaml.safe_dump(text, default_style='"', width=1 << 30, allow_unicode=False).splitlines()
    if lines and lines[-1] == "...":  # a document end marker after a lone scalar
        lines.pop()
    if len(lines) != 1:  # never: every character is escaped on one line
        raise ValueError(f"cannot quote {text!r} on one line")
    return lines[0]


class _Layer:
    __slots__ = ("onnx_name", "type", "fields", "inputs", "output", "name", "extra_values")

    def __init__(self, onnx_name: str, type_name: str, fields: dict, inputs: list[str], output: str):
        self.onnx_name, self.type, self.fields, self.inputs, self.output = onnx_name, type_name, fields, inputs, output
        self.name = ""
        self.extra_values: list[str] = []  # the graph values this layer also stands for (fused nodes)


class _Importer:
    def __init__(self, onnx, model):
        self.onnx, self.model = onnx, model
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 21)
        self.weights: dict[str, tuple] = {}  # initializer -> shape
        self.values: dict = {}  # value -> numpy array (Constant nodes, small initializers)
        self.transposed: dict[str, tuple] = {}  # Transpose(initializer) outputs: the initializer's shape
        self.shape_of: dict[str, tuple] = {}  # Shape(tensor) outputs: (tensor, start)
        for tensor in graph.initializer:
            self.weights[tensor.name] = tuple(tensor.dims)
            array = self._numbers(tensor) if prod(tensor.dims) <= SMALL else None
            if array is not None:
                self.values[tensor.name] = array
        self.inputs = [i for i in graph.input if i.name not in self.weights]
        self.consumers: dict[str, int] = {}
        for node in graph.node:
            for value in node.input:
                self.consumers[value] = self.consumers.get(value, 0) + 1
        for output in graph.output:
            self.consumers[output.name] = self.consumers.get(output.name, 0) + 1
        self.shapes = self._inferred()
        self.producer: dict[str, _Layer] = {}
        self.layers: dict[_Layer, None] = {}  # in order; a fused layer is dropped from anywhere in it at no cost
        self.refused: list[str] = []

    # ---- shapes -------------------------------------------------------------------------------
    def _inferred(self) -> dict[str, tuple]:
        """Every value's shape as ONNX infers it, on a copy whose large weights are inputs of
        their shapes (no copy of a VGG's weights)."""
        onnx, graph = self.onnx, self.model.graph
        helper = onnx.helper
        kept = [t for t in graph.initializer if t.name in self.values]
        weightless = [
            helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
            for t in graph.initializer
            if t.name not in self.values
        ]
        light = helper.make_graph(
            list(graph.node), graph.name or "model", list(self.inputs) + weightless, list(graph.output), kept
        )
        light.value_info.extend(graph.value_info)
        copy = helper.make_model(light, opset_imports=list(self.model.opset_import), ir_version=self.model.ir_version)
        try:
            inferred = onnx.shape_inference.infer_shapes(copy, data_prop=True)
        except Exception as exc:  # noqa: BLE001  a graph ONNX itself cannot infer
            raise ImportRefused([f"ONNX's shape inference fails on this model: {exc}"]) from None
        shapes = {}
        for info in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
            kind = info.type.tensor_type
            if kind.HasField("shape"):
                shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in kind.shape.dim)
        return shapes

    def shape(self, value: str) -> tuple:
        """The value's shape without the batch axis, every size known, or _Unsupported."""
        dims = self.shapes.get(value)
        if not dims or any(d is None for d in dims[1:]):
            raise _Unsupported(f"the shape of {value!r} is not known")
        return tuple(dims[1:])

    # ---- reading nodes ------------------------------------------------------------------------
    def _numbers(self, tensor):
        """The tensor's values as an array, or None: only booleans, integers and floats, and never
        from external data (the model names the file, any file it likes: it is not read)."""
        from onnx import numpy_helper
        from onnx.external_data_helper import uses_external_data

        if uses_external_data(tensor):
            return None
        try:
            array = numpy_helper.to_array(tensor)
        except (ValueError, TypeError):  # a tensor ONNX itself cannot read
            return None
        return array if array.dtype.kind in "biuf" else None

    def attrs(self, node) -> dict:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def const(self, value: str, what: str):
        if value not in self.values:
            raise _Unsupported(f"its {what} is not a constant")
        return self.values[value]

    def tensor(self, value: str) -> str:
        """A value a layer reads: a network input or a layer's output."""
        if value in self.producer or value in self.input_names:
            return value
        raise _Unsupported(f"it reads {value!r}, which is no layer's output or network input")

    def single_use(self, value: str) -> _Layer | None:
        layer = self.producer.get(value)
        return layer if layer is not None and self.consumers.get(value, 0) == 1 else None

    def drop(self, layer: _Layer) -> None:
        del self.layers[layer]
        for value in [layer.output, *layer.extra_values]:
            self.producer.pop(value, None)

    def run(self) -> None:
        self.input_names = {i.name for i in self.inputs}
        for node in self.model.graph.node:
            if node.op_type == "Constant":
                self._constant(node)
                continue
            if node.domain not in ("", "ai.onnx"):
                self.refused.append(f"node {node.name!r} ({node.domain}.{node.op_type}): not a standard ONNX op")
                continue
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None:
                self.refused.append(f"node {node.name!r} ({node.op_type}): no spec layer for {node.op_type}")
                continue
            if any(
                v
                and v not in self.producer
                and v not in self.input_names
                and v not in self.values
                and v not in self.weights
                and v not in self.transposed
                and v not in self.shape_of
                for v in node.input
            ):
                continue  # it reads what a refused node makes: that node is listed already
            try:
                result = handler(node, self.attrs(node))
            except _Unsupported as exc:
                self.refused.append(f"node {node.name!r} ({node.op_type}): {exc}")
                continue
            except (ArithmeticError, LookupError, TypeError, ValueError) as exc:  # what the op's schema leaves open
                self.refused.append(
                    f"node {node.name!r} ({node.op_type}): its attributes or inputs are malformed ({exc})"
                )
                continue
            if result is None:  # a value, not a layer (a transposed weight, a Shape)
                continue
            type_name, fields, inputs = result
            layer = _Layer(node.name, type_name, fields, inputs, node.output[0])
            self.layers[layer] = None
            self.producer[node.output[0]] = layer

    def _constant(self, node) -> None:
        from onnx.external_data_helper import uses_external_data

        attrs = {a.name: a for a in node.attribute}
        if "value" in attrs:
            if uses_external_data(attrs["value"].t):
                self.refused.append(f"node {node.name!r} (Constant): its value is in an external file, never read")
                return
            array = self._numbers(attrs["value"].t)
            if array is not None:
                self.values[node.output[0]] = array
                return
        import numpy as np

        for key, kind in (("value_float", np.float32), ("value_int", np.int64)):
            if key in attrs:
                self.values[node.output[0]] = np.array(self.onnx.helper.get_attribute_value(attrs[key]), kind)
                return
        for key, kind in (("value_floats", np.float32), ("value_ints", np.int64)):
            if key in attrs:
                self.values[node.output[0]] = np.array(list(self.onnx.helper.get_attribute_value(attrs[key])), kind)
                return
        self.refused.append(f"node {node.name!r} (Constant): a kind of constant not read here")

    # ---- helpers for fields -------------------------------------------------------------------
    @staticmethod
    def per_axis(values) -> object:
        values = [int(v) for v in values]
        return values[0] if len(set(values)) == 1 else values

    def rank_of(self, value: str) -> int:
        return len(self.shape(value)) - 1

    def weight(self, value: str, what: str) -> tuple:
        if value not in self.weights:
            raise _Unsupported(f"its {what} is not an initializer")
        return self.weights[value]

    # ---- convolution and pooling --------------------------------------------------------------
    def op_Conv(self, node, a):
        x = node.input[0]
        w = self.weight(node.input[1], "weight")
        kernel = list(a.get("kernel_shape", w[2:]))
        rank = len(kernel)
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            raise _Unsupported("auto_pad SAME_* is not read (write explicit pads)")
        pads = list(a.get("pads", [0] * 2 * rank))
        before, after = pads[:rank], pads[rank:]
        fields = {"out_channels": w[0], "kernel_size": self.per_axis(kernel)}
        stride, dilation = a.get("strides", [1] * rank), a.get("dilations", [1] * rank)
        if any(s != 1 for s in stride):
            fields["stride"] = self.per_axis(stride)
        padding_mode = None
        pad = self.single_use(x)
        if (
            pad is not None
            and pad.type.startswith(("reflection_pad", "replication_pad", "circular_pad"))
            and not any(pads)
            and _same_module(pad.onnx_name, node.name)
        ):
            amounts = _torch_pad_pairs(pad.fields["padding"], rank)
            if amounts is not None and all(b == e for b, e in amounts):
                padding_mode = pad.type.split("_pad")[0].replace("reflection", "reflect")
                before = [b for b, _ in amounts]
                after = before
                x = pad.inputs[0]
                self.drop(pad)
        if before != after:
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            if all(s == 1 for s in stride) and all(b + e == t and b == t // 2 for b, e, t in zip(before, after, total)):
                fields["padding"] = "same"
            else:
                raise _Unsupported(f"asymmetric pads {pads} other than 'same' are not read")
        elif any(before):
            fields["padding"] = self.per_axis(before)
        if any(d != 1 for d in dilation):
            fields["dilation"] = self.per_axis(dilation)
        if a.get("group", 1) != 1:
            fields["groups"] = a["group"]
        if len(node.input) < 3 or not node.input[2]:
            fields["bias"] = False
        if padding_mode:
            fields["padding_mode"] = padding_mode
        return f"conv{rank}d", fields, [self.tensor(x)]

    def op_ConvTranspose(self, node, a):
        w = self.weight(node.input[1], "weight")
        kernel = list(a.get("kernel_shape", w[2:]))
        rank = len(kernel)
        if "output_shape" in a or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise _Unsupported("output_shape and auto_pad are not read (write pads and output_padding)")
        pads = list(a.get("pads", [0] * 2 * rank))
        if pads[:rank] != pads[rank:]:
            raise _Unsupported(f"asymmetric pads {pads} are not read")
        group = a.get("group", 1)
        fields = {"out_channels": w[1] * group, "kernel_size": self.per_axis(kernel)}
        for key, field, default in (
            ("strides", "stride", 1),
            (None, "padding", 0),
            ("output_padding", "output_padding", 0),
        ):
            values = pads[:rank] if key is None else a.get(key, [default] * rank)
            if any(v != default for v in values):
                fields[field] = self.per_axis(values)
        if group != 1:
            fields["groups"] = group
        if len(node.input) < 3 or not node.input[2]:
            fields["bias"] = False
        dilation = a.get("dilations", [1] * rank)
        if any(d != 1 for d in dilation):
            fields["dilation"] = self.per_axis(dilation)
        return f"conv_transpose{rank}d", fields, [self.tensor(node.input[0])]

    def _pool(self, node, a, kind: str):
        kernel = list(a["kernel_shape"])
        rank = len(kernel)
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            raise _Unsupported("auto_pad SAME_* is not read (write explicit pads)")
        if len(node.output) > 1 and node.output[1]:
            raise _Unsupported("its indices output is not read")
        pads = list(a.get("pads", [0] * 2 * rank))
        before, after = pads[:rank], pads[rank:]
        stride = list(a.get("strides", [1] * rank))
        ceil = bool(a.get("ceil_mode", 0))
        if before != after:  # cnncalc's export writes ceil_mode's overhanging window as more padding after
            if ceil or any(e < b for b, e in zip(before, after)):
                raise _Unsupported(f"asymmetric pads {pads} are not read")
            ceil = True
        fields = {"kernel_size": self.per_axis(kernel)}
        if stride != kernel:
            fields["stride"] = self.per_axis(stride)
        if any(before):
            fields["padding"] = self.per_axis(before)
        dilation = a.get("dilations", [1] * rank)
        if any(d != 1 for d in dilation):
            if kind == "avg":
                raise _Unsupported("a dilated average pool has no spec layer")
            fields["dilation"] = self.per_axis(dilation)
        if ceil:
            fields["ceil_mode"] = True
        if kind == "avg" and not a.get("count_include_pad", 0) and any(pads):
            fields["count_include_pad"] = False
        return f"{kind}pool{rank}d", fields, [self.tensor(node.input[0])]

    def op_MaxPool(self, node, a):
        return self._pool(node, a, "max")

    def op_AveragePool(self, node, a):
        return self._pool(node, a, "avg")

    def _global(self, node, kind: str):
        rank = self.rank_of(node.input[0])
        return f"adaptive_{kind}pool{rank}d", {"output_size": 1}, [self.tensor(node.input[0])]

    def op_GlobalAveragePool(self, node, a):
        return self._global(node, "avg")

    def op_GlobalMaxPool(self, node, a):
        return self._global(node, "max")

    def _reduce(self, node, a, kind):
        rank = self.rank_of(node.input[0])
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = [int(v) for v in self.const(node.input[1], "axes").reshape(-1)]
        axes = sorted(ax % (rank + 2) for ax in (axes or []))
        if axes != list(range(2, rank + 2)):
            raise _Unsupported(f"a reduction over axes {axes} (only every spatial axis has a spec layer)")
        fields = {"keepdims": True} if a.get("keepdims", 1) else {}
        return f"global_{kind}pool{rank}d", fields, [self.tensor(node.input[0])]

    def op_ReduceMean(self, node, a):
        return self._reduce(node, a, "avg")

    def op_ReduceMax(self, node, a):
        return self._reduce(node, a, "max")

    # ---- fully connected ----------------------------------------------------------------------
    def op_Gemm(self, node, a):
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise _Unsupported("transA, alpha or beta other than torch's Linear writes")
        w = self.weight(node.input[1], "weight")
        out = w[0] if a.get("transB", 0) else w[1]
        fields = {"out_features": out}
        if len(node.input) > 2 and node.input[2]:
            if prod(self.weight(node.input[2], "bias")) != out:
                raise _Unsupported("a bias that is not one value per output feature")
        else:
            fields["bias"] = False
        return "linear", fields, [self.tensor(node.input[0])]

    def op_Transpose(self, node, a):
        x = node.input[0]
        if x in self.weights:  # a weight used transposed (MatMul by W^T)
            if list(a.get("perm", [1, 0])) != [1, 0] or len(self.weights[x]) != 2:
                raise _Unsupported("a weight transposed other than [1, 0]")
            w = self.weights[x]
            self.transposed[node.output[0]] = (w[1], w[0])
            return None
        perm = list(a.get("perm", []))
        if not perm or perm[0] != 0:
            raise _Unsupported(f"perm {perm} moves the batch axis")
        return "permute", {"dims": perm}, [self.tensor(x)]

    def op_MatMul(self, node, a):
        x, b = node.input
        w = self.transposed.get(b) or self.weights.get(b)
        if w is not None:
            if len(w) != 2:
                raise _Unsupported("a weight of more than two axes")
            # on more than one axis, torch's Linear reads the last: a spec says so with in_features
            wide = {"in_features": w[0]} if len(self.shape(x)) > 1 else {}
            return "linear", {**wide, "out_features": w[1], "bias": False}, [self.tensor(x)]
        return "matmul", {}, [self.tensor(x), self.tensor(b)]

    # ---- merges and arithmetic ----------------------------------------------------------------
    def op_Add(self, node, a):
        left, right = node.input
        for x, other in ((left, right), (right, left)):
            linear = self.single_use(x)
            if (
                linear is not None
                and linear.type == "linear"
                and linear.fields.get("bias") is False
                and other in self.weights
                and prod(self.weights[other]) == linear.fields["out_features"]
                and _same_module(linear.onnx_name, node.name)
            ):
                self.drop(linear)
                fields = {k: v for k, v in linear.fields.items() if k != "bias"}
                return "linear", fields, linear.inputs
        for x, other in ((left, right), (right, left)):
            if other in self.values and self.values[other].size == 1:
                offset = float(self.values[other].reshape(-1)[0])
                scaled = self.single_use(x)
                if (
                    scaled is not None
                    and scaled.type == "rescale"
                    and "offset" not in scaled.fields
                    and _same_module(scaled.onnx_name, node.name)
                ):
                    self.drop(scaled)
                    return "rescale", {**scaled.fields, "offset": offset}, scaled.inputs
                return "rescale", {"scale": 1.0, "offset": offset}, [self.tensor(x)]
        inputs = []
        for x in (left, right):  # a sum of several, written as a chain of Adds
            part = self.single_use(x)
            if part is not None and part.type == "add" and part.onnx_name.startswith(node.name + "/"):
                self.drop(part)
                inputs += part.inputs
            else:
                inputs.append(self.tensor(x))
        return "add", {}, inputs

    def op_Mul(self, node, a):
        left, right = node.input
        for x, other in ((left, right), (right, left)):
            gate = self.single_use(other)
            if (
                gate is not None
                and gate.type == "sigmoid"
                and gate.inputs == [x]
                and _same_module(gate.onnx_name, node.name)
            ):
                self.drop(gate)
                return "silu", {}, [self.tensor(x)]
        for x, other in ((left, right), (right, left)):
            if other in self.weights and x not in self.weights:
                shape = self.weights[other]
                channels = self.shape(x)[0]
                if shape == (channels, 1, 1) and len(self.shape(x)) == 3:
                    return "layer_scale", {}, [self.tensor(x)]
                if other not in self.values or self.values[other].size != 1:
                    raise _Unsupported(f"a product with a weight of shape {list(shape)}")
            if other in self.values and self.values[other].size == 1:
                return "rescale", {"scale": float(self.values[other].reshape(-1)[0])}, [self.tensor(x)]
        return "mul", {}, [self.tensor(left), self.tensor(right)]

    def op_Concat(self, node, a):
        rank = len(self.shape(node.input[0])) + 1
        return "concat", _dim(a["axis"] % rank, 1), [self.tensor(v) for v in node.input]

    # ---- normalisation ------------------------------------------------------------------------
    def _affine(self, node) -> bool:
        """Whether a norm's scale and shift are weights (initializers) rather than constants."""
        scale, shift = node.input[1], node.input[2] if len(node.input) > 2 else ""
        learned = [v in self.weights for v in (scale, shift) if v]
        if len(set(learned)) > 1:
            raise _Unsupported("a learned scale with a constant shift (or the reverse)")
        return bool(learned and learned[0])

    def op_BatchNormalization(self, node, a):
        if a.get("training_mode", 0) or len(node.output) > 1 and any(node.output[1:]):
            raise _Unsupported("training mode (the batch's own statistics)")
        rank = len(self.shape(node.input[0])) - 1
        kind = {0: "batchnorm1d", 1: "batchnorm1d", 2: "batchnorm2d", 3: "batchnorm3d"}.get(rank)
        if kind is None:
            raise _Unsupported(f"a batch norm on {rank} spatial axes")
        fields = {} if self._affine(node) else {"affine": False}
        return kind, {**_eps(a), **fields}, [self.tensor(node.input[0])]

    def op_InstanceNormalization(self, node, a):
        rank = self.rank_of(node.input[0])
        if rank not in (1, 2, 3):
            raise _Unsupported(f"an instance norm on {rank} spatial axes")
        fields = {"affine": True} if self._affine(node) else {}
        return f"instancenorm{rank}d", {**_eps(a), **fields}, [self.tensor(node.input[0])]

    def op_GroupNormalization(self, node, a):
        channels = self.shape(node.input[0])[0]
        if prod(self.weights.get(node.input[1]) or self.values[node.input[1]].shape) != channels:
            raise _Unsupported("a scale per group (opset 18's), not per channel")
        fields = {"num_groups": a["num_groups"], **_eps(a)}
        if not self._affine(node):
            fields["affine"] = False
        return "groupnorm", fields, [self.tensor(node.input[0])]

    def op_LayerNormalization(self, node, a):
        x = node.input[0]
        shape = self.shape(x)
        axis = a.get("axis", -1) % (len(shape) + 1)
        if axis == 0:
            raise _Unsupported("a layer norm over the batch axis")
        normalized = list(shape[axis - 1 :])
        learned = node.input[1] in self.weights
        bias = len(node.input) > 2 and bool(node.input[2])
        if bias and (node.input[2] in self.weights) != learned:
            raise _Unsupported("a learned scale with a constant shift (or the reverse)")
        fields = {**_eps(a)}
        moved = self.single_use(x)
        # cnncalc's layernorm2d: the channels moved last, normalised, moved back (fused at the Transpose back)
        if len(normalized) > 1 or moved is None or moved.type != "permute" or moved.fields["dims"] != [0, 2, 3, 1]:
            fields = {"normalized_shape": normalized if len(normalized) > 1 else normalized[0], **fields}
        if not learned:
            fields["elementwise_affine"] = False
        elif not bias:
            fields["bias"] = False
        return "layernorm", fields, [self.tensor(x)]

    def op_LRN(self, node, a):
        fields = {"size": a["size"]}
        for key, field, default in (("alpha", "alpha", 1e-4), ("beta", "beta", 0.75), ("bias", "k", 1.0)):
            if key in a and abs(a[key] - default) > 1e-12:
                fields[field] = _float(a[key])
        return "local_response_norm", fields, [self.tensor(node.input[0])]

    # ---- activations --------------------------------------------------------------------------
    def _plain(type_name):
        def handler(self, node, a):
            return type_name, {}, [self.tensor(node.input[0])]

        return handler

    op_Relu = _plain("relu")
    op_Sigmoid = _plain("sigmoid")
    op_Tanh = _plain("tanh")
    op_HardSwish = _plain("hardswish")
    op_Mish = _plain("mish")

    def op_Identity(self, node, a):
        """A layer passing its input on; or, on a weight or constant (torch.onnx shares an
        initializer so), another name for it."""
        source, out = node.input[0], node.output[0]
        if source in self.weights or source in self.values:
            if source in self.weights:
                self.weights[out] = self.weights[source]
            if source in self.values:
                self.values[out] = self.values[source]
            return None
        return "identity", {}, [self.tensor(source)]

    def op_Dropout(self, node, a):
        if len(node.output) > 1 and node.output[1]:
            raise _Unsupported("its mask output is not read")
        p = a.get("ratio", 0.5)
        if len(node.input) > 1 and node.input[1]:
            p = float(self.const(node.input[1], "ratio").reshape(-1)[0])
        return "dropout", ({} if abs(p - 0.5) < 1e-9 else {"p": _float(p)}), [self.tensor(node.input[0])]

    def op_LeakyRelu(self, node, a):
        alpha = a.get("alpha", 0.01)
        return (
            "leaky_relu",
            ({} if abs(alpha - 0.01) < 1e-9 else {"negative_slope": _float(alpha)}),
            [self.tensor(node.input[0])],
        )

    def op_Elu(self, node, a):
        alpha = a.get("alpha", 1.0)
        return "elu", ({} if alpha == 1.0 else {"alpha": _float(alpha)}), [self.tensor(node.input[0])]

    def op_Gelu(self, node, a):
        approximate = a.get("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
        return "gelu", ({} if approximate == "none" else {"approximate": approximate}), [self.tensor(node.input[0])]

    def op_HardSigmoid(self, node, a):
        if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
            raise _Unsupported("alpha and beta other than torch's Hardsigmoid (1/6, 0.5)")
        return "hardsigmoid", {}, [self.tensor(node.input[0])]

    def op_Clip(self, node, a):
        low, high = a.get("min"), a.get("max")
        if len(node.input) > 1 and node.input[1]:
            low = float(self.const(node.input[1], "min").reshape(-1)[0])
        if len(node.input) > 2 and node.input[2]:
            high = float(self.const(node.input[2], "max").reshape(-1)[0])
        if low == 0 and high == 6:
            return "relu6", {}, [self.tensor(node.input[0])]
        if low == 0 and high is None:
            return "relu", {}, [self.tensor(node.input[0])]
        raise _Unsupported(f"a clip to [{low}, {high}] (only relu6's [0, 6] has a spec layer)")

    def _softmax(self, node, a, kind):
        rank = len(self.shape(node.input[0])) + 1
        axis = a.get("axis", -1 if self.opset >= 13 else 1) % rank
        if self.opset < 13 and axis != rank - 1:
            raise _Unsupported("before opset 13, a softmax over all axes from `axis` on")
        if axis == 0:
            raise _Unsupported("a softmax over the batch axis")
        return kind, _dim(axis, 1), [self.tensor(node.input[0])]

    def op_Softmax(self, node, a):
        return self._softmax(node, a, "softmax")

    def op_LogSoftmax(self, node, a):
        return self._softmax(node, a, "log_softmax")

    def op_PRelu(self, node, a):
        slope = self.weights.get(node.input[1])
        if slope is None:
            raise _Unsupported("its slope is not an initializer")
        count = prod(slope)
        return "prelu", ({} if count == 1 else {"num_parameters": count}), [self.tensor(node.input[0])]

    # ---- reshaping ----------------------------------------------------------------------------
    def op_Flatten(self, node, a):
        if a.get("axis", 1) != 1:
            raise _Unsupported("a flatten from an axis other than 1")
        return "flatten", {}, [self.tensor(node.input[0])]

    def op_Reshape(self, node, a):
        x = node.input[0]
        if node.input[1] in self.weights and node.input[1] not in self.values:
            raise _Unsupported("its shape is not a constant")
        target = [int(v) for v in self.const(node.input[1], "shape").reshape(-1)]
        batch = (self.shapes.get(x) or (None,))[0]  # a file made for one batch size: that size
        fixed = batch is not None and batch > 0 and target[:1] == [batch] and all(v != 0 for v in target[1:])
        if not target or not (fixed or target[0] == 0 or (target[0] == -1 and all(v > 0 for v in target[1:]))):
            raise _Unsupported(f"shape {target} does not keep the batch axis first")
        source, out = self.shape(x), self.shape(node.output[0])
        fused = self._shuffle(x, source, out, node.name)
        if fused:
            return fused
        if len(out) == 1 and len(source) > 1 and out[0] == prod(source):
            return "flatten", {}, [self.tensor(x)]
        return "reshape", {"shape": list(out)}, [self.tensor(x)]

    def _shuffle(self, x, source, out, name):
        """Reshape, Transpose, Reshape back: a channel shuffle, or a pixel unshuffle."""
        moved = self.single_use(x)
        if moved is None or moved.type != "permute" or not _same_module(moved.onnx_name, name):
            return None
        split = self.single_use(moved.inputs[0])
        if split is None or split.type != "reshape" or not _same_module(split.onnx_name, name):
            return None
        original = split.inputs[0]
        before = self.shape(original)
        dims, parts = moved.fields["dims"], split.fields["shape"]
        if out == before and len(before) == 3 and len(parts) == 4 and dims == [0, 2, 1, 3, 4]:
            found = ("channel_shuffle", {"groups": parts[0]})
        elif len(before) == 3 and len(parts) == 5 and dims == [0, 1, 3, 5, 2, 4] and parts[2] == parts[4]:
            found = ("pixel_unshuffle", {"downscale_factor": parts[2]})
        else:
            return None
        self.drop(moved)
        self.drop(split)
        return (*found, split.inputs)

    def op_Slice(self, node, a):
        x = node.input[0]
        shape = self.shape(x)
        starts = [int(v) for v in self.const(node.input[1], "starts").reshape(-1)]
        ends = [int(v) for v in self.const(node.input[2], "ends").reshape(-1)]
        axes = list(range(len(starts)))
        if len(node.input) > 3 and node.input[3]:
            axes = [int(v) for v in self.const(node.input[3], "axes").reshape(-1)]
        if len(node.input) > 4 and node.input[4]:
            if any(int(v) != 1 for v in self.const(node.input[4], "steps").reshape(-1)):
                raise _Unsupported("a step other than 1")
        if len(axes) != 1:
            raise _Unsupported("a slice along several axes")
        axis = axes[0] % (len(shape) + 1)
        if axis == 0:
            raise _Unsupported("a slice of the batch axis")
        n = shape[axis - 1]
        start, end = (min(max(v + n if v < 0 else v, 0), n) for v in (starts[0], ends[0]))
        size = end - start
        if size <= 0:
            raise _Unsupported("an empty slice")
        chunks = -(-n // size)
        if start % size == 0 and -(-n // chunks) == size:
            return "chunk", {"chunks": chunks, **_dim(axis, 1), "index": start // size}, [self.tensor(x)]
        sizes = [s for s in (start, size, n - end) if s]
        return "split", {"sizes": sizes, **_dim(axis, 1), "index": 1 if start else 0}, [self.tensor(x)]

    def op_Gather(self, node, a):
        index = self.const(node.input[1], "index")
        if index.ndim != 0:
            raise _Unsupported("a gather of several indices")
        axis = a.get("axis", 0) % (len(self.shape(node.input[0])) + 1)
        if axis == 0:
            raise _Unsupported("a gather along the batch axis")
        return "select", {"dim": axis, "index": int(index)}, [self.tensor(node.input[0])]

    def op_Pad(self, node, a):
        x = node.input[0]
        rank = len(self.shape(x)) + 1
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if len(node.input) > 1 and node.input[1]:
            pads = [int(v) for v in self.const(node.input[1], "pads").reshape(-1)]
        else:
            pads = list(a.get("pads", []))
        value = a.get("value", 0.0)
        if len(node.input) > 2 and node.input[2]:
            value = float(self.const(node.input[2], "value").reshape(-1)[0])
        axes = list(range(rank))
        if len(node.input) > 3 and node.input[3]:
            axes = [int(v) % rank for v in self.const(node.input[3], "axes").reshape(-1)]
        half = len(axes)
        amounts = {ax: (pads[i], pads[i + half]) for i, ax in enumerate(axes)}
        if any(amounts.get(ax, (0, 0)) != (0, 0) for ax in (0, 1)):
            raise _Unsupported("padding of the batch or channel axis")
        spatial = rank - 2
        if spatial not in (1, 2, 3):
            raise _Unsupported(f"padding of {spatial} spatial axes")
        torch_order = []
        for ax in reversed(range(2, rank)):
            torch_order += list(amounts.get(ax, (0, 0)))
        kind = {
            "constant": "zero_pad" if value == 0 else "constant_pad",
            "reflect": "reflection_pad",
            "edge": "replication_pad",
            "wrap": "circular_pad",
        }.get(mode)
        if kind is None:
            raise _Unsupported(f"mode {mode!r}")
        fields = {"padding": torch_order[0] if len(set(torch_order)) == 1 else torch_order}
        if kind == "constant_pad":
            fields["value"] = _float(value)
        return f"{kind}{spatial}d", fields, [self.tensor(x)]

    # ---- resampling ---------------------------------------------------------------------------
    def op_Shape(self, node, a):
        if a.get("end") is not None or node.input[0] not in self.producer and node.input[0] not in self.input_names:
            raise _Unsupported("a shape other than a tensor's spatial size")
        if a.get("start", 0) != 2:
            raise _Unsupported("a shape other than a tensor's spatial size")
        self.shape_of[node.output[0]] = node.input[0]
        return None

    def op_Resize(self, node, a):
        x = node.input[0]
        rank = len(self.shape(x)) + 1
        text = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in a.items()}
        mode = text.get("mode", "nearest")
        transform = text.get("coordinate_transformation_mode", "half_pixel")
        spatial = rank - 2
        fields: dict = {}
        if mode == "nearest":
            nearest = text.get("nearest_mode", "round_prefer_floor")
            if transform == "asymmetric" and nearest == "floor":
                pass
            elif transform == "half_pixel" and nearest == "round_prefer_ceil":
                fields["mode"] = "nearest-exact"
            else:
                raise _Unsupported(f"nearest sampling with {transform} and {nearest} (torch's are asymmetric+floor)")
        elif mode in ("linear", "cubic"):
            if mode == "cubic" and (spatial != 2 or abs(text.get("cubic_coeff_a", -0.75) + 0.75) > 1e-6):
                raise _Unsupported("cubic sampling other than torch's bicubic")
            fields["mode"] = "bicubic" if mode == "cubic" else {1: "linear", 2: "bilinear", 3: "trilinear"}[spatial]
            if transform == "align_corners":
                fields["align_corners"] = True
            elif transform not in ("pytorch_half_pixel", "half_pixel"):
                raise _Unsupported(f"coordinate_transformation_mode {transform!r}")
            else:
                fields["align_corners"] = False
        else:
            raise _Unsupported(f"mode {mode!r}")
        axes = [ax % rank for ax in a.get("axes", range(rank))]
        scales = node.input[2] if len(node.input) > 2 else ""
        sizes = node.input[3] if len(node.input) > 3 else ""
        if sizes and sizes in self.shape_of:
            return "upsample", fields, [self.tensor(x), self.tensor(self.shape_of[sizes])]
        if scales and self.values.get(scales) is not None and self.values[scales].size:
            values = dict(zip(axes, (float(v) for v in self.values[scales].reshape(-1))))
            if values.get(0, 1.0) != 1.0 or values.get(1, 1.0) != 1.0:
                raise _Unsupported("a resize of the batch or channel axis")
            factor = [values.get(ax, 1.0) for ax in range(2, rank)]
            factor = [int(f) if f == int(f) else f for f in factor]
            return (
                "upsample",
                {"scale_factor": factor[0] if len(set(factor)) == 1 else factor, **fields},
                [self.tensor(x)],
            )
        if sizes:
            values = dict(zip(axes, (int(v) for v in self.const(sizes, "sizes").reshape(-1))))
            size = [values.get(ax, 0) for ax in range(2, rank)]
            if not all(size):
                raise _Unsupported("sizes that leave a spatial axis out")
            return "upsample", {"size": size[0] if len(set(size)) == 1 else size, **fields}, [self.tensor(x)]
        raise _Unsupported("neither constant scales nor constant sizes")

    def op_Upsample(self, node, a):
        raise _Unsupported("the deprecated Upsample op (re-export with opset 10 or later: Resize)")

    def op_DepthToSpace(self, node, a):
        mode = a.get("mode", b"DCR")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode != "CRD":
            raise _Unsupported("mode DCR (torch's pixel_shuffle is CRD)")
        return "pixel_shuffle", {"upscale_factor": a["blocksize"]}, [self.tensor(node.input[0])]

    # ---- layernorm2d: fused at the Transpose back ---------------------------------------------
    def finish(self) -> None:
        for layer in list(self.layers):
            if layer.type != "permute" or layer.fields["dims"] != [0, 3, 1, 2]:
                continue
            norm = self.single_use(layer.inputs[0])
            if norm is None or norm.type != "layernorm" or "normalized_shape" in norm.fields:
                continue
            moved = self.single_use(norm.inputs[0])
            if moved is None or moved.type != "permute" or moved.fields["dims"] != [0, 2, 3, 1]:
                continue
            fields = dict(norm.fields)
            fields.pop("bias", None)  # layernorm2d has a bias whenever it has a weight
            self.drop(norm)
            self.drop(moved)
            layer.type, layer.fields, layer.inputs = "layernorm2d", fields, moved.inputs
        for layer in self.layers:  # a layer norm left unfused names its shape
            if layer.type == "layernorm" and "normalized_shape" not in layer.fields:
                channels = self.shape(layer.inputs[0])[-1]
                layer.fields = {"normalized_shape": channels, **layer.fields}


def _same_module(inner: str, outer: str) -> bool:
    """Whether two nodes belong to one layer: cnncalc's `X/Op_k` inside `X`, or torch.onnx's
    `/m/Pad` next to `/m/Conv`."""
    if inner.startswith(outer + "/"):
        return True
    return inner.startswith("/") and outer.startswith("/") and inner.rsplit("/", 1)[0] == outer.rsplit("/", 1)[0]


def _torch_pad_pairs(padding, rank: int):
    """A padding layer's (before, after) per spatial axis, the first axis first."""
    values = [padding] * (2 * rank) if isinstance(padding, int) else list(padding)
    if len(values) != 2 * rank:
        return None
    pairs = [(values[2 * i], values[2 * i + 1]) for i in range(rank)]
    return list(reversed(pairs))


def _eps(a) -> dict:
    eps = a.get("epsilon", 1e-5)
    return {} if abs(eps - 1e-5) < 1e-12 else {"eps": _float(eps)}


def _float(value: float) -> float:
    """A float32 attribute as the shortest decimal that reads back as it (1e-05, not 9.99999e-06)."""
    import numpy as np

    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


def _dim(axis: int, default: int) -> dict:
    return {} if axis == default else {"dim": axis}


# ---- names and text ------------------------------------------------------------------------------


class _Names:
    """Spec names for ONNX names: unique, valid, each with the ONNX name when it cannot be read back."""

    RESERVED = {"input"}

    def __init__(self):
        self.used: set[str] = set()
        self.next: dict[str, int] = {}  # base -> the first suffix not yet tried: n equal names cost n tries, not n²/2

    def make(self, onnx_name: str, fallback: str, reserved: bool = True) -> tuple[str, str | None]:
        path = module_path(onnx_name) if onnx_name else ""
        exact = bool(path) and path == onnx_name and SIMPLE.fullmatch(path) is not None
        base = spec_name(path) if path else fallback
        base = NAME_CHARS.sub("_", base)[:90]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*|[0-9]{1,9}", base):
            base = "_" + base
        name, n = base, self.next.get(base, 2)
        while name in self.used or (reserved and name in self.RESERVED):
            name, n = f"{base}_{n}", n + 1
        self.next[base] = n
        self.used.add(name)
        return name, (None if exact and name == base else onnx_name or None)


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return _scalar(str(value))


def _scalar(text: str) -> str:
    """`text` plain where YAML reads it back as this very string (not `on`, `null` or `0123`), else quoted."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*|[0-9]+", text):
        try:
            if yaml.safe_load(text) == text:
                return text
        except yaml.YAMLError:
            pass
    return _quoted(text)


def _comment(onnx_name: str | None) -> str:
    return f"  # onnx: {json.dumps(onnx_name)}" if onnx_name else ""


def to_spec(path_or_bytes, name: str | None = None) -> str:
    """The spec text for the ONNX model at `path_or_bytes` (a path, or the model's bytes), or
    ImportRefused naming what it cannot write."""
    onnx = require_onnx()
    model = _load(onnx, path_or_bytes)
    importer = _Importer(onnx, model)
    if not importer.inputs:
        raise ImportRefused(["the model has no inputs"])
    importer.run()
    if not importer.refused:
        try:
            importer.finish()
        except _Unsupported as exc:
            importer.refused.append(str(exc))
    if importer.refused:
        raise ImportRefused(["cannot import the ONNX model: no spec layer for these nodes:", *importer.refused])
    if name is None and model.graph.name in GENERIC_GRAPH_NAMES and isinstance(path_or_bytes, (str, os.PathLike)):
        name = Path(path_or_bytes).stem  # torch.onnx names every graph main_graph: the file says more
    return _write(importer, model, name)


GENERIC_GRAPH_NAMES = ("", "main_graph", "torch_jit", "torch-jit-export")


def _load(onnx, source):
    from google.protobuf.message import DecodeError

    try:
        data = bytes(source) if isinstance(source, (bytes, bytearray)) else _read(source)
        model = onnx.load_from_string(data)
    except OSError as exc:
        raise ImportRefused([f"cannot read {source}: {exc.strerror or exc}"]) from None
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ImportRefused([f"not an ONNX model: {exc or 'it does not parse as one'}"]) from None
    if not model.HasField("graph") or not model.graph.node:
        raise ImportRefused(["not an ONNX model: it holds no graph"])
    count = _entries(model.graph) + sum(len(function.node) for function in model.functions)
    if count > MAX_ENTRIES:
        raise ImportRefused(
            [f"the model has {count:,} nodes, values and weights, more than the {MAX_ENTRIES:,} a spec can come from"]
        )
    try:
        onnx.checker.check_model(_checkable(model))
    except Exception as exc:  # noqa: BLE001  onnx.checker.ValidationError and its kin
        raise ImportRefused(
            [f"not a valid ONNX model: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"]
        ) from None
    return model


def _checkable(model):
    """The model for onnx.checker: where a tensor names an external file, a copy with the tensor
    held in the model, empty, since the checker looks such files up (whether `.env` exists
    would show in its message). The import never reads them."""
    from onnx.external_data_helper import uses_external_data

    tensors = list(_tensors(model.graph)) + [t for f in model.functions for n in f.node for t in _node_tensors(n)]
    if not any(uses_external_data(t) for t in tensors):
        return model
    copy = type(model)()
    copy.CopyFrom(model)
    for tensor in list(_tensors(copy.graph)) + [t for f in copy.functions for n in f.node for t in _node_tensors(n)]:
        if uses_external_data(tensor):
            tensor.ClearField("external_data")
            tensor.data_location = 0  # DEFAULT
            tensor.ClearField("raw_data")
            del tensor.dims[:]
            tensor.dims.append(0)  # no elements: no value needed
    return copy


def _tensors(graph):
    """Every tensor a graph holds: initializers (sparse ones' values) and its nodes' attributes,
    through the graphs those hold."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
    for node in graph.node:
        yield from _node_tensors(node)


def _node_tensors(node):
    for attribute in node.attribute:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        if attribute.HasField("g"):
            yield from _tensors(attribute.g)
        for graph in attribute.graphs:
            yield from _tensors(graph)


def _entries(graph) -> int:
    """The graph's nodes, inputs, outputs, value_info and initializers, with those of the graphs
    its nodes hold (an If's branches, a Loop's body)."""
    count = sum(map(len, (graph.node, graph.input, graph.output, graph.value_info, graph.initializer)))
    count += len(graph.sparse_initializer)
    for node in graph.node:
        for attribute in node.attribute:
            inner = [attribute.g] if attribute.HasField("g") else []
            count += sum(_entries(g) for g in [*inner, *attribute.graphs])
    return count


def _read(path) -> bytes:
    """The bytes of the regular file at `path`: not a FIFO, a device or a directory (opened
    without blocking: a FIFO with no writer would wait for ever, /dev/zero never ends), and at
    most MAX_BYTES."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ImportRefused([f"cannot read {path}: not a regular file"])
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportRefused([f"cannot read {path}: larger than an ONNX model can be (2 GiB)"])
    return data


def _write(importer: _Importer, model, name: str | None) -> str:
    names = _Names()
    lines = []
    title = name or model.graph.name or "imported"
    lines.append(f"name: {_scalar(title)}")
    lines.append(f"# imported from ONNX by cnncalc (producer: {json.dumps(model.producer_name or 'unknown')})")
    spec_of: dict[str, str] = {}
    shapes = {}
    inputs = importer.inputs
    for info in inputs:
        shape = importer.shapes.get(info.name)
        if not shape or any(d is None for d in shape[1:]) or len(shape) < 2:
            raise ImportRefused([f"input {info.name!r} has no fixed shape after its batch axis: {shape}"])
        shapes[info.name] = list(shape[1:])
    if len(inputs) == 1:
        spec_of[inputs[0].name] = "input"
        names.used.add("input")
        lines.append(f"input: {_value_text(shapes[inputs[0].name])}")
    else:
        lines.append("inputs:")
        for info in inputs:
            spec_of[info.name], original = names.make(info.name, "input", reserved=True)
            lines.append(f"  {_scalar(spec_of[info.name])}: {_value_text(shapes[info.name])}{_comment(original)}")
    originals = {}
    for k, layer in enumerate(importer.layers):
        layer.name, originals[id(layer)] = names.make(layer.onnx_name, f"{layer.type}_{k + 1}")
        spec_of[layer.output] = layer.name
    outputs = []
    for info in model.graph.output:
        if info.name not in importer.producer:
            raise ImportRefused([f"output {info.name!r} is no layer's output"])
        outputs.append(spec_of[info.name])
    if outputs != [next(reversed(importer.layers)).name]:
        lines.append(f"outputs: {_value_text(outputs)}")
    lines.append("layers:")
    previous = spec_of[inputs[0].name] if len(inputs) == 1 else None
    for layer in importer.layers:
        parts = [f"name: {_scalar(layer.name)}", f"type: {layer.type}"]
        parts += [f"{key}: {_value_text(value)}" for key, value in layer.fields.items()]
        reads = [spec_of[v] for v in layer.inputs]
        if reads != [previous]:
            parts.append(f"inputs: {_value_text(reads)}")
        lines.append("  - {" + ", ".join(parts) + "}" + _comment(originals[id(layer)]))
        previous = layer.name
    text = "\n".join(lines) + "\n"
    _check(importer, text, spec_of)
    return text


def _check(importer: _Importer, text: str, spec_of: dict[str, str]) -> None:
    """Plan the spec and compare each layer's output shape with ONNX's inferred one."""
    from cnncalc.engine import plan
    from cnncalc.errors import SpecError
    from cnncalc.spec import parse

    try:
        planned = plan(parse(text))
    except SpecError as exc:
        raise ImportRefused(["the imported spec does not plan (please report it):", *str(exc).splitlines()]) from None
    by_name = {row.name: row.output_shape for row in planned.layers}
    wrong = []
    for layer in importer.layers:
        dims = importer.shapes.get(layer.output)
        if dims and all(d is not None for d in dims[1:]) and tuple(by_name[layer.name]) != tuple(dims[1:]):
            wrong.append(f"layer {layer.name}: planned {list(by_name[layer.name])}, ONNX infers {list(dims[1:])}")
    if wrong:
        raise ImportRefused(["the imported spec plans other shapes than the ONNX graph (please report it):", *wrong])
