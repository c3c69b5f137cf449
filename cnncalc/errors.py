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
    "note.layout": "an image input whose shape reads like the other convention's order ([H, W, C] or [C, H, W])",
}


_set = object.__setattr__  # how a Frozen class's __init__ sets its fields


class Record:
    """Base of the small value classes cnncalc reads a spec into and plans with: what
    @dataclass(eq=True) gave them, written once: equality field by field, and a repr.

    Start-up goes through a dozen such classes, and a dataclass costs about 0.3 ms to define
    (it writes and compiles its methods), a class with __slots__ about 0.005 ms. A subclass lists
    its fields in __slots__, in the order its __init__ takes them; one that has to stay a
    dataclass (for dataclasses.replace) is declared @dataclass(init=False, repr=False, eq=False)
    with its own __init__, and its fields are the dataclass's. Like a dataclass with eq and not
    frozen, a Record has no hash.
    """

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def _names(self, role: str) -> list[str] | tuple[str, ...]:
        """The fields compared ("compare") or shown ("repr"): __slots__, or a dataclass's fields
        but those declared with field(compare=False) or field(repr=False)."""
        fields = getattr(self, "__dataclass_fields__", None)
        return [name for name, f in fields.items() if getattr(f, role)] if fields else self.__slots__

    def _values(self) -> tuple:
        return tuple([getattr(self, name) for name in self._names("compare")])

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        shown = ", ".join([f"{name}={getattr(self, name)!r}" for name in self._names("repr")])
        return f"{self.__class__.__qualname__}({shown})"


class Frozen(Record):
    """A Record that cannot be changed once made, as @dataclass(frozen=True): assigning a field
    raises AttributeError, and it hashes by its fields. Its __init__ sets them with
    object.__setattr__."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self):  # copy and pickle: its state cannot be set field by field
        names = getattr(self, "__dataclass_fields__", None) or self.__slots__
        return (self.__class__, tuple([getattr(self, name) for name in names]))


class Loc(Frozen):
    """A 1-based position in a spec file."""

    # One per value of a spec: made often, so its methods are written out rather than generic.
    __slots__ = ("file", "line", "column")
    file: str
    line: int
    column: int

    def __init__(self, file: str, line: int, column: int):
        _set(self, "file", file)
        _set(self, "line", line)
        _set(self, "column", column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.file, self.line, self.column) == (other.file, other.line, other.column)

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column))

    def __reduce__(self):
        return (Loc, (self.file, self.line, self.column))


@dataclass(init=False, repr=False, eq=False)  # a dataclass for dataclasses.replace; see Record
class Diagnostic(Frozen):
    """One problem found in a spec, located at the text that causes it."""

    code: str
    message: str
    loc: Loc | None
    severity: str = "error"

    def __init__(self, code: str, message: str, loc: Loc | None, severity: str = "error"):
        _set(self, "code", code)
        _set(self, "message", message)
        _set(self, "loc", loc)
        _set(self, "severity", severity)

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
