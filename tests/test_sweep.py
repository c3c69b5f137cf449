"""cnncalc sweep: every combination of constants and input sizes, planned once each, with the
totals, memory, budget verdict or the reason a variant is refused; sorting, the Pareto front,
JSON and CSV; parallel planning gives what one process gives."""

import csv
import io
import json
from pathlib import Path

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.render.sweep import _safe_cell
from cnncalc.spec import load_file, parse
from cnncalc.sweep import Settings, SweepError, pareto, sizes_of, sweep, values_of, variants

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
RESNET50 = str(ARCH_DIR / "resnet50.yaml")
ALEXNET = str(ARCH_DIR / "alexnet.yaml")
SETTINGS = Settings(1, "float32", "adam", True, None)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1.0,1.4", ["1.0", "1.4"]),
        ("32:64:16", ["32", "48", "64"]),
        ("0.5:1.0:0.25", ["0.5", "0.75", "1.0"]),
        ("3:5", ["3", "4", "5"]),
    ],
)
def test_values_are_a_list_or_a_range_with_its_end(text, values):
    assert values_of("w", text) == values


@pytest.mark.parametrize("text", ["1,,2", "5:1", "1:2:0", "a:b", "1:2:3:4", "0:1000000:1"])
def test_a_bad_value_list_is_refused(text):
    with pytest.raises(SweepError):
        values_of("w", text)


def test_sizes_are_whole():
    assert sizes_of("160:224:32") == [160, 192, 224] and sizes_of("64,96") == [64, 96]
    with pytest.raises(SweepError):
        sizes_of("0.5:2")


def test_each_variant_is_the_plan_of_that_spec():
    text = Path(RESNET50).read_text()
    chosen = variants({"width": ["32", "64"]}, [160, 224])
    outcomes = sweep(text, RESNET50, chosen, SETTINGS, processes=1)
    assert [(o.values, o.input) for o in outcomes] == [
        ((("width", "32"),), (3, 160, 160)), ((("width", "32"),), (3, 224, 224)),
        ((("width", "64"),), (3, 160, 160)), ((("width", "64"),), (3, 224, 224)),
    ]  # fmt: skip
    reference = plan(load_file(RESNET50, {"width": "64"}))
    assert (
        (outcomes[3].params, outcomes[3].macs)
        == (reference.totals.params, reference.totals.macs)
        == (25_557_032, 4_089_184_256)
    )
    small = plan(
        parse(
            text.replace("input: [3, 224, 224]", "input: [3, 160, 160]").replace("width: 64 ", "width: 32 "), RESNET50
        )
    )
    assert (outcomes[0].params, outcomes[0].macs) == (small.totals.params, small.totals.macs)
    assert outcomes[3].fits is True and outcomes[3].error is None


def test_a_refused_variant_says_why_and_where():
    text = Path(ALEXNET).read_text()
    outcomes = sweep(text, ALEXNET, variants({}, [32, 63, 64]), SETTINGS, processes=1)
    assert [o.error is None for o in outcomes] == [False, True, True]  # torchvision's AlexNet: nothing below 63
    assert "maxpool" in outcomes[0].error and outcomes[0].error.split(":")[0].isdigit()


def test_processes_give_what_one_process_gives():
    text = Path(ALEXNET).read_text()
    chosen = variants({}, list(range(40, 260)))  # more than PARALLEL_FROM
    one = sweep(text, ALEXNET, chosen, SETTINGS, processes=1)
    two = sweep(text, ALEXNET, chosen, SETTINGS, processes=2)
    fields = ("values", "input", "params", "macs", "memory", "fits", "error")
    assert [[getattr(o, f) for f in fields] for o in one] == [[getattr(o, f) for f in fields] for o in two]


def test_the_pareto_front_keeps_what_nothing_beats():
    text = Path(RESNET50).read_text()
    outcomes = sweep(text, RESNET50, variants({"width": ["32", "64"]}, [160, 224]), SETTINGS, processes=1)
    front = pareto(outcomes, ["params", "macs"])
    assert [(o.values, o.input) for o in front] == [((("width", "32"),), (3, 160, 160))]
    assert len(pareto(outcomes, ["macs"])) == 1


def test_cli_table_json_csv_and_sorting():
    args = ["sweep", RESNET50, "--set", "width=32,64", "--input", "160:224:64"]
    table = runner().invoke(cli, [*args, "--sort", "macs", "--pareto", "params,macs"])
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["width", "Input", "Params", "MACs"] and lines[1].rstrip().endswith("*")
    assert lines[-1] == "4 variants: 4 plan, 4 within the budget, 0 refused; * marks the 1 on the Pareto front"
    document = json.loads(runner().invoke(cli, [*args, "--format", "json"]).stdout)
    assert document["variants"][3]["values"] == {"width": "64"} and document["variants"][3]["params"] == 25_557_032
    rows = list(csv.DictReader(io.StringIO(runner().invoke(cli, [*args, "--format", "csv"]).stdout)))
    assert [row["input_shape"] for row in rows] == ["3x160x160", "3x224x224"] * 2


def test_require_budget_and_errors_exit_as_documented():
    over = runner().invoke(cli, ["sweep", RESNET50, "--set", "width=96", "--require-budget"])
    assert over.exit_code == 1
    unknown = runner().invoke(cli, ["sweep", RESNET50, "--set", "depth=1,2"])
    assert (
        unknown.exit_code == 2 and "--set depth: the spec has no such constant; its constants: width" in unknown.stderr
    )
    plain = "input: [3, 32, 32]\nlayers:\n  - {conv2d: {out_channels: 4, kernel_size: 3}}\n"
    nobudget = runner().invoke(cli, ["sweep", "-", "--input", "32", "--require-budget"], input=plain)
    assert nobudget.exit_code == 2 and "the spec has no `budget:`" in nobudget.stderr
    bad = runner().invoke(cli, ["sweep", RESNET50, "--set", "width=3:1"])
    assert bad.exit_code == 2 and "expected LO <= HI" in bad.stderr


def test_a_csv_cell_is_never_a_formula():
    assert (
        _safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
        and _safe_cell("-1.5") == "-1.5"
        and _safe_cell("a\nb") == "a\\nb"
    )


def test_the_budget_verdict_is_checks(tmp_path):
    """Memory judged at the budget's own batch size and mode, as `cnncalc check` judges it."""
    spec = Path(ARCH_DIR / "seed_50x50.yaml").read_text()  # max_memory 64MiB, training, batch 32
    path = tmp_path / "seed.yaml"
    path.write_text(spec)
    document = json.loads(runner().invoke(cli, ["sweep", str(path), "--input", "50,64", "--format", "json"]).stdout)
    verdicts = [row["fits_budget"] for row in document["variants"]]
    for size, verdict in zip((50, 64), verdicts):
        sized = tmp_path / f"seed{size}.yaml"
        sized.write_text(spec.replace("input: [3, 50, 50]", f"input: [3, {size}, {size}]"))
        assert runner().invoke(cli, ["check", str(sized)]).exit_code == (0 if verdict else 1), size
    assert verdicts == [True, False]
    assert document["settings"] == {"batch_size": 32, "dtype": "float32", "optimizer": "adam", "training": True}


def test_a_size_at_which_a_blocks_in_channels_would_differ_is_refused_not_guessed(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "input: [3, 32, 32]\nblocks:\n  head:\n    layers: [{linear: in_channels // 2}]\n"
        "layers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3}\n  - flatten\n  - head\n"
    )
    document = json.loads(runner().invoke(cli, ["sweep", str(path), "--input", "28,32", "--format", "json"]).stdout)
    rows = document["variants"]
    assert "in_channels" in rows[0]["error"] and rows[0]["input_shape"] == [3, 28, 28]
    assert rows[1]["error"] is None and rows[1]["params"] == plan(load_file(str(path))).totals.params


def test_too_many_variants_or_a_flat_input_are_refused_before_planning():
    many = runner().invoke(cli, ["sweep", RESNET50, "--set", "width=1:1000", "--input", "1:1000"])
    assert many.exit_code == 2 and "1,000,000 variants to plan, more than 100,000" in many.stderr
    mlp = "input: [784]\nlayers:\n  - linear: 10\n"
    flat = runner().invoke(cli, ["sweep", "-", "--input", "28"], input=mlp)
    assert flat.exit_code == 2 and "has no spatial axes to vary" in flat.stderr


def test_a_refused_variant_is_located_in_its_file():
    text = Path(RESNET50).read_text()
    (outcome,) = sweep(text, RESNET50, variants({"width": ["0"]}, None), SETTINGS, processes=1)
    assert outcome.error is not None and outcome.error.split(":")[0].isdigit() or "resnet.yaml" in outcome.error
