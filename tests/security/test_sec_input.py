"""The spec named on the command line: refused over 8 MiB before it is parsed (a device such as
/dev/zero included), with no snippet of it; standard input closed or empty is a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from clirun import runner

from cnncalc import yamlload
from cnncalc.cli import cli
from cnncalc.errors import SpecError
from cnncalc.spec import load_file, sources

ROOT = Path(__file__).resolve().parents[2]
SPEC = "input: [3, 8, 8]\nlayers: [relu]\n"


def _cnncalc(*arguments: str, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(
        [sys.executable, "-m", "cnncalc", *arguments], capture_output=True, timeout=120, check=False, **kwargs
    )


def _not_parsed(monkeypatch) -> None:
    monkeypatch.setattr(yamlload, "load", lambda *a, **k: pytest.fail("the spec was parsed"))


def _spy_reads(monkeypatch) -> list:
    """The sizes asked of every read() on a file opened with open()."""
    reads = []
    real_open = open

    def spy(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        real_read = handle.read
        handle.read = lambda size=-1: reads.append(size) or real_read(size)
        return handle

    monkeypatch.setattr("builtins.open", spy)
    return reads


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_plan_dev_zero_is_refused_after_reading_the_cap(monkeypatch):
    reads = _spy_reads(monkeypatch)
    _not_parsed(monkeypatch)
    with pytest.raises(SpecError) as caught:
        load_file("/dev/zero")
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, str(diagnostic.loc)) == ("spec.too-large", "/dev/zero:1:1")
    assert reads == [sources.MAX_SPEC_BYTES + 1]  # one bounded read, never "until the end"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_plan_dev_zero_through_the_command_line():
    done = _cnncalc("plan", "/dev/zero")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("/dev/zero:1:1: error: spec is larger than 8 MiB")


def test_a_12_mb_line_is_refused_before_parsing_and_never_shown(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text("x" * 12_000_000 + "\n")
    _not_parsed(monkeypatch)
    result = runner().invoke(cli, ["plan", str(big)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == f"{big}:1:1: error: spec is larger than 8 MiB, the most cnncalc reads\n"
    result = runner().invoke(cli, ["check", str(big), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 2 and "xxxx" not in result.stdout + result.stderr


def test_a_large_regular_file_is_not_even_read(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:  # sparse: 1 GiB on paper
        handle.truncate(1024**3)
    reads = _spy_reads(monkeypatch)
    with pytest.raises(SpecError) as caught:
        load_file(str(big))
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, str(diagnostic.loc)) == ("spec.too-large", f"{big}:1:1")
    assert reads == []  # fstat said too large: nothing read


def test_a_spec_at_the_cap_is_read(tmp_path):
    spec = tmp_path / "m.yaml"
    spec.write_text(SPEC + "#" * (sources.MAX_SPEC_BYTES - len(SPEC) - 1) + "\n")
    assert spec.stat().st_size == sources.MAX_SPEC_BYTES
    assert [layer.name for layer in load_file(str(spec)).layers] == ["relu_1"]
    spec.write_text(spec.read_text() + "\n")
    with pytest.raises(SpecError) as caught:
        load_file(str(spec))
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, str(diagnostic.loc)) == ("spec.too-large", f"{spec}:1:1")
    assert diagnostic.message == "spec is larger than 8 MiB, the most cnncalc reads"


def test_standard_input_over_the_cap_is_refused(monkeypatch):
    _not_parsed(monkeypatch)
    result = runner().invoke(cli, ["plan", "-"], input=SPEC + "#" * sources.MAX_SPEC_BYTES)
    assert result.exit_code == 2
    assert result.stderr.startswith("<stdin>:1:1: error: spec is larger than 8 MiB")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX descriptors")
def test_plan_with_standard_input_closed():
    done = _cnncalc("plan", "-", stdin=None, preexec_fn=lambda: os.close(0))
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode() == "<stdin>:1:1: error: cannot read spec: standard input is closed\n"


def test_plan_with_standard_input_empty():
    done = _cnncalc("plan", "-")  # /dev/null
    assert done.returncode == 2
    assert done.stderr.decode().startswith("<stdin>:1:1: error: spec is empty")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_standard_input_from_dev_zero():
    with open("/dev/zero", "rb") as zero:
        done = _cnncalc("plan", "-", stdin=zero)
    assert done.returncode == 2
    assert done.stderr.decode().startswith("<stdin>:1:1: error: spec is larger than 8 MiB")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_on_the_command_line_is_read(tmp_path):
    # the user's own choice, as with process substitution: plan <(generate-spec)
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(SPEC), daemon=True)
    writer.start()
    done = _cnncalc("plan", str(fifo), "--format", "json")
    writer.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert b'"name": "relu_1"' in done.stdout


def test_unreadable_top_level_paths_are_located_errors(tmp_path):
    for path, reason in ((tmp_path, "Is a directory"), (tmp_path / "missing.yaml", "No such file")):
        result = runner().invoke(cli, ["plan", str(path)], catch_exceptions=False)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"{path}:1:1: error: cannot read spec: {reason}")
    with pytest.raises(SpecError) as caught:
        load_file("a\0b.yaml")
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.loc.line, diagnostic.loc.column) == ("spec.unreadable", 1, 1)
    assert diagnostic.message == "cannot read spec: the path holds a NUL character"


def test_an_encoding_error_is_located_without_a_snippet(tmp_path):
    spec = tmp_path / "m.yaml"
    spec.write_bytes(SPEC.encode() + b"# \xff\n")
    result = runner().invoke(cli, ["plan", str(spec)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == f"{spec}:3:3: error: spec is not UTF-8 text\n"


def test_architectures_read_from_standard_input_still_plan(monkeypatch):
    monkeypatch.chdir(ROOT / "architectures")
    text = (ROOT / "architectures" / "resnet50.yaml").read_text()
    assert "include:" in text
    result = runner().invoke(cli, ["plan", "-", "--format", "json"], input=text, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr


# ---- a spec that is a symbolic link ------------------------------------------------------------


@pytest.mark.parametrize("target", ["outside", "proc"])
@pytest.mark.parametrize("command", ["plan", "check", "export"])
def test_a_spec_linking_out_of_its_tree_is_refused_unread(target, command, tmp_path, monkeypatch):
    """`cnncalc check architectures/*.yaml` in CI: a pull request may commit a symlink."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "architectures").mkdir()
    secret = tmp_path / "secret.yaml"
    secret.write_text("SECRET_TOKEN: hunter2\n")
    link = repo / "architectures" / "m.yaml"
    link.symlink_to(secret if target == "outside" else Path("/proc/self/environ"))
    monkeypatch.setenv("CNNCALC_TEST_SECRET", "hunter2")
    monkeypatch.chdir(repo)
    result = runner().invoke(cli, [command, "architectures/m.yaml"])
    assert result.exit_code == 2, result.output
    assert (
        "architectures/m.yaml:1:1: error: cannot read spec: it is a symbolic link to" in result.stderr + result.output
    )
    assert "hunter2" not in result.stderr + result.output


def test_a_spec_linking_inside_its_tree_is_read(tmp_path, monkeypatch):
    (tmp_path / "real.yaml").write_text(SPEC)
    (tmp_path / "link.yaml").symlink_to("real.yaml")
    monkeypatch.chdir(tmp_path)
    assert runner().invoke(cli, ["plan", "link.yaml", "--format", "json"]).exit_code == 0


def test_process_substitution_is_the_users_choice(tmp_path):
    """`cnncalc plan <(generate)`: /dev/fd/N links to a pipe, which the user named."""
    read_end, write_end = os.pipe()
    os.write(write_end, SPEC.encode())
    os.close(write_end)
    try:
        done = _cnncalc("plan", f"/dev/fd/{read_end}", "--format", "json", pass_fds=(read_end,))
    finally:
        os.close(read_end)
    assert done.returncode == 0, done.stderr
