"""Layer names cnncalc knows it lacks get "not supported" and the nearest real alternative, never a
look-alike by spelling; the catalogue holds no name cnncalc has."""

from __future__ import annotations

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.layers import REGISTRY, lookup
from cnncalc.layers.unsupported import UNSUPPORTED, unsupported
from cnncalc.spec import parse


def test_the_catalogue_holds_no_type_cnncalc_has():
    have = {name.replace("_", "") for name in REGISTRY}
    assert not sorted(set(UNSUPPORTED) & have)


def test_every_alternative_named_is_a_type():
    for _why, instead in UNSUPPORTED.values():
        if instead is not None:
            assert lookup(instead.split()[0]) is not None, instead


@pytest.mark.parametrize(
    "written, fragment",
    [
        ("LSTM", "'LSTM' is not supported: recurrent layers"),
        ("nn.GRU", "recurrent layers"),
        ("CrossEntropyLoss", "a loss function, not a layer"),
        ("LazyConv2d", "cnncalc infers in_channels already; use conv2d"),
        ("LazyBatchNorm3d", "use batchnorm3d"),
        ("SyncBatchNorm", "use batchnorm2d"),
        ("UpsamplingBilinear2d", "use upsample with mode: bilinear and align_corners: true"),
        ("Sequential", "write its layers in a `sequential:` list"),
        ("SELU", "`identity` has the same shapes"),
        ("Resizing", "a preprocessing layer"),
    ],
)
def test_a_known_missing_type_says_not_supported_at_its_line(written, fragment):
    with pytest.raises(SpecError) as caught:
        plan(parse(f"input: [3, 8, 8]\nlayers:\n  - relu\n  - {{type: {written}}}\n", "s.yaml"))
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.loc.line, diagnostic.loc.column) == ("spec.unknown-type", 4, 12)
    assert fragment in diagnostic.message and "did you mean" not in diagnostic.message


def test_a_misspelling_still_gets_did_you_mean():
    assert unsupported("convd2") is None
    with pytest.raises(SpecError, match="did you mean 'conv2d'"):
        plan(parse("input: [3, 8, 8]\nlayers: [convd2]\n", "s.yaml"))


def test_cnncalc_layers_says_not_supported_too():
    result = runner().invoke(cli, ["layers", "LSTM"])
    assert result.exit_code == 2
    assert "error: 'LSTM' is not supported: recurrent layers" in result.stderr


def _diagnostics(text):
    with pytest.raises(SpecError) as caught:
        plan(parse(text, "s.yaml"))
    return [(d.code, d.loc.line, d.message) for d in caught.value.diagnostics]


def test_a_block_named_like_a_layer_type_is_refused_once_not_again_at_each_call():
    text = "input: [3, 8, 8]\nblocks:\n  conv:\n    layers: [relu]\nlayers:\n  - conv\n  - conv\n"
    assert _diagnostics(text) == [
        ("spec.bad-name", 3, "block 'conv': 'conv' is a layer type; give the block another name")
    ]


def test_an_argument_named_like_a_block_is_refused():
    text = "input: [3, 8, 8]\nblocks:\n  unit:\n    args: [act]\n    layers: [act]\n  act: [relu]\nlayers:\n  - {type: unit, act: relu}\n"
    assert _diagnostics(text) == [
        ("spec.bad-name", 3, "block 'unit': argument 'act' is the name of a block; call it something else")
    ]
