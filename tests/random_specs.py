"""A seeded generator of random sequential CNN specs, as YAML text.

Used by tests/test_torch_random.py, which builds every generated network with
torch.nn and checks that cnncalc agrees with it layer by layer.

`generate(seed)` is deterministic (it uses only its own random.Random(seed))
and returns a `Case`: the YAML text, the lines each layer's entry occupies,
what cnncalc should parse each entry into, and which layer - if any - the
generator meant to be refused ("fault"). The test does not trust that
intent: torch decides what is valid. The generator follows torch's shape
rules only to steer itself, so that most networks are valid but reach small
and boundary sizes (kernel == padded input, ceil_mode's last window, output
sizes of 1), and about a quarter contain one layer torch refuses.

`generate(seed)` gives the 2-D networks the test has always had, seed for
seed. `generate(seed, rank)` (rank 1, 2 or 3; case ids `1d-s0042`, ...) uses
the same layer recipes over [C, L], [C, H, W] or [C, D, H, W] (small volumes),
from a random stream of its own: conv1d/2d/3d, the transposed ones, every
pool, batchnorm1d/2d/3d, dropout1d/2d/3d, upsample in the rank's modes;
batchnorm1d after a linear layer; after flattening to [C, L], 1-D layers; and
among the faults, a layer of a rank torch refuses on its input ("wrong-rank").
They also use issue 12's new families: groupnorm, instancenorm1d/2d/3d,
normalize, the zero/constant/reflection/replication/circular pads of the
rank (PyTorch's side order, negative padding cropping), and on [C, H, W]
frozen_batchnorm2d, pixel_shuffle and pixel_unshuffle, each with the faults
torch refuses (groups not dividing, a stated size wrong, reflection or
circular padding too big, a crop past the input, not divisible, ...), the
views transpose, reshape, unflatten and select (which may change the rank
the network goes on at: select of an axis turns a 3-D network into a 2-D
one), and multihead_attention on tokens [C, L].

Things deliberately never generated, because cnncalc is meant to differ
from torch there (the test would report a false disagreement):

* `linear` on a non-flat input without in_features: torch.nn.Linear acts on
  the last axis, cnncalc refuses on purpose ("add flatten"; see
  cnncalc/layers/dense.py). Linear on [C, L] or [C, H, W] is generated only
  with in_features stated (right or wrong).
* 2-D spatial layers (conv, pools, upsample, dropout2d) on a rank-2 [C, L]
  input: torch treats the 3-D tensor as an unbatched image and accepts it,
  cnncalc plans channels-first shapes without a batch and refuses. In
  general a layer of rank r + 1 on a rank-r input (a 1-D pool on [F], a 3-D
  conv on [C, H, W]), for the same reason; batch norm, which has no
  unbatched form, and 1-D channel dropout on 4-D and 5-D tensors are refused
  by torch, and are generated (Generator.refused_ranks).
* dropout2d on a flat input: torch only warns (deprecated), cnncalc refuses.
  The same for dropout1d on [F] (torch: an unbatched [C, L]) and for
  dropout2d/3d on any input of the wrong rank.
* upsample in a mode of another rank (bilinear on [C, L], linear on
  [C, H, W]): torch raises NotImplementedError, which the oracle does not
  treat as a refusal.
* avgpool3d with a window larger than the unpadded input on some axis:
  torch.nn.AvgPool3d refuses it, cnncalc plans it (a known difference,
  pinned by tests/test_torch_random.py's
  test_avgpool3d_window_larger_than_unpadded_input).
* upsample on a flat input: torch raises NotImplementedError, which the
  oracle does not treat as a refusal.
* batchnorm2d with track_running_stats: false on a 1x1 map: torch refuses
  in the forward pass ("Expected more than 1 value per channel when
  training") only because the oracle runs a batch of one; that is not a
  property of the spec.
* a wrong num_features on batchnorm2d with affine: false and
  track_running_stats: false: torch.nn.BatchNorm2d then holds nothing sized
  by num_features and never checks it; cnncalc checks every stated size.
  The same for instancenorm (torch only warns) and groupnorm's num_channels
  with affine: false.
* groupnorm with one value per group (num_groups == C on [C, 1]): torch
  refuses ("Expected more than 1 value per channel") only because the
  oracle's batch is one, as for batchnorm2d on 1x1.
* instancenorm on one position with track_running_stats: true: cnncalc
  refuses it, as torch does in training; the oracle runs in eval mode, where
  torch normalises with the running statistics and accepts it. (On one
  position without running statistics both refuse: "one-position".)
* a zero or constant pad cropping an axis to exactly 0: torch returns an
  empty tensor; cnncalc refuses, and "crop-too-much" aims at -1 or less.
* frozen_batchnorm2d with a wrong num_features of 1, or on one channel: the
  reference module's (1, n, 1, 1) statistics broadcast instead of refusing.
* pads, instance norms, frozen_batchnorm2d, normalize and pixel_shuffle on an
  input of another rank: torch acts on the last axes of a tensor of any rank
  (or an unbatched one), cnncalc refuses; never generated as "wrong-rank".
* adaptive_avgpool2d to 1x1 (and so global_avgpool2d) on a flat input:
  torch's 1x1 fast path takes the mean of the last two axes without checking
  the rank, so it "accepts" a [batch, features] tensor (averaging over the
  batch); cnncalc refuses a spatial layer after flatten.
* upsample in mode 'area' to an output size of 0: 'area' goes through
  adaptive_avg_pool2d, which returns an empty tensor instead of refusing (the
  other modes refuse: "Input and output sizes should be greater than 0");
  torch then fails at the next layer, or not at all if it is the last one.
  cnncalc refuses the upsample itself, which is the better answer.
* a conv_transpose2d whose output size is exactly 0: torch returns an empty
  tensor on some code paths (oneDNN: grouped layers, kernel 4, ...) and
  refuses on others ("Output size is too small"); from -1 down it always
  refuses. cnncalc refuses 0 everywhere; the generator's "nonpositive" fault
  aims at -1 or less.
* a view (transpose, select, ...) of the batch axis, dim 0: torch does it,
  cnncalc refuses on purpose ("the batch axis, which must stay as it is").
* local_response_norm after a transpose: torch's F.local_response_norm
  reshapes a 4-D or 5-D input with .view, which a transposed (not contiguous)
  tensor refuses ("view size is not compatible with input tensor's size and
  stride"), a matter of memory layout cnncalc does not plan.
* a faulty multihead_attention (num_heads not dividing the width, a wrong
  embed_dim): torch raises AssertionError, which the oracle does not treat
  as a refusal; self-attention on anything but [C, L].
* values cnncalc's schema rejects at parse time (kernel_size: 0, negative
  padding, ...): the oracle builds torch modules from cnncalc's parsed
  config, so it cannot judge them.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cnncalc.layers import lookup


def _layer_class(type_name: str):
    layer = lookup(type_name)
    assert layer is not None and layer.type_name == type_name, f"cnncalc has no layer type {type_name!r}"
    return type(layer)


def main_field(type_name: str) -> str | None:
    """What a bare value means, e.g. out_features in `linear: 128`."""
    return _layer_class(type_name).main_field


def type_spellings(type_name: str) -> list[str]:
    """Other spellings of a type cnncalc accepts (its aliases, any case), to exercise the parser."""
    cls = _layer_class(type_name)
    return [*cls.aliases, type_name.capitalize(), type_name.upper()]


def field_aliases(type_name: str, field_name: str) -> tuple[str, ...]:
    return next((f.aliases for f in _layer_class(type_name).fields if f.name == field_name), ())


ACTIVATIONS = [
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "gelu",
    "silu",
    "mish",
    "hardswish",
    "hardsigmoid",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
]
_INPLACE = {"relu", "relu6", "leaky_relu", "elu", "silu", "mish", "hardswish", "hardsigmoid", "dropout", "dropout2d"}


_AS_WRITTEN = object()


@dataclass
class GenLayer:
    """One generated entry: its fields as written, and what cnncalc should parse them into."""

    type_name: str  # canonical cnncalc type
    fault: str | None = None  # e.g. "kernel-too-big" if meant to be refused
    fields: list = field(default_factory=list)  # (canonical name, value written in YAML)
    expect: dict = field(default_factory=dict)  # canonical name -> parsed value cnncalc should hold
    name: str | None = None
    trainable: bool | None = None
    # filled in by rendering
    type_key: str = ""
    form: str = ""
    first_line: int = 0
    last_line: int = 0

    def set(self, name: str, written: Any, expected: Any = _AS_WRITTEN) -> None:
        self.fields.append((name, written))
        self.expect[name] = written if expected is _AS_WRITTEN else expected

    @property
    def label(self) -> str:
        return f"{self.type_name}.{self.fault}" if self.fault else self.type_name


def case_key(seed: int, rank: int | None = None) -> str:
    """The short id of a case (`-k` selects it): s0042, or 1d-s0042 with a rank."""
    return f"s{seed:04d}" if rank is None else f"{rank}d-s{seed:04d}"


@dataclass
class Case:
    seed: int
    text: str
    input_shape: tuple
    layers: list[GenLayer]
    rank: int | None = None  # None: the first generator's 2-D networks

    @property
    def fault_index(self) -> int | None:
        return next((i for i, layer in enumerate(self.layers) if layer.fault), None)

    @property
    def id(self) -> str:
        i = self.fault_index
        what = f"{self.layers[i].label}@{i}" if i is not None else "valid"
        shape = "x".join(map(str, self.input_shape))
        return f"{case_key(self.seed, self.rank)}-{shape}-{len(self.layers)}L-{what}"


def _axes(values, rng: random.Random):
    """One value per spatial axis: written as an int when all axes agree (usually), else as a
    list; parsed as a tuple either way."""
    values = list(values)
    if all(v == values[0] for v in values) and rng.random() < 0.7:
        return values[0], tuple(values)
    return values, tuple(values)


def conv_out(n, k, s, pad_total, d):
    return (n + pad_total - d * (k - 1) - 1) // s + 1


def pool_out(n, k, s, p, d, ceil):
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def _divisors(n):
    return [g for g in range(1, n + 1) if n % g == 0]


class Generator:
    """rank None: the sequential 2-D networks of the first random test, seed for seed as they
    were. rank 1, 2 or 3: networks on [C, L], [C, H, W] or [C, D, H, W] from a random stream of
    their own, which may also use every rank's layers where torch and cnncalc agree (a layer
    of the wrong rank is one of their faults)."""

    def __init__(self, seed: int, rank: int | None = None):
        self.seed = seed
        self.wide = rank is not None
        self.rank = rank or 2
        # a str seed is hashed by random itself (sha512), the same on every run and platform
        self.rng = random.Random(seed if rank is None else f"{rank}d-{seed}")
        self.layers: list[GenLayer] = []
        self.transposed = False  # a transpose came before: no local_response_norm (see the docstring)

    # ---------------------------------------------------------------- helpers
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def small_size(self) -> int:
        r = self.rng.random()
        if r < 0.25:
            return self.rng.randint(1, 6)
        return self.rng.randint(7, 40)

    def channels_out(self, groups: int) -> int:
        return groups * self.rng.randint(1, max(1, 12 // groups))

    def groups_for(self, layer: GenLayer, C: int, fault: str | None) -> tuple[int, int]:
        """(groups, out_channels), valid unless fault is groups-in / groups-out."""
        rng = self.rng
        if fault == "groups-in":
            g = rng.choice([g for g in range(2, 6) if C % g])
            return g, self.channels_out(g)
        if fault == "groups-out":
            g = rng.choice([g for g in _divisors(C) if g > 1])
            return g, g * rng.randint(0, 2) + rng.randint(1, g - 1)
        r = rng.random()
        if r < 0.6 or C == 1:
            g = 1
        elif r < 0.8:
            g = C
        else:
            g = rng.choice(_divisors(C))
        return g, self.channels_out(g)

    def stated_channels(self, layer: GenLayer, key: str, actual: int, fault: str | None) -> None:
        if fault == f"{key}-wrong":
            wrong = (
                actual + self.rng.randint(1, 3) if actual == 1 or self.chance(0.6) else self.rng.randint(1, actual - 1)
            )
            layer.set(key, wrong)
        elif self.chance(0.15):
            layer.set(key, actual)

    def common(self, layer: GenLayer, has_params: bool) -> None:
        if has_params and self.chance(0.12):
            layer.trainable = False
        elif self.chance(0.04):
            layer.trainable = True

    # ---------------------------------------------------------------- spatial layers, on [C, *spatial]
    def conv(self, shape, fault):
        rng = self.rng
        C, *sides = shape
        rank = len(sides)
        L = GenLayer(f"conv{rank}d", fault)
        self.stated_channels(L, "in_channels", C, fault)
        groups, out_c = self.groups_for(L, C, fault)
        L.set("out_channels", out_c)

        ks, ds, ss, pads = [], [], [], []
        padding_kind = rng.choices(["int", "same", "valid"], [0.78, 0.14, 0.08])[0]
        if fault == "kernel-too-big":
            padding_kind = rng.choice(["int", "int", "valid"])
        if fault in ("reflect-too-big", "circular-too-big"):
            padding_kind = "int"
        bad_axis = rng.randrange(rank)
        for axis, n in enumerate(sides):
            d = rng.choices([1, 2, 3], [0.75, 0.18, 0.07])[0]
            s = rng.choices([1, 2, 3, 4], [0.62, 0.25, 0.08, 0.05])[0]
            k = rng.choices([1, 2, 3, 4, 5, 7, 11], [0.15, 0.12, 0.38, 0.08, 0.16, 0.08, 0.03])[0]
            p = rng.choices([0, 1, 2, 3], [0.4, 0.35, 0.15, 0.1])[0]
            if padding_kind == "valid":
                p = 0
            if padding_kind == "same" and self.chance(0.7):
                s = 1  # else TensorFlow's 'same' at a stride, which cnncalc plans (and torch refuses)
            if fault == "kernel-too-big" and axis == bad_axis:
                p = rng.randint(0, 2) if padding_kind == "int" else 0
                k = (n + 2 * p - 1) // d + 2 + rng.randint(0, 1)
            elif fault == "reflect-too-big" and axis == bad_axis:
                d, p = 1, n + rng.randint(0, 1)
                k = rng.randint(1, 3)
            elif fault == "circular-too-big" and axis == bad_axis:
                d, p = 1, n + 1 + rng.randint(0, 1)
                k = rng.randint(1, 3)
            elif padding_kind != "same":
                if n + 2 * p < d * (k - 1) + 1:
                    d = 1
                if n + 2 * p < k:
                    k_max = n + 2 * p
                    k = k_max if self.chance(0.4) else rng.randint(1, k_max)
                elif self.chance(0.08):  # the kernel exactly covers the padded input
                    k = (n + 2 * p - 1) // d + 1
                    if k > 9:
                        k = rng.randint(1, 3)
            ks.append(k), ds.append(d), ss.append(s), pads.append(p)

        written, expected = _axes(ks, rng)
        L.set("kernel_size", written, expected)
        if ss != [1] * rank or self.chance(0.2):
            written, expected = _axes(ss, rng)
            L.set("stride", written, expected)
        if padding_kind in ("same", "valid"):
            L.set("padding", padding_kind)
            if padding_kind == "valid":
                pad_amounts = [(0, 0)] * rank
            else:  # ceil(n / s) outputs, the odd padding pixel after
                totals = [max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0) for n, k, s, d in zip(sides, ks, ss, ds)]
                pad_amounts = [(t // 2, t - t // 2) for t in totals]
        else:
            if pads != [0] * rank or self.chance(0.2):
                written, expected = _axes(pads, rng)
                L.set("padding", written, expected)
            pad_amounts = [(p, p) for p in pads]
        if ds != [1] * rank or self.chance(0.1):
            written, expected = _axes(ds, rng)
            L.set("dilation", written, expected)
        if groups != 1 or self.chance(0.1):
            L.set("groups", groups)
        if self.chance(0.2):
            L.set("bias", False)
        elif self.chance(0.05):
            L.set("bias", True)

        mode = rng.choices(["zeros", "reflect", "replicate", "circular"], [0.76, 0.09, 0.08, 0.07])[0]
        if fault == "reflect-too-big":
            mode = "reflect"
        elif fault == "circular-too-big":
            mode = "circular"
        elif mode == "reflect" and any(max(pa) >= n for pa, n in zip(pad_amounts, sides)):
            mode = "replicate"
        elif mode == "circular" and any(max(pa) > n for pa, n in zip(pad_amounts, sides)):
            mode = "zeros"
        if padding_kind == "same" and ss != [1] * rank:
            mode = "zeros"  # a strided 'same' pads with zeros
        if mode != "zeros" or self.chance(0.05):
            L.set("padding_mode", mode)
        self.common(L, True)
        out = tuple(conv_out(n, k, s, sum(pa), d) for n, k, s, pa, d in zip(sides, ks, ss, pad_amounts, ds))
        return L, (out_c, *out)

    def conv_transpose(self, shape, fault):
        rng = self.rng
        C, *sides = shape
        rank = len(sides)
        L = GenLayer(f"conv_transpose{rank}d", fault)
        self.stated_channels(L, "in_channels", C, fault)
        groups, out_c = self.groups_for(L, C, fault)
        L.set("out_channels", out_c)
        bad_axis = rng.randrange(rank)
        ks, ss, ps, ops, ds, out = [], [], [], [], [], []
        for axis, n in enumerate(sides):
            s = rng.choices([1, 2, 3], [0.45, 0.4, 0.15])[0] if n <= 20 else rng.choice([1, 1, 2])
            d = rng.choices([1, 2], [0.8, 0.2])[0]
            k = rng.randint(1, 4)
            op = 0
            if self.chance(0.3):
                op = max(s, d) - 1
            if fault == "output-padding" and axis == bad_axis:
                op = max(s, d) + rng.randint(0, 1)
            p_max = ((n - 1) * s + d * (k - 1) + op) // 2  # largest padding leaving an output >= 1
            if fault == "nonpositive" and axis == bad_axis:
                op = 0
                # an output of -1 or less: torch accepts 0 on some paths, see the module docstring
                p = ((n - 1) * s + d * (k - 1) + 3) // 2 + rng.randint(0, 1)
            elif self.chance(0.1):
                p = p_max
            else:
                p = min(p_max, rng.choices([0, 1, 2], [0.5, 0.35, 0.15])[0])
            ks.append(k), ss.append(s), ps.append(p), ops.append(op), ds.append(d)
            out.append((n - 1) * s - 2 * p + d * (k - 1) + op + 1)
        written, expected = _axes(ks, rng)
        L.set("kernel_size", written, expected)
        for name, values in (("stride", ss), ("padding", ps), ("output_padding", ops), ("dilation", ds)):
            default = [1 if name in ("stride", "dilation") else 0] * rank
            if values != default or self.chance(0.1):
                written, expected = _axes(values, rng)
                L.set(name, written, expected)
        if groups != 1 or self.chance(0.1):
            L.set("groups", groups)
        if self.chance(0.2):
            L.set("bias", False)
        self.common(L, True)
        return L, (out_c, *out)

    def _pool(self, family, shape, fault):
        rng = self.rng
        C, *sides = shape
        rank = len(sides)
        L = GenLayer(f"{family}{rank}d", fault)
        dilated = family == "maxpool"
        ceil = self.chance(0.35) and fault != "too-small"
        explicit_stride = self.chance(0.5)
        bad_axis = rng.randrange(rank)
        for _attempt in range(30):
            ks, ss, ps, ds, out = [], [], [], [], []
            for axis, n in enumerate(sides):
                k = rng.choices([1, 2, 3, 4, 5, 7], [0.1, 0.38, 0.3, 0.1, 0.07, 0.05])[0]
                s = rng.choices([1, 2, 3, 4], [0.3, 0.45, 0.15, 0.1])[0] if explicit_stride else k
                d = rng.choices([1, 2], [0.8, 0.2])[0] if dilated else 1
                p = rng.randint(0, k // 2) if self.chance(0.4) else 0
                if fault == "pad-gt-half" and axis == bad_axis:
                    p = k // 2 + 1 + rng.randint(0, 1)
                if fault == "too-small" and axis == bad_axis:
                    d = 1
                    p = 0
                    k = n + 1 + rng.randint(0, 1)
                    s = rng.randint(1, 2) if explicit_stride else k
                ks.append(k), ss.append(s), ps.append(p), ds.append(d)
                out.append(pool_out(n, k, s, p, d, ceil))
            if fault or (all(o >= 1 for o in out) and not self.avgpool3d_known_difference(family, ks, sides)):
                break
        else:  # a 1x1 window always fits
            ks, ss, ps, ds, explicit_stride = [1] * rank, [1] * rank, [0] * rank, [1] * rank, False
            out = sides
        written, expected = _axes(ks, rng)
        L.set("kernel_size", written, expected)
        if explicit_stride:
            written, expected = _axes(ss, rng)
            L.set("stride", written, expected)
        elif self.chance(0.1):
            L.set("stride", None, None)
        if ps != [0] * rank or self.chance(0.1):
            written, expected = _axes(ps, rng)
            L.set("padding", written, expected)
        if dilated and (ds != [1] * rank or self.chance(0.1)):
            written, expected = _axes(ds, rng)
            L.set("dilation", written, expected)
        if ceil or self.chance(0.1):
            L.set("ceil_mode", ceil)
        if family == "avgpool":
            if self.chance(0.3):
                L.set("count_include_pad", self.chance(0.5))
            if rank > 1 and self.chance(0.15):  # torch.nn.AvgPool1d has no divisor_override
                L.set("divisor_override", rng.randint(1, 9))
        self.common(L, False)
        return L, (C, *out)

    @staticmethod
    def avgpool3d_known_difference(family: str, ks, sides) -> bool:
        """torch.nn.AvgPool3d refuses a window larger than the unpadded input ("input image (T: 1
        H: 1 W: 1) smaller than kernel size"), and so does cnncalc: not generated as a valid layer
        (tests/test_torch_random.py's test_avgpool3d_window_larger_than_unpadded_input checks it)."""
        return family == "avgpool" and len(sides) == 3 and any(k > n for k, n in zip(ks, sides))

    def maxpool(self, shape, fault):
        return self._pool("maxpool", shape, fault)

    def avgpool(self, shape, fault):
        return self._pool("avgpool", shape, fault)

    def adaptive(self, shape, fault):
        rng = self.rng
        C, *sides = shape
        rank = len(sides)
        L = GenLayer(rng.choice([f"adaptive_avgpool{rank}d", f"adaptive_maxpool{rank}d"]))
        r = rng.random()
        if r < 0.4:
            n = rng.randint(1, 7)
            L.set("output_size", n, (n,) * rank)
            out = (n,) * rank
        elif r < 0.75 or rank == 1:  # null (keep the input's size) only where torch takes it
            out = tuple(rng.randint(1, 8) for _ in sides)
            L.set("output_size", list(out), out)
        elif rank == 2:
            a, b = rng.choice([(None, rng.randint(1, 6)), (rng.randint(1, 6), None), (None, None)])
            L.set("output_size", [a, b], (a, b))
            out = (sides[0] if a is None else a, sides[1] if b is None else b)
        else:
            sizes = tuple(None if self.chance(0.5) else rng.randint(1, 6) for _ in sides)
            L.set("output_size", list(sizes), sizes)
            out = tuple(n if size is None else size for n, size in zip(sides, sizes))
        self.common(L, False)
        return L, (C, *out)

    def global_pool(self, shape, fault, keepdims=None):
        C = shape[0]
        rank = len(shape) - 1
        L = GenLayer(self.rng.choice([f"global_avgpool{rank}d", f"global_maxpool{rank}d"]))
        if keepdims is None:
            keepdims = self.chance(0.25)
        if keepdims or self.chance(0.15):
            L.set("keepdims", keepdims)
        self.common(L, False)
        return L, ((C,) + (1,) * rank if keepdims else (C,))

    def batchnorm(self, shape, fault):
        C = shape[0]
        L = GenLayer(f"batchnorm{max(1, len(shape) - 1)}d", fault)  # batchnorm1d also takes [F]
        affine = self.chance(0.8)
        # see the module docstring: a batch of one on 1x1 (or of [F])
        track = self.chance(0.8) or math.prod(shape[1:]) == 1
        if fault == "num_features-wrong" and not (affine or track):
            affine = True
        self.stated_channels(L, "num_features", C, fault)
        if not affine or self.chance(0.1):
            L.set("affine", affine)
        if not track or self.chance(0.1):
            L.set("track_running_stats", track)
        if self.chance(0.15):
            # YAML 1.1 reads 1e-5 as a string; cnncalc reads it as the number it means
            L.set("eps", *self.rng.choice([(0.001, 0.001), ("1e-5", 1e-5), ("2.5e-4", 2.5e-4)]))
        if self.chance(0.15):
            L.set("momentum", self.rng.choice([0.01, 0.1, 0.5, None]))  # null: cumulative average
        self.common(L, affine)
        return L, shape

    def lrn(self, shape, fault):
        L = GenLayer("local_response_norm", fault)
        L.set("size", self.rng.randint(1, 6))
        if self.chance(0.3):
            L.set("alpha", 0.0001)
        if self.chance(0.3):
            L.set("beta", 0.75)
        if self.chance(0.3):
            L.set("k", self.rng.choice([1.0, 2.0, 2]))
        self.common(L, False)
        return L, shape

    # interpolation modes of each rank (torch raises NotImplementedError, not a refusal the
    # oracle counts, for a mode of another rank), and the largest side upsample makes
    UPSAMPLE_MODES: ClassVar[dict] = {
        1: (["nearest", "linear", "area", "nearest-exact"], [0.5, 0.25, 0.1, 0.15]),
        2: (["nearest", "bilinear", "bicubic", "area", "nearest-exact"], [0.5, 0.2, 0.1, 0.1, 0.1]),
        3: (["nearest", "trilinear", "area", "nearest-exact"], [0.5, 0.25, 0.1, 0.15]),
    }
    INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
    MAX_SIDE: ClassVar[dict] = {1: 64, 2: 64, 3: 12}

    def upsample(self, shape, fault):
        rng = self.rng
        C, *sides = shape
        rank = len(sides)
        L = GenLayer("upsample", fault)
        mode = rng.choices(*self.UPSAMPLE_MODES[rank])[0]
        if fault == "align-corners" and mode in self.INTERPOLATING:
            mode = rng.choice(["nearest", "area", "nearest-exact"])
        if fault == "zero-output" and mode == "area":  # see the module docstring
            mode = "nearest"
        out = tuple(sides)
        if fault == "neither":
            pass
        elif fault == "zero-output":
            f = 0.5 if min(sides) == 1 else rng.choice([0.25, 0.3])
            L.set("scale_factor", f, f)  # a single value stays one until planned (upsample takes any rank)
            out = (0,) * rank
        elif fault == "both":
            L.set("size", list(sides), tuple(sides))
            L.set("scale_factor", 2, 2)
        elif self.chance(0.3):
            top = 40 if rank < 3 else self.MAX_SIDE[3]
            a = rng.randint(1, top)
            if self.chance(0.4):
                L.set("size", a, a)
                out = (a,) * rank
            else:
                out = (a, *(rng.randint(1, top) for _ in sides[1:]))
                L.set("size", list(out), out)
        else:
            for _attempt in range(20):
                fs = [rng.choice([2, 2, 3, 0.5, 0.75, 1.5, 1.25, 2.5, 0.3, 1.7, 1.1, 0.9, 1.0])]
                for _ in sides[1:]:
                    fs.append(fs[0] if self.chance(0.6) else rng.choice([2, 0.5, 1.5, 0.7, 1.3, 3]))
                out = tuple(math.floor(n * f) for n, f in zip(sides, fs))
                if min(out) >= 1 and max(out) <= self.MAX_SIDE[rank]:
                    break
            else:
                fs, out = [1] * rank, tuple(sides)
            written, expected = _axes(fs, rng)
            L.set("scale_factor", written, expected if isinstance(written, list) else written)
        if mode != "nearest" or self.chance(0.15):
            L.set("mode", mode)
        if fault == "align-corners" or (mode in self.INTERPOLATING and self.chance(0.4)):
            L.set("align_corners", self.chance(0.5))
        self.common(L, False)
        return L, (C, *out)

    # ---------------------------------------------------------------- issue 12's new families
    def groupnorm(self, shape, fault):
        rng = self.rng
        C, values = shape[0], math.prod(shape[1:])
        L = GenLayer("groupnorm", fault)
        if fault == "groups-in":  # num_groups must divide the channels
            groups = rng.choice([g for g in range(2, C + 3) if C % g])
        elif C * values > 1:  # more than one value per group: see the module docstring
            groups = rng.choice([g for g in _divisors(C) if C // g * values > 1])
        else:
            return self.normalize(shape, None)  # no group of more than one value
        L.set("num_groups", groups)
        affine = self.chance(0.8) or fault == "num_channels-wrong"
        self.stated_channels(L, "num_channels", C, fault)
        if not affine or self.chance(0.1):
            L.set("affine", affine)
        if self.chance(0.15):
            L.set("eps", *rng.choice([(0.001, 0.001), ("1e-6", 1e-6)]))
        self.common(L, affine)
        return L, shape

    def instancenorm(self, shape, fault):
        rng = self.rng
        C, positions = shape[0], math.prod(shape[1:])
        if positions == 1 and not fault:  # refused in training, see below
            return self.groupnorm(shape, None)
        L = GenLayer(f"instancenorm{len(shape) - 1}d", fault)
        affine = self.chance(0.3)
        # one position: torch refuses in training, cnncalc always; the oracle's eval mode takes
        # it from the running statistics (see the module docstring)
        track = self.chance(0.25) and positions > 1
        if fault == "num_features-wrong" and not (affine or track):
            affine = True
        if fault == "one-position":
            track = False
        self.stated_channels(L, "num_features", C, fault)
        if affine or self.chance(0.1):
            L.set("affine", affine)
        if track or self.chance(0.1):
            L.set("track_running_stats", track)
        if track and self.chance(0.3):
            L.set("momentum", rng.choice([0.01, 0.5, None]))
        if self.chance(0.1):
            L.set("eps", 0.001)
        self.common(L, affine)
        return L, shape

    def frozen_batchnorm(self, shape, fault):
        C = shape[0]
        L = GenLayer("frozen_batchnorm2d", fault)
        if fault == "num_features-wrong":  # not 1: the reference's (1, n, 1, 1) would broadcast
            L.set("num_features", self.rng.choice([n for n in range(2, C + 4) if n != C]))
        elif self.chance(0.2):
            L.set("num_features", C)
        if self.chance(0.2):
            L.set("eps", 0.001)
        self.common(L, False)
        return L, shape

    def normalize(self, shape, fault):
        rng = self.rng
        L = GenLayer("normalize", fault)
        rank = len(shape) + 1  # with the batch axis
        if fault == "dim-out-of-range":
            L.set("dim", rng.choice([rank, rank + 1, -rank - 1]))
        elif self.chance(0.6):
            L.set("dim", rng.randint(-rank, rank - 1))
        if self.chance(0.3):
            L.set("p", rng.choice([1, 2.0, 3, 0.5]))
        if self.chance(0.1):
            L.set("eps", *rng.choice([(1e-6, 1e-6), ("1e-8", 1e-8)]))
        self.common(L, False)
        return L, shape

    PAD_FAULTS: ClassVar[dict] = {"crop-too-much": "zero", "reflect-too-big": "reflection", "wrap-twice": "circular"}

    def pad(self, shape, fault):
        """Padding as torch writes it: an int, or (left, right) of the last axis, then of the one before, ..."""
        rng = self.rng
        C, *sides = shape
        rank = len(sides)
        kinds = ["zero", "constant", "reflection", "replication", "circular"]
        kind = self.PAD_FAULTS.get(fault) or rng.choices(kinds, [3, 2, 3, 2, 2])[0]
        if fault == "crop-too-much":
            kind = rng.choice(["zero", "constant"])
        L = GenLayer(f"{kind}_pad{rank}d", fault)
        bad = rng.randrange(2 * rank)
        pads, out = [], list(sides)
        for i in range(2 * rank):
            n = sides[rank - 1 - i // 2]  # (left, right) of the last axis first
            if kind == "reflection":
                p = rng.randint(0, min(3, n - 1))
            elif kind == "circular":
                p = rng.randint(0, min(3, n))
            else:
                p = rng.choices([0, 1, 2, 3, -1], [0.3, 0.3, 0.2, 0.1, 0.1])[0]
            if i == bad and fault == "reflect-too-big":
                p = n + rng.randint(0, 1)
            elif i == bad and fault == "wrap-twice":
                p = n + 1 + rng.randint(0, 1)
            pads.append(p)
        for i in range(rank):  # negative padding crops; at least one element left on each axis
            axis = rank - 1 - i
            if fault != "crop-too-much" and sides[axis] + pads[2 * i] + pads[2 * i + 1] < 1:
                pads[2 * i] = pads[2 * i + 1] = 0
            out[axis] = sides[axis] + pads[2 * i] + pads[2 * i + 1]
        if fault == "crop-too-much":  # an output of -1 or less: 0 gives an empty tensor, see the docstring
            axis = rank - 1 - bad // 2
            pads[bad - bad % 2], pads[bad - bad % 2 + 1] = -(sides[axis] // 2) - 1, -(sides[axis] // 2) - 1
        if all(p == pads[0] for p in pads) and self.chance(0.6):
            L.set("padding", pads[0])
        else:
            L.set("padding", pads, tuple(pads))
        if kind == "constant":
            L.set("value", rng.choice([0, 0.5, -1.0, 2]))
        self.common(L, False)
        return L, (C, *out)

    def pixel_shuffle(self, shape, fault):
        C, H, W = shape
        L = GenLayer("pixel_shuffle", fault)
        fits = [r for r in (1, 2, 3) if C % (r * r) == 0]
        r = self.rng.choice([r for r in (2, 3, 4) if C % (r * r)] if fault else fits[1:] or fits)
        L.set("upscale_factor", r)
        self.common(L, False)
        return L, (C // (r * r), H * r, W * r)

    def pixel_unshuffle(self, shape, fault):
        C, H, W = shape
        L = GenLayer("pixel_unshuffle", fault)
        if fault:
            r = self.rng.choice([r for r in (2, 3, 4, 5) if H % r or W % r])
        else:
            r = self.rng.choice([r for r in (1, 2, 3) if H % r == 0 and W % r == 0][-2:])
        L.set("downscale_factor", r)
        self.common(L, False)
        return L, (C * r * r, H // r, W // r)

    # ---------------------------------------------------------------- views and self-attention
    def view(self, shape, fault, grow: bool = True, shrink: bool = True):
        """transpose, reshape, unflatten or select (dims count the batch, never touched: cnncalc
        refuses it on purpose). unflatten adds an axis and select removes one, where allowed."""
        rng = self.rng
        kinds = ["transpose", "reshape"] + ["unflatten"] * grow + ["select"] * (shrink and len(shape) > 1)
        if fault:
            kinds = [k for k in kinds if k != "unflatten" or math.prod(shape) > 1]
        kind = rng.choice(kinds)
        return getattr(self, f"_{kind}")(shape, fault and self.VIEW_FAULTS[kind])

    VIEW_FAULTS: ClassVar[dict] = {
        "transpose": "dim-out-of-range",
        "reshape": "size-mismatch",
        "unflatten": "size-mismatch",
        "select": "index-out-of-range",
    }

    def _axis(self, shape) -> tuple[int, int]:
        """A non-batch axis, as written (1.., or negative), and its index in shape."""
        i = self.rng.randrange(len(shape))
        return (i + 1 if self.chance(0.7) else i - len(shape)), i

    def _transpose(self, shape, fault):
        L = GenLayer("transpose", fault)
        (d0, i0), (d1, i1) = self._axis(shape), self._axis(shape)
        if fault:
            d1 = self.rng.choice([len(shape) + 1, len(shape) + 2, -len(shape) - 2])
        L.set("dim0", d0)
        L.set("dim1", d1)
        out = list(shape)
        if not fault:
            out[i0], out[i1] = shape[i1], shape[i0]
            self.transposed = self.transposed or i0 != i1
        self.common(L, False)
        return L, tuple(out)

    def _reshape(self, shape, fault):
        rng = self.rng
        L = GenLayer("reshape", fault)
        out = list(shape)
        rng.shuffle(out)
        if fault:  # sizes whose product is not the input's
            out[rng.randrange(len(out))] += rng.randint(1, 3)
            written = list(out)
        else:
            written = list(out)
            if self.chance(0.4):
                written[rng.randrange(len(out))] = -1
        L.set("shape", written, tuple(written))  # always a list: cnncalc's schema wants one
        self.common(L, False)
        return L, tuple(out)

    def _unflatten(self, shape, fault):
        rng = self.rng
        L = GenLayer("unflatten", fault)
        d, i = self._axis(shape)
        n = shape[i]
        a = rng.choice(_divisors(n))
        sizes = [a, n // a]
        if fault:
            sizes = [a, n // a + rng.randint(1, 2)]
        written = list(sizes)
        if not fault and self.chance(0.3):
            written[rng.randrange(2)] = -1
        L.set("dim", d)
        L.set("unflattened_size", written, tuple(written))
        self.common(L, False)
        return L, (*shape[:i], *sizes, *shape[i + 1 :])

    def _select(self, shape, fault):
        rng = self.rng
        L = GenLayer("select", fault)
        d, i = self._axis(shape)
        n = shape[i]
        index = rng.choice([n, n + 1, -n - 1]) if fault else rng.randint(-n, n - 1)
        L.set("dim", d)
        L.set("index", index)
        self.common(L, False)
        return L, (*shape[:i], *shape[i + 1 :])

    def attention(self, shape, fault):
        """nn.MultiheadAttention(batch_first=True) as self-attention on tokens [L, E]."""
        rng = self.rng
        E = shape[-1]
        L = GenLayer("multihead_attention", fault)
        L.set("num_heads", rng.choice([h for h in _divisors(E) if h <= 8]))
        if self.chance(0.2):
            L.set("embed_dim", E)
        if self.chance(0.15):
            L.set("bias", self.chance(0.3))
        if self.chance(0.15):
            L.set("add_bias_kv", True)
        if self.chance(0.15):
            L.set("add_zero_attn", True)
        if self.chance(0.1):
            L.set("dropout", 0.1)
        self.common(L, True)
        return L, shape

    # ---------------------------------------------------------------- layers for any rank
    def prelu(self, shape, fault):
        C = shape[0]
        L = GenLayer("prelu", fault)
        if fault == "num_parameters-wrong":
            n = self.rng.choice([n for n in range(2, C + 4) if n != C])
            L.set("num_parameters", n)
        elif self.chance(0.6):
            L.set("num_parameters", C)
        elif self.chance(0.5):
            L.set("num_parameters", 1)
        if self.chance(0.2):
            L.set("init", 0.1)
        self.common(L, True)
        return L, shape

    def activation(self, shape, fault):
        rng = self.rng
        kind = rng.choice(["softmax", "log_softmax"] if fault else ACTIVATIONS)
        L = GenLayer(kind, fault)
        rank = len(shape) + 1  # with the batch axis
        if kind == "leaky_relu" and self.chance(0.5):
            L.set("negative_slope", rng.choice([0.01, 0.2, 0.1]))
        elif kind == "elu" and self.chance(0.5):
            L.set("alpha", rng.choice([1.0, 0.5]))
        elif kind == "gelu" and self.chance(0.4):
            L.set("approximate", rng.choice(["none", "tanh"]))
        elif kind in ("softmax", "log_softmax"):
            if fault == "dim-out-of-range":
                L.set("dim", rng.choice([rank, rank + 1, -rank - 1]))
            elif self.chance(0.7):
                L.set("dim", rng.randint(-rank, rank - 1))
        if kind in _INPLACE and self.chance(0.15):
            L.set("inplace", self.chance(0.5))
        self.common(L, False)
        return L, shape

    def dropout(self, shape, fault):
        kind = f"dropout{len(shape) - 1}d" if len(shape) > 1 and self.chance(0.4) else "dropout"
        L = GenLayer(kind, fault)
        if self.chance(0.6):
            L.set("p", self.rng.choice([0.1, 0.25, 0.5, 0.0, 1.0, 0]))
        if self.chance(0.1):
            L.set("inplace", False)
        self.common(L, False)
        return L, shape

    def identity(self, shape, fault):
        """A placeholder, or a product with a number and a sum (rescale): both keep the shape."""
        if self.chance(0.5):
            L = GenLayer("rescale")
            L.set("scale", self.rng.choice([0.5, -2, 0.125, 1]))
            if self.chance(0.4):
                L.set("offset", self.rng.choice([-1, 0.5, 0]))
        else:
            L = GenLayer("identity")
        self.common(L, False)
        return L, shape

    def flatten(self, shape, fault, variant=None):
        rng = self.rng
        L = GenLayer("flatten", fault)
        rank = len(shape) + 1
        if fault == "end-before-start":
            start = rng.randint(2, rank - 1) if rank > 2 else 1
            L.set("start_dim", start)
            L.set("end_dim", rng.choice([start - 1, start - 1 - rank]) if start > 1 else -rank)
            return L, shape
        if fault == "out-of-range":
            if self.chance(0.5):
                L.set("start_dim", rank + rng.randint(0, 1))
            else:
                L.set("end_dim", rng.choice([rank, rank + 1, -rank - 1]))
            return L, shape
        if variant is None:
            variant = "all"
        if variant == "noop":  # start_dim == end_dim: nothing to merge
            axis = rng.randint(1, rank - 1)
            L.set("start_dim", axis)
            L.set("end_dim", rng.choice([axis, axis - rank]))
            return L, shape
        if variant == "all":
            if self.chance(0.2):
                L.set("start_dim", 1)
            if self.chance(0.2):
                L.set("end_dim", -1)
            return L, (math.prod(shape),)
        if variant == "spatial":  # [C, H*W] ([C, D*H*W]; on [C, L] nothing to merge)
            L.set("start_dim", 2)
            if self.chance(0.4):
                L.set("end_dim", rng.choice([rank - 1, -1]))
            return L, (shape[0], math.prod(shape[1:]))
        # variant "leading": [C*H, W] ([C*D*H, W])
        if self.chance(0.5):
            L.set("start_dim", 1)
        L.set("end_dim", rng.choice([rank - 2, -2]))
        return L, (math.prod(shape[:-1]), shape[-1])

    def linear(self, shape, fault):
        rng = self.rng
        L = GenLayer("linear", fault)
        F = shape[-1]
        if fault == "in_features-wrong":
            L.set(
                "in_features", rng.choice([F + rng.randint(1, 5), max(1, F - rng.randint(1, 5)), math.prod(shape) + 1])
            )
            if L.expect["in_features"] == F:
                L.expect["in_features"] = F + 1
                L.fields[-1] = ("in_features", F + 1)
        elif len(shape) > 1 or self.chance(0.2):
            L.set("in_features", F)  # required on a non-flat input, see the module docstring
        out = rng.choice([1, 2, 3, 10, 16, 32, rng.randint(1, 40)])
        L.set("out_features", out)
        if self.chance(0.2):
            L.set("bias", False)
        elif self.chance(0.05):
            L.set("bias", True)
        self.common(L, True)
        return L, (*shape[:-1], out)

    # ---------------------------------------------------------------- faults on flat inputs
    def spatial_on_flat(self, shape, fault):
        """A 2-D layer on a [F] input: torch wants a 4-D (or unbatched 3-D) tensor and refuses."""
        rng = self.rng
        kind = rng.choice(
            [
                "conv2d",
                "conv_transpose2d",
                "maxpool2d",
                "avgpool2d",
                "adaptive_avgpool2d",
                "adaptive_maxpool2d",
                "global_maxpool2d",
                "batchnorm2d",
                "local_response_norm",
            ]
        )
        L = GenLayer(kind, fault)
        if kind in ("conv2d", "conv_transpose2d"):
            L.set("out_channels", rng.randint(1, 8))
            L.set("kernel_size", 1, (1, 1))
        elif kind in ("maxpool2d", "avgpool2d"):
            L.set("kernel_size", 1, (1, 1))
        elif kind.startswith("adaptive"):  # not 1: see the module docstring
            n = self.rng.randint(2, 4)
            L.set("output_size", n, (n, n))
        elif kind == "local_response_norm":
            L.set("size", 2)
        return L, shape

    # which ranks of each family torch refuses on an input of spatial rank r (0: flat [F]), a
    # batched (r + 2)-D tensor: a layer of rank q takes a batched (q + 2)-D tensor or an
    # unbatched (q + 1)-D one, so a rank r + 1 layer sees an unbatched input, which torch takes
    # and cnncalc refuses (see the module docstring); batch norm has no unbatched form, channel
    # dropout of rank 2 and 3 only warns, and the 1x1 adaptive average takes any rank
    WRONG_RANK_FAMILIES = (
        "conv",
        "conv_transpose",
        "maxpool",
        "avgpool",
        "adaptive_avgpool",
        "adaptive_maxpool",
        "global_maxpool",
        "batchnorm",
        "dropout",
    )

    @staticmethod
    def refused_ranks(family: str, r: int) -> list[int]:
        if family == "batchnorm":
            return [q for q in (1, 2, 3) if r not in ((0, 1) if q == 1 else (q,))]
        if family == "dropout":
            return [1] if r >= 2 else []
        return [q for q in (1, 2, 3) if q not in (r, r + 1)]

    def wrong_rank(self, shape, fault):
        """A layer of another rank, which torch refuses on this input (and so must cnncalc)."""
        rng = self.rng
        r = len(shape) - 1
        options = [(f, q) for f in self.WRONG_RANK_FAMILIES for q in self.refused_ranks(f, r)]
        family, q = rng.choice(options)
        L = GenLayer(f"{family}{q}d", fault)
        if family in ("conv", "conv_transpose"):
            L.set("out_channels", rng.randint(1, 8))
        if family in ("conv", "conv_transpose", "maxpool", "avgpool"):
            k = rng.choice([1, 1, 2]) if min(shape[1:], default=1) >= 2 else 1
            L.set("kernel_size", k, (k,) * q)
        elif family.startswith("adaptive"):  # not 1: see WRONG_RANK_FAMILIES
            n = rng.randint(2, 4)
            L.set("output_size", n, (n,) * q)
        return L, shape

    # ---------------------------------------------------------------- the network
    SPATIAL: ClassVar[dict] = {
        "conv": 26,
        "conv_transpose": 8,
        "maxpool": 12,
        "avgpool": 8,
        "adaptive": 4,
        "batchnorm": 8,
        "lrn": 3,
        "upsample": 6,
        "prelu": 3,
        "activation": 14,
        "dropout": 5,
        "identity": 2,
        "linear": 2,
        "flatten": 1,
        "global_keep": 1,
    }
    # the rank-generic networks' layers besides those (wrong_rank only as a fault)
    WIDE: ClassVar[dict] = {
        "groupnorm": 4,
        "instancenorm": 4,
        "frozen_batchnorm": 2,
        "normalize": 2,
        "pad": 6,
        "pixel_shuffle": 2,
        "pixel_unshuffle": 2,
        "view": 3,
        "attention": 3,  # on [C, L] only: tokens
        "wrong_rank": 0,
    }
    ONLY_2D = ("frozen_batchnorm", "pixel_shuffle", "pixel_unshuffle")  # cnncalc's, on [C, H, W]
    SPATIAL_FAULTS: ClassVar[dict] = {
        "conv": [
            "groups-in",
            "groups-out",
            "kernel-too-big",
            "reflect-too-big",
            "circular-too-big",
            "in_channels-wrong",
        ],
        "conv_transpose": ["output-padding", "nonpositive", "groups-in", "groups-out", "in_channels-wrong"],
        "maxpool": ["pad-gt-half", "too-small"],
        "avgpool": ["pad-gt-half", "too-small"],
        "batchnorm": ["num_features-wrong"],
        "upsample": ["zero-output", "both", "neither", "align-corners"],
        "prelu": ["num_parameters-wrong"],
        "activation": ["dim-out-of-range"],
        "flatten": ["end-before-start", "out-of-range"],
        "linear": ["in_features-wrong"],
        "wrong_rank": ["wrong-rank"],
        "groupnorm": ["groups-in", "num_channels-wrong"],
        "instancenorm": ["num_features-wrong", "one-position"],
        "frozen_batchnorm": ["num_features-wrong"],
        "normalize": ["dim-out-of-range"],
        "pad": list(PAD_FAULTS),
        "pixel_shuffle": ["not-divisible"],
        "pixel_unshuffle": ["not-divisible"],
        "view": ["view-wrong"],
    }

    SPATIAL_FAULT_WEIGHTS: ClassVar[dict] = {
        "conv": 4,
        "conv_transpose": 2,
        "maxpool": 2,
        "avgpool": 1.5,
        "batchnorm": 0.7,
        "upsample": 1.5,
        "prelu": 0.5,
        "activation": 0.3,
        "linear": 0.3,
    }
    WIDE_FAULT_WEIGHTS: ClassVar[dict] = {
        "wrong_rank": 1.5,
        "groupnorm": 0.7,
        "instancenorm": 0.7,
        "frozen_batchnorm": 0.3,
        "normalize": 0.3,
        "pad": 1.2,
        "pixel_shuffle": 0.5,
        "pixel_unshuffle": 0.5,
        "view": 0.8,
    }

    # keep torch quick: past these sizes (elements, longest side) prefer layers that shrink
    CROWDED: ClassVar[dict] = {1: (8 * 512, 1024), 2: (40 * 40 * 8, 64), 3: (4 * 10 * 10 * 10, 16)}

    @staticmethod
    def fault_available(fault: str, shape) -> bool:
        if fault == "groups-out":  # needs a divisor of the channels other than 1
            return shape[0] > 1
        if fault == "zero-output":  # floor(n * 0.25) == 0 needs a small side
            return min(shape[1:]) <= 3
        if fault == "one-position":
            return math.prod(shape[1:]) == 1
        return True

    def add(self, layer: GenLayer) -> None:
        self.layers.append(layer)

    def spatial_weights(self, shape) -> tuple[dict, dict]:
        """The weights of the layer kinds on this input, for valid layers and for faults."""
        weights = dict(self.SPATIAL)
        fault_weights = dict(self.SPATIAL_FAULT_WEIGHTS)
        if self.wide:
            weights.update(self.WIDE)
            fault_weights.update(self.WIDE_FAULT_WEIGHTS)
            if len(shape) != 2:
                del weights["attention"]
            if len(shape) != 3:
                for kind in self.ONLY_2D:
                    del weights[kind], fault_weights[kind]
            else:
                C, H, W = shape
                if all(C % (r * r) for r in (2, 3)):  # nothing to shuffle into space
                    weights["pixel_shuffle"] = 0
                if all(H % r or W % r for r in (2, 3)) or not any(H % r or W % r for r in (2, 3, 4, 5)):
                    weights["pixel_unshuffle"] = fault_weights["pixel_unshuffle"] = 0
                if C == 1:
                    fault_weights["frozen_batchnorm"] = 0
        if self.transposed:
            weights["lrn"] = 0
        elements, side = self.CROWDED[len(shape) - 1]
        if math.prod(shape) > elements or max(shape[1:]) > side:
            weights.update(conv_transpose=0, upsample=0, maxpool=30, adaptive=10)
            if self.wide:
                weights.update(pad=0, pixel_shuffle=0)
        fault_weights = {
            k: w for k, w in fault_weights.items() if w and k in weights and (weights[k] or k in self.WIDE)
        }
        return weights, fault_weights

    def spatial_layer(self, shape, fault_here: bool):
        rng = self.rng
        weights, fault_weights = self.spatial_weights(shape)
        if fault_here:
            kind = rng.choices(list(fault_weights), list(fault_weights.values()))[0]
            fault = rng.choice([f for f in self.SPATIAL_FAULTS[kind] if self.fault_available(f, shape)])
        else:
            kind = rng.choices(list(weights), list(weights.values()))[0]
            fault = None
        if kind == "flatten":
            return self.flatten(shape, None, variant="noop")
        if kind == "global_keep":  # [C, 1, 1], and the network goes on
            return self.global_pool(shape, None, keepdims=True)
        if kind == "linear":  # acts on the width; in_features must be stated, see the module docstring
            return self.linear(shape, "in_features-wrong" if fault else None)
        if kind == "view":  # the rank stays 1, 2 or 3
            return self.view(shape, fault, grow=len(shape) < 4, shrink=len(shape) > 2)
        method = {"lrn": self.lrn, "adaptive": self.adaptive}.get(kind) or getattr(self, kind)
        return method(shape, fault)

    def dense_layer(self, shape, fault_here: bool):
        rng = self.rng
        if self.wide and len(shape) == 2 and self.chance(0.4):  # [C, L]: a 1-D network goes on
            return self.spatial_layer(shape, fault_here)
        if fault_here:
            options = {"linear": 3, "prelu": 1, "softmax": 0.6}
            if self.wide:
                options["view"] = 1
            if len(shape) == 1:
                options["spatial_on_flat"] = 3
            else:  # [C, L]: batchnorm2d wants a 4-D tensor
                options["bn_rank2"] = 1
            kind = rng.choices(list(options), list(options.values()))[0]
            if kind == "linear":
                return self.linear(shape, "in_features-wrong")
            if kind == "prelu":
                return self.prelu(shape, "num_parameters-wrong")
            if kind == "softmax":
                return self.activation(shape, "dim-out-of-range")
            if kind == "view":
                return self.view(shape, "view-wrong", shrink=len(shape) > 1)
            if self.wide:
                return self.wrong_rank(shape, "wrong-rank")
            if kind == "bn_rank2":
                L = GenLayer("batchnorm2d", "rank2")
                return L, shape
            return self.spatial_on_flat(shape, "spatial-on-flat")
        r = rng.random()
        if r < 0.5:
            return self.linear(shape, None)
        if r < 0.75:
            return self.activation(shape, None)
        if r < 0.85:
            return self.dropout(shape, None) if len(shape) == 1 else self.identity(shape, None)
        if r < 0.9:
            return self.identity(shape, None)
        if r < 0.95 and len(shape) > 1:
            return self.identity(shape, None) if self.transposed else self.lrn(shape, None)
        if self.wide and len(shape) == 1:  # batchnorm1d (group norm, normalize, a view) after a linear layer
            return self.rng.choice([self.batchnorm, self.groupnorm, self.normalize, self.view])(shape, None)
        return self.prelu(shape, None)

    def input_shape(self) -> tuple:
        rng = self.rng
        if self.rank == 1:
            L = self.small_size() if self.chance(0.8) else rng.randint(41, 400)
            return (rng.choice([1, 1, 2, 3, 4, 6, 8, 16]), L)
        if self.rank == 3:
            D = rng.randint(1, 8)
            H = rng.randint(1, 10)
            W = H if self.chance(0.3) else rng.randint(1, 10)
            return (rng.choice([1, 1, 2, 3, 3, 4]), D, H, W)
        H = self.small_size()
        W = self.small_size() if self.chance(0.85) else H
        return (rng.choice([1, 1, 2, 3, 3, 3, 4, 6, 8]), H, W)

    def network(self) -> tuple[tuple, list[GenLayer]]:
        rng = self.rng
        flat_input = self.chance(0.05)
        shape = (rng.randint(1, 64),) if flat_input else self.input_shape()
        input_shape = shape

        n_spatial = 0 if flat_input else rng.randint(0, 7 if self.rank < 3 else 5)
        ending = (
            "none"
            if flat_input
            else rng.choices(["flatten", "global", "global-keep", "adaptive", "rank2", "end"], [40, 15, 7, 8, 12, 18])[
                0
            ]
        )
        n_dense = rng.randint(0, 4) if ending != "end" else 0
        if flat_input:
            n_dense = rng.randint(1, 5)
        slots = n_spatial + n_dense + (1 if ending not in ("none", "end") else 0)
        fault_at = rng.randrange(slots) if slots and self.chance(0.27) else None
        slot = 0

        def fault_here():
            nonlocal slot
            slot += 1
            return slot - 1 == fault_at

        for _ in range(n_spatial):
            layer, shape = self.spatial_layer(shape, fault_here())
            self.add(layer)
            if layer.fault:
                shape = shape if len(shape) == len(input_shape) and min(shape) >= 1 else input_shape

        if ending not in ("none", "end"):
            f = fault_here()
            if ending in ("flatten", "rank2") and f:
                layer, shape = self.flatten(shape, rng.choice(self.SPATIAL_FAULTS["flatten"]))
                self.add(layer)
                layer, shape = self.flatten(shape, None)
                self.add(layer)
            elif ending == "flatten" or (math.prod(shape) > 6000 and ending != "rank2"):
                if math.prod(shape) > 6000:
                    layer, shape = self.adaptive(shape, None)
                    self.add(layer)
                layer, shape = self.flatten(shape, None)
                self.add(layer)
            elif ending == "global":
                layer, shape = self.global_pool(shape, None, keepdims=False)
                self.add(layer)
            elif ending == "global-keep":
                layer, shape = self.global_pool(shape, None, keepdims=True)
                self.add(layer)
                layer, shape = self.flatten(shape, None)
                self.add(layer)
            elif ending == "adaptive":
                layer, shape = self.adaptive(shape, None)
                self.add(layer)
                layer, shape = self.flatten(shape, None)
                self.add(layer)
            else:  # rank2: flatten part of the axes, then layers on [C, L], maybe flatten the rest
                layer, shape = self.flatten(shape, None, variant=rng.choice(["spatial", "leading"]))
                self.add(layer)
            if f and not self.layers[-1].fault and not (len(self.layers) > 1 and self.layers[-2].fault):
                fault_at = slot  # the fault lands on the first dense layer instead
        for i in range(n_dense):
            if len(shape) == 2 and i == n_dense - 1 and self.chance(0.5):
                layer, shape = self.flatten(shape, None)
                self.add(layer)
            layer, after = self.dense_layer(shape, fault_here())
            self.add(layer)
            shape = shape if layer.fault and min(after) < 1 else after
        return input_shape, self.layers


# ------------------------------------------------------------------------------- rendering


def yaml_value(value) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:  # YAML 1.1 (PyYAML) needs a dot: 1.0e-05
            text = f"{value:.6e}"
        return text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    raise TypeError(value)


def _render_entry(layer: GenLayer, rng: random.Random, used_names: set, types: list[str]) -> list[str]:
    """The lines of one `layers:` entry, in one of the spec's three entry forms."""
    type_key = layer.type_name
    if rng.random() < 0.12:
        type_key = rng.choice(type_spellings(layer.type_name))
    layer.type_key = type_key
    keys = []
    for name, value in layer.fields:
        aliases = field_aliases(layer.type_name, name)
        keys.append((rng.choice(aliases) if aliases and rng.random() < 0.1 else name, value))

    common = []
    if rng.random() < 0.3:
        base = {"conv2d": "conv", "linear": "fc", "batchnorm2d": "bn"}.get(layer.type_name, layer.type_name[:4])
        r = rng.random()
        if r < 0.6:
            name = f"{base}{len(used_names) + 1}"
        elif r < 0.8:
            name = f"{base}-{rng.randint(1, 99)}_x"
        else:  # a name cnncalc would give another layer, which must then be skipped
            name = f"{rng.choice(types)}_{rng.randint(1, 2)}"
        if name not in used_names:
            layer.name = name
            used_names.add(name)
            common.append(("name", name))
    if layer.trainable is not None:
        common.append(("trainable", layer.trainable))

    main = main_field(layer.type_name)
    forms = ["explicit-flow", "explicit-block", "onekey-flow", "onekey-block"]
    if not keys and not common:
        forms += ["bare"] * 4
    if len(keys) == 1 and keys[0][0] == main:
        forms += ["scalar"] * 4
    form = rng.choice(forms)
    layer.form = form

    def inline(pairs):
        return ", ".join(f"{k}: {yaml_value(v)}" for k, v in pairs)

    if form == "bare":
        return [f"  - {type_key}"]
    if form == "scalar":
        head = f"{type_key}: {yaml_value(keys[0][1])}"
        if common and rng.random() < 0.5:
            return ["  - {" + ", ".join([head, inline(common)]) + "}"]
        return [f"  - {head}"] + [f"    {k}: {yaml_value(v)}" for k, v in common]
    if form == "explicit-flow":
        return ["  - {" + inline([("type", type_key), *common, *keys]) + "}"]
    if form == "explicit-block":
        items = [("type", type_key), *common, *keys]
        lines = [f"  - {items[0][0]}: {yaml_value(items[0][1])}"]
        lines += [f"    {k}: {yaml_value(v)}" for k, v in items[1:]]
        return lines
    if form == "onekey-flow":
        body = "{" + inline(keys) + "}" if keys or rng.random() < 0.5 else "null"
        if common:
            return ["  - {" + f"{type_key}: {body}, " + inline(common) + "}"]
        return [f"  - {type_key}: {body}"]
    # onekey-block
    if not keys:
        lines = [f"  - {type_key}: {{}}" if rng.random() < 0.5 else f"  - {type_key}:"]
    else:
        lines = [f"  - {type_key}:"] + [f"      {k}: {yaml_value(v)}" for k, v in keys]
    return lines + [f"    {k}: {yaml_value(v)}" for k, v in common]


def render(seed: int, input_shape: tuple, layers: list[GenLayer], rng: random.Random) -> str:
    lines = []
    if rng.random() < 0.3:
        lines.append(f"name: random-{seed}")
    if rng.random() < 0.1:
        lines.append("description: generated by tests/random_specs.py")
    lines.append(f"input: {yaml_value(list(input_shape))}")
    lines.append("layers:")
    used: set = set()
    for layer in layers:
        if rng.random() < 0.06:
            lines.append("")
        if rng.random() < 0.06:
            lines.append(f"  # {layer.type_name}")
        entry = _render_entry(layer, rng, used, [other.type_name for other in layers])
        layer.first_line = len(lines) + 1
        lines.extend(entry)
        layer.last_line = len(lines)
    return "\n".join(lines) + "\n"


def generate(seed: int, rank: int | None = None) -> Case:
    """The case of a seed: without a rank, the 2-D network the sequential random test has always
    had for it; with rank 1, 2 or 3, a network of that rank from the rank-generic generator
    (case ids "1d-s0042", "2d-s0042", "3d-s0042")."""
    gen = Generator(seed, rank)
    input_shape, layers = gen.network()
    if not layers:  # a spec needs at least one layer
        layer, _ = gen.activation(input_shape, None)
        layers.append(layer)
    text = render(seed, input_shape, layers, gen.rng)
    return Case(seed, text, input_shape, layers, rank)


@functools.cache
def valid_seeds(count: int) -> tuple[int, ...]:
    """The seeds below `count` whose network the generator meant to be valid. Call it inside a
    test (or through hypothesis' st.deferred), not at import: it generates `count` specs."""
    return tuple(seed for seed in range(count) if generate(seed).fault_index is None)


if __name__ == "__main__":  # print a few, to look at: [count [rank]]
    import sys

    rank = int(sys.argv[2]) if len(sys.argv) > 2 else None
    for s in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        c = generate(s, rank)
        print(f"# {c.id}\n{c.text}")
