"""What spec layer a recorded PyTorch call is: a leaf module by its class (the layer types say
which torch class each stands for, and read their fields from it: LayerType.from_torch), a
function called in forward() by its name and arguments (`out + identity` is an `add`,
`torch.flatten(x, 1)` a `flatten`). A call with no spec layer raises Unsupported, saying why;
nothing is guessed.
"""

from __future__ import annotations

import math
from functools import cache

from cnncalc.importers.torch_trace import Const, Op, Param, Value, flat


class Unsupported(Exception):
    """This call has no spec layer (the message says what it is)."""


class Layer:
    """A recorded call as a spec layer: `type`, `fields` (defaults left out), the Values it
    reads, and the Value it makes. `alias` marks a call that passes its input on unchanged
    (`.contiguous()`): it becomes no layer."""

    __slots__ = ("type", "fields", "inputs", "output", "op", "alias", "param")

    def __init__(self, type_name: str, fields: dict, inputs: list[Value], op: Op, alias: bool = False):
        self.type, self.fields, self.inputs, self.op, self.alias = type_name, fields, inputs, op, alias
        self.output: Value = op.outputs[0] if op.outputs else None
        self.param: Param | None = None  # the model parameter a layer_scale or parameter layer holds


# ---- modules -------------------------------------------------------------------------------------


@cache
def _classes() -> dict:
    """torch class name -> (layer type, whether the class is torch.nn's)."""
    from cnncalc.layers import LAYER_TYPES, lookup

    found = {}
    for layer_type in LAYER_TYPES:
        torch_class = layer_type.torch_class
        if torch_class and layer_type.type_name not in ("layer_scale", "parameter", "multihead_attention"):
            found.setdefault(torch_class.removeprefix("nn."), (layer_type(), torch_class.startswith("nn.")))
    found["MultiheadAttention"] = (lookup("multihead_attention"), True)
    return found


def layer_type_of(module, own_forward: bool = False):
    """The layer type a module is, or None: its class, or the torch.nn class it extends without
    changing forward() (`class Conv3DSimple(nn.Conv3d)` is a conv3d), or, with `own_forward`,
    with its own forward() but no modules inside (timm's `GroupNorm(nn.GroupNorm)`: the
    import checks the plan and, where it differs, tries again without); torch.nn's names only
    from torch.nn (a user's own `Upsample` is not nn.Upsample)."""
    classes = _classes()
    cls = type(module)
    for base in cls.__mro__:
        if base.__name__ == "Module":
            return None
        found = classes.get(base.__name__)
        if found is not None:
            layer_type, from_nn = found
            if from_nn and not base.__module__.startswith("torch.nn"):
                continue  # a class of the user's that shares torch's name: its bases say what it is
            children = any(True for _ in module.children())
            if base is not cls and cls.forward is not base.forward and (not own_forward or children):
                return None
            if not from_nn and children:
                return None
            return layer_type
        if base is not cls and base.__module__.startswith("torch.nn") and base.__name__ not in classes:
            return None
    return None


def is_leaf(module, own_forward: bool = False) -> bool:
    return layer_type_of(module, own_forward) is not None


def own_forward(module) -> bool:
    """Whether a module is a leaf only because own_forward is allowed."""
    return is_leaf(module, True) and not is_leaf(module)


def module_layer(op: Op) -> Layer:
    layer_type = layer_type_of(op.module, own_forward=True)
    if layer_type.type_name == "multihead_attention":
        return _attention(op, layer_type)
    fields = layer_type.from_torch(op.module)
    for f in layer_type.fields:  # nn.Softmax() without dim: torch picks one itself
        if fields.get(f.name, 0) is None and not f.nullable and f.default is not None:
            raise Unsupported(f"{f.name}=None")
    if layer_type.type_name == "linear" and op.inputs and len(op.inputs[0].shape) > 1:
        fields = {"in_features": op.module.in_features, **fields}  # on the last axis, as torch applies it
    if len(op.inputs) != 1 and not layer_type.merges:
        raise Unsupported(f"{type(op.module).__name__} called with {len(op.inputs)} tensors")
    return Layer(layer_type.type_name, fields, op.inputs, op)


def _attention(op: Op, layer_type) -> Layer:
    module = op.module
    if not module.batch_first or len({id(v) for v in op.inputs}) != 1:
        raise Unsupported("nn.MultiheadAttention other than self-attention with batch_first=True")
    masks = [k for k in ("attn_mask", "key_padding_mask") if op.kwargs.get(k) is not None] + [
        k for k in ("is_causal",) if op.kwargs.get(k)
    ]
    if masks or len(op.args) > 3:
        raise Unsupported(f"nn.MultiheadAttention with {', '.join(masks) or 'a mask'} (a spec's attention has none)")
    fields = {"num_heads": module.num_heads}
    if module.dropout:
        fields["dropout"] = module.dropout
    if module.in_proj_bias is None:
        fields["bias"] = False
    if module.bias_k is not None:
        fields["add_bias_kv"] = True
    if module.add_zero_attn:
        fields["add_zero_attn"] = True
    return Layer(layer_type.type_name, fields, op.inputs[:1], op)


# ---- functions -----------------------------------------------------------------------------------

# positional parameter names, for the functions whose arguments matter
SIGNATURES = {
    "flatten": ("input", "start_dim", "end_dim"),
    "cat": ("tensors", "dim"),
    "concat": ("tensors", "dim"),
    "concatenate": ("tensors", "dim"),
    "mean": ("input", "dim", "keepdim"),
    "amax": ("input", "dim", "keepdim"),
    "transpose": ("input", "dim0", "dim1"),
    "softmax": ("input", "dim"),
    "log_softmax": ("input", "dim"),
    "leaky_relu": ("input", "negative_slope", "inplace"),
    "elu": ("input", "alpha", "inplace"),
    "gelu": ("input", "approximate"),
    "dropout": ("input", "p", "training", "inplace"),
    "interpolate": ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
    "pad": ("input", "pad", "mode", "value"),
    "normalize": ("input", "p", "dim", "eps"),
    "chunk": ("input", "chunks", "dim"),
    "select": ("input", "dim", "index"),
    "split": ("input", "split_size_or_sections", "dim"),
}
for _rank in (1, 2, 3):
    SIGNATURES[f"adaptive_avg_pool{_rank}d"] = ("input", "output_size")
    SIGNATURES[f"adaptive_max_pool{_rank}d"] = ("input", "output_size", "return_indices")
    SIGNATURES[f"max_pool{_rank}d"] = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
    SIGNATURES[f"avg_pool{_rank}d"] = (
        "input",
        "kernel_size",
        "stride",
        "padding",
        "ceil_mode",
        "count_include_pad",
        "divisor_override",
    )

ALIASES = {"contiguous", "clone", "detach", "float", "to", "type_as", "__iter__"}
ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu6",
    "silu": "silu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "hardswish": "hardswish",
    "hardsigmoid": "hardsigmoid",
    "mish": "mish",
    "gelu": "gelu",
    "leaky_relu": "leaky_relu",
    "elu": "elu",
}
ADD = {"add", "__add__", "__radd__", "__iadd__", "add_"}
MUL = {"mul", "__mul__", "__rmul__", "__imul__", "mul_", "multiply"}
DIV = {"div", "__truediv__", "div_", "__itruediv__", "true_divide"}
SUB = {"sub", "__sub__", "__rsub__", "__isub__", "sub_", "subtract"}


def _bind(op: Op, name: str) -> dict:
    names = SIGNATURES.get(name, ("input",))
    bound = dict(zip(names, op.args))
    bound.update(op.kwargs)
    return bound


def finite(layer: Layer) -> Layer:
    """The layer, if every number in its fields is finite (a spec's numbers are)."""
    for value in flat(layer.fields):
        if isinstance(value, float) and not math.isfinite(value):
            raise Unsupported(f"a value of {value} (a spec's numbers are finite)")
    return layer


def function_layer(op: Op) -> Layer:
    """The spec layer a function call in forward() is."""
    if op.writes:
        raise Unsupported(op.writes)
    name = op.name.removesuffix("_") if op.name.endswith("_") and not op.name.startswith("__") else op.name
    inplace = op.name.endswith("_") and not op.name.startswith("__")
    if any(isinstance(a, Const) for a in flat(op.args) + flat(op.kwargs)):
        raise Unsupported(f"{op.name}() on a tensor forward() makes from no input")
    if name in ALIASES and len(op.inputs) == 1:
        return Layer("", {}, op.inputs, op, alias=True)
    if name == "expand" and not op.inputs and isinstance(op.args[0], Param):
        return _expanded(op)
    if name in ADD or name in MUL or name in DIV:
        return _arithmetic(op, name)
    if name in SUB:
        return _subtract(op, name)
    if name in ACTIVATIONS:
        return _activation(op, name, inplace)
    handler = _HANDLERS.get(name)
    if handler is None:
        raise Unsupported(f"{op.name}()")
    return handler(op, _bind(op, name))


def _arithmetic(op: Op, name: str) -> Layer:
    if op.kwargs or len(op.args) > 2:  # alpha=, rounding_mode=, out=: other numbers than a layer's
        raise Unsupported(f"{op.name}() with {', '.join(op.kwargs) or 'a third argument'}")
    operands = [a for a in op.args[:2]]
    values = [a for a in operands if isinstance(a, Value)]
    params = [a for a in operands if isinstance(a, Param)]
    numbers = [a for a in operands if isinstance(a, (int, float)) and not isinstance(a, bool)]
    if name in DIV:
        if len(values) == 1 and numbers and operands[0] is values[0] and numbers[0] != 0:
            return Layer("rescale", {"scale": 1 / numbers[0]}, values, op)
        raise Unsupported(f"{op.name}() of {_kinds(operands)}")
    if len(values) == 2 and not op.kwargs:
        return Layer("add" if name in ADD else "mul", {}, values, op)
    if len(values) == 1 and numbers:
        fields = {"scale": 1.0, "offset": float(numbers[0])} if name in ADD else {"scale": float(numbers[0])}
        return Layer("rescale", fields, values, op)
    if len(values) == 1 and params:
        param = params[0]
        if param.buffer:
            raise Unsupported(f"{op.name}() of a tensor and the buffer {param.path} (a spec has no layer for it)")
        shape = values[0].shape
        if (
            name in MUL
            and len(param.shape) == len(shape)
            and param.shape[0] == shape[0]
            and set(param.shape[1:]) <= {1}
        ):
            layer = Layer("layer_scale", {}, values, op)
            layer.param = param
            return layer
        layer = Layer("add" if name in ADD else "mul", {}, values, op)
        layer.param = param  # the parameter becomes a `parameter` layer read beside the value
        return layer
    raise Unsupported(f"{op.name}() of {_kinds(operands)}")


def _subtract(op: Op, name: str) -> Layer:
    """x - c and c - x for a number c: a rescale; two tensors have no spec layer."""
    operands = list(op.args[:2])
    values = [a for a in operands if isinstance(a, Value)]
    numbers = [a for a in operands if isinstance(a, (int, float)) and not isinstance(a, bool)]
    if len(values) == 1 and numbers and not op.kwargs:
        tensor_first = (operands[0] is values[0]) != (name == "__rsub__")
        if tensor_first:
            return Layer("rescale", {"scale": 1.0, "offset": -float(numbers[0])}, values, op)
        return Layer("rescale", {"scale": -1.0, "offset": float(numbers[0])}, values, op)
    raise Unsupported(f"{op.name}() of {_kinds(operands)}")


def _squeezed(op: Op, bound: dict) -> Layer:
    """unsqueeze / squeeze away from the batch axis: the same values in another shape."""
    x, out = op.inputs[0], op.outputs[0]
    if out.batch != x.batch or not out.shape:
        raise Unsupported(f"{op.name}() of the batch axis")
    return Layer("reshape", {"shape": list(out.shape)}, op.inputs[:1], op)


def _kinds(operands) -> str:
    def kind(a):
        if isinstance(a, Value):
            return "a tensor"
        if isinstance(a, Param):
            return f"the parameter {a.path}"
        return type(a).__name__

    return " and ".join(kind(a) for a in operands)


def _activation(op: Op, name: str, inplace: bool) -> Layer:
    bound = _bind(op, name)
    fields = {}
    if name == "leaky_relu" and bound.get("negative_slope", 0.01) != 0.01:
        fields["negative_slope"] = bound["negative_slope"]
    if name == "elu" and bound.get("alpha", 1.0) != 1.0:
        fields["alpha"] = bound["alpha"]
    if name == "gelu" and bound.get("approximate", "none") != "none":
        fields["approximate"] = bound["approximate"]
    if (inplace or bound.get("inplace")) and name not in ("sigmoid", "tanh", "gelu"):
        fields["inplace"] = True
    return Layer(name, fields, op.inputs[:1], op)


def _ndim(value: Value) -> int:
    """The tensor's axes, the batch axis included."""
    return len(value.shape) + 1


def _dims(value, ndim: int) -> list[int]:
    """A `dim` argument as non-negative axes, the batch axis 0."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items or not all(isinstance(d, int) for d in items):
        raise Unsupported("a reduction over every axis, the batch's too")
    return [d % ndim for d in items]


def _expanded(op: Op) -> Layer:
    """`self.class_token.expand(n, -1, -1)`: the parameter, the same for every sample."""
    param = op.args[0]
    if param.buffer:
        raise Unsupported(f"expand() of the buffer {param.path} (a spec has no layer for it)")
    if not param.shape or param.shape[0] != 1 or tuple(op.outputs[0].shape) != tuple(param.shape[1:]):
        raise Unsupported(f"expand() of the parameter {param.path} to another shape than its own")
    layer = Layer("parameter", {"shape": list(param.shape[1:])}, [], op)
    layer.param = param
    return layer


def _item(op: Op, bound: dict) -> Layer:
    """`x[:, 0]` (a select) or `x[:, :, None, None]` (new axes of size 1: a reshape)."""
    index = op.args[1] if len(op.args) > 1 else None
    index = index if isinstance(index, tuple) else (index,)
    full = slice(None, None, None)
    if index and index[0] == full:
        ints = [k for k, i in enumerate(index) if isinstance(i, int) and not isinstance(i, bool)]
        rest = [i for k, i in enumerate(index) if k not in ints]
        if len(ints) == 1 and all(i == full for i in rest):
            return Layer("select", {"dim": ints[0], "index": index[ints[0]]}, op.inputs[:1], op)
        if all(i == full or i is None for i in index) and None in index:
            return Layer("reshape", {"shape": list(op.outputs[0].shape)}, op.inputs[:1], op)
    raise Unsupported(f"indexing with {_index_text(index)}")


def _index_text(index) -> str:
    def one(i):
        if isinstance(i, slice):
            return ":" if i == slice(None, None, None) else f"{i.start or ''}:{i.stop or ''}"
        return "a tensor" if isinstance(i, (Value, Param, Const)) else repr(i)

    return "[" + ", ".join(one(i) for i in index) + "]"


def _select(op: Op, bound: dict) -> Layer:
    dim, index = bound.get("dim"), bound.get("index")
    if not isinstance(dim, int) or not isinstance(index, int) or dim % _ndim(op.inputs[0]) == 0:
        raise Unsupported("select() of the batch axis")
    return Layer("select", {"dim": dim % _ndim(op.inputs[0]), "index": index}, op.inputs[:1], op)


def _split(op: Op, bound: dict) -> Layer:
    sizes = bound.get("split_size_or_sections", bound.get("split_size"))
    dim = bound.get("dim", 0) % _ndim(op.inputs[0])
    if dim == 0 or not isinstance(sizes, (int, list, tuple)):
        raise Unsupported("split() along the batch axis")
    fields = {"sizes": list(sizes) if isinstance(sizes, (list, tuple)) else sizes}
    if dim != 1:
        fields["dim"] = dim
    return Layer("split", fields, op.inputs[:1], op)


def _chunk(op: Op, bound: dict) -> Layer:
    chunks = bound.get("chunks")
    dim = bound.get("dim", 0) % _ndim(op.inputs[0])
    if not isinstance(chunks, int) or dim == 0:
        raise Unsupported("chunk() along the batch axis")
    fields = {"chunks": chunks}
    if dim != 1:
        fields["dim"] = dim
    return Layer("chunk", fields, op.inputs[:1], op)


def _flatten(op: Op, bound: dict) -> Layer:
    x = op.inputs[0]
    start = bound.get("start_dim", 0)
    end = bound.get("end_dim", -1)
    if start % (len(x.shape) + 1) == 0:
        raise Unsupported("flatten() over the batch axis")
    fields = {}
    if start != 1:
        fields["start_dim"] = start
    if end != -1:
        fields["end_dim"] = end
    return Layer("flatten", fields, op.inputs[:1], op)


def _reshape(op: Op, bound: dict) -> Layer:
    x, out = op.inputs[0], op.outputs[0]
    if len(out.shape) == 1 and len(x.shape) > 1:
        return Layer("flatten", {}, op.inputs[:1], op)
    if out.batch != x.batch or not out.shape:
        raise Unsupported(f"{op.name}() that changes the batch axis")
    return Layer("reshape", {"shape": list(out.shape)}, op.inputs[:1], op)


def _concat(op: Op, bound: dict) -> Layer:
    tensors = bound.get("tensors", ())
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Value) for t in tensors):
        raise Unsupported("torch.cat() of something other than tensors forward() computed")
    if len(tensors) == 1:
        return Layer("", {}, list(tensors), op, alias=True)
    dim = bound.get("dim", 0) % _ndim(tensors[0])
    if dim == 0:
        raise Unsupported("torch.cat() along the batch axis")
    return Layer("concat", {} if dim == 1 else {"dim": dim}, list(tensors), op)


def _mean(op: Op, bound: dict) -> Layer:
    x = op.inputs[0]
    ndim = _ndim(x)
    dims = sorted(_dims(bound.get("dim", ()), ndim))
    kind = "avg" if op.name == "mean" else "max"
    if dims == list(range(2, ndim)) and 1 <= ndim - 2 <= 3:
        if bound.get("keepdim"):
            return Layer(f"adaptive_{kind}pool{ndim - 2}d", {"output_size": 1}, op.inputs[:1], op)
        return Layer(f"global_{kind}pool{ndim - 2}d", {}, op.inputs[:1], op)
    raise Unsupported(f"{op.name}() over axes {dims}")


def _pool(kind: str):
    def handle(op: Op, bound: dict) -> Layer:
        rank = len(op.inputs[0].shape) - 1
        fields = {}
        for key, default in (
            ("kernel_size", None),
            ("stride", None),
            ("padding", 0),
            ("dilation", 1),
            ("ceil_mode", False),
            ("count_include_pad", True),
            ("divisor_override", None),
        ):
            value = bound.get(key, default)
            if isinstance(value, (list, tuple)):
                value = value[0] if len(set(value)) == 1 else list(value)
            if key == "stride" and value in (None, [], ()):
                continue
            if value != default or key == "kernel_size":
                fields[key] = value
        if kind == "max":
            fields.pop("count_include_pad", None)
            fields.pop("divisor_override", None)
        else:
            fields.pop("dilation", None)
        return Layer(f"{kind}pool{rank}d", fields, op.inputs[:1], op)

    return handle


def _adaptive(kind: str):
    def handle(op: Op, bound: dict) -> Layer:
        rank = len(op.inputs[0].shape) - 1
        size = bound.get("output_size")
        if isinstance(size, (list, tuple)):
            size = size[0] if len(set(size)) == 1 else list(size)
        return Layer(f"adaptive_{kind}pool{rank}d", {"output_size": size}, op.inputs[:1], op)

    return handle


def _interpolate(op: Op, bound: dict) -> Layer:
    if bound.get("antialias") or bound.get("recompute_scale_factor"):
        raise Unsupported("interpolate() with antialias or recompute_scale_factor")
    fields = {}
    if bound.get("size") is not None:
        size = bound["size"]
        fields["size"] = list(size) if isinstance(size, (list, tuple)) else size
    if bound.get("scale_factor") is not None:
        scale = bound["scale_factor"]
        fields["scale_factor"] = list(scale) if isinstance(scale, (list, tuple)) else scale
    mode = bound.get("mode", "nearest")
    if mode != "nearest":
        fields["mode"] = mode
    if bound.get("align_corners") is not None:
        fields["align_corners"] = bound["align_corners"]
    return Layer("upsample", fields, op.inputs[:1], op)


PAD_TYPES = {
    "constant": "constant_pad",
    "reflect": "reflection_pad",
    "replicate": "replication_pad",
    "circular": "circular_pad",
}


def _pad(op: Op, bound: dict) -> Layer:
    rank = len(op.inputs[0].shape) - 1
    pads = list(bound.get("pad", ()))
    mode = bound.get("mode", "constant")
    value = bound.get("value", None) or 0
    if len(pads) != 2 * rank or mode not in PAD_TYPES:
        raise Unsupported(f"F.pad() with {len(pads)} pads on a {rank}-D input, mode {mode!r}")
    padding = pads[0] if len(set(pads)) == 1 else pads
    if mode == "constant" and value == 0:
        return Layer(f"zero_pad{rank}d", {"padding": padding}, op.inputs[:1], op)
    fields = {"padding": padding}
    if mode == "constant":
        fields["value"] = value
    return Layer(f"{PAD_TYPES[mode]}{rank}d", fields, op.inputs[:1], op)


def _permute(op: Op, bound: dict) -> Layer:
    dims = [a for a in op.args[1:]]
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = list(dims[0])
    dims = [d % _ndim(op.inputs[0]) if isinstance(d, int) else d for d in (dims or list(op.kwargs.get("dims", ())))]
    if not dims or dims[0] != 0:
        raise Unsupported("permute() that moves the batch axis")
    return Layer("permute", {"dims": dims}, op.inputs[:1], op)


def _transpose(op: Op, bound: dict) -> Layer:
    ndim = _ndim(op.inputs[0])
    dim0, dim1 = (d % ndim for d in (bound.get("dim0"), bound.get("dim1")))
    if 0 in (dim0, dim1):
        raise Unsupported("transpose() with the batch axis")
    return Layer("transpose", {"dim0": dim0, "dim1": dim1}, op.inputs[:1], op)


def _softmax(kind: str):
    def handle(op: Op, bound: dict) -> Layer:
        dim = bound.get("dim")
        if dim is None:
            raise Unsupported(f"{kind}() without dim")
        return Layer(kind, {} if dim == 1 else {"dim": dim}, op.inputs[:1], op)

    return handle


def _dropout(op: Op, bound: dict) -> Layer:
    if bound.get("training", True) and op.name == "dropout":
        raise Unsupported("F.dropout() with training=True (its default: it drops in eval too; pass self.training)")
    p = bound.get("p", 0.5)
    return Layer("dropout", {} if p == 0.5 else {"p": p}, op.inputs[:1], op)


def _matmul(op: Op, bound: dict) -> Layer:
    if len(op.inputs) != 2:
        raise Unsupported("matmul() with a parameter or constant")
    return Layer("matmul", {}, op.inputs, op)


def _normalize(op: Op, bound: dict) -> Layer:
    fields = {}
    for key, default in (("p", 2.0), ("dim", 1), ("eps", 1e-12)):
        if bound.get(key, default) != default:
            fields[key] = bound[key]
    return Layer("normalize", fields, op.inputs[:1], op)


_HANDLERS = {
    "flatten": _flatten,
    "view": _reshape,
    "reshape": _reshape,
    "cat": _concat,
    "concat": _concat,
    "concatenate": _concat,
    "mean": _mean,
    "amax": _mean,
    "interpolate": _interpolate,
    "pad": _pad,
    "permute": _permute,
    "transpose": _transpose,
    "softmax": _softmax("softmax"),
    "log_softmax": _softmax("log_softmax"),
    "dropout": _dropout,
    "matmul": _matmul,
    "__matmul__": _matmul,
    "bmm": _matmul,
    "normalize": _normalize,
    "__getitem__": _item,
    "unsqueeze": _squeezed,
    "squeeze": _squeezed,
    "chunk": _chunk,
    "select": _select,
    "split": _split,
}
for _rank_ in (1, 2, 3):
    _HANDLERS[f"max_pool{_rank_}d"] = _pool("max")
    _HANDLERS[f"avg_pool{_rank_}d"] = _pool("avg")
    _HANDLERS[f"adaptive_avg_pool{_rank_}d"] = _adaptive("avg")
    _HANDLERS[f"adaptive_max_pool{_rank_}d"] = _adaptive("max")
