"""The command line through click's runner, plus start-up checks in real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import runner
from published import PUBLISHED_PARAMS

from cnncalc import __version__
from cnncalc.cli import _use_colour, cli

ROOT = Path(__file__).resolve().parent.parent
ALEXNET = str(ROOT / "architectures" / "alexnet.yaml")
ALEXNET_PARAMS = PUBLISHED_PARAMS["alexnet"]
SEED_PARAMS = PUBLISHED_PARAMS["seed_50x50"]  # SEED is the network of architectures/seed_50x50.yaml
SEED = """\
name: seed
input: [3, 50, 50]
layers:
  - conv2d: {out_channels: 32, kernel_size: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - conv2d: {out_channels: 64, kernel_size: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - flatten
  - linear: 128
  - relu
  - linear: 2
"""


def invoke(args, *, input=None, exit_code=0, env=None):
    """Run cnncalc in-process; on an unexpected exit code show everything it printed."""
    result = runner().invoke(cli, args, input=input, env=env)
    assert result.exit_code == exit_code, (
        f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
    )
    return result


def test_plan_alexnet_table():
    out = invoke(["plan", ALEXNET]).stdout
    assert f"{ALEXNET_PARAMS:,}" in out
    assert "in_features = 256 x 6 x 6 = 9,216" in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_plan_json_document():
    document = json.loads(invoke(["plan", ALEXNET, "--format", "json"]).stdout)
    assert document["schema_version"] == 1
    assert document["cnncalc_version"] == __version__
    assert document["input_shape"] == [3, 224, 224]
    assert document["totals"] == {
        "params": ALEXNET_PARAMS,
        "trainable_params": ALEXNET_PARAMS,
        "non_trainable_params": 0,
        "buffers": 0,
        "macs": 714_188_480,
        "flops": 1_428_376_960,
        "other_ops": 1_791_464,
    }
    first = document["layers"][0]
    assert document["description"] == "torchvision alexnet"
    assert document["blocks"] == []  # alexnet has no blocks
    assert set(first) == {
        "index",
        "name",
        "type",
        "block",
        "inputs",
        "input_shape",
        "output_shape",
        "params",
        "trainable",
        "buffers",
        "macs",
        "flops",
        "other_ops",
        "output_bytes",
        "saved_bytes",
        "receptive_field",
        "config",
    }
    assert first["receptive_field"] == {"size": [11, 11], "stride": [4, 4], "padding": [2, 2]}
    assert document["layers"][-1]["receptive_field"] is None
    assert set(document["memory"]) == {
        "batch_size",
        "dtype",
        "optimizer",
        "params_bytes",
        "buffers_bytes",
        "gradients_bytes",
        "optimizer_bytes",
        "saved_activations_bytes",
        "inference_peak_bytes",
        "training_total_bytes",
    }
    assert first["output_shape"] == [64, 55, 55]
    assert first["config"]["in_channels"] == 3  # inferred sizes are filled in
    assert document["first_linear"]["in_features"] == 9216
    assert document["first_linear"]["flattened_shape"] == [256, 6, 6]
    assert len(document["layers"]) == len({row["name"] for row in document["layers"]})


def test_plan_reads_stdin():
    document = json.loads(invoke(["plan", "-", "--format", "json"], input=SEED).stdout)
    assert document["totals"]["params"] == SEED_PARAMS
    assert document["layers"][7]["input_shape"] == [9216]


def test_stdin_errors_are_located_as_stdin():
    result = invoke(["plan", "-"], input="input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4}\n", exit_code=2)
    assert result.stderr.startswith("<stdin>:3:5: error: layer 'conv2d_1' (conv2d): missing required field kernel_size")


def test_frozen_layers_are_non_trainable():
    spec = SEED.replace("  - linear: 128", "  - linear: 128\n    trainable: false")
    document = json.loads(invoke(["plan", "-", "--format", "json"], input=spec).stdout)
    assert document["totals"]["non_trainable_params"] == (9216 + 1) * 128
    assert document["totals"]["trainable_params"] == SEED_PARAMS - (9216 + 1) * 128
    table = invoke(["plan", "-"], input=spec).stdout
    assert "no (frozen)" in table
    assert "Non-trainable params:" in table


def test_multiple_errors_are_counted():
    spec = "input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 0}\n  - rleu\n"
    result = invoke(["plan", "-"], input=spec, exit_code=2)
    assert result.stderr.rstrip().endswith("3 errors")
    located = [line.split(": error: ")[0] for line in result.stderr.splitlines() if ": error: " in line]
    assert located == ["<stdin>:3:5", "<stdin>:3:28", "<stdin>:4:5"]
    errors = json.loads(invoke(["plan", "-", "--format", "json"], input=spec, exit_code=2).stdout)["errors"]
    assert [(e["code"], e["line"], e["column"]) for e in errors] == [
        ("spec.missing-key", 3, 5),  # kernel_size
        ("spec.bad-value", 3, 28),  # out_channels: 0
        ("spec.unknown-type", 4, 5),  # rleu
    ]


def test_bad_format_is_a_usage_error():
    result = invoke(["plan", ALEXNET, "--format", "xml"], exit_code=2)
    assert "Invalid value for '--format'" in result.stderr


def test_version():
    assert invoke(["--version"]).stdout.strip() == f"cnncalc, version {__version__}"


def test_layers_lists_every_type():
    from cnncalc.layers import LAYER_TYPES

    out = invoke(["layers"]).stdout
    for cls in LAYER_TYPES:
        assert cls.type_name in out


def test_layers_describes_one_type():
    out = invoke(["layers", "dense"]).stdout
    assert out.startswith("linear  (also: dense, fc, fully_connected)")
    assert "out_features: an integer >= 1, required; the main argument; also units" in out


def test_layers_unknown_type():
    result = invoke(["layers", "convd2"], exit_code=2)
    assert "did you mean 'conv2d'?" in result.stderr


@pytest.mark.parametrize(
    "isatty, no_color, expected", [(True, False, True), (True, True, False), (False, False, False)]
)
def test_colour_only_on_a_terminal_without_no_color(monkeypatch, isatty, no_color, expected):
    class Stream:
        def isatty(self):
            return isatty

    monkeypatch.delenv("NO_COLOR", raising=False)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    assert _use_colour(Stream()) is expected


def _run(code: str, *args: str, stdin: str | None = None):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return subprocess.run(
        [sys.executable, *args, "-c", code] if code else [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_json_path_never_imports_rich():
    code = (
        "import sys\n"
        "from cnncalc.cli import main\n"
        f"sys.argv = ['cnncalc', 'plan', {ALEXNET!r}, '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'rich' not in sys.modules, 'rich was imported'\n"
        "assert 'torch' not in sys.modules\n"
    )
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == ALEXNET_PARAMS


def test_python_dash_m():
    done = subprocess.run(
        [sys.executable, "-m", "cnncalc", "plan", "-", "--format", "json"],
        input=SEED,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["params"] == SEED_PARAMS


def test_first_linear_after_global_pool_has_no_flatten_derivation():
    spec = "input: [512, 7, 7]\nlayers:\n  - global_avgpool2d\n  - linear: 10\n"
    document = json.loads(invoke(["plan", "-", "--format", "json"], input=spec).stdout)
    assert document["first_linear"]["in_features"] == 512
    assert document["first_linear"]["flattened_shape"] is None
    assert "in_features = 512\n" in invoke(["plan", "-"], input=spec).stdout


def test_pool_stride_default_is_resolved_in_json():
    spec = "input: [3, 8, 8]\nlayers:\n  - maxpool2d: 2\n"
    document = json.loads(invoke(["plan", "-", "--format", "json"], input=spec).stdout)
    assert document["layers"][0]["config"]["stride"] == [2, 2]


def _memory(*args):
    return json.loads(invoke(["plan", ALEXNET, "--format", "json", *args]).stdout)["memory"]


def test_memory_options():
    base = _memory()
    assert (base["batch_size"], base["dtype"], base["optimizer"]) == (1, "float32", "adam")
    assert base["params_bytes"] == 4 * ALEXNET_PARAMS
    assert base["optimizer_bytes"] == 2 * base["gradients_bytes"] == 2 * base["params_bytes"]
    assert base["training_total_bytes"] == sum(
        base[key]
        for key in ("params_bytes", "buffers_bytes", "gradients_bytes", "optimizer_bytes", "saved_activations_bytes")
    )
    big = _memory("--batch-size", "32")
    assert big["saved_activations_bytes"] == 32 * base["saved_activations_bytes"]
    assert big["params_bytes"] == base["params_bytes"]
    half = _memory("--dtype", "bfloat16", "--optimizer", "sgd")
    assert half["params_bytes"] * 2 == base["params_bytes"]
    assert half["optimizer_bytes"] == 0
    assert _memory("--optimizer", "momentum")["optimizer_bytes"] == base["gradients_bytes"]


def test_memory_and_costs_in_the_table():
    out = invoke(["plan", ALEXNET, "--batch-size", "8", "--dtype", "float16"]).stdout
    assert "MACs per sample:      714,188,480  (714.19M; FLOPs = 2 x MACs = 1.43G)" in out
    assert "Memory at batch size 8, float16:" in out
    assert "training with adam" in out and "saved activations" in out


def test_columns_option():
    out = invoke(["plan", ALEXNET, "--columns", "name,params_pct,macs_pct,rf_stride,rf_padding,saved"]).stdout
    header = out.splitlines()[3].split()
    assert header == ["Layer", "Params", "%", "MACs", "%", "RF", "stride", "RF", "pad", "Saved"]
    assert "61.8%" in out  # fc6's share of the parameters


def test_unknown_column_is_a_usage_error():
    result = invoke(["plan", ALEXNET, "--columns", "name,flops"], exit_code=2)
    assert "unknown column flops" in result.stderr


def test_bad_batch_size_is_a_usage_error():
    result = invoke(["plan", ALEXNET, "--batch-size", "0"], exit_code=2)
    assert "Invalid value for '--batch-size': expected a whole number from 1 to 2,147,483,647" in result.stderr


def test_wide_tables_are_printed_whole_not_clipped():
    every = "index,name,type,input,output,params,params_pct,macs,macs_pct,other_ops,activations,saved,rf,rf_stride,rf_padding"
    out = invoke(["plan", str(ROOT / "architectures" / "vgg16_bn.yaml"), "--columns", every]).stdout
    header = out.splitlines()[3]
    for title in ("#", "Layer", "Input shape", "Activations", "Saved", "RF stride", "RF pad"):
        assert title in header
    assert "…" not in out
    assert "102,764,544" in out  # fc6's parameters, whole


def test_batch_norm_counter_is_an_int64_in_buffer_bytes():
    path = str(ROOT / "architectures" / "vgg16_bn.yaml")  # 13 batch norms, 8,461 buffer values
    memory = json.loads(invoke(["plan", path, "--format", "json", "--dtype", "float16"]).stdout)["memory"]
    assert memory["buffers_bytes"] == (8_461 - 13) * 2 + 13 * 8


def test_markup_in_a_description_is_printed_as_written():
    spec = 'name: "[bold]v2[/bold]"\ndescription: "weights [/] here"\ninput: [4]\nlayers: [relu]\n'
    out = invoke(["plan", "-"], input=spec).stdout
    assert "[bold]v2[/bold]" in out and "weights [/] here" in out


def test_an_internal_error_exits_3_without_a_traceback():
    code = (
        "import sys\nimport cnncalc.engine\n"
        "def broken(spec):\n    raise RuntimeError('boom')\n"
        "cnncalc.engine.plan = broken\n"
        "from cnncalc.cli import main\n"
        f"sys.argv = ['cnncalc', 'plan', {ALEXNET!r}]\nmain()\n"
    )
    done = _run(code)
    assert done.returncode == 3
    assert "internal error: RuntimeError: boom" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_a_clear_error():
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "cnncalc", "plan", ALEXNET],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "error: cannot write the output: No space left on device"
