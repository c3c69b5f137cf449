"""cnncalc check: budgets from the spec or the command line, exit statuses and every output format."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from clirun import runner
from published import PUBLISHED_PARAMS

from cnncalc.cli import cli
from cnncalc.errors import SpecError
from cnncalc.quantity import QuantityError, parse_quantity
from cnncalc.spec import load_file, parse

ROOT = Path(__file__).resolve().parent.parent
ALEXNET = str(ROOT / "architectures" / "alexnet.yaml")  # 714,188,480 MACs
ALEXNET_PARAMS = PUBLISHED_PARAMS["alexnet"]

SMALL = """\
name: small
input: [3, 32, 32]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3}
  - relu
  - flatten
  - linear: 10
budget:
  max_params: 100K
  max_macs: 1M
"""  # params: 224 + 72,010 = 72,234; MACs: 8*30*30*27 + 7,200*10 = 266,400


def invoke(args, *, exit_code, input=None):
    result = runner().invoke(cli, args, input=input)
    assert result.exit_code == exit_code, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
    return result


@pytest.mark.parametrize(
    "text, unit, value",
    [
        (25_000_000, "count", 25_000_000),
        ("25M", "count", 25_000_000),
        ("25m", "count", 25_000_000),
        ("4.1G", "count", 4_100_000_000),
        ("0.714G", "count", 714_000_000),
        ("1.5e9", "count", 1_500_000_000),
        ("62K", "count", 62_000),
        ("2GiB", "bytes", 2 * 1024**3),
        ("512 MiB", "bytes", 512 * 1024**2),
        ("1.5KiB", "bytes", 1536),
        ("2GB", "bytes", 2_000_000_000),
        ("100B", "bytes", 100),
        ("3T", "count", 3 * 10**12),
    ],
)
def test_quantities(text, unit, value):
    assert parse_quantity(text, unit=unit) == value


@pytest.mark.parametrize(
    "text, unit", [("2GiB", "count"), ("lots", "count"), ("-5", "count"), (True, "count"), ("5X", "bytes")]
)
def test_bad_quantities(text, unit):
    with pytest.raises(QuantityError):
        parse_quantity(text, unit=unit)


def test_budget_equal_to_the_value_passes():
    out = invoke(["check", ALEXNET, "--max-params", str(ALEXNET_PARAMS), "--max-macs", "714188480"], exit_code=0).stdout
    assert "3 budgets checked in 1 file: 0 exceeded" in out  # the two flags and the spec's memory budget


def test_budget_exceeded_exits_1():
    out = invoke(["check", ALEXNET, "--max-params", "61100839"], exit_code=1).stdout
    assert "FAIL" in out


def test_spec_budget_and_flag_override():
    invoke(["check", "-"], input=SMALL, exit_code=0)
    result = invoke(["check", "-", "--max-params", "50K"], input=SMALL, exit_code=1)
    assert "params" in result.stdout and "FAIL" in result.stdout


def test_worst_result_wins(tmp_path):
    passing = tmp_path / "ok.yaml"
    passing.write_text(SMALL)
    failing = tmp_path / "over.yaml"
    failing.write_text(SMALL.replace("max_params: 100K", "max_params: 70K"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(SMALL.replace("kernel_size: 3", "kernel_size: 40"))
    invoke(["check", str(passing)], exit_code=0)
    invoke(["check", str(passing), str(failing)], exit_code=1)
    result = invoke(["check", str(passing), str(failing), str(broken)], exit_code=2)
    assert f"\n{broken}:4:44: error: layer 'conv2d_1' (conv2d): kernel height 40 is larger" in result.stdout
    document = json.loads(invoke(["check", str(broken), "--format", "json"], exit_code=2).stdout)
    (error,) = document["files"][0]["errors"]
    assert (error["code"], error["file"], error["line"], error["column"]) == ("shape.nonpositive", str(broken), 4, 44)


def test_no_budget_is_an_error():
    text = SMALL.split("budget:")[0]
    result = invoke(["check", "-"], input=text, exit_code=2)
    assert "\n<stdin>:1:1: error: no budget to check: add `budget:` to the spec" in result.stdout
    document = json.loads(invoke(["check", "-", "--format", "json"], input=text, exit_code=2).stdout)
    (error,) = document["files"][0]["errors"]
    assert (error["code"], error["line"], error["column"]) == ("budget.none", 1, 1)


def test_memory_budget_uses_the_settings():
    # inference peak at batch 1: 0.33 MiB; training with adam at batch 64: 2.86 MiB
    spec = SMALL + "  max_memory: 2MiB\n"
    invoke(["check", "-"], input=spec, exit_code=0)
    out = invoke(["check", "-", "--training", "--batch-size", "64"], input=spec, exit_code=1).stdout
    assert "memory: training with adam, batch 64, float32" in out
    spec_settings = spec + "  training: true\n  batch_size: 64\n"
    invoke(["check", "-"], input=spec_settings, exit_code=1)
    invoke(["check", "-", "--inference", "--batch-size", "1"], input=spec_settings, exit_code=0)
    invoke(["check", "-", "--optimizer", "sgd"], input=spec_settings, exit_code=1)


@pytest.mark.parametrize(
    "budget, line, column, code, message",
    [
        ("  max_params: lots\n", 10, 15, "spec.bad-value", "budget: max_params: expected a number such as 25000000"),
        (
            "  max_memory: 2GiB\n  max_macs: 2GiB\n",
            11,
            13,
            "spec.bad-value",
            "budget: max_macs: '2GiB' is a size in bytes",
        ),
        (
            "  max_parms: 5M\n",
            10,
            3,
            "spec.unknown-key",
            "unknown key 'max_parms' in budget; did you mean 'max_params'?",
        ),
        (
            "  dtype: float64\n",
            10,
            10,
            "spec.bad-value",
            "budget: dtype: expected one of float32, float16, bfloat16, int8",
        ),
    ],
)
def test_budget_errors_are_located(budget, line, column, code, message):
    text = SMALL.split("budget:")[0] + "budget:\n  max_flops: 1G\n" + budget
    with pytest.raises(SpecError) as caught:
        parse(text, "budget.yaml")
    (diag,) = caught.value.diagnostics
    assert (diag.code, diag.loc.line, diag.loc.column) == (code, line, column), diag
    assert diag.message.startswith(message), diag.message


def test_json_format():
    document = json.loads(invoke(["check", ALEXNET, "--max-params", "25M", "--format", "json"], exit_code=1).stdout)
    assert document["exit_status"] == 1
    (entry,) = document["files"]
    assert entry["status"] == "fail"
    params = next(c for c in entry["checks"] if c["budget"] == "params")
    assert params["source"] == "command line"
    assert (params["limit"], params["actual"], params["passed"]) == (25_000_000, ALEXNET_PARAMS, False)
    assert params["margin"] == 25_000_000 - ALEXNET_PARAMS
    memory = next(c for c in entry["checks"] if c["budget"] == "memory")
    assert memory["source"] == "spec" and memory["detail"] == "training with adam, batch 32, float32"


ANNOTATION = re.compile(r"^::error file=([^,]+),line=(\d+),col=(\d+),title=([^:]+)::(.+)$")


def test_github_annotations_point_at_the_budget_line(tmp_path):
    spec = tmp_path / "over.yaml"
    spec.write_text(SMALL.replace("max_macs: 1M", "max_macs: 100K"))
    out = invoke(["check", str(spec), "--max-params", "10K", "--format", "github"], exit_code=1).stdout
    annotations = [ANNOTATION.match(line) for line in out.splitlines() if line.startswith("::")]
    assert len(annotations) == 2 and all(annotations)
    by_line = {int(m[2]): m for m in annotations}
    assert set(by_line) == {1, 10}  # the flag's budget on line 1; the spec's max_macs on its own line
    assert by_line[10][1] == str(spec) and by_line[10][4] == "cnncalc%3A budget exceeded"
    assert "MACs 266,400 exceeds the budget 100,000" in by_line[10][5]
    assert "set on the command line" in by_line[1][5]


def test_github_annotation_for_an_invalid_spec():
    out = invoke(
        ["check", str(ROOT / "tests/errors/kernel_too_large.yaml"), "--max-params", "1M", "--format", "github"],
        exit_code=2,
    ).stdout
    match = ANNOTATION.match(out.splitlines()[0])
    assert match and (match[2], match[3]) == ("7", "37")


def test_junit_parses(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(SMALL)
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers: [rleu]\n")
    out = invoke(["check", str(good), ALEXNET, str(bad), "--max-macs", "500M", "--format", "junit"], exit_code=2).stdout
    root = ET.fromstring(out.split("\n", 1)[1])
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "1", "1")
    suites = {suite.get("name"): suite for suite in root}
    alexnet = suites[ALEXNET]
    failed = [case for case in alexnet if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["max_macs"]
    assert suites[str(bad)].find("testcase/error").get("type") == "spec.unknown-type"


def test_markdown_summary():
    out = invoke(["check", ALEXNET, "--max-params", "25M", "--format", "markdown"], exit_code=1).stdout
    lines = out.splitlines()
    assert lines[0] == "**cnncalc check: 1 of 3 budgets exceeded**"
    assert any(line.startswith("| ❌ |") and "params" in line and "244.4%" in line for line in lines)


def test_bundled_architectures_meet_their_budgets():
    paths = sorted(str(p) for p in (ROOT / "architectures").glob("*.yaml"))
    out = invoke(["check", *paths], exit_code=0).stdout
    budgets = sum(len(load_file(path).budget.limits) for path in paths)
    assert f"{budgets} budgets checked in {len(paths)} files: 0 exceeded" in out


def test_bad_flag_quantity_is_a_usage_error():
    result = invoke(["check", ALEXNET, "--max-params", "2GiB"], exit_code=2)
    assert "Invalid value for '--max-params': '2GiB' is a size in bytes; this budget counts" in result.stderr


def test_pre_commit_hook_runs_cnncalc_check():
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "cnncalc check" and hook["language"] == "python"
    assert re.search(hook["files"], "architectures/alexnet.yaml")
    assert not re.search(hook["files"], ".github/workflows/ci.yml")


def test_pre_commit_hook_passes_on_the_bundled_layout():
    """What the hook selects in this repository (block libraries left out) checks cleanly."""
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    files = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "architectures").rglob("*.y*ml")
        if re.search(hook["files"], str(path.relative_to(ROOT)))
        and not re.search(hook.get("exclude", "^$"), str(path.relative_to(ROOT)))
    )
    assert "architectures/resnet50.yaml" in files and not any("/blocks/" in f for f in files)
    result = runner().invoke(cli, ["check", *[str(ROOT / f) for f in files]])
    assert result.exit_code == 0, result.output + result.stderr


@pytest.mark.parametrize("fmt", ["json", "junit", "markdown"])
def test_a_machine_format_also_tells_a_failure_on_stderr(fmt, tmp_path):
    """Redirected to a report file (the README's GitLab recipe), the job log still says why."""
    spec = tmp_path / "over.yaml"
    spec.write_text(
        "input: [3, 8, 8]\nbudget: {max_params: 1}\nlayers: [{conv2d: {out_channels: 4, kernel_size: 1}}]\n"
    )
    result = runner().invoke(cli, ["check", str(spec), "--format", fmt])
    assert result.exit_code == 1
    assert "1 budget checked in 1 file: 1 exceeded" in result.stderr
    passing = runner().invoke(cli, ["check", str(spec), "--format", fmt, "--max-params", "100"])
    assert passing.exit_code == 0 and passing.stderr == ""
