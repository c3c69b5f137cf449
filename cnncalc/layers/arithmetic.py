"""The arithmetic behind a layer's numbers, written out for `cnncalc explain`: each Step is one
number with its formula in words and the same formula with the numbers substituted.

    height: floor((224 + 2·2 − 1·(11 − 1) − 1) / 4) + 1 = 55
    params: (3·3·32 + 1)·64 = 18,496

The layer types build their own steps (LayerType.explain) from these helpers; the engine's
generic ones (receptive field, the first linear layer's input) are in cnncalc/explain.py.
"""

from __future__ import annotations

from cnncalc.errors import Frozen

_set = object.__setattr__


class Step(Frozen):
    """One number of a layer: what it is, its formula, the formula with numbers, and the result."""

    __slots__ = ("what", "formula", "numbers", "value")
    what: str  # "height", "params", "MACs", "padding", ...
    formula: str  # in words: "(kernel_h·kernel_w·C_in + 1)·C_out"
    numbers: str  # the same with the numbers: "(3·3·32 + 1)·64"
    value: object  # the result: 18496, or text ("1 before, 1 after")

    def __init__(self, what: str, formula: str, numbers: str, value: object):
        for key, item in zip(self.__slots__, (what, formula, numbers, value)):
            _set(self, key, item)

    def to_dict(self) -> dict:
        return {"what": self.what, "formula": self.formula, "numbers": self.numbers, "value": self.value}


def n(value: int) -> str:
    """A number as the chapter writes it: 9,216."""
    return f"{value:,}"


def times(*factors: str | int) -> str:
    """3·3·32: the factors, as text, joined by a middle dot."""
    return "·".join(n(f) if isinstance(f, int) else f for f in factors)


def window_size(
    axis: str, size: int, kernel: int, stride: int, before: int, after: int, dilation: int, ceil: bool = False
) -> Step:
    """A sliding window's output size along one axis (a convolution or a pool, PyTorch's rule),
    in the simplest form that holds: the chapter's `in + 2·padding − (k − 1)` at stride 1."""
    pad_words, pad_numbers = _padding_terms(before, after)
    if dilation == 1 and kernel == stride and not (before or after or ceil):  # the chapter's pools
        return Step(axis, "floor(in / stride)", f"floor({n(size)} / {stride})", size // stride)
    if dilation == 1 and stride == 1 and not ceil:
        formula = f"in{pad_words} − (kernel − 1)"
        numbers = f"{n(size)}{pad_numbers} − ({kernel} − 1)"
        return Step(axis, formula, numbers, size + before + after - (kernel - 1))
    rounding = "ceil" if ceil else "floor"
    if dilation == 1:
        formula = f"{rounding}((in{pad_words} − kernel) / stride) + 1"
        numbers = f"{rounding}(({n(size)}{pad_numbers} − {kernel}) / {stride}) + 1"
    else:
        formula = f"{rounding}((in{pad_words} − dilation·(kernel − 1) − 1) / stride) + 1"
        numbers = f"{rounding}(({n(size)}{pad_numbers} − {dilation}·({kernel} − 1) − 1) / {stride}) + 1"
    span = size + before + after - dilation * (kernel - 1) - 1
    value = -(-span // stride) + 1 if ceil else span // stride + 1
    if ceil and (value - 1) * stride >= size + before:  # torch drops a last window that starts in the padding
        formula += " − 1 (a last window starting in the padding)"
        numbers += " − 1"
        value -= 1
    return Step(axis, formula, numbers, value)


def _padding_terms(before: int, after: int) -> tuple[str, str]:
    if not before and not after:
        return "", ""
    if before == after:
        return " + 2·padding", f" + 2·{before}"
    return " + padding before + padding after", f" + {before} + {after}"


def linear_steps(features: int, units: int, bias: bool, positions: int) -> list[Step]:
    """A fully connected layer's parameters, (in + 1)·out, and MACs, in·out (per position of
    the leading axes, when it acts on the last axis of a larger tensor)."""
    params = Step(
        "params",
        "(in + 1)·out" if bias else "in·out",
        f"({n(features)} + 1)·{n(units)}" if bias else times(features, units),
        (features + bias) * units,
    )
    if positions == 1:
        macs = Step("MACs", "in·out", times(features, units), features * units)
    else:
        macs = Step("MACs", "positions·in·out", times(positions, features, units), positions * features * units)
    return [params, macs]


def product_step(what: str, words: list[str], values: list[int]) -> Step:
    """A product of named factors: `MACs: H_out·W_out·C_out·kernel·C_in = ...`."""
    total = 1
    for value in values:
        total *= value
    return Step(what, "·".join(words), times(*values), total)


_SHORT = {"height": "h", "width": "w", "depth": "d", "length": "l"}


def short(axis: str) -> str:
    """kernel_h, H_out: an axis's letter."""
    return _SHORT.get(axis, axis.replace(" ", ""))


def conv_steps(axes, kernel, channels: int, groups: int, filters: int, bias: bool, out_spatial) -> list[Step]:
    """A convolution's parameters and MACs: (kernel_h·kernel_w·C_in + 1)·C_out, and
    H_out·W_out·C_out·(kernel_h·kernel_w·C_in), C_in / groups where there are groups."""
    kernel_words = [f"kernel_{short(axis)}" for axis in axes]
    per_group = channels // groups
    c_words = "(C_in / groups)" if groups > 1 else "C_in"
    c_value = f"({n(channels)} / {groups})" if groups > 1 else n(channels)
    fan_in_words, fan_in = "·".join([*kernel_words, c_words]), times(*kernel, c_value)
    weights = filters * per_group
    for k in kernel:
        weights *= k
    if bias:
        params = Step("params", f"({fan_in_words} + 1)·C_out", f"({fan_in} + 1)·{n(filters)}", weights + filters)
    else:
        params = Step("params", f"{fan_in_words}·C_out", f"{fan_in}·{n(filters)}", weights)
    positions = "·".join(f"{short(axis).upper()}_out" for axis in axes)
    macs = weights
    for size in out_spatial:
        macs *= size
    numbers = f"{times(*out_spatial, filters)}·({fan_in})"
    return [params, Step("MACs", f"{positions}·C_out·({fan_in_words})", numbers, macs)]


def padded_window_steps(axes, sizes, kernels, strides, dilations, padding: str) -> list[Step]:
    """TensorFlow's (and Keras's) output size per axis: 'same' ceil(in / strides), with the
    padding that needs (the odd one after); 'valid' and 'causal' as a window slides."""
    steps = []
    for axis, size, k, s, d in zip(axes, sizes, kernels, strides, dilations):
        window = d * (k - 1) + 1
        if padding == "same":
            out = -(-size // s)
            total = max((out - 1) * s + window - size, 0)
            steps.append(Step(axis, "ceil(in / strides)", f"ceil({n(size)} / {s})", out))
            numbers = f"max(({out} − 1)·{s} + {window} − {n(size)}, 0)"
            steps.append(
                Step(
                    f"padding ({axis})",
                    "'same': (out − 1)·strides + window − in, the odd one after",
                    numbers,
                    f"{total}: {total // 2} before, {total - total // 2} after",
                )
            )
        else:
            before = window - 1 if padding == "causal" else 0
            steps.append(window_size(axis, size, k, s, before, 0, d))
    return steps
