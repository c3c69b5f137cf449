"""Where spec text comes from, and the rules that keep it confined.

A spec is untrusted input (`cnncalc check` runs in CI on specs from pull requests), so:

- the spec named on the command line (a path, or '-' for standard input) is read up to
  MAX_SPEC_BYTES and refused, before any parsing, if it is larger;
- `include:` paths are relative, and the file they name, symlinks resolved, must lie inside a
  root: the repository root when the top-level spec lies in a git work tree, else the spec's own
  directory (the current directory for standard input). Only regular files are read, never
  anything under /proc, /sys or /dev or inside .git, and at most MAX_INCLUDE_BYTES of them;
- `REV:PATH` reads a file at a git revision with `git cat-file`, never passing git an argument
  it could take as an option; includes then come from the same commit, inside the repository.

Nothing here prints: problems are raised as SpecError (the top-level spec) or as `Refused`
(an included file, which the parser reports at the `include:` item).
"""

from __future__ import annotations

import os
import posixpath
import stat

from cnncalc.errors import Diagnostic, Loc, SpecError

MAX_SPEC_BYTES = 8 * 1024 * 1024
MAX_INCLUDE_BYTES = 1024 * 1024
GIT_TIMEOUT = 30  # seconds for one git command
PSEUDO_PATHS = ("<stdin>", "<spec>")  # names shown for text that has no file
_SYSTEM_TREES = ("/proc", "/sys", "/dev")
_BAD_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")  # control characters, lone surrogates, line breaks


class Refused(Exception):
    """An included file the rules do not read. The message says why and never quotes the file."""

    def __init__(self, message: str, code: str = "spec.unreadable"):
        super().__init__(message)
        self.message = message
        self.code = code


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def _too_big(shown: str, limit: int) -> Refused:
    return Refused(f"{shown!r} is larger than {_mib(limit)}, the most cnncalc reads for one file", "spec.too-large")


def _fail(code: str, message: str, shown: str) -> SpecError:
    return SpecError([Diagnostic(code, message, Loc(shown, 1, 1))])


# ---- the top-level spec ------------------------------------------------------------------------


def read_spec(path: str) -> tuple[str, str]:
    """The text of the spec at `path` ('-' reads standard input) and the name to show for it."""
    shown = "<stdin>" if path == "-" else path
    data = _read_stdin() if path == "-" else _read_path(path)
    if len(data) > MAX_SPEC_BYTES:
        raise _too_large(shown)
    return decode(data, shown), shown


def _too_large(shown: str) -> SpecError:
    return _fail("spec.too-large", f"spec is larger than {_mib(MAX_SPEC_BYTES)}, the most cnncalc reads", shown)


def _read_stdin() -> bytes:
    import sys

    stream = getattr(sys.stdin, "buffer", None)  # sys.stdin is None when the descriptor is closed
    if stream is None:
        raise _fail("spec.unreadable", "cannot read spec: standard input is closed", "<stdin>")
    try:
        return stream.read(MAX_SPEC_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a closed stream
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "standard input is closed"
        raise _fail("spec.unreadable", f"cannot read spec: {reason}", "<stdin>") from None


def _read_path(path: str) -> bytes:
    # a FIFO or process substitution on the command line is the user's choice: read it, capped
    _check_link(path)
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_SPEC_BYTES:
                raise _too_large(path)
            return handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise _fail("spec.unreadable", f"cannot read spec: {exc.strerror or exc}", path) from None
    except ValueError:  # a NUL in the path
        raise _fail("spec.unreadable", "cannot read spec: the path holds a NUL character", path) from None


def _check_link(path: str) -> None:
    """Refuse a spec that is a symbolic link leading out of its own tree (the git work tree holding
    it, else its directory) or into /proc, /sys or /dev: `cnncalc check architectures/*.yaml` in CI
    must not read, and show in an error, a file a pull request links to. A path the user names
    under /dev or /proc (process substitution, /dev/stdin) is the user's choice and is read."""
    try:
        absolute = os.path.abspath(path)
        if any(_inside(absolute, tree) for tree in _SYSTEM_TREES):
            return  # named there by the user
        real, root = os.path.realpath(path), find_root(path)
        if real == absolute:
            return  # no link on the way
    except (OSError, ValueError):
        return  # reported when it is opened
    if any(_inside(real, tree) for tree in _SYSTEM_TREES) or not _inside(real, root):
        raise _fail(
            "spec.unreadable",
            f"cannot read spec: it is a symbolic link to {real}, outside {root}; a spec must lie in its "
            "own directory or, in a git work tree, the repository",
            path,
        )


def decode(data: bytes, shown: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), or a located encoding error."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError([Diagnostic("spec.encoding", "spec is not UTF-8 text", Loc(shown, line, column))]) from None


# ---- included files on disk ----------------------------------------------------------------------


def check_include_path(relative: str) -> None:
    """Refuse an `include:` path that is absolute or holds control characters."""
    import unicodedata

    if any(unicodedata.category(c) in _BAD_CATEGORIES for c in relative):
        raise Refused("the path holds a control character", "spec.bad-value")
    if os.path.isabs(relative) or relative.startswith(("/", "\\")) or os.path.splitdrive(relative)[0]:
        raise Refused(f"{relative!r} is absolute; an included path is relative to the including file", "spec.bad-value")


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def find_root(spec_path: str) -> str:
    """The directory includes must stay in: the git work tree holding the spec, else its directory.

    The work tree is found by looking for a `.git` entry upwards; git itself is not run. Text
    from standard input, or a spec under /proc or /dev (process substitution), counts from the
    current directory.
    """
    start = os.path.realpath(os.getcwd() if spec_path in PSEUDO_PATHS else os.path.dirname(os.path.abspath(spec_path)))
    if any(_inside(start, tree) for tree in _SYSTEM_TREES):
        start = os.path.realpath(os.getcwd())
    directory = start
    while True:
        if os.path.lexists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return start
        directory = parent


class DiskFiles:
    """Reads the files a spec on disk (or from standard input) includes, inside its root."""

    def __init__(self, spec_path: str):
        self.spec_path = spec_path
        self._root: str | None = None

    @property
    def root(self) -> str:
        if self._root is None:
            self._root = find_root(self.spec_path)
        return self._root

    def locate(self, including: str, relative: str) -> str:
        """The path of `relative`, included from the file shown as `including`, as it is shown."""
        check_include_path(relative)
        base = "" if including in PSEUDO_PATHS else os.path.dirname(including)
        return os.path.normpath(os.path.join(base, relative))

    def read(self, path: str) -> str:
        """The text of the included file at `path`; raises Refused, OSError or UnicodeDecodeError."""
        real = os.path.realpath(path)
        if any(_inside(real, tree) for tree in _SYSTEM_TREES):
            raise Refused(f"{path!r} is a system file; an included file lies in the spec's tree")
        if not _inside(real, self.root):
            # written inside, resolved outside: say it is the link that leads out
            linked = _inside(os.path.abspath(path), self.root)
            raise Refused(
                f"{path!r} lies outside {self.root}"
                + (" (it is a symbolic link, or inside one, that leads out)" if linked else "")
                + "; included files stay inside the spec's directory or, for a spec in a git work tree, the repository"
            )
        if ".git" in os.path.relpath(real, self.root).split(os.sep):
            raise Refused(f"{path!r} lies inside .git; included files are spec files")
        return read_capped(real, path)


def read_capped(real: str, shown: str, limit: int = MAX_INCLUDE_BYTES) -> str:
    """The text of the regular file at `real`: never blocks, never reads more than `limit` + 1 bytes."""
    flags = os.O_RDONLY
    for name in ("O_NONBLOCK", "O_NOFOLLOW", "O_NOCTTY", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, name, 0)
    descriptor = os.open(real, flags)  # O_NONBLOCK: opening a FIFO does not wait for a writer
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{shown!r} is not a regular file")
        if info.st_size > limit:
            raise _too_big(shown, limit)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(descriptor)
    if size > limit:  # it grew since fstat
        raise _too_big(shown, limit)
    return b"".join(chunks).decode("utf-8-sig")


# ---- git revisions -----------------------------------------------------------------------------


def _git(*arguments: str) -> tuple[int, bytes, str]:
    """Run git with no terminal input; (status, output, last line of its complaint)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", *arguments], stdin=subprocess.DEVNULL, capture_output=True, timeout=GIT_TIMEOUT, check=False
        )
    except FileNotFoundError:
        return 127, b"", "git is not installed"
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:  # ValueError: a NUL in an argument
        return 1, b"", str(exc)
    complaint = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return done.returncode, done.stdout, complaint[-1] if complaint else "git failed"


def commit_of(revision: str) -> tuple[str | None, str]:
    """The commit `revision` names in the repository here, or None and why not."""
    if not revision or revision.startswith("-"):
        return None, "not a revision"
    status, output, complaint = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    if status != 0:
        return None, complaint if status == 127 else f"{revision!r} is not a revision in the git repository here"
    return output.decode("ascii", "replace").strip(), ""


def _followed(commit: str, path: str) -> str:
    """`path` in `commit` with symbolic links followed (inside the repository, at most 8); raises
    Refused for a link leading out, or an entry that is not a file."""
    for _ in range(8):
        status, output, _ = _git("--literal-pathspecs", "ls-tree", "--full-tree", "-z", commit, "--", path)
        mode = output.split(b" ", 1)[0] if status == 0 and output else b""
        if mode != b"120000":
            if mode and mode not in (b"100644", b"100755"):
                raise Refused(f"{path!r} is not a file at that revision")
            return path
        status, target, _ = _git("cat-file", "blob", "--end-of-options", f"{commit}:{path}")
        joined = _in_repository(posixpath.join(posixpath.dirname(path), target.decode("utf-8", "replace")))
        if status != 0 or joined is None:
            raise Refused(f"{path!r} is a symbolic link leading outside the repository")
        path = joined
    raise Refused(f"{path!r}: too many symbolic links")


def blob(commit: str, path: str, shown: str, limit: int) -> str:
    """The text of the file at `path` (from the repository's top) in `commit`, links followed
    inside the repository; raises Refused."""
    path = _followed(commit, path)
    name = f"{commit}:{path}"
    status, output, _ = _git("cat-file", "-s", "--end-of-options", name)
    if status != 0:
        raise Refused(f"there is no file {path!r} at that revision")
    if int(output.strip() or 0) > limit:
        raise _too_big(shown, limit)
    status, output, _ = _git("cat-file", "blob", "--end-of-options", name)
    if status != 0:
        raise Refused(f"{path!r} is not a file at that revision")
    if len(output) > limit:
        raise _too_big(shown, limit)
    try:
        return output.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused(f"{shown!r} is not UTF-8 text", "spec.encoding") from None


def _in_repository(path: str) -> str | None:
    """`path` normalised from the repository's top, or None if it leads above the top."""
    joined = posixpath.normpath(path)
    if joined.startswith("/") or joined == ".." or joined.startswith("../"):
        return None
    return joined


class GitFiles:
    """Reads a spec and the files it includes from one commit, inside the repository."""

    def __init__(self, argument: str, revision: str, commit: str):
        self.argument = argument  # REV:PATH as written: the top-level spec's shown name
        self.revision = revision
        self.commit = commit
        self.top = ""  # the spec's path from the repository's top

    def read_top(self, path: str) -> str:
        """The spec's text. PATH is relative to the current directory, failing that to the top."""
        status, output, _ = _git("rev-parse", "--show-prefix")
        prefix = output.decode("utf-8", "replace").strip() if status == 0 else ""
        candidates = [_in_repository(prefix + path)]
        if not path.startswith(("./", "../")):  # else relative to the current directory only
            candidates.append(_in_repository(path))
        problem = f"{path!r} leads outside the repository"
        for candidate in dict.fromkeys(c for c in candidates if c is not None):
            try:
                text = blob(self.commit, candidate, self.argument, MAX_SPEC_BYTES)
            except Refused as exc:
                problem = exc.message
                if exc.code != "spec.unreadable":
                    break
                continue
            self.top = candidate
            return text
        raise _fail("spec.unreadable", f"cannot read {self.argument!r} from git: {problem}", self.argument)

    def locate(self, including: str, relative: str) -> str:
        check_include_path(relative)
        inside = self.top if including == self.argument else including[len(self.revision) + 1 :]
        joined = _in_repository(posixpath.join(posixpath.dirname(inside), relative))
        if joined is None:
            raise Refused(f"{relative!r} leads outside the repository", "spec.bad-value")
        return f"{self.revision}:{joined}"

    def read(self, path: str) -> str:
        return blob(self.commit, path[len(self.revision) + 1 :], path, MAX_INCLUDE_BYTES)


def revision_argument(argument: str) -> tuple[str, str, str] | None:
    """(revision, path, commit) when `argument` names a file at a git revision; None for a file.

    REV:PATH is read from git when REV is a revision. An argument that is both an existing file
    and REV:PATH at a revision is refused as ambiguous; a revision starting with '-' never
    reaches git.
    """
    if argument == "-" or ":" not in argument or argument.startswith(("./", "../", "/")):
        return None
    revision, path = argument.split(":", 1)
    exists = os.path.exists(argument)
    if revision.startswith("-"):
        if exists:
            return None
        raise _fail("spec.unreadable", f"{revision!r} is not a revision: a revision cannot start with '-'", argument)
    commit, problem = commit_of(revision)
    if commit is None:
        if exists:
            return None
        raise _fail("spec.unreadable", f"no file {argument!r}, and {problem}", argument)
    if exists:
        raise _fail(
            "spec.unreadable",
            f"{argument!r} is both a file and {path!r} at git revision {revision!r}; write"
            f" './{argument}' for the file, or {commit}:{path} for the revision",
            argument,
        )
    return revision, path, commit
