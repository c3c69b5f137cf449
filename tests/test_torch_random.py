"""Random sequential networks, built with torch.nn and planned with cnncalc: they must agree.

The issue's acceptance test: generate many random networks (random kernel,
stride, padding, dilation, groups, ceil_mode, output_padding, rectangular
inputs, all three entry forms - see tests/random_specs.py), build them with
torch.nn (tests/torch_reference.py), and check that

* when torch runs the whole network, cnncalc plans it and every layer's
  output shape, parameters, trainable parameters and buffers equal torch's;
* when torch refuses layer i (construction or forward pass), cnncalc
  refuses too, with its first diagnostic located inside layer i's entry, and
  plans the layers before it exactly as torch ran them;
* a refused spec run through the CLI exits with status 2 and a located
  `path:line:col: error: layer '...'` message, not a traceback.

The same holds for networks of every rank (issue 12): 1-D networks on
[C, L] (conv1d, the 1-D pools, batchnorm1d, dropout1d, upsample's linear
mode), 3-D ones on small [C, D, H, W] volumes, and 2-D ones from the same
rank-generic generator, each also meeting layers of another rank, which
torch refuses (`wrong-rank`), and flattening to [C, L] to go on in 1-D; they
also use issue 12's new families (group and instance norm, normalize, the
pads, pixel shuffles, the views and self-attention). 100 seeds per rank by
default; CNNCALC_RANDOM_RANK_CASES=3000 searches further (about a minute).

The generator is seeded per case, so every case id (the seed, e.g. `s0042`,
or with a rank `1d-s0042`, `2d-s0042`, `3d-s0042`; `-k s0042` runs them) reproduces
exactly; a failure prints the case's full id
(e.g. `s0042-3x17x9-6L-conv2d.kernel-too-big@2`), the YAML, cnncalc's result
and torch's. To replay one by hand:
`python tests/random_specs.py` prints generated specs, or
`random_specs.generate(42).text` (`generate(42, rank=3)` for `3d-s0042`).

Where cnncalc deliberately differs from torch (linear on a non-flat input
without in_features, and a few others), the generator does not go; the list
and the reasons are in tests/random_specs.py's docstring.
"""

from __future__ import annotations

import os

import pytest
from random_specs import case_key, generate
from torch_reference import require_torch, run_torch

from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.spec import parse

# CNNCALC_RANDOM_CASES=20000 searches further; the default keeps the file well under a minute.
# Cases are generated inside the test, from the seed, not when pytest collects the file.
N_CASES = int(os.environ.get("CNNCALC_RANDOM_CASES", "2000"))
SEEDS = range(N_CASES)
# networks of each rank from the rank-generic generator (CNNCALC_RANDOM_RANK_CASES per rank)
RANK_CASES = int(os.environ.get("CNNCALC_RANDOM_RANK_CASES", "100"))
RANKED = [pytest.param(rank, seed, id=case_key(seed, rank)) for rank in (1, 2, 3) for seed in range(RANK_CASES)]
CLI_SEEDS = range(10_000, 10_400)  # searched, in order, for refused specs to run through the CLI
CLI_CASES = {None: 10, 1: 3, 3: 3}  # how many of the first generator's and of each rank's

pytestmark = [
    # torch warns about deprecated or slow paths the generator takes on purpose
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def torch():
    return require_torch()


# ----------------------------------------------------------------------------- reporting


def _numbered(text: str) -> str:
    return "\n".join(f"{i:>4} | {line}" for i, line in enumerate(text.splitlines(), 1))


def _cnncalc_text(result) -> str:
    if isinstance(result, SpecError):
        return "refused:\n" + "\n".join(f"  {d.loc}: {d.code}: {d.message}" for d in result.diagnostics)
    if isinstance(result, BaseException):
        return f"crashed: {type(result).__name__}: {result}"
    rows = [
        f"  {i:>2} {r.name:<22} {r.output_shape!s:<18} params={r.params} "
        f"trainable={r.trainable_params} buffers={r.buffers}"
        for i, r in enumerate(result.layers)
    ]
    return "planned:\n" + "\n".join(rows)


def _torch_text(measured, failure) -> str:
    rows = [
        f"  {i:>2} {m.output_shape!s:<18} params={m.params} trainable={m.trainable_params} buffers={m.buffers}"
        for i, m in enumerate(measured)
    ]
    if failure is None:
        return "ran every layer:\n" + "\n".join(rows)
    index, exc = failure
    head = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"refused layer {index}: {type(exc).__name__}: {head}\n" + (
        "layers before it:\n" + "\n".join(rows) if rows else ""
    )


def _report(case, problem: str, cnncalc=None, torch_result=None) -> str:
    parts = [f"{case.id}: {problem}", "", "spec (rand.yaml):", _numbered(case.text)]
    intent = case.fault_index
    parts.append(
        f"generator meant: {'a valid network' if intent is None else f'layer {intent} refused ({case.layers[intent].label})'}"
    )
    if cnncalc is not None:
        parts += ["", "cnncalc " + _cnncalc_text(cnncalc)]
    if torch_result is not None:
        parts += ["", "torch " + _torch_text(*torch_result)]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- checks


def _check_parsed(case, spec) -> None:
    """cnncalc read each entry as the generator wrote it (the oracle builds torch from this)."""
    assert len(spec.layers) == len(case.layers), _report(case, "wrong number of layers parsed")
    # unnamed layers are called conv2d_1, conv2d_2, ... per type, skipping names the spec gives
    given = {gen.name for gen in case.layers if gen.name}
    counters: dict[str, int] = {}
    expected_names = []
    for gen in case.layers:
        name = gen.name
        while name is None or (gen.name is None and name in given):
            counters[gen.type_name] = counters.get(gen.type_name, 0) + 1
            name = f"{gen.type_name}_{counters[gen.type_name]}"
        expected_names.append(name)
    names = [layer.name for layer in spec.layers]
    assert names == expected_names, _report(case, f"layer names {names}, expected {expected_names}")
    for i, (gen, got) in enumerate(zip(case.layers, spec.layers)):
        where = f"layer {i} ({gen.type_key}, {gen.form} form)"
        assert got.type_name == gen.type_name, _report(case, f"{where} parsed as type {got.type_name}")
        for key, value in gen.expect.items():
            assert got.cfg[key] == value, _report(case, f"{where}: {key} parsed as {got.cfg[key]!r}, wrote {value!r}")
        assert got.trainable == (gen.trainable is not False), _report(case, f"{where}: trainable is {got.trainable}")
        assert gen.first_line <= got.loc.line <= gen.last_line, _report(
            case, f"{where}: located at line {got.loc.line}, written on lines {gen.first_line}-{gen.last_line}"
        )


def _check_layers(case, planned, measured, torch_result, cnncalc) -> None:
    for i, (r, m) in enumerate(zip(planned, measured)):
        ours = (r.output_shape, r.params, r.trainable_params, r.buffers)
        theirs = (m.output_shape, m.params, m.trainable_params, m.buffers)
        assert ours == theirs, _report(
            case,
            f"layer {i} ({r.name}): cnncalc (shape, params, trainable, buffers) = {ours}, torch = {theirs}",
            cnncalc,
            torch_result,
        )


def _plan_or_error(case, spec, torch_result):
    """cnncalc's plan, or the SpecError it raised; any other exception fails the case."""
    try:
        return plan(spec)
    except SpecError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - reported with the spec that caused it
        pytest.fail(_report(case, "cnncalc crashed while planning", exc, torch_result))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"s{seed:04d}")
def test_random_network_matches_torch(seed, torch):
    check_case(generate(seed))


@pytest.mark.parametrize(("rank", "seed"), RANKED)
def test_random_network_of_each_rank_matches_torch(rank, seed, torch):
    check_case(generate(seed, rank))


def check_case(case) -> None:
    """torch and cnncalc agree on the case: the same layers planned, or refused at the same one."""
    try:
        spec = parse(case.text, "rand.yaml")
    except Exception as exc:  # noqa: BLE001 - the generator writes only schema-valid entries
        pytest.fail(_report(case, "cnncalc did not parse the spec", exc))
    _check_parsed(case, spec)

    try:
        measured, failure = run_torch(spec)
    except Exception as exc:  # noqa: BLE001 - an exception type the oracle does not count as a refusal
        pytest.fail(_report(case, f"the torch oracle raised {type(exc).__name__}: {exc}"))
    torch_result = (measured, failure)
    result = _plan_or_error(case, spec, torch_result)

    if failure is None:
        if isinstance(result, SpecError):
            pytest.fail(_report(case, "torch runs this network but cnncalc refuses it", result, torch_result))
        _check_layers(case, result.layers, measured, torch_result, result)
        assert result.output_shape == measured[-1].output_shape
        totals = (result.totals.params, result.totals.trainable_params, result.totals.buffers)
        assert totals == (
            sum(m.params for m in measured),
            sum(m.trainable_params for m in measured),
            sum(m.buffers for m in measured),
        ), _report(case, f"totals {totals} differ from torch's", result, torch_result)
    else:
        _check_refusal(case, spec, result, torch_result)


def _check_refusal(case, spec, result, torch_result) -> None:
    """torch refused a layer: cnncalc refuses the same one, and plans the layers before it as torch ran them."""
    measured, (index, _exc) = torch_result
    layer = case.layers[index]
    if not isinstance(result, SpecError):
        pytest.fail(
            _report(case, f"torch refuses layer {index} ({layer.type_key}) but cnncalc plans it", result, torch_result)
        )
    first = result.diagnostics[0]
    assert first.loc is not None and layer.first_line <= first.loc.line <= layer.last_line, _report(
        case,
        f"torch refuses layer {index}, written on lines {layer.first_line}-{layer.last_line}, "
        f"but cnncalc's first error is at {first.loc}",
        result,
        torch_result,
    )
    assert first.message.startswith(f"layer {spec.layers[index].name!r} "), _report(
        case, f"the error does not name layer {spec.layers[index].name!r}", result, torch_result
    )
    if index:  # what torch ran before refusing, cnncalc must plan identically: the spec cut after layer index - 1
        cut = "\n".join(case.text.splitlines()[: case.layers[index - 1].last_line]) + "\n"
        prefix = _plan_or_error(case, parse(cut, "rand.yaml"), torch_result)
        if isinstance(prefix, SpecError):
            pytest.fail(
                _report(case, f"cnncalc refuses the first {index} layers, which torch ran", prefix, torch_result)
            )
        assert len(prefix.layers) == len(measured) == index, _report(case, "the cut spec", prefix, torch_result)
        _check_layers(case, prefix.layers, measured, torch_result, prefix)


@pytest.mark.parametrize("rank", list(CLI_CASES), ids=lambda rank: "2d-first" if rank is None else f"{rank}d")
def test_cli_refuses_with_located_error(rank, torch, tmp_path):
    """Refused specs through `cnncalc plan`: exit 2, `path:line:col: error: layer '...'`, no traceback."""
    from clirun import runner as make_runner

    from cnncalc.cli import cli

    runner = make_runner()  # stderr kept apart on every click version
    checked = []
    for seed in CLI_SEEDS:
        case = generate(seed, rank)
        if case.fault_index is None:
            continue
        measured, failure = run_torch(parse(case.text, "rand.yaml"))
        if failure is None:
            continue
        layer = case.layers[failure[0]]
        path = tmp_path / f"rand-{seed}.yaml"
        path.write_text(case.text)
        result = runner.invoke(cli, ["plan", str(path)])
        context = _report(case, f"cnncalc plan exited {result.exit_code}", torch_result=(measured, failure))
        context += f"\n\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        assert result.exit_code == 2, context
        assert isinstance(result.exception, SystemExit), context + f"\nexception: {result.exception!r}"
        assert "Traceback" not in result.stdout + result.stderr, context
        location, _, rest = result.stderr.partition(": error: ")
        assert rest.startswith("layer '"), context
        file, line, column = location.rsplit(":", 2)
        assert file == str(path), context
        assert layer.first_line <= int(line) <= layer.last_line and int(column) >= 1, context
        checked.append(case.id)
        if len(checked) == CLI_CASES[rank]:
            break
    assert len(checked) == CLI_CASES[rank], f"only {len(checked)} refused specs among seeds {CLI_SEEDS}"


def test_generator_mix():
    """The generator keeps its promises: about a quarter meant to be refused, every entry form used."""
    cases = [generate(seed) for seed in SEEDS]
    intended = sum(c.fault_index is not None for c in cases) / len(cases)
    assert 0.18 <= intended <= 0.35, intended
    forms = {layer.form for c in cases for layer in c.layers}
    assert forms >= {"bare", "scalar", "explicit-flow", "explicit-block", "onekey-flow", "onekey-block"}
    assert sum(c.input_shape[1] != c.input_shape[2] for c in cases if len(c.input_shape) == 3) > len(cases) // 2
    assert [generate(7).text for _ in range(2)] == [cases[7].text] * 2  # deterministic


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_generator_mix_of_each_rank(rank):
    """The rank-generic generator: inputs of its rank, every family of the rank, layers of other
    ranks refused, about a quarter of the networks meant to be refused, and deterministic."""
    cases = [generate(seed, rank) for seed in range(max(RANK_CASES, 300))]
    intended = sum(c.fault_index is not None for c in cases) / len(cases)
    assert 0.18 <= intended <= 0.38, intended
    assert sum(len(c.input_shape) == rank + 1 for c in cases) > 0.9 * len(cases)
    types = {layer.type_name for c in cases for layer in c.layers}
    families = ["conv", "conv_transpose", "maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "batchnorm"]
    families += ["global_avgpool", "global_maxpool", "dropout", "instancenorm"]
    families += ["zero_pad", "constant_pad", "reflection_pad", "replication_pad", "circular_pad"]
    assert {f"{family}{rank}d" for family in families} | {"groupnorm", "normalize"} <= types
    assert {"transpose", "reshape", "unflatten"} <= types
    if rank == 1:
        assert "multihead_attention" in types
    if rank == 2:
        assert {"frozen_batchnorm2d", "pixel_shuffle", "pixel_unshuffle", "select"} <= types
    modes = {layer.expect.get("mode") for c in cases for layer in c.layers if layer.type_name == "upsample"}
    assert {"nearest", "area", {1: "linear", 2: "bilinear", 3: "trilinear"}[rank]} <= modes
    faults = {c.layers[c.fault_index].fault for c in cases if c.fault_index is not None}
    assert "wrong-rank" in faults and len(faults) >= 12, faults
    assert generate(7, rank).text == cases[7].text  # deterministic
    assert generate(7, rank).id.startswith(f"{rank}d-s0007-")
    assert generate(7, rank).text != generate(7).text  # a stream apart from the first generator's


def test_avgpool3d_window_larger_than_unpadded_input(torch):
    """torch checks AvgPool3d's window against the input before padding ("input image (T: 1 H: 1
    W: 1) smaller than kernel size (kT: 2 kH: 2 kW: 2)"; AvgPool1d/2d and MaxPool3d do not), and
    so does cnncalc (found by the random networks, which planned [1, 1, 1, 1] here before). The
    generator still keeps away from it (random_specs' Generator.avgpool3d_known_difference): it
    would have to write such a window as a fault."""
    spec = parse("input: [1, 1, 1, 1]\nlayers:\n  - avgpool3d: {kernel_size: 2, padding: 1}\n", "rand.yaml")
    _measured, failure = run_torch(spec)
    assert failure is not None and failure[0] == 0, "torch ran it"
    with pytest.raises(SpecError) as refused:
        plan(spec)
    assert refused.value.diagnostics[0].loc.line == 3
