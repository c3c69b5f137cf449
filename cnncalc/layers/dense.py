"""Fully connected layers and the reshaping around them: linear, flatten."""

from __future__ import annotations

from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    UNDEFINED,
    Bool,
    Field,
    Int,
    LayerType,
    Saved,
    Shape,
    axes_of,
    check_inferred,
    fmt_shape,
)


class Linear(LayerType):
    """Fully connected layer, as torch.nn.Linear: params = (in_features + 1) * out_features.

    in_features is worked out from the input: for the first dense layer after the
    convolutions, that is the number people most often get wrong.

    Example: [9216] {out_features: 128} -> [128] params=1179776
    Example: [128] {out_features: 2, bias: false} -> [2] params=256
    """

    type_name = "linear"
    fully_connected = True
    torch_class = "nn.Linear"
    torch_positional = ("in_features", "out_features")
    aliases = ("dense", "fc", "fully_connected")
    main_field = "out_features"
    inferred_field = "in_features"
    inferred_axis = -1
    out_size_field = "out_features"
    out_size_axis = -1
    fields = (
        Field("in_features", Int(min=1), None, doc="inferred from the input; checked if given"),
        Field("out_features", Int(min=1), aliases=("units",)),
        Field("bias", Bool(), True, aliases=("use_bias",)),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        if len(shape) > 1 and cfg["in_features"] is None:
            # torch.nn.Linear would act on the last axis only; nearly always the
            # user forgot to flatten, which is the error this tool exists to catch.
            raise LayerError(
                f"linear needs a flat input but gets {fmt_shape(shape)}; add `flatten` before it "
                f"(giving {prod(shape):,} features), or set in_features: {shape[-1]} to apply it "
                f"to the last axis as torch.nn.Linear does",
                code="shape.not-flat",
            )
        check_inferred(cfg, "in_features", shape[-1], "features" if len(shape) == 1 else "values on its last axis")
        return (*shape[:-1], cfg["out_features"])

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return (shape[-1] + (1 if cfg["bias"] else 0)) * cfg["out_features"]

    def acts_on_last_axis(self, cfg: dict, shape: Shape) -> bool:
        return True

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(shape) * cfg["out_features"]  # leading axes each get their own product

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) if cfg["bias"] else 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        # needed only for the weight's gradient; the input's gradient uses the weight
        return (Saved("input", prod(shape), needed_for="params"),)

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        return [keras_call("Dense", cfg["out_features"], use_bias=cfg["bias"], defaults={"use_bias": True})]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        """Gemm on [batch, features]; on more axes MatMul by the transposed weight, then the bias."""
        from cnncalc.layers.onnx_code import BIAS, WEIGHT

        features = shape[-1]
        weight = g.weight("weight", (cfg["out_features"], features), WEIGHT, features)  # torch's [out, in]
        bias = g.weight("bias", (cfg["out_features"],), BIAS, features) if cfg["bias"] else ""
        if len(shape) == 1:
            return g.node("Gemm", [g.x, weight, bias] if bias else [g.x, weight], transB=1)
        product = g.node("MatMul", [g.x, g.node("Transpose", [weight], perm=[1, 0])])
        return g.node("Add", [product, bias]) if bias else product

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import linear_steps

        return linear_steps(shape[-1], cfg["out_features"], cfg["bias"], prod(shape[:-1]))


class Flatten(LayerType):
    """Flatten to one feature axis, as torch.nn.Flatten(): [C, H, W] -> [C*H*W] (in C, H, W order).

    start_dim and end_dim count the batch as dimension 0, as in torch.

    Example: [64, 12, 12] {} -> [9216] params=0
    Example: [256, 6, 6] {} -> [9216] params=0
    Example: [8, 4, 4] {start_dim: 2} -> [8, 16] params=0
    """

    type_name = "flatten"
    flattens = True
    torch_class = "nn.Flatten"
    fields = (
        Field("start_dim", Int(min=1), 1, doc="first axis to flatten, batch = 0"),
        Field("end_dim", Int(), -1, doc="last axis to flatten (negative counts from the end)"),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        rank = len(shape) + 1  # with the batch axis, as torch numbers them
        start, end = cfg["start_dim"], cfg["end_dim"]
        end_index = end + rank if end < 0 else end
        if start >= rank:
            raise LayerError(f"start_dim {start} is past the last axis ({rank - 1})", field="start_dim")
        if not start <= end_index < rank:
            raise LayerError(
                f"end_dim {end} does not lie between start_dim {start} and the last axis ({rank - 1})",
                field="end_dim",
            )
        a, b = start - 1, end_index - 1  # without the batch axis
        return (*shape[:a], prod(shape[a : b + 1]), *shape[b + 1 :])

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED if len(shape) > 1 else super().receptive_window(cfg, shape)

    def output_aliases_input(self, cfg: dict, training: bool) -> bool:
        return True  # a view of the same storage

    def explain(self, cfg: dict, shape: Shape, out: Shape) -> list:
        from cnncalc.layers.arithmetic import product_step

        if len(out) != 1:
            return []
        return [product_step("features", ["C", *(axis[0].upper() for axis in axes_of(len(shape) - 1))], list(shape))]

    def keras_layers(self, cfg: dict, shape: Shape) -> list[str] | None:
        from cnncalc.layers.keras_code import keras_call

        if self.output_shape(cfg, shape) != (prod(shape),):
            return None  # Keras flattens everything after the batch
        # data_format left at channels_last: Keras then flattens the tensor as it lies, C, H, W,
        # as torch does (channels_first would reorder it to H, W, C first)
        return [keras_call("Flatten", data_format="channels_last")]

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.reshape(g.x, g.out)  # C, H, W order, as torch flattens
