"""`include:`: the blocks of other spec files, found and read as cnncalc.spec.sources allows
(relative paths, inside the spec's tree or its git revision, small regular files)."""

from __future__ import annotations

from cnncalc import yamlload
from cnncalc.errors import Loc, SpecError
from cnncalc.layers.conventions import Convention
from cnncalc.yamlload import YNode

from . import blocks as block_definitions
from . import sources
from .model import MAX_INCLUDES, Block
from .report import Report

INCLUDED_KEYS = ("blocks", "include", "description")


class Includes:
    """Reads included files for one spec; `failed` once one could not be read (then a type the
    spec uses and no block defines is likely in it, and is not reported again)."""

    def __init__(self, report: Report, files, types: Convention):
        self.report = report
        self.types = types  # the including spec's convention: its blocks are read in it
        self.files = files  # finds and reads included files (sources.GitFiles); from disk if None
        self.failed = False

    def blocks(self, node: YNode, including: str, chain: list[str]) -> list[Block]:
        """The blocks of each file in `include:` (and of the files they include), in order."""
        if self.files is None:
            self.files = sources.DiskFiles(self.report.path)
        found: list[Block] = []
        items = node.value if isinstance(node.value, list) else [node]
        for item in items:
            path = self.locate(item, including, chain)
            if path is None:
                continue
            if len(self.report.sources) >= MAX_INCLUDES:
                self.report.error("spec.bad-value", f"include: more than {MAX_INCLUDES} files", item.loc)
                break
            root = self.read(path, item.loc)
            if root is None:
                continue
            for key in root.value:
                if key not in INCLUDED_KEYS:
                    self.report.unknown_key(key, INCLUDED_KEYS, root.key_locs[key], "in an included file")
            if "include" in root.value:
                found += self.blocks(root.value["include"], path, [*chain, path])
            found += block_definitions.definitions(self.report, root.value["blocks"], self.types).values()
        return found

    def locate(self, item: YNode, including: str, chain: list[str]) -> str | None:
        """The path an `include:` item names, or None: reported, or already read."""
        if not isinstance(item.value, str) or not item.value.strip():
            self.report.error("spec.bad-value", "include: expected a file path or a list of them", item.loc)
            return None
        try:
            path = self.files.locate(including, item.value)
        except sources.Refused as exc:
            self.report.error(exc.code, f"include: {exc.message}", item.loc)
            self.failed = True
            return None
        if path in chain:
            self.report.error("spec.include-cycle", f"include: {' -> '.join([*chain, path])} includes itself", item.loc)
            return None
        if path in self.report.sources:  # reached again through another file: its blocks are in
            return None
        return path

    def read(self, path: str, item: Loc) -> YNode | None:
        """The tree of the file included as `path` (from the item at `item`), or None once reported.
        A file that is not a spec (not YAML, not a mapping with `blocks:`) is reported without its text."""
        try:
            text = self.files.read(path)
        except (sources.Refused, OSError, ValueError) as exc:
            code, reason = _unreadable(path, exc)
            self.report.error(code, f"include: {reason}", item)
            self.failed = True
            return None
        self.report.sources[path] = ""  # its text shows under errors only once it is known to be a spec
        try:
            root = yamlload.load(text, path)
        except SpecError as exc:
            self.report.error(exc.diagnostics[0].code, _not_yaml(exc), exc.diagnostics[0].loc)
            self.failed = True
            return None
        if root is None or not isinstance(root.value, dict) or "blocks" not in root.value:
            where = root.loc if root is not None else Loc(path, 1, 1)
            message = f"{path}: an included file is a mapping with `blocks:` (its text is not shown)"
            self.report.error("spec.bad-value", message, where)
            self.failed = True
            return None
        self.report.sources[path] = text
        return root


def _unreadable(path: str, exc: Exception) -> tuple[str, str]:
    if isinstance(exc, sources.Refused):
        return exc.code, exc.message
    if isinstance(exc, UnicodeDecodeError):
        return "spec.unreadable", f"cannot read {path!r}: it is not UTF-8 text"
    strerror = exc.strerror if isinstance(exc, OSError) else None
    return "spec.unreadable", f"cannot read {path!r}: {strerror or 'it cannot be opened'}"


def _not_yaml(exc: SpecError) -> str:
    from cnncalc.errors import CODES

    first = exc.diagnostics[0]
    if first.code == "spec.syntax":
        return "invalid YAML in an included file (its text is not shown)"
    message = f"an included file holds plain YAML with `blocks:`; this one has {CODES[first.code]}"
    return message + " (its text is not shown)"
