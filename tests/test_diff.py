"""cnncalc diff: layer and total changes between two specs, from files or git revisions."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from clirun import runner

from cnncalc.cli import cli

OLD = """\
name: before
input: [3, 32, 32]
layers:
  - {type: conv2d, name: conv1, out_channels: 16, kernel_size: 3, padding: 1}
  - relu
  - {type: maxpool2d, name: pool1, kernel_size: 2}
  - {type: conv2d, name: conv2, out_channels: 32, kernel_size: 3, padding: 1}
  - relu
  - flatten
  - {type: linear, name: fc, out_features: 10}
"""
# conv2 widened to 64, a batch norm added after conv1, the second relu removed, fc frozen
NEW = """\
name: after
input: [3, 32, 32]
layers:
  - {type: conv2d, name: conv1, out_channels: 16, kernel_size: 3, padding: 1}
  - {type: batchnorm2d, name: bn1}
  - relu
  - {type: maxpool2d, name: pool1, kernel_size: 2}
  - {type: conv2d, name: conv2, out_channels: 64, kernel_size: 3, padding: 1}
  - flatten
  - {type: linear, name: fc, out_features: 10, trainable: false}
"""


def invoke(args, *, exit_code=0):
    result = runner().invoke(cli, args)
    assert result.exit_code == exit_code, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
    return result


@pytest.fixture
def specs(tmp_path):
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(OLD)
    new.write_text(NEW)
    return str(old), str(new)


def test_json_layers_and_totals(specs):
    document = json.loads(invoke(["diff", *specs, "--format", "json"]).stdout)
    statuses = {row["name"]: row["status"] for row in document["layers"]}
    assert statuses == {
        "conv1": "unchanged",
        "bn1": "added",
        "relu_1": "unchanged",
        "pool1": "unchanged",
        "conv2": "changed",
        "relu_2": "removed",
        "flatten_1": "changed",
        "fc": "changed",
    }
    assert [row["name"] for row in document["layers"]].index("relu_2") == 5  # where it stood
    conv2 = next(row for row in document["layers"] if row["name"] == "conv2")
    assert (conv2["old"]["output_shape"], conv2["new"]["output_shape"]) == ([32, 16, 16], [64, 16, 16])
    old_params = 448 + 4_640 + (8_192 + 1) * 10
    new_params = 448 + 32 + 9_280 + (16_384 + 1) * 10
    params = document["totals"]["params"]
    assert (params["old"], params["new"], params["delta"]) == (old_params, new_params, new_params - old_params)
    assert params["percent"] == pytest.approx(100 * (new_params - old_params) / old_params)
    assert document["totals"]["non_trainable_params"]["new"] == (16_384 + 1) * 10
    assert document["totals"]["buffers"] == {"old": 0, "new": 33, "delta": 33, "percent": None}


def test_table(specs):
    out = invoke(["diff", *specs]).stdout
    assert out.startswith(f"--- {specs[0]} (before)\n+++ {specs[1]} (after)\n")
    assert "+  bn1" in out and "-  relu_2" in out
    assert "[32, 16, 16] -> [64, 16, 16]" in out
    assert "params" in out and "%" in out


def test_markdown(specs):
    out = invoke(["diff", *specs, "--format", "markdown"]).stdout
    assert out.splitlines()[0] == f"**cnncalc diff** `{specs[0]}` → `{specs[1]}`"
    assert "| ➕ | `bn1` | batchnorm2d |" in out
    assert "| ➖ | `relu_2` | relu |" in out


def test_identical_specs(specs):
    out = invoke(["diff", specs[0], specs[0]]).stdout
    assert "no layer changed" in out


def test_invalid_spec_exits_2(specs, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers: [rleu]\n")
    result = invoke(["diff", specs[0], str(bad)], exit_code=2)
    assert f"{bad}:2:10: error: layer 1: unknown layer type 'rleu'" in result.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_revision(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "models").mkdir()
    spec = tmp_path / "models" / "net.yaml"
    spec.write_text(OLD)
    git("add", ".")
    git("-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "commit", "-qm", "old")
    spec.write_text(NEW)
    monkeypatch.chdir(tmp_path)
    # from the repository root, and from a subdirectory with a path relative to it
    document = json.loads(invoke(["diff", "HEAD:models/net.yaml", "models/net.yaml", "--format", "json"]).stdout)
    assert document["old"] == {"file": "HEAD:models/net.yaml", "name": "before", "convention": "pytorch"}
    assert document["totals"]["params"]["old"] == 448 + 4_640 + (8_192 + 1) * 10
    monkeypatch.chdir(tmp_path / "models")
    document = json.loads(invoke(["diff", "HEAD:net.yaml", "net.yaml", "--format", "json"]).stdout)
    assert document["new"]["name"] == "after"
    result = invoke(["diff", "HEAD:missing.yaml", "net.yaml"], exit_code=2)
    assert result.stderr.startswith("HEAD:missing.yaml:1:1: error: cannot read 'HEAD:missing.yaml' from git:")


def test_removed_layers_stand_after_the_layer_before_them_in_their_old_order():
    from cnncalc.diff import compare
    from cnncalc.engine import plan
    from cnncalc.spec import parse

    def relus(*names):
        return plan(parse("input: [3, 8, 8]\nlayers:\n" + "".join(f"  - {{type: relu, name: {n}}}\n" for n in names)))

    new = relus("r0", "r1", "r2")
    changes = compare(relus("r1", "x1", "x2", "r2", "x3"), new).layers
    assert [(c.name, c.status) for c in changes] == [
        ("r0", "added"),
        ("r1", "unchanged"),
        ("x1", "removed"),
        ("x2", "removed"),
        ("r2", "unchanged"),  # what it reads changed by the removal, not by itself
        ("x3", "removed"),
    ]
    assert [(c.name, c.status) for c in compare(relus("x0", "r2"), new).layers][:2] == [
        ("x0", "removed"),
        ("r0", "added"),
    ]
