"""`cnncalc diff REV:PATH`: git is called so that no argument can become an option, a revision
starting with '-' never reaches git, an argument that is both a file and REV:PATH is refused as
ambiguous, and what is read from git is capped in size and stays inside the repository."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.errors import SpecError
from cnncalc.spec import load_file_or_revision, sources

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

SMALL = "name: small\ninput: [3, 8, 8]\nlayers:\n  - {type: conv2d, name: conv, out_channels: 4, kernel_size: 3}\n"
LARGE = SMALL.replace("out_channels: 4", "out_channels: 4096")  # what a PR could hide
IDENTITY = {
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.invalid",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.invalid",
}


def _git(repo, *arguments) -> str:
    done = subprocess.run(["git", *arguments], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A throwaway repository: m.yaml and arch/m.yaml committed on `base`, the working directory at its top."""
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)
    _git(tmp_path, "init", "-q")
    (tmp_path / "arch").mkdir()
    (tmp_path / "arch" / "m.yaml").write_text(SMALL)
    (tmp_path / "m.yaml").write_text(SMALL)
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "base")
    _git(tmp_path, "branch", "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def git_calls(monkeypatch):
    """Every command cnncalc runs, with the keyword arguments it runs it with."""
    calls = []
    real_run = subprocess.run

    def spy(command, *args, **kwargs):
        calls.append((list(command), kwargs))
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    return calls


def _diff(*arguments):
    return runner().invoke(cli, ["diff", *arguments], catch_exceptions=False)


@pytest.mark.parametrize(
    "argument",
    ["--output={pwned}:m.yaml", "-O{pwned}:x", "-O/etc/passwd:x", "--exec-path=/tmp:m.yaml", "-:m.yaml"],
)
def test_a_revision_starting_with_a_dash_never_reaches_git(repo, tmp_path, git_calls, argument):
    pwned = tmp_path / "pwned"
    argument = argument.format(pwned=pwned)
    result = _diff("--", argument, "m.yaml")
    assert result.exit_code == 2
    revision = argument.split(":", 1)[0]
    assert result.stderr.startswith(f"{argument}:1:1: error: {revision!r} is not a revision")
    assert "cannot start with '-'" in result.stderr
    assert git_calls == []
    assert not pwned.exists()


def test_git_gets_end_of_options_no_stdin_and_a_timeout(repo, git_calls):
    assert _diff("base:arch/m.yaml", "arch/m.yaml").exit_code == 0
    assert git_calls, "git was not run"
    for command, kwargs in git_calls:
        assert command[0] == "git"
        assert kwargs["stdin"] is subprocess.DEVNULL
        assert kwargs["timeout"] > 0
        if any("base" in word or ":" in word for word in command[1:]):  # a word built from the argument
            assert "--end-of-options" in command
            assert command.index("--end-of-options") == len(command) - 2
    subcommands = [command[1:3] for command, _ in git_calls]
    assert ["cat-file", "blob"] in subcommands and ["show", "base:arch/m.yaml"] not in subcommands


def test_a_file_named_like_a_revision_is_ambiguous(repo):
    # a PR adds base:arch/m.yaml to the work tree, hoping diff reads it instead of the base branch
    (repo / "base:arch").mkdir()
    (repo / "base:arch" / "m.yaml").write_text(SMALL)
    (repo / "arch" / "m.yaml").write_text(LARGE)
    result = _diff("base:arch/m.yaml", "arch/m.yaml")
    assert result.exit_code == 2
    commit = _git(repo, "rev-parse", "base")
    assert result.stderr.startswith("base:arch/m.yaml:1:1: error: 'base:arch/m.yaml' is both a file and")
    assert "'./base:arch/m.yaml' for the file" in result.stderr
    assert f"{commit}:arch/m.yaml for the revision" in result.stderr
    # either way out of the ambiguity works
    as_file = _diff("./base:arch/m.yaml", "arch/m.yaml", "--format", "json")
    assert as_file.exit_code == 0, as_file.stderr
    as_revision = _diff(f"{commit}:arch/m.yaml", "arch/m.yaml", "--format", "json")
    assert as_revision.exit_code == 0, as_revision.stderr
    assert '"params"' in as_revision.stdout


def test_a_file_with_a_colon_whose_prefix_is_no_revision_is_a_file(repo):
    (repo / "notes:v2.yaml").write_text(SMALL)
    assert load_file_or_revision("notes:v2.yaml").name == "small"


def test_a_file_with_a_colon_outside_any_repository_is_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "HEAD:m.yaml").write_text(SMALL)
    assert load_file_or_revision("HEAD:m.yaml").name == "small"
    (tmp_path / "-x:m.yaml").write_text(SMALL)  # a file after click's --, not an option
    assert load_file_or_revision("-x:m.yaml").name == "small"


def test_neither_a_file_nor_a_revision(repo):
    result = _diff("nosuch:m.yaml", "m.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "nosuch:m.yaml:1:1: error: no file 'nosuch:m.yaml', and 'nosuch' is not a revision in the git repository here"
    )


def test_a_revision_is_a_commit_not_any_object(repo):
    blob = _git(repo, "rev-parse", "base:m.yaml")  # an object, but not a commit
    with pytest.raises(SpecError) as caught:
        load_file_or_revision(f"{blob}:m.yaml")
    [diagnostic] = caught.value.diagnostics
    assert "is not a revision" in diagnostic.message
    assert (diagnostic.code, str(diagnostic.loc)) == ("spec.unreadable", f"{blob}:m.yaml:1:1")


@pytest.mark.parametrize("path", ["../outside.yaml", "arch/../../outside.yaml", "/etc/passwd"])
def test_a_path_leading_out_of_the_repository(repo, path):
    with pytest.raises(SpecError) as caught:
        load_file_or_revision(f"base:{path}")
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, str(diagnostic.loc)) == ("spec.unreadable", f"base:{path}:1:1")
    assert diagnostic.message.endswith(f"{path!r} leads outside the repository"), diagnostic.message
    assert "leads outside the repository" in diagnostic.message


def _commit_spec_with_include(repo, included: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / "arch" / "inc.yaml").write_text(f"input: [3, 8, 8]\ninclude: {included}\nlayers: [unit]\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "include")


@pytest.mark.parametrize(
    ("included", "message"),
    [
        ("../../etc/passwd", "include: '../../etc/passwd' leads outside the repository"),
        ("../../../../../proc/self/environ", "include: '../../../../../proc/self/environ' leads outside"),
        ("/etc/passwd", "include: '/etc/passwd' is absolute"),
        ('"a\\0b"', "include: the path holds a control character"),
        ("big.yaml", "include: 'HEAD:arch/big.yaml' is larger than 1 MiB"),
        ("missing.yaml", "include: there is no file 'arch/missing.yaml' at that revision"),
        ("blocks", "include: 'arch/blocks' is not a file at that revision"),
    ],
)
def test_includes_from_git_follow_the_rules(repo, git_calls, included, message):
    _commit_spec_with_include(
        repo,
        included,
        {
            "arch/big.yaml": "blocks:\n  unit: [relu]\n" + "#" * (2 * 1024 * 1024) + "\n",
            "arch/blocks/b.yaml": "blocks:\n  unit: [relu]\n",
        },
    )
    git_calls.clear()
    with pytest.raises(SpecError) as caught:
        load_file_or_revision("HEAD:arch/inc.yaml")
    [diagnostic] = caught.value.diagnostics
    assert str(diagnostic.loc) == "HEAD:arch/inc.yaml:2:10"
    assert diagnostic.message.startswith(message), diagnostic.message
    # the size is asked before the blob is read, and a blob over the cap is never read
    blobs = [command[-1] for command, _ in git_calls if command[1:3] == ["cat-file", "blob"]]
    assert not any(blob.endswith(":arch/big.yaml") for blob in blobs)


def test_an_included_file_that_is_not_a_spec_is_not_shown(repo):
    _commit_spec_with_include(repo, "notes.txt", {"arch/notes.txt": "TOKEN=CNNCALC_SECRET_9b1\n"})
    result = _diff("HEAD:arch/inc.yaml", "m.yaml")
    assert result.exit_code == 2
    assert "HEAD:arch/notes.txt:1:1: error: " in result.stderr
    assert "CNNCALC_SECRET_9b1" not in result.stderr + result.stdout


def test_includes_come_from_the_same_commit(repo):
    _commit_spec_with_include(repo, "../lib/b.yaml", {"lib/b.yaml": "blocks:\n  unit: [relu]\n"})
    (repo / "lib" / "b.yaml").write_text("blocks:\n  unit: [relu, relu, relu]\n")  # changed since
    spec = load_file_or_revision("HEAD:arch/inc.yaml")
    assert [layer.name for layer in spec.layers] == ["unit_1.relu_1"]
    assert "HEAD:lib/b.yaml" in spec.sources


def test_a_spec_over_the_cap_in_git_is_not_read(repo, git_calls):
    (repo / "huge.yaml").write_text(SMALL + "#" * sources.MAX_SPEC_BYTES + "\n")
    _git(repo, "add", "huge.yaml")
    _git(repo, "commit", "-qm", "huge")
    git_calls.clear()
    result = _diff("HEAD:huge.yaml", "m.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith("HEAD:huge.yaml:1:1: error: cannot read 'HEAD:huge.yaml' from git:")
    assert "larger than 8 MiB" in result.stderr
    assert [command[1:3] for command, _ in git_calls if command[1:3] == ["cat-file", "blob"]] == []


def test_paths_are_relative_to_the_working_directory_then_the_top(repo, monkeypatch):
    monkeypatch.chdir(repo / "arch")
    for argument in ("base:m.yaml", "base:./m.yaml", "base:arch/m.yaml"):
        assert load_file_or_revision(argument).name == "small"
    with pytest.raises(SpecError) as caught:  # ./ means the working directory only
        load_file_or_revision("base:./arch/m.yaml")
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.code, str(diagnostic.loc)) == ("spec.unreadable", "base:./arch/m.yaml:1:1")
    assert diagnostic.message.endswith("there is no file 'arch/arch/m.yaml' at that revision"), diagnostic.message


def test_a_symbolic_link_inside_the_repository_is_followed_at_a_revision(repo):
    """As on disk: `include: link.yaml` with link.yaml -> blocks/b.yaml reads the blocks."""
    (repo / "arch" / "blocks").mkdir()
    (repo / "arch" / "blocks" / "b.yaml").write_text("blocks:\n  unit: [relu]\n")
    (repo / "arch" / "link.yaml").symlink_to("blocks/b.yaml")
    _commit_spec_with_include(repo, "link.yaml", {})
    assert load_file_or_revision("HEAD:arch/inc.yaml").blocks.keys() == {"unit"}


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside.yaml"])
def test_a_symbolic_link_out_of_the_repository_is_refused_at_a_revision(repo, target):
    (repo / "arch" / "link.yaml").symlink_to(target)
    _commit_spec_with_include(repo, "link.yaml", {})
    with pytest.raises(SpecError) as caught:
        load_file_or_revision("HEAD:arch/inc.yaml")
    [diagnostic] = caught.value.diagnostics
    assert str(diagnostic.loc) == "HEAD:arch/inc.yaml:2:10"
    assert "'arch/link.yaml' is a symbolic link leading outside the repository" in diagnostic.message
