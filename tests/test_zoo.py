"""The model zoo: each architectures/<model>.yaml against a torch.nn model built by hand to
torchvision's design (tests/zoo_torch_*.py), layer by layer, by torchvision's module paths.

Independent of cnncalc's export: the reference models are written from torchvision's source,
so a spec and its reference agreeing is evidence about both. For every module of the
reference that holds parameters, the spec has a layer of the same name with the same
parameter count; every reference module's output shape (its first call, for a module
called twice) equals the planned shape of the layer with its name; and the totals and
the MACs (torch.utils.flop_counter, FLOPs / 2) are equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from published import PUBLISHED_PARAMS, ZOO, zoo_names
from torch_reference import require_torch

from cnncalc.engine import plan
from cnncalc.spec import load_file

ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"
CLASSIC, MOBILE = zoo_names("zoo_torch_classic"), zoo_names("zoo_torch_mobile")  # collecting imports no torch
WRITTEN = sorted(name for name in CLASSIC + MOBILE if (ARCHITECTURES / f"{name}.yaml").exists())


@pytest.fixture(scope="module")
def zoo_torch():
    """The reference models by name (importing them imports torch)."""
    require_torch()
    from zoo_torch_classic import MODELS as classic
    from zoo_torch_mobile import MODELS as mobile

    return {**classic, **mobile}


def measure(model, in_shape):
    """(output shape of each module's first call by path, parameters by owner, MACs) on meta."""
    torch = require_torch()
    shapes: dict[str, tuple] = {}

    def hook(path):
        def record(module, inputs, output):
            if isinstance(module, torch.nn.MultiheadAttention):
                output = output[0]  # (attention output, weights or None)
            if isinstance(output, torch.Tensor):
                shapes.setdefault(path, tuple(output.shape[1:]))

        return record

    handles = [module.register_forward_hook(hook(path)) for path, module in model.named_modules() if path]
    from torch.utils.flop_counter import FlopCounterMode

    # several inputs (a dict of shapes by name) are passed in order
    shapes_in = in_shape.values() if isinstance(in_shape, dict) else (in_shape,)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(*(torch.empty(1, *shape, device="meta") for shape in shapes_in))
    for handle in handles:
        handle.remove()
    leaves = {path for path, module in model.named_modules() if not list(module.children())}
    # nn.MultiheadAttention holds in_proj_weight itself and its out_proj as a child: one layer in a spec
    attentions = tuple(path + "." for path, m in model.named_modules() if isinstance(m, torch.nn.MultiheadAttention))
    owners: dict[str, int] = {}
    for name, parameter in model.named_parameters():
        module_path, _, short = name.rpartition(".")
        # a conv's weight and bias belong to the conv; a parameter held by a block itself
        # (ConvNeXt's layer_scale) is a layer of its own in the spec
        owner = module_path if module_path in leaves and short in ("weight", "bias") else name
        owner = next((path[:-1] for path in attentions if name.startswith(path)), owner)
        owners[owner] = owners.get(owner, 0) + parameter.numel()
    # a model that returns a tuple of tensors (a detector's levels) gives a tuple of shapes
    out_shape = tuple(tuple(o.shape[1:]) for o in out) if isinstance(out, tuple) else tuple(out.shape[1:])
    return shapes, owners, counter.get_total_flops() // 2, out_shape


def test_every_zoo_model_has_a_reference_and_a_published_count(zoo_torch):
    assert sorted(zoo_torch) == sorted(CLASSIC + MOBILE)
    assert set(CLASSIC + MOBILE) == ZOO
    assert ZOO <= set(PUBLISHED_PARAMS)
    assert not set(CLASSIC) & set(MOBILE)


@pytest.mark.parametrize("name", WRITTEN)
def test_zoo_spec_matches_its_reference_layer_by_layer(name, zoo_torch):
    build, in_shape = zoo_torch[name]
    assert_matches_reference(ARCHITECTURES / f"{name}.yaml", build, in_shape, PUBLISHED_PARAMS[name])


def assert_counts_and_runs(build, in_shape, count: int, output_shape) -> None:
    """The reference `build()` makes has `count` parameters, and its forward pass on the meta device
    (a batch of two of `in_shape`, or of each shape of a dict of named inputs, in order) gives
    `output_shape`, or for a model that returns a tuple, the tuple of its outputs' shapes."""
    torch = require_torch()
    shapes = list(in_shape.values()) if isinstance(in_shape, dict) else [in_shape]
    with torch.device("meta"):
        model = build().eval()
        assert sum(p.numel() for p in model.parameters()) == count
        with torch.no_grad():
            out = model(*(torch.empty(2, *shape) for shape in shapes))
    outs, expected = (out, output_shape) if isinstance(out, tuple) else ((out,), (output_shape,))
    assert [tuple(o.shape) for o in outs] == [(2, *shape) for shape in expected]
    assert all(o.device.type == "meta" for o in outs)


def assert_matches_reference(spec_path, build, in_shape, published, rename=None):
    """The spec at `spec_path` plans as the torch.nn model `build()` runs on `in_shape`, layer by layer
    (module paths), in total (`published` parameters), in output shape (each, in order, for a model
    that returns a tuple: the spec's `outputs:`) and in MACs. `in_shape` may be a dict of the spec's
    `inputs:` by name (the model called with each, in order); `rename` maps a module path to the
    spec's name for it, where the two differ."""
    torch = require_torch()
    result = plan(load_file(str(spec_path)))
    if isinstance(in_shape, dict):
        assert {name: tuple(shape) for name, shape in result.input_shapes.items()} == in_shape
        assert list(result.input_shapes) == list(in_shape)
    else:
        assert tuple(result.input_shape) == in_shape
    with torch.device("meta"):
        model = build().eval()
    shapes, owners, macs, out = measure(model, in_shape)
    rename = rename or (lambda path: path)
    shapes = {rename(path): shape for path, shape in shapes.items()}
    owners = {rename(owner): count for owner, count in owners.items()}
    rows = {row.name: row for row in result.layers}

    missing = sorted(owner for owner in owners if owner not in rows)
    assert not missing, f"reference modules with parameters that the spec lacks: {missing[:10]}"
    wrong_params = [
        (owner, rows[owner].params, count) for owner, count in owners.items() if rows[owner].params != count
    ]
    assert not wrong_params, f"(layer, planned, torch) params differ: {wrong_params[:10]}"
    extra = sorted(row.name for row in result.layers if row.params and row.name not in owners)
    assert not extra, f"spec layers with parameters that the reference lacks: {extra[:10]}"

    compared = [path for path in shapes if path in rows]
    wrong_shapes = [
        (path, rows[path].output_shape, shapes[path]) for path in compared if rows[path].output_shape != shapes[path]
    ]
    assert not wrong_shapes, f"(layer, planned, torch) shapes differ: {wrong_shapes[:10]}"
    # every module with parameters had its shape checked (a parameter a block holds itself has no output)
    assert {owner for owner in owners if owner in {rename(path) for path, _ in model.named_modules()}} <= set(compared)

    assert result.totals.params == published
    outs = out if out and isinstance(out[0], tuple) else (out,)  # the shapes of what the model returns
    assert tuple(result.output_shapes.values()) == outs
    assert result.totals.macs == macs


def test_zoo_table_in_costs_md_is_current():
    import sys

    sys.path.insert(0, str(ARCHITECTURES.parent / "tools"))
    import zoo_table

    text = zoo_table.COSTS.read_text()
    assert zoo_table.rewritten(text) == text, "stale zoo table in docs/costs.md; run: python tools/zoo_table.py"
    assert set(zoo_table.ZOO) == ZOO
