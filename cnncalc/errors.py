"""Source locations and the diagnostics that carry them."""

from __future__ import annotations

from dataclasses import dataclass

# Exit statuses shared by every command.
EXIT_OK = 0
EXIT_FAIL = 1  # the spec is valid but over budget (check) or differs from PyTorch (verify)
EXIT_ERROR = 2  # invalid spec or usage


@dataclass(frozen=True)
class Loc:
    """A 1-based position in a spec file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


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
