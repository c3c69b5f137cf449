"""`include:` is confined: relative paths inside the spec's tree (or its git work tree), regular
files of at most 1 MiB, never a device, FIFO or system file, and a file that is not a spec is
reported without its text. Every refusal is a located error with exit status 2, for every
command that reads a spec."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.errors import SpecError
from cnncalc.spec import load_file, parse, sources

ROOT = Path(__file__).resolve().parents[2]
SECRET = "CNNCALC_SECRET_7f3a91"  # planted where a spec must not be able to read it
COMMANDS = [["plan"], ["check"], ["export"], ["verify"], ["diff", "SPEC"]]  # diff: the spec twice
SPEC = "input: [3, 8, 8]\ninclude: {}\nlayers: [relu]\n"


def _invoke(command: list[str], spec: Path, **kwargs):
    arguments = [*command[:1], str(spec), *[str(spec) for word in command[1:] if word == "SPEC"]]
    return runner().invoke(cli, arguments, catch_exceptions=False, **kwargs)


def _tree(tmp_path: Path) -> Path:
    """tmp_path/tree: a spec's directory, with a secret file just outside it."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text(f"{SECRET}: [1]\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    return tree


def _located_refusal(result, spec: Path, line: int = 2, column: int = 10) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert f"{spec}:{line}:{column}: error: include: " in result.stderr + result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert "root:x:0:0" not in result.stdout + result.stderr


def _hostile_includes(tree: Path) -> dict[str, str]:
    """Each reproducer: the YAML written after `include:`."""
    os.symlink(tree.parent / "outside" / "secret.yaml", tree / "link.yaml")
    (tree / "ok.yaml").write_text("blocks:\n  unit: [relu]\n")
    (tree / "big.yaml").write_text("blocks:\n  unit: [relu]\n" + "#" * (2 * 1024 * 1024) + "\n")
    return {
        "proc-environ": "/proc/self/environ",
        "etc-passwd": "/etc/passwd",
        "dot-dot": "../../../../../../../../etc/passwd",
        "dot-dot-secret": "../outside/secret.yaml",
        "symlink-out": "link.yaml",
        "dev-zero": "/dev/zero",
        "two-mib": "big.yaml",
        "nul": '"a\\0b"',
        "escape": '"a\\eb"',
        "line-separator": '"a\\u2028b"',
        "windows-absolute": '"C:\\\\secret.yaml"',
        "in-a-list": "[ok.yaml, /etc/passwd]",
    }


HOSTILE = [
    "proc-environ",
    "etc-passwd",
    "dot-dot",
    "dot-dot-secret",
    "symlink-out",
    "dev-zero",
    "two-mib",
    "nul",
    "escape",
    "line-separator",
    "windows-absolute",
    "in-a-list",
]  # the keys of _hostile_includes, for parametrize


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_include_is_a_located_error(tmp_path, monkeypatch, command, case):
    monkeypatch.setenv(SECRET, SECRET)  # /proc/self/environ would show it
    tree = _tree(tmp_path)
    spec = tree / "main.yaml"
    spec.write_text(SPEC.format(_hostile_includes(tree)[case]))
    column = 20 if case == "in-a-list" else 10  # at the refused item
    _located_refusal(_invoke(command, spec), spec, column=column)


def test_the_codes_say_why(tmp_path):
    tree = _tree(tmp_path)
    found = {}
    hostile = _hostile_includes(tree)
    assert sorted(hostile) == sorted(HOSTILE)
    for case, written in hostile.items():
        spec = tree / f"{case}.yaml"
        spec.write_text(SPEC.format(written))
        with pytest.raises(SpecError) as caught:
            load_file(str(spec))
        [diagnostic] = caught.value.diagnostics
        found[case] = (diagnostic.code, diagnostic.message)
        column = 20 if case == "in-a-list" else 10  # at the refused item
        assert str(diagnostic.loc) == f"{spec}:2:{column}", (case, diagnostic)
    refused_as_written = {"proc-environ", "etc-passwd", "dev-zero", "nul", "escape", "line-separator", "in-a-list"}
    assert {case: code for case, (code, _) in found.items()} == {
        **{case: "spec.bad-value" for case in refused_as_written},  # absolute, or a control character
        **{case: "spec.unreadable" for case in ("dot-dot", "dot-dot-secret", "symlink-out", "windows-absolute")},
        "two-mib": "spec.too-large",
    }
    assert found["two-mib"][0] == "spec.too-large" and "1 MiB" in found["two-mib"][1]
    assert "is absolute" in found["etc-passwd"][1] and found["etc-passwd"][0] == "spec.bad-value"
    assert "lies outside" in found["symlink-out"][1] and "lies outside" in found["dot-dot"][1]
    assert "symbolic link" in found["symlink-out"][1] and "symbolic link" not in found["dot-dot"][1]
    assert "control character" in found["nul"][1] and "control character" in found["line-separator"][1]


@pytest.mark.parametrize("written", ["a\0b", "a\ud800b", "a\nb", "\x1b[2J", "a\x7fb", "a\u2029b"])
def test_paths_with_control_characters_are_refused_before_any_file_call(written, monkeypatch):
    monkeypatch.setattr(sources.os.path, "realpath", lambda path: pytest.fail("reached the file system"))
    with pytest.raises(sources.Refused) as caught:
        sources.DiskFiles("main.yaml").locate("main.yaml", written)
    assert caught.value.code == "spec.bad-value"


def test_a_fifo_in_the_tree_is_refused_without_waiting(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    tree = _tree(tmp_path)
    os.mkfifo(tree / "pipe.yaml")  # nobody ever writes to it: reading it would hang
    spec = tree / "main.yaml"
    spec.write_text(SPEC.format("pipe.yaml"))
    for command in COMMANDS:
        arguments = [*command[:1], str(spec), *[str(spec) for word in command[1:] if word == "SPEC"]]
        done = subprocess.run(
            [sys.executable, "-m", "cnncalc", *arguments], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert f"{spec}:2:10: error: include: " in done.stderr + done.stdout
        assert "pipe.yaml' is not a regular file" in done.stderr + done.stdout


def test_system_files_are_refused_even_inside_the_root(tmp_path, monkeypatch):
    # a spec on standard input counts from the current directory: here "/", which holds /proc
    monkeypatch.setenv(SECRET, SECRET)
    monkeypatch.chdir("/")
    for written in ("proc/self/environ", "dev/zero", "sys/kernel/hostname", "./proc/../proc/self/environ"):
        result = runner().invoke(cli, ["plan", "-"], input=SPEC.format(written), catch_exceptions=False)
        assert result.exit_code == 2
        assert "<stdin>:2:10: error: include: " in result.stderr
        assert "is a system file" in result.stderr
        assert SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "content",
    [
        f"{SECRET}=1\nPATH=/usr/bin\n",  # plain text: one YAML string
        f"[{SECRET}\n",  # invalid YAML
        f"a: 1\na: {SECRET}\n",  # a duplicate key
        f"!!python/object:{SECRET} {{}}\n",  # a refused tag
        f"{SECRET}: 1\n",  # a mapping without blocks:
        f"- {SECRET}\n",  # a list
        f"{SECRET}: !!binary aGVsbG8=\n",  # a value cnncalc does not take
        "",  # empty
    ],
    ids=["text", "syntax", "duplicate-key", "tag", "no-blocks", "list", "binary", "empty"],
)
def test_a_file_that_is_not_a_spec_is_never_shown(tmp_path, content):
    tree = _tree(tmp_path)
    (tree / "data.txt").write_text(content)
    spec = tree / "main.yaml"
    spec.write_text(SPEC.format("data.txt"))
    for fmt in ("table", "json"):
        result = runner().invoke(cli, ["plan", str(spec), "--format", fmt], catch_exceptions=False)
        assert result.exit_code == 2
        assert SECRET not in result.stdout + result.stderr
        assert f"{tree / 'data.txt'}:" in result.stdout + result.stderr  # located in the file
        assert "(its text is not shown)" in result.stdout + result.stderr
        assert "unknown layer type" not in result.stdout + result.stderr  # its blocks are missing, not mistyped


def test_a_spec_file_that_is_included_keeps_its_snippets(tmp_path):
    tree = _tree(tmp_path)
    (tree / "lib.yaml").write_text("blocks:\n  unit:\n    - {type: conv2d, out_channels: 0, kernel_size: 1}\n")
    spec = tree / "main.yaml"
    spec.write_text(SPEC.format("lib.yaml").replace("[relu]", "[unit]"))
    result = runner().invoke(cli, ["plan", str(spec)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "    3 |     - {type: conv2d, out_channels: 0, kernel_size: 1}" in result.stderr


def test_git_internals_are_not_included(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(f"[http]\n\textraheader = AUTHORIZATION: basic {SECRET}\n")
    (tmp_path / ".git" / "blocks.yaml").write_text("blocks:\n  unit: [relu]\n")
    spec = tmp_path / "main.yaml"
    for written in (".git/config", ".git/blocks.yaml"):
        spec.write_text(SPEC.format(written))
        result = runner().invoke(cli, ["plan", str(spec)], catch_exceptions=False)
        _located_refusal(result, spec)
        assert "inside .git" in result.stderr


def test_the_root_is_the_git_work_tree_or_the_spec_directory(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "blocks.yaml").write_text("blocks:\n  unit: [relu]\n")
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = specs / "main.yaml"
    spec.write_text(SPEC.format("../lib/blocks.yaml").replace("[relu]", "[unit]"))
    with pytest.raises(SpecError) as caught:  # no work tree: the spec's directory is the root
        load_file(str(spec))
    [diagnostic] = caught.value.diagnostics
    assert "lies outside" in diagnostic.message
    assert (diagnostic.code, str(diagnostic.loc)) == ("spec.unreadable", f"{spec}:2:10")
    assert sources.find_root(str(spec)) == os.path.realpath(specs)
    (tmp_path / ".git").write_text("gitdir: elsewhere\n")  # a work tree (.git may be a file)
    assert sources.find_root(str(spec)) == os.path.realpath(tmp_path)
    assert [layer.name for layer in load_file(str(spec)).layers] == ["unit_1.relu_1"]


def test_symlinks_inside_the_tree_still_work(tmp_path):
    tree = _tree(tmp_path)
    (tree / "real").mkdir()
    (tree / "real" / "blocks.yaml").write_text("blocks:\n  unit: [relu]\n")
    os.symlink(tree / "real", tree / "alias")
    os.symlink(tree / "real" / "blocks.yaml", tree / "link.yaml")
    for written in ("alias/blocks.yaml", "link.yaml", "./real/../link.yaml"):
        spec = tree / "main.yaml"
        spec.write_text(SPEC.format(written).replace("[relu]", "[unit]"))
        assert len(load_file(str(spec)).layers) == 1


def test_a_symlinked_directory_leading_out_is_refused(tmp_path):
    tree = _tree(tmp_path)
    os.symlink(tmp_path / "outside", tree / "door")
    spec = tree / "main.yaml"
    spec.write_text(SPEC.format("door/secret.yaml"))
    _located_refusal(runner().invoke(cli, ["plan", str(spec)], catch_exceptions=False), spec)


def test_an_include_at_the_size_cap_is_read(tmp_path):
    text = "blocks:\n  unit: [relu]\n"
    padded = text + "#" * (sources.MAX_INCLUDE_BYTES - len(text) - 1) + "\n"
    assert len(padded.encode()) == sources.MAX_INCLUDE_BYTES
    (tmp_path / "lib.yaml").write_text(padded)
    spec = tmp_path / "main.yaml"
    spec.write_text(SPEC.format("lib.yaml").replace("[relu]", "[unit]"))
    assert len(load_file(str(spec)).layers) == 1
    (tmp_path / "lib.yaml").write_text(padded + "\n")  # one byte more
    with pytest.raises(SpecError) as caught:
        load_file(str(spec))
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, str(diagnostic.loc)) == ("spec.too-large", f"{spec}:2:10")  # at the include


def test_a_file_that_grows_while_read_is_cut_at_the_cap(tmp_path, monkeypatch):
    # fstat said small, the read finds more (the file grew): refused, and at most cap + 1 bytes read
    (tmp_path / "lib.yaml").write_text("blocks:\n  unit: [relu]\n" + "#" * (2 * 1024 * 1024))
    reads = []

    class Small:
        st_mode, st_size = os.stat(tmp_path / "lib.yaml").st_mode, 10

    monkeypatch.setattr(sources.os, "fstat", lambda fd: Small)
    real_read = os.read
    monkeypatch.setattr(sources.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    with pytest.raises(sources.Refused) as caught:
        sources.DiskFiles(str(tmp_path / "main.yaml")).read(str(tmp_path / "lib.yaml"))
    assert caught.value.code == "spec.too-large"
    assert sum(reads) <= sources.MAX_INCLUDE_BYTES + 1


def test_stdin_specs_include_from_the_current_directory(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    (tree / "lib.yaml").write_text("blocks:\n  unit: [relu]\n")
    monkeypatch.chdir(tree)
    result = runner().invoke(
        cli, ["plan", "-", "--format", "json"], input=SPEC.format("lib.yaml").replace("[relu]", "[unit]")
    )
    assert result.exit_code == 0, result.stderr
    result = runner().invoke(cli, ["plan", "-"], input=SPEC.format("../outside/secret.yaml"))
    _located_refusal(result, "<stdin>")


def test_parse_without_a_file_confines_to_the_current_directory(tmp_path, monkeypatch):
    tree = _tree(tmp_path)
    monkeypatch.chdir(tree)
    with pytest.raises(SpecError) as caught:
        parse(SPEC.format("../outside/secret.yaml"))
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.loc.line, diagnostic.loc.column) == ("spec.unreadable", 2, 10)
    assert SECRET not in str(caught.value.source)


def test_bundled_architectures_with_includes_still_plan():
    with_includes = [path for path in sorted((ROOT / "architectures").glob("*.yaml")) if "include:" in path.read_text()]
    assert len(with_includes) >= 5
    for path in with_includes:
        result = runner().invoke(cli, ["plan", str(path), "--format", "json"], catch_exceptions=False)
        assert result.exit_code == 0, (path, result.stderr)
