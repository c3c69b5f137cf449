"""Layers for sequences and attention: matmul, multihead_attention, embedding.

Sequences are [L, E] after the batch: L tokens of E values each, as torch.nn's layers take
them with batch_first=True.
"""

from __future__ import annotations

from math import prod

from cnncalc.errors import LayerError
from cnncalc.layers.base import (
    UNDEFINED,
    Bool,
    Field,
    Float,
    Int,
    LayerType,
    Saved,
    Shape,
    check_inferred,
)
from cnncalc.layers.merge import input_ref


class Matmul(LayerType):
    """Matrix product of two inputs, as torch.matmul: [..., n, m] @ [..., m, p] -> [..., n, p].

    The axes before the last two broadcast (each equal, or 1 in one of them). Attention scores
    are q @ k^T: [h, L, d] @ [h, d, L] -> [h, L, L]. MACs n x m x p per product, as
    torch.utils.flop_counter counts bmm.

    Example: [4, 16, 8] @ [4, 8, 16] -> [4, 16, 16] params=0
    """

    type_name = "matmul"
    aliases = ("bmm", "matrix_multiply")
    merges = True
    functional = True

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:  # pragma: no cover - merges use output_shape_of
        return self.output_shape_of(cfg, [shape, shape])

    def output_shape_of(self, cfg: dict, shapes: list[Shape]) -> Shape:
        if len(shapes) != 2:
            raise LayerError(f"matmul takes exactly two inputs, got {len(shapes)}", field="inputs")
        a, b = shapes
        if len(a) < 2 or len(b) < 2 or len(a) != len(b):
            # torch lines the axes up from the right, batch included: a batch would pair with another axis
            raise LayerError(
                f"cannot multiply {input_ref(0)} by {input_ref(1)}: matmul needs two inputs of the same "
                f"number of axes, at least two besides the batch ([..., n, m] and [..., m, p])",
                field="inputs",
                code="shape.mismatch",
            )
        if a[-1] != b[-2]:
            raise LayerError(
                f"cannot multiply {input_ref(0)} by {input_ref(1)}: the first's last axis ({a[-1]:,}) must "
                f"equal the second's next-to-last ({b[-2]:,})",
                field="inputs",
                code="shape.mismatch",
            )
        if any(x != y and 1 not in (x, y) for x, y in zip(a[:-2], b[:-2])):
            raise LayerError(
                f"cannot multiply {input_ref(0)} by {input_ref(1)}: the axes before the last two must match or be 1",
                field="inputs",
                code="shape.mismatch",
            )
        return (*(max(x, y) for x, y in zip(a[:-2], b[:-2])), a[-2], b[-1])

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return prod(out) * shape[-1]  # each output sums m products; `shape` is the first input's

    def other_ops_of(self, cfg: dict, shapes: list[Shape], out: Shape) -> int:
        return 0  # the products are MACs

    def keeps_receptive_field(self, cfg: dict, out: Shape) -> bool:
        return False  # each output mixes whole rows and columns

    def saved_for_backward_of(self, cfg: dict, shapes: list[Shape], out: Shape):
        # each factor for the other's gradient; one broadcast over the other's batch axes is
        # expanded into a copy of the full batch, which is what autograd keeps
        batch = prod(max(x, y) for x, y in zip(shapes[0][:-2], shapes[1][:-2]))
        saved = []
        for position, shape in enumerate(shapes):
            if prod(shape[:-2]) == batch:
                saved.append(Saved("input", prod(shape), position=position, needed_for="other"))
            else:
                saved.append(Saved("extra", batch * shape[-2] * shape[-1], position=position, needed_for="other"))
        return tuple(saved)

    def torch_forward(self, cfg: dict, arguments: list[str]) -> str:
        return f"torch.matmul({', '.join(arguments)})"

    def onnx_nodes(self, cfg: dict, shape: Shape, g) -> str | None:
        return g.node("MatMul", list(g.inputs))  # numpy's rules, as torch.matmul's

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        return {}


class MultiheadAttention(LayerType):
    """Self-attention on tokens [L, E], as torch.nn.MultiheadAttention(batch_first=True).

    Called with the input as query, key and value and need_weights=False. Parameters as PyTorch
    counts them: in_proj 3E^2 (+ 3E bias), out_proj E^2 (+ E), add_bias_kv 2E. MACs: the four
    projections, 4 L E^2, and the two attention products, 2 L S E, where S, the keys' length, is
    L (+ 1 with add_bias_kv, + 1 with add_zero_attn).

    Example: [197, 768] {num_heads: 12} -> [197, 768] params=2362368
    Example: [16, 8] {num_heads: 2, bias: false} -> [16, 8] params=256
    """

    type_name = "multihead_attention"
    aliases = ("multiheadattention", "self_attention", "mha")
    input_rank = 2
    main_field = "num_heads"
    inferred_field = "embed_dim"
    inferred_axis = -1
    torch_class = "self_attention"
    torch_positional = ("embed_dim", "num_heads")
    fields = (
        Field("embed_dim", Int(min=1), None, doc="inferred from the input's last axis; checked if given"),
        Field("num_heads", Int(min=1), doc="the heads; must divide embed_dim"),
        Field("dropout", Float(min=0, max=1), 0.0, doc="dropout on the attention weights, in training"),
        Field("bias", Bool(), True, doc="biases in the input and output projections"),
        Field("add_bias_kv", Bool(), False, doc="a learned key and value appended to the keys and values"),
        Field("add_zero_attn", Bool(), False, doc="a key and value of zeros appended"),
    )
    torch_helper = '''def self_attention(embed_dim: int, num_heads: int, **options) -> nn.MultiheadAttention:
    """nn.MultiheadAttention on [batch, tokens, embed_dim], for self-attention on one tensor."""
    return nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, **options)
'''

    def torch_call(self, member: str, arguments: list[str]) -> str:
        x = arguments[0]
        return f"{member}({x}, {x}, {x}, need_weights=False)[0]"

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        check_inferred(cfg, "embed_dim", shape[-1], "values on its last axis")
        if shape[-1] % cfg["num_heads"]:
            raise LayerError(
                f"num_heads {cfg['num_heads']} does not divide embed_dim {shape[-1]:,} (the input's last axis)",
                field="num_heads",
            )
        return shape

    def keys(self, cfg: dict, shape: Shape) -> int:
        """S, the keys' length: the tokens, and a learned key and a zero key if asked for."""
        return shape[0] + cfg["add_bias_kv"] + cfg["add_zero_attn"]

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        e = shape[-1]
        return 4 * e * e + (4 * e if cfg["bias"] else 0) + (2 * e if cfg["add_bias_kv"] else 0)

    def macs(self, cfg: dict, shape: Shape, out: Shape) -> int:
        tokens, e = shape
        return 4 * tokens * e * e + 2 * tokens * self.keys(cfg, shape) * e

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        # the projections' bias adds, and per score a scaling and a softmax
        tokens, e = shape
        return (4 * tokens * e if cfg["bias"] else 0) + 2 * cfg["num_heads"] * tokens * self.keys(cfg, shape)

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED  # every token sees every token

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        """As PyTorch 2.x on the CPU keeps them, measured: the input projection's input (a copy,
        the batch axis moved), and then, without dropout, the projected q, k, v (one storage) and
        scaled_dot_product_attention's flash kernel's output and log-sum-exp (float32, one per
        head and token); with dropout, its math path's tensors, in float32 (it upcasts float16
        and bfloat16): the scaled q and k, the attention weights before and after dropout, the
        dropout mask (one zero for the batch at dropout 1) and v; and the output projection's
        input. In float16 and bfloat16 with dropout and keys = tokens, PyTorch keeps a float32
        copy of v (4 L E bytes) where cnncalc counts q, k, v's storage (6 L E bytes)."""
        tokens, e = shape
        keys, heads = self.keys(cfg, shape), cfg["num_heads"]
        le, se = tokens * e, keys * e
        # in_proj's input, transposed into a copy: kept for the weights' gradient only (frozen: not kept)
        saved = [Saved("extra", le, needed_for="params")]
        if cfg["dropout"] > 0:
            # the weights, the dropped weights, and the mask (at p = 1, a single zero for the batch)
            weights = (3 if cfg["dropout"] < 1 else 2) * heads * tokens * keys
            saved += [Saved("extra", le + se + weights, dtype="float32", needed_for="any")]
            if keys == tokens:  # v: a view of q, k, v's storage
                saved += [Saved("extra", 3 * le, needed_for="any")]
            else:  # v with the rows appended: its own tensor
                saved += [Saved("extra", se, dtype="float32", needed_for="any")]
            saved += [Saved("extra", le, needed_for="any")]  # the output projection's input
            if cfg["dropout"] == 1:
                saved += [Saved("extra", 1, dtype="float32", per_sample=False, needed_for="any")]
        else:
            appended = 2 * se if keys != tokens else 0  # k and v with the rows appended: new tensors
            saved += [Saved("extra", 3 * le + appended + le, needed_for="any")]
            saved += [Saved("extra", heads * tokens, dtype="float32", needed_for="any")]
        return tuple(saved)


class Embedding(LayerType):
    """A lookup table, as torch.nn.Embedding: indices [L] -> vectors [L, embedding_dim].

    num_embeddings x embedding_dim parameters. The input holds indices (integers from 0 to
    num_embeddings - 1), not values: verify and the export's example feed it integers.

    Example: [16] {num_embeddings: 1000, embedding_dim: 64} -> [16, 64] params=64000
    """

    type_name = "embedding"
    reads_indices = True  # verify and the export feed the input it reads integers
    torch_class = "nn.Embedding"
    torch_positional = ("num_embeddings", "embedding_dim")
    main_field = "embedding_dim"
    fields = (
        Field("num_embeddings", Int(min=1), doc="the table's rows: indices run from 0 to num_embeddings - 1"),
        Field("embedding_dim", Int(min=1), doc="the values per index"),
        Field("padding_idx", Int(), None, doc="an index whose row stays zero and gets no gradient"),
    )

    def output_shape(self, cfg: dict, shape: Shape) -> Shape:
        index, rows = cfg["padding_idx"], cfg["num_embeddings"]
        if index is not None and not -rows <= index < rows:
            raise LayerError(
                f"padding_idx {index} is not an index of the {rows:,} embeddings ({-rows} to {rows - 1})",
                field="padding_idx",
            )
        return (*shape, cfg["embedding_dim"])

    def params(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return cfg["num_embeddings"] * cfg["embedding_dim"]

    def other_ops(self, cfg: dict, shape: Shape, out: Shape) -> int:
        return 0  # a lookup

    def receptive_window(self, cfg: dict, shape: Shape):
        return UNDEFINED

    def saved_for_backward(self, cfg: dict, shape: Shape, out: Shape):
        return (Saved("input", prod(shape), needed_for="params"),)  # the indices, for the table's gradient

    def channel_symbols(self, cfg: dict, exprs: dict, sources: list[dict], shape: Shape, out: Shape) -> dict[int, str]:
        return {len(out) - 1: exprs.get("embedding_dim", str(cfg["embedding_dim"]))}


def index_inputs(plan) -> dict[str, int]:
    """The network inputs an embedding reads, each with how many indices every reader takes
    (the smallest num_embeddings): verify and the export's example feed these integers."""
    found: dict[str, int] = {}
    inputs = plan.input_shapes
    for row in plan.layers:
        if getattr(row.spec.layer, "reads_indices", False) and row.spec.inputs[0] in inputs:
            name = row.spec.inputs[0]
            found[name] = min(found.get(name, row.spec.cfg["num_embeddings"]), row.spec.cfg["num_embeddings"])
    return found
