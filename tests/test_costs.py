"""The cost model against PyTorch: MACs (torch.utils.flop_counter), saved activations
(autograd's saved-tensor hooks) and receptive fields (gradients of one output pixel).

Sequential specs are rebuilt as a torch.nn.Sequential (torch_reference.build_sequential); graph
specs, which name `inputs:`, run as cnncalc's exported module instead, the one verify() measures."""

from __future__ import annotations

from pathlib import Path

import pytest
from published import pytorch_specs
from random_specs import case_key, generate
from torch_reference import (
    build_sequential,
    measure_macs,
    measure_saved_bytes,
    measure_saved_bytes_of,
    require_torch,
)

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.export import class_name, export, to_pytorch
from cnncalc.memory import estimate
from cnncalc.spec import NETWORK_INPUT, load_file, parse
from cnncalc.verify import member, run_member, verify

ARCHITECTURES = pytorch_specs(sorted((Path(__file__).resolve().parent.parent / "architectures").glob("*.yaml")))

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _exported(planned):
    """cnncalc's exported module for a plan, built on the CPU."""
    require_torch()
    namespace: dict = {"__name__": "exported"}
    exec(compile(to_pytorch(planned), "exported.py", "exec"), namespace)
    return namespace[class_name(planned.name)]()


@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: p.stem)
def test_architecture_macs_equal_torch_flop_counter(path):
    spec = load_file(str(path))
    result = plan(spec)
    if spec.is_graph:
        require_torch()
        comparisons = verify(result, device="cpu")[: len(result.layers)]  # then blocks and forward()
        assert [c.name for c in comparisons] == [row.name for row in result.layers]
        measured = [c.measured[3] for c in comparisons]  # (shape, params, buffers, MACs)
    else:
        measured = measure_macs(spec)
    assert [row.macs for row in result.layers] == measured


@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: p.stem)
def test_architecture_saved_activations_match_autograd(path):
    spec = load_file(str(path))
    result = plan(spec)
    estimated = estimate(result, batch_size=2).saved_activations_bytes
    if spec.is_graph:
        measured = measure_saved_bytes_of(_exported(result), result.input_shapes, batch_size=2)  # every input
    else:
        measured = measure_saved_bytes(spec, batch_size=2)
    assert estimated == measured  # to the byte, for every bundled network, the zoo included


@pytest.mark.parametrize(
    "stem, macs",
    [
        ("alexnet", 714_188_480),
        ("vgg16", 15_470_264_320),
        ("vgg16_bn", 15_470_264_320),
        ("resnet18", 1_814_073_344),
    ],
)
def test_published_gmacs(stem, macs):
    # torchvision's "GFLOPS" column is really GMACs: 0.714, 15.47, 1.814
    totals = plan(load_file(f"architectures/{stem}.yaml")).totals
    assert (totals.macs, totals.flops) == (macs, 2 * macs)


@pytest.mark.parametrize(
    "stem, layer, size, stride, padding",
    [
        ("vgg16", "pool5", 212, 32, 90),
        ("alexnet", "pool5", 195, 32, 66),
        ("lenet5", "pool2", 16, 4, 0),
        # semantics.md §6: r = 435. Every conv and pool is centred (padding (k - 1) / 2), so
        # the padding is (435 - 1) / 2 = 217; ResNet-50's 427 / 32 / 213 has the same centring.
        ("resnet18", "layer4.1.relu_2", 435, 32, 217),
    ],
)
def test_published_receptive_fields(stem, layer, size, stride, padding):
    rows = {row.name: row for row in plan(load_file(f"architectures/{stem}.yaml")).layers}
    field = rows[layer].receptive_field
    assert (field.size, field.stride, field.padding) == ((size, size), (stride, stride), (padding, padding))


def test_receptive_field_ends_at_dense_layers_and_global_pooling():
    spec = parse(
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3}\n"
        "  - global_avgpool2d\n  - linear: 2\n"
    )
    fields = [row.receptive_field for row in plan(spec).layers]
    assert fields[0] is not None and fields[1:] == [None, None]


def test_dilated_stack_receptive_fields():
    # 3x3 convolutions with dilation 1, 2, 4 (padding = dilation): 3, 7, 15
    layers = "".join(
        f"  - conv2d: {{out_channels: 2, kernel_size: 3, dilation: {d}, padding: {d}}}\n" for d in (1, 2, 4)
    )
    rows = plan(parse("input: [2, 32, 32]\nlayers:\n" + layers)).layers
    assert [row.receptive_field.size[0] for row in rows] == [3, 7, 15]


def _probe_module(module):
    """`module` with positive weights, or its average-pool or identity twin, so every input pixel
    in a receptive field gets a positive gradient; None if it has no such twin."""
    torch = require_torch()
    nn = torch.nn
    average = {nn.MaxPool1d: nn.AvgPool1d, nn.MaxPool2d: nn.AvgPool2d, nn.MaxPool3d: nn.AvgPool3d}
    if type(module) in average:
        if set(module.dilation if isinstance(module.dilation, tuple) else (module.dilation,)) != {1}:
            return None
        module = average[type(module)](module.kernel_size, module.stride, module.padding, module.ceil_mode)
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        # reflect, replicate and circular padding fold the window's overhang back onto
        # real pixels; the window itself is the same as with zeros
        module.padding_mode = "zeros"
    kinds = ("Reflection", "Replication", "Circular")
    folded = tuple(getattr(nn, f"{kind}Pad{rank}d") for kind in kinds for rank in (1, 2, 3))
    if isinstance(module, folded):
        # the same: their borders fold back onto real pixels, but the window is that of zeros
        module = getattr(nn, f"ZeroPad{len(module.padding) // 2}d")(module.padding)
    adaptive = {
        nn.AdaptiveMaxPool1d: nn.AdaptiveAvgPool1d,
        nn.AdaptiveMaxPool2d: nn.AdaptiveAvgPool2d,
        nn.AdaptiveMaxPool3d: nn.AdaptiveAvgPool3d,
    }
    if type(module) in adaptive:
        module = adaptive[type(module)](module.output_size)
    batch_norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    statistics = (nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, *batch_norms)
    normalize = type(module).__name__ in ("Normalize", "NormalizeReference")  # the export's, the reference's
    if normalize or isinstance(module, (nn.LocalResponseNorm, *statistics, nn.Softmax, nn.LogSoftmax, nn.LayerNorm)):
        # neutral for receptive fields by convention: LRN and layer norm mix channels only
        # (and a layer norm of the probe's equal channels has no gradient at all), batch, group
        # and instance statistics are not a spatial window (and the probe's constant input has
        # none to normalise), and a softmax or an Lp normalisation over channels sums to one
        # (a spatial one already ends the field in cnncalc, so it never gets here)
        module = nn.Identity()
    if isinstance(module, (nn.Sigmoid, nn.Tanh)):
        # element-wise and increasing, so neutral; on the probe's growing values (270,000
        # before DCGAN's discriminator's sigmoid) it would saturate to a zero gradient
        module = nn.Identity()
    for name, param in module.named_parameters():
        with torch.no_grad():
            param.fill_(0.01 if name in ("weight", "scale") else 0.0)
    return module


def _probe_model(spec, upto: int):
    """The first `upto` layers, each swapped for its _probe_module twin."""
    torch = require_torch()
    layers = [_probe_module(module) for module in list(build_sequential(spec))[:upto]]
    if None in layers:
        return None
    for module in layers:  # an in-place layer would overwrite what the one before saved
        if getattr(module, "inplace", False):
            module.inplace = False
    return torch.nn.Sequential(*layers).eval()


def _probe_graph(planned, last: int):
    """A function from the input to layer `last`'s output, through the exported module's layers
    swapped for their _probe_module twins, merges evaluated as its forward() writes them."""
    torch = require_torch()
    model = _exported(planned)
    paths = export(planned).paths
    for row in planned.layers:
        held = None if row.spec.layer.inline(len(row.spec.inputs)) else member(model, paths[row.name])
        if isinstance(held, torch.nn.Parameter):  # a layer scale: a neutral positive factor
            with torch.no_grad():
                held.fill_(0.01)
        elif held is not None:
            probe = _probe_module(held)
            if probe is None:
                return None
            parent, _, child = paths[row.name].rpartition(".")
            setattr(model.get_submodule(parent), child, probe)
    model.eval()

    def run(x):
        # the first input is probed; any other (DDPM's timestep embedding) is held at ones
        tensors = {name: torch.ones((1, *shape)) for name, shape in planned.input_shapes.items()}
        tensors[next(iter(tensors))] = tensors[NETWORK_INPUT] = x
        for position in planned.order:
            row = planned.layers[position]
            arguments = [tensors[source] for source in row.spec.inputs] or [x]  # a parameter: the batch size
            if row.spec.layer.inline(len(row.spec.inputs)):
                names = [f"inputs[{i}]" for i in range(len(arguments))]
                expression = row.spec.layer.torch_forward(row.spec.cfg, names)
                tensors[row.name] = eval(expression, {"torch": torch, "inputs": arguments})
            else:
                tensors[row.name] = run_member(torch, model, paths[row.name], row.spec.layer, arguments)
            if position == last:
                return tensors[row.name]
        raise AssertionError(f"layer {last} never ran")

    return run


def _extent(mask):
    """(first, last) index where `mask` is true, or None."""
    hits = mask.nonzero().flatten()
    return (int(hits.min()), int(hits.max())) if len(hits) else None


def _measured_extents(model, input_shape, where):
    """For output pixel `where` ("first", "middle" or "last" on every spatial axis): its position
    and, per spatial axis of the input (length; height, width; depth, height, width), the first
    and last index it depends on."""
    torch = require_torch()
    x = torch.ones((1, *input_shape), requires_grad=True)
    out = model(x * 1)  # not the leaf itself: a first layer may work in place
    pick = {"first": lambda n: 0, "middle": lambda n: n // 2, "last": lambda n: n - 1}[where]
    position = tuple(pick(n) for n in out.shape[2:])
    out[(0, slice(None), *position)].sum().backward()
    touched = x.grad[0].abs().sum(dim=0) > 0
    return position, [
        _extent(touched.movedim(axis, 0).reshape(touched.shape[axis], -1).any(dim=1)) for axis in range(touched.dim())
    ]


def _expected_extents(field, position, input_shape):
    extents = []
    for axis in range(len(input_shape) - 1):
        start = position[axis] * field.stride[axis] - field.padding[axis]
        end = start + field.size[axis] - 1
        start, end = max(start, 0), min(end, input_shape[1 + axis] - 1)
        extents.append((start, end) if start <= end else None)  # None: a window of padding only
    return extents


def _wider_than_input(row) -> bool:
    """A dilated kernel spanning more than its input along some axis."""
    cfg = row.spec.cfg
    if "dilation" not in cfg or "kernel_size" not in cfg or not isinstance(cfg["dilation"], tuple):
        return False
    spans = [d * (k - 1) + 1 for k, d in zip(cfg["kernel_size"], cfg["dilation"])]
    return any(span > size for span, size in zip(spans, row.input_shape[1:]))


def check_field_by_gradients(spec, rows, last, *, exact=True, planned=None):
    """The input pixels an output pixel depends on lie in its receptive field, and fill it.

    `exact=False` checks only that they lie inside: when a layer's floor division
    leaves the input's last rows unused and a later layer pads over them, the
    recurrences (like the Distill article's) count rows that nothing reads.
    A graph spec needs its `planned` plan, to run through the exported module.
    """
    model = _probe_graph(planned, last) if spec.is_graph else _probe_model(spec, last + 1)
    if model is None:
        pytest.skip("a dilated max pool has no average-pool twin to probe with")
    for where in ("first", "middle", "last"):
        position, seen = _measured_extents(model, spec.input_shape, where)
        expected = _expected_extents(rows[last].receptive_field, position, spec.input_shape)
        if None in expected:  # a window entirely in padding sees nothing along any axis
            assert seen == [None] * len(expected), (where, rows[last].name)
        elif exact:
            assert seen == expected, (where, rows[last].name)
        else:
            for got, (start, end) in zip(seen, expected):
                assert got is None or start <= got[0] <= got[1] <= end, (where, seen, expected)


@pytest.mark.parametrize("path", ARCHITECTURES, ids=lambda p: p.stem)
def test_architecture_receptive_fields_match_gradients(path):
    spec = load_file(str(path))
    planned = plan(spec)
    rows = planned.layers
    with_field = [i for i, row in enumerate(rows) if row.receptive_field is not None]
    if not with_field:  # a generator: a transposed convolution first, and it has no field
        assert rows[0].receptive_field is None and "transpose" in rows[0].type_name
        return
    last = with_field[-1]
    # rows a stride leaves unread (SqueezeNet's stem) are inside the field but get no gradient, and
    # so do those only a dilated kernel wider than its input reaches (DeepLab's ASPP, rate 36 on
    # 65x65: the middle pixel's outer taps are padding)
    exact = not any("never read" in warning.message for warning in planned.warnings)
    exact = exact and not any(_wider_than_input(row) for row in rows)
    check_field_by_gradients(spec, rows, last, exact=exact, planned=planned)


# the first generator's 2-D networks, and some 1-D, 2-D and 3-D ones of the rank-generic one
RANDOM_CASES = [pytest.param(None, seed, id=case_key(seed)) for seed in range(400)] + [
    pytest.param(rank, seed, id=case_key(seed, rank)) for rank in (1, 2, 3) for seed in range(40)
]


def _unprobed(row) -> bool:
    """Where the random networks' receptive-field probe stops: a max pool it cannot average
    (torch.nn.AvgPool3d refuses a window larger than the unpadded input, which MaxPool3d takes),
    and a transpose, whose field cnncalc does not move with the axes
    (test_transpose_receptive_field_follows_the_axes)."""
    if row.type_name == "transpose":
        return True
    sides = row.input_shape[1:]
    return row.type_name == "maxpool3d" and any(k > n for k, n in zip(row.spec.cfg["kernel_size"], sides))


@pytest.mark.parametrize(("rank", "seed"), RANDOM_CASES)
def test_random_network_costs_match_torch(rank, seed):
    """MACs per layer, saved activations and receptive fields on random valid networks (generated
    here, not when pytest collects the file; tests/test_torch_random.py checks the refused ones)."""
    case = generate(seed, rank)
    if case.fault_index is not None:
        pytest.skip(f"{case.id} is meant to be refused")
    require_torch()
    try:
        spec = parse(case.text, "rand.yaml")
        result = plan(spec)
    except SpecError as exc:  # pragma: no cover - the shape test reports these
        pytest.fail(f"valid network refused: {exc}")
    # the flop counter misses the CPU's fused self-attention in eval mode, counted on the meta
    # device instead (tests/layers/test_attention.py): compare the other layers
    counted = [row.type_name != "multihead_attention" for row in result.layers]
    macs = [(row.macs, measured) for row, measured in zip(result.layers, measure_macs(spec))]
    assert [pair[0] for pair, c in zip(macs, counted) if c] == [pair[1] for pair, c in zip(macs, counted) if c], (
        case.text
    )
    if min(spec.input_shape) >= 1:
        estimated = estimate(result, batch_size=2).saved_activations_bytes
        measured = measure_saved_bytes(spec, batch_size=2)
        # within 1%, or a few bytes: dropout with p = 1 keeps a scalar the model leaves out
        assert abs(estimated - measured) <= max(0.01 * measured, 16), (estimated, measured, case.text)
    probed = next((i for i, row in enumerate(result.layers) if _unprobed(row)), len(result.layers))
    with_field = [i for i, row in enumerate(result.layers[:probed]) if row.receptive_field is not None]
    if with_field:
        check_field_by_gradients(spec, result.layers, with_field[-1], exact=False)


def test_a_transposes_field_is_along_the_inputs_axes():
    """A receptive field is a window of the input, so its sizes are along the input's axes,
    however the layers after reorder theirs: swapping height and width after a [1, 3] kernel keeps
    (1, 3), as the gradients measure (one input row, three columns). The random networks
    (1d-s0265, 2d-s0088, 3d-s0164, ...) probed a transpose that moves the channels into a
    spatial place, where an output position along the output's axes is no input position; that
    case is left out of the probe (it stops before a transpose)."""
    text = "input: [2, 6, 9]\nlayers:\n  - conv2d: {out_channels: 2, kernel_size: [1, 3]}\n  - transpose: {dim0: 2, dim1: 3}\n"
    spec = parse(text)
    rows = plan(spec).layers
    assert rows[1].receptive_field.size == (1, 3)
    torch = require_torch()
    x = torch.ones(1, 2, 6, 9, requires_grad=True)
    out = torch.nn.Conv2d(2, 2, (1, 3))(x).transpose(2, 3)  # [1, 2, 7, 6]: output (w, h)
    out[0, 0, 4, 3].backward()  # the output pixel at input row 3, column 4
    rows_seen, columns_seen = x.grad[0].abs().sum(0).nonzero().unbind(1)
    assert (int(rows_seen.min()), int(rows_seen.max())) == (3, 3)  # one row: size 1 along height
    assert (int(columns_seen.min()), int(columns_seen.max())) == (4, 6)  # three columns: size 3 along width


def test_frozen_attention_keeps_no_input():
    """With trainable: false, nn.MultiheadAttention's in-projection needs no weight gradient, so
    autograd does not keep its input ([6, 8] here: 384 bytes at batch 2; 2,016 bytes, which
    cnncalc counted as 2,400 before). Found by the random networks (1d-s0099, 1d-s0141)."""
    require_torch()
    layers = "  - conv1d: {out_channels: 6, kernel_size: 1}\n  - {mha: {num_heads: 2}, trainable: false}\n"
    spec = parse("input: [4, 8]\nlayers:\n" + layers)
    assert estimate(plan(spec), batch_size=2).saved_activations_bytes == measure_saved_bytes(spec, batch_size=2)


def test_dropout_p0_in_a_network_of_views_saves_nothing():
    """torch returns the input itself from a dropout with p = 0 (ATen's _dropout, also dropout1d/2d/3d),
    so a network whose other layers are views keeps nothing for backward; cnncalc counts the output
    as a new tensor (192 bytes here, at batch 2). It shows wherever the dropout's input is not
    already saved: the network's input, or an in-place layer on it. Found by the random networks
    (2d-s0043, 3d-s0041, 3d-s0142, 1d-s0154, 1d-s0213 of the rank generator)."""
    require_torch()
    spec = parse("input: [2, 3, 4]\nlayers:\n  - dropout: 0\n  - flatten\n")
    assert measure_saved_bytes(spec, batch_size=2) == 0
    assert estimate(plan(spec), batch_size=2).saved_activations_bytes == 0


def test_resnet50_main_path_receptive_field():
    """torchvision ResNet-50's last stage sees 427 / 32 / 213 (semantics.md §6). Its shortcuts see
    less than the main path, so the main path alone, written sequentially, has the network's field."""
    layers = [
        "  - conv2d: {out_channels: 64, kernel_size: 7, stride: 2, padding: 3}",
        "  - maxpool2d: {kernel_size: 3, stride: 2, padding: 1}",
    ]
    channels = 64
    for stage, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1  # torchvision puts the stride in the 3x3
            layers += [
                f"  - conv2d: {{out_channels: {width}, kernel_size: 1}}",
                f"  - conv2d: {{out_channels: {width}, kernel_size: 3, stride: {stride}, padding: 1}}",
                f"  - conv2d: {{out_channels: {4 * width}, kernel_size: 1}}",
            ]
            channels = 4 * width
    rows = plan(parse("input: [3, 224, 224]\nlayers:\n" + "\n".join(layers) + "\n")).layers
    field = rows[-1].receptive_field
    assert (field.size, field.stride, field.padding) == ((427, 427), (32, 32), (213, 213))
    assert rows[-1].output_shape == (channels, 7, 7)
