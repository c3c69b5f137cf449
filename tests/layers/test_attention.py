"""multihead_attention, embedding and matmul (and add's broadcasting): shapes, parameters and
refusals against torch.nn, at the right line; MACs as torch.utils.flop_counter counts them;
saved-for-backward memory as autograd keeps it, for a tiny ViT block and a small attention graph;
the export and verify."""

from __future__ import annotations

import pytest
from layer_cases import check_layer, check_refused
from torch_reference import measure_saved_bytes_of, require_torch

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.export import export
from cnncalc.memory import estimate
from cnncalc.spec import parse


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, out_shape, params",
    [
        ("multihead_attention", [197, 768], {"num_heads": 12}, [197, 768], 2_362_368),  # ViT-B/16
        ("multihead_attention", [16, 8], {"num_heads": 2}, [16, 8], 288),
        ("multihead_attention", [16, 8], {"num_heads": 2, "bias": False}, [16, 8], 256),
        ("multihead_attention", [16, 8], {"num_heads": 8, "add_bias_kv": True}, [16, 8], 304),
        ("multihead_attention", [16, 8], {"num_heads": 1, "add_zero_attn": True, "dropout": 0.5}, [16, 8], 288),
        (
            "multihead_attention",
            [5, 6],
            {"num_heads": 3, "embed_dim": 6, "bias": False, "add_bias_kv": True},
            [5, 6],
            156,
        ),
        ("mha", [1, 4], {"num_heads": 4}, [1, 4], 80),
        ("embedding", [16], {"num_embeddings": 1000, "embedding_dim": 64}, [16, 64], 64_000),
        ("embedding", [4, 5], {"num_embeddings": 10, "embedding_dim": 3}, [4, 5, 3], 30),
        ("embedding", [7], {"num_embeddings": 10, "embedding_dim": 3, "padding_idx": -10}, [7, 3], 30),
        ("embedding", [7], {"num_embeddings": 10, "embedding_dim": 3, "padding_idx": 9}, [7, 3], 30),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_shapes_and_params(type_name, in_shape, cfg, out_shape, params):
    check_layer(type_name, cfg, in_shape, out_shape, params)


@pytest.mark.parametrize(
    "type_name, in_shape, cfg, fragment, code, at, torch_refuses",
    [
        # torch asserts these (AssertionError); test_torch_asserts_what_cnncalc_refuses checks it
        (
            "multihead_attention",
            [16, 12],
            {"num_heads": 5},
            "num_heads 5 does not divide embed_dim 12 (the input's last axis)",
            "shape.invalid",
            "num_heads",
            False,
        ),
        (
            "multihead_attention",
            [16, 12],
            {"num_heads": 2, "embed_dim": 8},
            "embed_dim is 8 but the input has 12 values on its last axis",
            "shape.mismatch",
            "embed_dim",
            False,
        ),
        (
            "multihead_attention",
            [3, 16, 12],
            {"num_heads": 2},
            "needs a [channels, length] input",
            "shape.rank",
            None,
            False,
        ),
        ("multihead_attention", [16, 12], {"num_heads": 0}, "an integer >= 1", "spec.bad-value", "num_heads", False),
        ("multihead_attention", [16, 12], {"num_heads": 2, "dropout": 1.5}, "<= 1", "spec.bad-value", "dropout", False),
        (
            "multihead_attention",
            [16, 12],
            {"num_heads": 2, "kdim": 6},
            "unknown key 'kdim'",
            "spec.unknown-key",
            None,  # the key, first in the entry
            False,
        ),
        (
            "embedding",
            [16],
            {"num_embeddings": 10},
            "missing required field embedding_dim",
            "spec.missing-key",
            None,
            False,
        ),
        (
            "embedding",
            [16],
            {"num_embeddings": 10, "embedding_dim": 4, "padding_idx": 10},
            "padding_idx 10 is not an index of the 10 embeddings (-10 to 9)",
            "shape.invalid",
            "padding_idx",
            False,
        ),
        (
            "embedding",
            [16],
            {"num_embeddings": 0, "embedding_dim": 4},
            "an integer >= 1",
            "spec.bad-value",
            "num_embeddings",
            False,
        ),
    ],
    ids=lambda v: str(v).replace(" ", ""),
)
def test_refused(type_name, in_shape, cfg, fragment, code, at, torch_refuses):
    check_refused(type_name, cfg, in_shape, fragment, code=code, at=at, torch_refuses=torch_refuses)


def test_torch_asserts_what_cnncalc_refuses():
    """nn.MultiheadAttention and nn.Embedding refuse these with an AssertionError (which the
    one-layer oracle does not catch), at construction or in forward."""
    torch = require_torch()
    with pytest.raises(AssertionError):
        torch.nn.MultiheadAttention(12, 5)
    attention = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    x = torch.zeros(1, 16, 12)
    with pytest.raises(AssertionError):
        attention(x, x, x)
    with pytest.raises(AssertionError):
        torch.nn.Embedding(10, 4, padding_idx=10)


MATMUL = """
input: [4, 16, 8]
layers:
  - {type: linear, name: q, in_features: 8, out_features: 8}
  - {type: linear, name: k, in_features: 8, out_features: 8, inputs: [input]}
  - {type: transpose, name: kt, dim0: -1, dim1: -2}
  - {type: matmul, name: scores, inputs: [q, kt]}
  - {type: softmax, name: weights, dim: -1}
  - {type: matmul, name: mixed, inputs: [weights, input]}
"""


@pytest.mark.parametrize(
    "first, second, out",
    [
        ([4, 16, 8], [4, 8, 16], [4, 16, 16]),
        ([16, 8], [8, 5], [16, 5]),
        ([1, 16, 8], [3, 8, 2], [3, 16, 2]),
        ([2, 1, 6, 5], [1, 3, 5, 4], [2, 3, 6, 4]),
    ],
    ids=str,
)
def test_matmul_shapes_and_macs_equal_torch(first, second, out):
    from torch.utils.flop_counter import FlopCounterMode

    torch = require_torch()
    text = f"input: {first}\nlayers:\n  - {{type: parameter, name: b, shape: {second}}}\n  - {{type: matmul, inputs: [input, b]}}\n"
    row = plan(parse(text, "m.yaml")).layers[-1]
    a, b = torch.zeros(2, *first), torch.zeros(2, *second)
    with FlopCounterMode(display=False) as counter:
        result = torch.matmul(a, b)
    assert list(row.output_shape) == out == list(result.shape[1:])
    assert row.macs == counter.get_total_flops() // 2 // 2
    assert (row.params, row.other_ops) == (0, 0)


@pytest.mark.parametrize(
    "first, second, fragment",
    [
        ([4, 16, 8], [4, 16, 8], "the first's last axis (8) must equal the second's next-to-last (16)"),
        ([4, 16, 8], [3, 8, 16], "the axes before the last two must match or be 1"),
        ([16, 8], [4, 8, 16], "matmul needs two inputs of the same number of axes"),
        ([8], [8], "at least two besides the batch"),
    ],
    ids=str,
)
def test_matmul_refused_at_its_inputs(first, second, fragment):
    torch = require_torch()
    text = f"input: {first}\nlayers:\n  - {{type: parameter, name: b, shape: {second}}}\n  - {{type: matmul, name: m, inputs: [input, b]}}\n"
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "m.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert fragment in diagnostic.message and diagnostic.code == "shape.mismatch", diagnostic.message
    assert f"cannot multiply 'input' {first} by 'b' {second}" in diagnostic.message
    line = text.splitlines()[3]
    assert (diagnostic.loc.line, diagnostic.loc.column) == (4, line.index("[input") + 1)
    with pytest.raises(RuntimeError):  # torch refuses too (the batch of 2 taking part)
        torch.matmul(torch.zeros(2, *first), torch.zeros(2, *second))


def test_matmul_attention_graph_macs_and_saved_activations_equal_torch():
    """Attention written with matmul: q @ k^T, a softmax, then the weights times v; MACs as the
    flop counter counts the exported module's layers (verify), and the saved activations as
    autograd keeps them."""
    from cnncalc.verify import verify

    result = plan(parse(MATMUL, "m.yaml"))
    rows = {row.name: row for row in result.layers}
    assert (rows["scores"].macs, rows["mixed"].macs) == (4 * 16 * 16 * 8, 4 * 16 * 8 * 16)
    assert all(comparison.ok for comparison in verify(result, device="cpu"))
    model = _exported(result)
    for batch_size in (1, 3):
        measured = measure_saved_bytes_of(model, result.input_shape, batch_size=batch_size)
        assert estimate(result, batch_size=batch_size).saved_activations_bytes == measured


BROADCAST = """
input: [4, 16, 8]
layers:
  - {type: linear, name: q, in_features: 8, out_features: 8}
  - {type: linear, name: kv, in_features: 8, out_features: 8, inputs: [input]}
  - {type: split, name: k, sizes: [1, 3], index: 0}
  - {type: transpose, name: kt, dim0: -1, dim1: -2}
  - {type: matmul, name: scores, inputs: [q, kt]}
"""


def test_matmul_broadcast_keeps_the_expanded_copy():
    """k [1, 8, 16] broadcast over q's 4: torch expands it into a copy of [4, 8, 16], and keeps that."""
    result = plan(parse(BROADCAST, "b.yaml"))
    assert result.layers[-1].output_shape == (4, 16, 16)
    model = _exported(result)
    for batch_size in (1, 2):
        measured = measure_saved_bytes_of(model, result.input_shape, batch_size=batch_size)
        assert estimate(result, batch_size=batch_size).saved_activations_bytes == measured


def test_add_broadcasts_as_torch_does():
    torch = require_torch()
    text = "input: [6, 4]\nlayers:\n  - {type: parameter, name: pos, shape: [1, 4]}\n  - {type: add, inputs: [input, pos]}\n"
    row = plan(parse(text, "a.yaml")).layers[-1]
    assert row.output_shape == tuple((torch.zeros(2, 6, 4) + torch.zeros(2, 1, 4)).shape[1:]) == (6, 4)
    assert row.other_ops == 24
    bad = "input: [6, 4]\nlayers:\n  - {type: parameter, name: pos, shape: [2, 4]}\n  - {type: add, inputs: [input, pos]}\n"
    with pytest.raises(SpecError) as caught:
        plan(parse(bad, "a.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert "cannot add 'pos' [2, 4] to 'input' [6, 4]: add needs equal shapes" in diagnostic.message
    assert (diagnostic.code, diagnostic.loc.line) == ("shape.mismatch", 4)


# a tiny ViT encoder block: pre-norm attention and MLP, each with its residual
VIT_BLOCK = """
input: [{tokens}, {width}]
layers:
  - {{type: layernorm, name: ln_1}}
  - {{type: multihead_attention, name: attention, num_heads: {heads}{options}}}
  - {{type: add, name: residual_1, inputs: [input, attention]}}
  - {{type: layernorm, name: ln_2}}
  - {{type: linear, name: fc_1, in_features: {width}, out_features: {hidden}}}
  - {{type: gelu, name: gelu}}
  - {{type: linear, name: fc_2, in_features: {hidden}, out_features: {width}}}
  - {{type: add, name: residual_2, inputs: [residual_1, fc_2]}}
"""

CONFIGS = [
    (16, 32, 4, ""),
    (7, 12, 3, ""),
    (5, 6, 1, ", bias: false"),
    (7, 12, 3, ", add_bias_kv: true"),
    (7, 12, 3, ", add_zero_attn: true"),
    (5, 8, 2, ", add_bias_kv: true, add_zero_attn: true"),
    (16, 32, 4, ", dropout: 0.1"),
    (7, 12, 3, ", dropout: 0.2, add_bias_kv: true"),
    (5, 8, 2, ", dropout: 0.5, add_bias_kv: true, add_zero_attn: true"),
    (5, 6, 1, ", dropout: 1.0"),
]


def _vit(tokens, width, heads, options):
    text = VIT_BLOCK.format(tokens=tokens, width=width, heads=heads, hidden=2 * width, options=options)
    return plan(parse(text, "vit.yaml"))


def _exported(result):
    namespace: dict = {"__name__": "exported"}
    exported = export(result)
    exec(compile(exported.code, "<export>", "exec"), namespace)
    require_torch().manual_seed(0)
    return namespace[exported.model_class]()


@pytest.mark.parametrize("tokens, width, heads, options", CONFIGS, ids=str)
def test_vit_block_saved_activations_equal_autograd(tokens, width, heads, options):
    result = _vit(tokens, width, heads, options)
    model = _exported(result)
    for batch_size in (1, 3):
        measured = measure_saved_bytes_of(model, result.input_shape, batch_size=batch_size)
        assert estimate(result, batch_size=batch_size).saved_activations_bytes == measured


@pytest.mark.parametrize("tokens, width, heads, options", CONFIGS, ids=str)
def test_vit_block_macs_equal_the_flop_counter_on_meta(tokens, width, heads, options):
    """MACs = FLOPs / 2 of each exported layer on the meta device (verify's measurement), where
    PyTorch computes attention with matrix products the flop counter sees."""
    from cnncalc.verify import verify

    result = _vit(tokens, width, heads, options)
    comparisons = verify(result)
    assert all(comparison.ok for comparison in comparisons), [c for c in comparisons if not c.ok]
    attention = next(row for row in result.layers if row.name == "attention")
    keys = tokens + (", add_bias_kv: true" in options) + ("add_zero_attn: true" in options)
    assert attention.macs == 4 * tokens * width * width + 2 * tokens * keys * width


def test_flop_counter_on_the_cpu_misses_the_fused_attention():
    """Pinned: on the CPU, scaled_dot_product_attention's fused kernel is not counted (only the
    four projections are), and eval mode under no_grad takes the fast path, counted as nothing.
    cnncalc counts the two attention products too, as the meta device does (docs/spec.md)."""
    from torch.utils.flop_counter import FlopCounterMode

    torch = require_torch()
    tokens, width = 5, 8
    attention = torch.nn.MultiheadAttention(width, 2, batch_first=True)
    x = torch.zeros(1, tokens, width)
    with FlopCounterMode(display=False) as counter:
        attention(x, x, x, need_weights=False)
    assert counter.get_total_flops() // 2 == 4 * tokens * width * width
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        attention.eval()(x, x, x, need_weights=False)
    assert counter.get_total_flops() == 0
    row = _vit(tokens, width, 2, "").layers[1]
    assert row.macs == 4 * tokens * width * width + 2 * tokens * tokens * width


def test_vit_block_verifies_with_values_and_exports_torchs_module():
    """nn.MultiheadAttention itself at the layer's path, as torchvision's ViT holds it: its
    state_dict keys are the layer's name and in_proj_weight, out_proj.weight..."""
    from cnncalc.verify import verify

    result = _vit(7, 12, 3, ", dropout: 0.1")
    assert all(comparison.ok for comparison in verify(result, device="cpu"))
    code = export(result).code
    assert "return nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, **options)" in code
    assert "self.attention = self_attention(12, 3, dropout=0.1)" in code
    assert "self.attention(out, out, out, need_weights=False)[0]" in code
    # every token sees every token: the field ends at the attention
    assert [row.receptive_field for row in result.layers[1:]] == [None] * (len(result.layers) - 1)


EMBEDDING = """
input: [12]
layers:
  - {type: embedding, name: embed, num_embeddings: 50, embedding_dim: 16}
  - {type: layernorm, name: ln}
  - {type: multihead_attention, name: attention, num_heads: 2}
  - {type: add, name: residual, inputs: [embed, attention]}
  - {type: select, name: last, dim: 1, index: -1}
  - {type: linear, name: head, out_features: 3}
"""


def test_embedding_verifies_on_integer_indices_and_keeps_what_autograd_keeps():
    """verify and the export's example feed an embedding's input integer indices; the indices
    (a network input) are never counted as saved."""
    from cnncalc.verify import verify

    torch = require_torch()
    result = plan(parse(EMBEDDING, "e.yaml"))
    assert all(comparison.ok for comparison in verify(result, device="cpu"))
    code = export(result).code
    assert "torch.zeros(1, 12, dtype=torch.long)" in code
    assert result.layers[0].macs == 0 and result.layers[0].other_ops == 0
    model = _exported(result).train()
    indices = torch.randint(0, 50, (2, 12))
    storages: dict[int, int] = {}
    skip = {t.untyped_storage().data_ptr() for t in [*model.parameters(), indices]}

    def pack(tensor):
        if tensor.untyped_storage().data_ptr() not in skip:
            storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor.detach()

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = model(indices)
    storages.setdefault(output.untyped_storage().data_ptr(), output.untyped_storage().nbytes())
    assert estimate(result, batch_size=2).saved_activations_bytes == sum(storages.values())


HEADS_TWICE = """
input: [8, 12]
layers:
  - {type: linear, name: q, in_features: 12, out_features: 12}
  - {type: reshape, name: heads, shape: [8, 3, 4]}
  - {type: transpose, name: qt, dim0: 1, dim1: 2}
  - {type: transpose, name: qtt, dim0: 2, dim1: 3}
  - {type: matmul, name: scores, inputs: [qt, qtt]}
"""


def test_matmul_of_unfoldable_views_is_a_known_difference():
    """Pinned (docs/spec.md, matmul): torch folds the batch and the heads into one axis for bmm;
    heads moved by a transpose cannot fold without a copy, and autograd keeps the copies, one
    per input: here two copies of q where cnncalc counts q's storage once. With a batch of one
    they fold as views, and the two agree."""
    result = plan(parse(HEADS_TWICE, "h.yaml"))
    model = _exported(result)
    assert estimate(result, batch_size=1).saved_activations_bytes == measure_saved_bytes_of(
        model, result.input_shape, batch_size=1
    )
    q_bytes = 8 * 12 * 4
    for batch_size in (2, 3):
        measured = measure_saved_bytes_of(model, result.input_shape, batch_size=batch_size)
        assert measured - estimate(result, batch_size=batch_size).saved_activations_bytes == q_bytes * batch_size


VIT_STEM = """
input: [3, 32, 32]
layers:
  - {type: conv2d, name: patches, out_channels: 16, kernel_size: 8, stride: 8}   # [16, 4, 4]
  - {type: flatten, name: grid, start_dim: 2}                                   # [16, 16]
  - {type: transpose, name: tokens, dim0: 1, dim1: 2}                           # [16, 16]
  - {type: parameter, name: position, shape: [1, 16]}
  - {type: add, name: embedded, inputs: [tokens, position]}                     # broadcast
  - {type: multihead_attention, name: attention, num_heads: 4, dropout: 0.1}
  - {type: select, name: class_token, dim: 1, index: 0}
  - {type: linear, name: head, out_features: 10}
"""


def test_vit_stem_with_a_broadcast_position_embedding_verifies_and_saves_what_autograd_saves():
    from cnncalc.verify import verify

    result = plan(parse(VIT_STEM, "stem.yaml"))
    comparisons = verify(result, device="cpu")
    assert all(comparison.ok for comparison in comparisons), [c for c in comparisons if not c.ok]
    model = _exported(result)
    for batch_size in (1, 2):
        measured = measure_saved_bytes_of(model, result.input_shape, batch_size=batch_size)
        assert estimate(result, batch_size=batch_size).saved_activations_bytes == measured


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("tokens, width, heads, options", CONFIGS, ids=str)
def test_vit_block_saved_activations_in_half_precision(tokens, width, heads, options, dtype):
    """In float16 and bfloat16 the flash kernel's log-sum-exp stays float32, and the math path
    (dropout) upcasts its tensors to float32; all exact but one pinned difference: with dropout
    and no appended keys, PyTorch keeps a float32 copy of v (4 L E bytes), where cnncalc counts
    q, k, v's storage (6 L E bytes)."""
    torch = require_torch()
    result = _vit(tokens, width, heads, options)
    torch_dtype = getattr(torch, dtype)
    model = _exported(result).to(torch_dtype)
    measured = measure_saved_bytes_of(model, result.input_shape, batch_size=2, dtype=torch_dtype)
    estimated = estimate(result, batch_size=2, dtype=dtype).saved_activations_bytes
    known = "dropout" in options and "add_" not in options
    assert estimated - measured == (2 * tokens * width * 2 if known else 0)  # 2 L E bytes a sample, a batch of 2
