"""Build a spec's layers with torch.nn and measure what PyTorch itself says.

This is the tests' oracle: cnncalc's plan must agree with the shapes,
parameters and buffers measured here, and refuse what PyTorch refuses.
"""

from __future__ import annotations

import os
from functools import cache

import pytest

from cnncalc.spec import Spec


def require(name: str):
    """Import a test dependency, or skip; CI sets CNNCALC_REQUIRE_TORCH=1 so a missing one fails instead."""
    if os.environ.get("CNNCALC_REQUIRE_TORCH"):
        return __import__(name)  # fail loudly
    return pytest.importorskip(name)


def require_torch():
    return require("torch")


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else value


def _family_and_rank(type_name: str) -> tuple[str, int | None]:
    """("conv", 3) for conv3d, ("dropout", None) for dropout: torch.nn's class per rank."""
    import re

    match = re.fullmatch(r"(\w+?)([123])d", type_name)
    return (match[1], int(match[2])) if match else (type_name, None)


def _strided_same(nn, rank: int, c: dict, in_shape: tuple, strides):
    """ZeroPad then a convolution without padding: 'same' at a stride as TensorFlow computes it,
    ceil(n / s) outputs, the odd padding pixel after. Only with zero padding: torch refuses a
    strided 'same' itself, and with another padding_mode there is no such equivalent."""
    if c["padding_mode"] != "zeros":
        raise ValueError("padding='same' is not supported for strided convolutions")  # torch's own refusal
    kernels = c["kernel_size"] if isinstance(c["kernel_size"], (list, tuple)) else (c["kernel_size"],) * rank
    dilations = c["dilation"] if isinstance(c["dilation"], (list, tuple)) else (c["dilation"],) * rank
    sides = []
    for n, k, s, d in zip(in_shape[1:], kernels, strides, dilations):
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        sides.append((total // 2, total - total // 2))
    even = all(before == after for before, after in sides)
    conv = getattr(nn, f"Conv{rank}d")(
        c["in_channels"] or in_shape[0], c["out_channels"], tuple(kernels), tuple(strides),
        tuple(before for before, _ in sides) if even else 0, tuple(dilations), c["groups"], c["bias"],
    )  # fmt: skip
    if even:  # the convolution's own padding, as the export writes it
        return conv
    torch_order = [side for pair in reversed(sides) for side in pair]  # F.pad's: the last axis first
    return nn.Sequential(getattr(nn, f"ZeroPad{rank}d")(tuple(torch_order)), conv)


def build_module(type_name: str, cfg: dict, in_shape: tuple):
    """The torch.nn module a spec layer stands for, given its input shape (no batch).

    A stated in_channels/in_features/num_features is passed on as stated, so
    torch gets the chance to refuse a wrong one.
    """
    import torch.nn as nn

    Function, LayerScaleReference, StochasticDepthReference = reference_modules()
    c = cfg
    family, rank = _family_and_rank(type_name)
    if family == "conv":
        padding = c["padding"] if isinstance(c["padding"], str) else _pair(c["padding"])
        strides = c["stride"] if isinstance(c["stride"], (list, tuple)) else (c["stride"],) * rank
        if padding == "same" and max(strides) > 1:  # TensorFlow's 'same', which torch refuses: explicit zeros
            return _strided_same(nn, rank, c, in_shape, strides)
        return getattr(nn, f"Conv{rank}d")(
            c["in_channels"] or in_shape[0],
            c["out_channels"],
            _pair(c["kernel_size"]),
            _pair(c["stride"]),
            padding,
            _pair(c["dilation"]),
            c["groups"],
            c["bias"],
            c["padding_mode"],
        )
    if family == "conv_transpose":
        return getattr(nn, f"ConvTranspose{rank}d")(
            c["in_channels"] or in_shape[0],
            c["out_channels"],
            _pair(c["kernel_size"]),
            _pair(c["stride"]),
            _pair(c["padding"]),
            _pair(c["output_padding"]),
            c["groups"],
            c["bias"],
            _pair(c["dilation"]),
        )
    if family == "maxpool":
        return getattr(nn, f"MaxPool{rank}d")(
            _pair(c["kernel_size"]),
            _pair(c["stride"]),
            _pair(c["padding"]),
            _pair(c["dilation"]),
            ceil_mode=c["ceil_mode"],
        )
    if family == "avgpool":
        extra = () if rank == 1 else (c["divisor_override"],)
        return getattr(nn, f"AvgPool{rank}d")(
            _pair(c["kernel_size"]),
            _pair(c["stride"]),
            _pair(c["padding"]),
            c["ceil_mode"],
            c["count_include_pad"],
            *extra,
        )
    if family == "adaptive_avgpool":
        return getattr(nn, f"AdaptiveAvgPool{rank}d")(_pair(c["output_size"]))
    if family == "adaptive_maxpool":
        return getattr(nn, f"AdaptiveMaxPool{rank}d")(_pair(c["output_size"]))
    if family in ("global_avgpool", "global_maxpool"):
        kind = "Avg" if family == "global_avgpool" else "Max"
        pool = getattr(nn, f"Adaptive{kind}Pool{rank}d")(1)
        return pool if c["keepdims"] else nn.Sequential(pool, nn.Flatten())
    if family == "batchnorm":
        return getattr(nn, f"BatchNorm{rank}d")(
            c["num_features"] or in_shape[0], c["eps"], c["momentum"], c["affine"], c["track_running_stats"]
        )
    if family in ("instancenorm", "groupnorm", "frozen_batchnorm", "normalize"):
        return _normalisation_module(family, rank, c, in_shape)
    if family == "dropout" and rank:
        return getattr(nn, f"Dropout{rank}d")(c["p"], c["inplace"])
    pads = {"zero_pad": "Zero", "reflection_pad": "Reflection", "replication_pad": "Replication"}
    if family in (*pads, "circular_pad"):
        return getattr(nn, f"{pads.get(family, 'Circular')}Pad{rank}d")(_pair(c["padding"]))
    if family == "constant_pad":
        return getattr(nn, f"ConstantPad{rank}d")(_pair(c["padding"]), c["value"])
    if type_name == "pixel_shuffle":
        return nn.PixelShuffle(c["upscale_factor"])
    if type_name == "pixel_unshuffle":
        return nn.PixelUnshuffle(c["downscale_factor"])
    if type_name == "linear":
        return nn.Linear(c["in_features"] or in_shape[-1], c["out_features"], c["bias"])
    if type_name == "flatten":
        return nn.Flatten(c["start_dim"], c["end_dim"])
    if type_name == "local_response_norm":
        return nn.LocalResponseNorm(c["size"], c["alpha"], c["beta"], c["k"])
    if type_name == "upsample":
        return nn.Upsample(
            size=_pair(c["size"]),
            scale_factor=_pair(c["scale_factor"]),
            mode=c["mode"],
            align_corners=c["align_corners"],
        )
    if type_name == "dropout":
        return nn.Dropout(c["p"], c["inplace"])
    if type_name == "identity":
        return nn.Identity()
    if type_name == "rescale":
        return reference_modules()[0](lambda x: x * c["scale"] + c["offset"])
    if type_name == "channel_shuffle":
        return nn.ChannelShuffle(c["groups"])
    if type_name == "layernorm":
        shape = c["normalized_shape"] or in_shape[-1]
        return nn.LayerNorm(shape, c["eps"], c["elementwise_affine"], c["bias"])
    if type_name == "layernorm2d":
        norm = nn.LayerNorm(c["num_channels"] or in_shape[0], c["eps"], c["elementwise_affine"])
        return nn.Sequential(Function(lambda x: x.permute(0, 2, 3, 1)), norm, Function(lambda x: x.permute(0, 3, 1, 2)))
    if type_name == "layer_scale":
        return LayerScaleReference(c["num_channels"] or in_shape[0], c["init"])
    if type_name == "parameter":  # a learned tensor; the input only gives the batch size
        import torch

        weight = nn.Parameter(torch.zeros(1, *c["shape"]))

        def expanded(x):
            held = weight if torch.is_grad_enabled() else weight.detach()
            return held.expand(x.shape[0], *held.shape[1:])

        return Function(expanded, weight)
    if type_name == "stochastic_depth":
        return StochasticDepthReference(c["p"], c["mode"])
    if type_name == "permute":
        return Function(lambda x: x.permute(*c["dims"]))
    if type_name in ("transpose", "reshape", "unflatten", "select", "multihead_attention", "embedding"):
        return _sequence_module(type_name, c, in_shape)
    if type_name == "chunk":
        return Function(lambda x: x.chunk(c["chunks"], dim=c["dim"])[c["index"]])
    if type_name == "split":
        sizes = c["sizes"] if isinstance(c["sizes"], int) else list(c["sizes"])
        return Function(lambda x: x.split(sizes, dim=c["dim"])[c["index"]])
    if type_name == "prelu":
        return nn.PReLU(c["num_parameters"], c["init"])
    if type_name == "softmax":
        return nn.Softmax(c["dim"])
    if type_name == "log_softmax":
        return nn.LogSoftmax(c["dim"])
    if type_name == "leaky_relu":
        return nn.LeakyReLU(c["negative_slope"], c["inplace"])
    if type_name == "elu":
        return nn.ELU(c["alpha"], c["inplace"])
    if type_name == "gelu":
        return nn.GELU(c["approximate"])
    simple = {
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "silu": nn.SiLU,
        "mish": nn.Mish,
        "hardswish": nn.Hardswish,
        "hardsigmoid": nn.Hardsigmoid,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
    }
    if "inplace" in c:
        return simple[type_name](inplace=c["inplace"])
    return simple[type_name]()


def _sequence_module(type_name: str, c: dict, in_shape: tuple):
    """The reshaping views, self-attention and embedding, as torch writes them."""
    import torch.nn as nn

    Function = reference_modules()[0]
    if type_name == "transpose":
        return Function(lambda x: x.transpose(c["dim0"], c["dim1"]))
    if type_name == "reshape":
        return Function(lambda x: x.reshape(x.shape[0], *c["shape"]))
    if type_name == "unflatten":
        return nn.Unflatten(c["dim"], tuple(c["unflattened_size"]))
    if type_name == "select":
        return Function(lambda x: x.select(c["dim"], c["index"]))
    SelfAttentionReference, EmbeddingReference = sequence_references()
    if type_name == "multihead_attention":
        options = {k: c[k] for k in ("dropout", "bias", "add_bias_kv", "add_zero_attn")}
        return SelfAttentionReference(c["embed_dim"] or in_shape[-1], c["num_heads"], **options)
    return EmbeddingReference(c["num_embeddings"], c["embedding_dim"], c["padding_idx"])


@cache
def sequence_references():
    """nn.MultiheadAttention as self-attention on one tensor, and nn.Embedding fed the run's
    float zeros as the indices they stand for."""
    import torch.nn as nn

    class SelfAttentionReference(nn.Module):
        def __init__(self, embed_dim, num_heads, **options):
            super().__init__()
            self.attention = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, **options)

        def forward(self, x):
            return self.attention(x, x, x, need_weights=False)[0]

    class EmbeddingReference(nn.Module):
        def __init__(self, num_embeddings, embedding_dim, padding_idx):
            super().__init__()
            self.embedding = nn.Embedding(num_embeddings, embedding_dim, padding_idx)

        def forward(self, x):
            return self.embedding(x if not x.is_floating_point() else x.long())

    return SelfAttentionReference, EmbeddingReference


def _normalisation_module(family: str, rank: int | None, c: dict, in_shape: tuple):
    """Instance, group and frozen batch norm, and F.normalize as a module."""
    import torch.nn as nn

    if family == "instancenorm":
        return getattr(nn, f"InstanceNorm{rank}d")(
            c["num_features"] or in_shape[0], c["eps"], c["momentum"], c["affine"], c["track_running_stats"]
        )
    if family == "groupnorm":
        return nn.GroupNorm(c["num_groups"], c["num_channels"] or in_shape[0], c["eps"], c["affine"])
    FrozenBatchNorm2dReference, NormalizeReference = normalisation_references()
    if family == "frozen_batchnorm":
        return FrozenBatchNorm2dReference(c["num_features"] or in_shape[0], c["eps"])
    return NormalizeReference(c["p"], c["dim"], c["eps"])


@cache
def normalisation_references():
    """torchvision.ops.FrozenBatchNorm2d, as torchvision writes it, and F.normalize as a module."""
    import torch
    import torch.nn as nn

    class FrozenBatchNorm2dReference(nn.Module):
        def __init__(self, num_features, eps):
            super().__init__()
            self.eps = eps
            self.register_buffer("weight", torch.ones(num_features))
            self.register_buffer("bias", torch.zeros(num_features))
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))

        def forward(self, x):
            w = self.weight.reshape(1, -1, 1, 1)
            b = self.bias.reshape(1, -1, 1, 1)
            rv = self.running_var.reshape(1, -1, 1, 1)
            rm = self.running_mean.reshape(1, -1, 1, 1)
            scale = w * (rv + self.eps).rsqrt()
            bias = b - rm * scale
            return x * scale + bias

    class NormalizeReference(nn.Module):
        def __init__(self, p, dim, eps):
            super().__init__()
            self.p, self.dim, self.eps = p, dim, eps

        def forward(self, x):
            return nn.functional.normalize(x, self.p, self.dim, self.eps)

    return FrozenBatchNorm2dReference, NormalizeReference


@cache
def reference_modules():
    """torch.nn modules for the types torch.nn lacks, written from their papers' definitions."""
    import torch
    import torch.nn as nn

    class Function(nn.Module):
        def __init__(self, function, weight=None):
            super().__init__()
            self.function = function
            self.weight = weight  # a parameter the function uses, counted as the module's

        def forward(self, x):
            return self.function(x)

    class LayerScaleReference(nn.Module):
        def __init__(self, channels, init):
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(channels, 1, 1) * init)

        def forward(self, x):
            return self.gamma * x

    class StochasticDepthReference(nn.Module):
        # torchvision.ops.stochastic_depth: drop whole samples (row) or the batch, rescale the rest
        def __init__(self, p, mode):
            super().__init__()
            self.p, self.mode = p, mode

        def forward(self, x):
            if not self.training or self.p == 0.0:
                return x
            shape = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
            noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1 - self.p)
            if self.p < 1:
                noise.div_(1 - self.p)
            return x * noise

    return Function, LayerScaleReference, StochasticDepthReference


class Measured:
    """What PyTorch reports for one layer."""

    def __init__(self, output_shape, params, trainable_params, buffers):
        self.output_shape = output_shape
        self.params = params
        self.trainable_params = trainable_params
        self.buffers = buffers


def run_torch(spec: Spec, *, device: str = "cpu"):
    """Build the spec layer by layer in torch and run it on zeros.

    Returns (list of Measured, None) if torch runs the whole network, or
    (the Measured layers before the failure, (failing index, exception)) if a
    layer is refused, at construction or in the forward pass.
    """
    torch = require_torch()

    measured: list[Measured] = []
    shape = tuple(spec.input_shape)
    x = torch.zeros((1, *shape), device=device)
    with torch.no_grad():
        for i, layer in enumerate(spec.layers):
            try:
                module = build_module(layer.type_name, layer.cfg, shape).to(device)
                if not layer.trainable:
                    module.requires_grad_(False)
                module.eval()
                x = module(x)
            except (RuntimeError, ValueError, IndexError) as exc:
                return measured, (i, exc)
            params = sum(p.numel() for p in module.parameters())
            trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
            buffers = sum(b.numel() for b in module.buffers())
            shape = tuple(x.shape[1:])
            measured.append(Measured(shape, params, trainable, buffers))
    return measured, None


def build_sequential(spec: Spec):
    """The whole spec as one torch.nn.Sequential, trainable flags applied."""
    torch = require_torch()

    modules = []
    shape = tuple(spec.input_shape)
    from cnncalc.engine import plan

    for layer, row in zip(spec.layers, plan(spec).layers):
        module = build_module(layer.type_name, layer.cfg, row.input_shape)
        if not layer.trainable:
            module.requires_grad_(False)
        modules.append(module)
        shape = row.output_shape
    del shape
    return torch.nn.Sequential(*modules)


def measure_saved_bytes(spec: Spec, *, batch_size: int = 2, dtype=None) -> int:
    """Bytes autograd keeps between forward and backward for the spec built layer by layer."""
    torch = require_torch()

    torch.manual_seed(0)
    model = build_sequential(spec)
    return measure_saved_bytes_of(
        model.to(dtype) if dtype else model, spec.input_shape, batch_size=batch_size, dtype=dtype
    )


def measure_macs(spec: Spec) -> list[int]:
    """Per-layer MACs from torch.utils.flop_counter (which counts FLOPs = 2 x MACs)."""
    torch = require_torch()
    from torch.utils.flop_counter import FlopCounterMode

    model = build_sequential(spec).eval()
    x = torch.zeros((1, *spec.input_shape))
    counts = []
    with torch.no_grad():
        for module in model:
            with FlopCounterMode(display=False) as counter:
                x = module(x)
            counts.append(counter.get_total_flops() // 2)
    return counts


def measure_saved_bytes_of(model, input_shape, *, batch_size: int = 2, dtype=None) -> int:
    """Bytes autograd keeps between forward and backward, for any module (such as an export).

    Train mode on the CPU, under saved_tensors_hooks; each saved storage counted once;
    parameters, buffers and the inputs skipped; each output added if no layer saved it
    (unless it is a view of an input). `input_shape` is one shape, or a dict of the
    network's inputs' shapes (forward() takes them in that order and may return a tuple).
    """
    torch = require_torch()

    torch.manual_seed(0)
    model = model.train()
    shapes = list(input_shape.values()) if isinstance(input_shape, dict) else [input_shape]
    xs = [torch.randn((batch_size, *shape), dtype=dtype or torch.float32) for shape in shapes]
    skip = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers(), *xs]}
    storages: dict[int, int] = {}

    def pack(tensor):
        ptr = tensor.untyped_storage().data_ptr()
        if ptr not in skip:
            storages[ptr] = tensor.untyped_storage().nbytes()
        # detached: an output saved with its own grad_fn would be a reference cycle through
        # autograd's C++ graph, which Python's collector cannot see (the model would never be freed)
        return tensor.detach()

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        ys = model(*xs)
    for y in ys if isinstance(ys, (tuple, list)) else [ys]:
        if y.untyped_storage().data_ptr() not in skip:
            storages.setdefault(y.untyped_storage().data_ptr(), y.untyped_storage().nbytes())
    return sum(storages.values())
