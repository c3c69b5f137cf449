"""Source locations and the diagnostics that carry them."""

from __future__ import annotations

from dataclasses import dataclass

# Exit statuses shared by every command.
EXIT_OK = 0
EXIT_FAIL = 1  # the spec is valid but over budget (check) or differs from PyTorch (verify)
EXIT_ERROR = 2  # invalid spec or usage

# Every diagnostic code, with what it means: the one catalogue (tests/test_error_codes.py keeps
# it complete). JSON output carries the code, so a code once published keeps its meaning.
CODES = {
    "spec.syntax": "the file is not valid YAML",
    "spec.encoding": "the file is not UTF-8 text",
    "spec.empty": "the file holds no spec",
    "spec.unreadable": "a spec or included file cannot be read",
    "spec.too-large": "the spec, or what it expands to, is over a size or nesting limit",
    "spec.bad-tag": "a YAML tag cnncalc does not accept (such as !!python/object)",
    "spec.bad-key": "a mapping key that is not a name",
    "spec.duplicate-key": "the same key twice in one mapping",
    "spec.unknown-key": "a key cnncalc does not know here",
    "spec.misplaced-key": "a known key in the wrong place",
    "spec.missing-key": "a required key is missing",
    "spec.bad-value": "a value of the wrong type or out of range",
    "spec.bad-expression": "a block expression that is not allowed or cannot be evaluated",
    "spec.bad-layer": "a layer entry that cannot be read",
    "spec.unknown-type": "a layer type cnncalc does not know",
    "spec.bad-name": "a name cnncalc cannot use: not an identifier, a keyword, a builtin or one it keeps",
    "spec.duplicate-name": "two layers, blocks or outputs with one name",
    "spec.include-cycle": "include: files that include each other",
    "spec.block-cycle": "blocks that call each other",
    "shape.invalid": "a layer cannot take its input's shape",
    "shape.nonpositive": "a layer's output would have a size of zero or less",
    "shape.mismatch": "inputs or stated sizes that do not agree",
    "shape.rank": "an input of the wrong number of axes",
    "shape.not-flat": "a linear layer on an input that is not flat",
    "graph.unknown-input": "inputs: names no layer (in this block)",
    "graph.arity": "a layer or block given the wrong number of inputs",
    "graph.cycle": "layers that read each other's outputs in a circle",
    "budget.none": "check found no budget to check",
    # warnings: the spec is valid, but worth a look
    "note.layer": "a layer's own note, e.g. pixels a window never reads",
    "note.in-place": "an in-place layer overwrites a tensor another layer reads later",
    "note.unread": "a layer whose output nothing reads, apart from the network's output",
}


@dataclass(frozen=True)
class Loc:
    """A 1-based position in a spec file."""

    # One per value of a spec: __slots__ halves its size and the time to make one.
    __slots__ = ("file", "line", "column")
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __reduce__(self):  # copy and pickle: a frozen class with __slots__ cannot set its state
        return (Loc, (self.file, self.line, self.column))


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a spec, located at the text that causes it."""

    code: str
    message: str
    loc: Loc | None
    severity: str = "error"

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.loc.file if self.loc else None,
            "line": self.loc.line if self.loc else None,
            "column": self.loc.column if self.loc else None,
            "severity": self.severity,
        }


class SpecError(Exception):
    """Raised with every diagnostic that stops a spec from being planned."""

    def __init__(self, diagnostics: list[Diagnostic], source: str | None = None):
        super().__init__("\n".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics
        self.source = source  # the spec's text, for snippets under each message


class LayerError(Exception):
    """Raised by a layer rule; the engine adds the layer's name and location.

    `field` names the config field whose value is at fault, so the message can
    point at that field's line rather than at the layer as a whole.
    """

    def __init__(self, message: str, field: str | None = None, code: str = "shape.invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
