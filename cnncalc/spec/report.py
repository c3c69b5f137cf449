"""Diagnostics collected while a spec is read: said once each, capped, sorted by place.

Every schema problem in a spec is reported together, so reading goes on after a mistake; a
Report gathers the diagnostics, says a mistake met once per block call only once, and stops
the expansion (TooLarge) when it has enough, or when expanding copies too many values.
"""

from __future__ import annotations

from cnncalc.errors import Diagnostic, Loc, SpecError
from cnncalc.layers import suggest

from .model import MAX_COPIES, MAX_DIAGNOSTICS


class TooLarge(Exception):
    """The expansion passed a limit; reported where it happened."""


class Report:
    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.sources: dict[str, str] = {path: text}  # every file read, by path: for the snippets
        self.diagnostics: list[Diagnostic] = []
        self.reported: set = set()
        self.copies = 0  # values copied while expanding (see charge)
        # an expression YAML split at a comma was reported: its tail, a key such as 'y)', is not
        self.split_expression = False

    def error(self, code: str, message: str, loc: Loc) -> None:
        # a mistake inside a block is met once per call; say it once
        if (code, loc) not in self.reported:
            self.reported.add((code, loc))
            self.diagnostics.append(Diagnostic(code, message, loc))

    @property
    def full(self) -> bool:
        """Enough to go on with: the expansion stops here, as the rest are likely the same mistake."""
        return len(self.diagnostics) >= MAX_DIAGNOSTICS

    def unknown_key(self, key: str, known, loc: Loc, where: str) -> str | None:
        """Report a key that is not one of `known`; returns the key it probably meant."""
        hint = suggest(key, known)
        self.error(
            "spec.unknown-key",
            f"unknown key {key!r} {where}" + (f"; did you mean {hint!r}?" if hint else ""),
            loc,
        )
        return hint

    def charge(self, amount: int, loc: Loc) -> None:
        """Count values copied while expanding: each call copies its arguments, `let:` values and
        fields, so a large value used by many calls would cost their product; refused, located."""
        self.copies += amount
        if self.copies > MAX_COPIES:
            self.error(
                "spec.too-large",
                f"the spec's block calls copy more than {MAX_COPIES:,} values: a large value is used by many calls",
                loc,
            )
            raise TooLarge()

    def fail(self) -> SpecError:
        """The error to raise: every diagnostic, in file order, then line and column."""
        files = list(self.sources)

        def place(d: Diagnostic):
            if not d.loc:
                return (0, 0, 0)
            return (files.index(d.loc.file) if d.loc.file in files else 0, d.loc.line, d.loc.column)

        ordered = sorted(self.diagnostics, key=place)
        return SpecError(ordered, self.text if len(self.sources) == 1 else dict(self.sources))
