"""Spec files: from YAML text to a validated, located list of layers.

The pipeline, one file per step:

- sources.py: where spec text comes from (files, standard input, git revisions, includes) and
  the limits that keep it confined;
- cnncalc.yamlload: YAML to located nodes;
- document.py: the top level (name, input, blocks, layers, budget) into a Spec;
- includes.py, blocks.py: included files, block definitions and binding a call's arguments;
- bounds.py: how large the expansion will be, before it is made;
- expand.py, calls.py: block calls, repeats, lists and conditions into a flat list of layers;
- fields.py, substitute.py: one entry's form and fields; a block's expressions worked out;
- report.py: the diagnostics, said once each; model.py: the dataclasses the rest of cnncalc uses.

Every schema problem in the file is collected and reported together; shape problems are found
later, by the engine, one at a time.
"""

from __future__ import annotations

from cnncalc.budget import BUDGET_LIMITS, BUDGET_SETTINGS, BUDGET_UNITS, Budget

from .blocks import unusable_name
from .model import (
    ENTRY_KEYS,
    MAX_LAYERS,
    NETWORK_INPUT,
    REQUIRED_ARGUMENT,
    TOP_LEVEL_KEYS,
    Block,
    Entry,
    Group,
    LayerSpec,
    Spec,
    dependency_order,
)

__all__ = [
    "BUDGET_LIMITS",
    "BUDGET_SETTINGS",
    "BUDGET_UNITS",
    "ENTRY_KEYS",
    "MAX_LAYERS",
    "NETWORK_INPUT",
    "REQUIRED_ARGUMENT",
    "TOP_LEVEL_KEYS",
    "Block",
    "Budget",
    "Entry",
    "Group",
    "LayerSpec",
    "Spec",
    "dependency_order",
    "load_file",
    "load_file_or_revision",
    "parse",
    "unusable_name",
]


def parse(
    text: str,
    path: str = "<spec>",
    *,
    default_name: str = "model",
    files=None,
    constants: dict | None = None,
    convention: str | None = None,
) -> Spec:
    """Parse spec text; raises SpecError listing every problem found. `files` finds and reads
    included files (cnncalc.spec.sources: from disk, inside the spec's tree, by default);
    `constants` replaces values of the spec's top-level `let:` ({name: text}, as --set gives);
    `convention` ("pytorch" or "keras", as --convention gives) replaces its `convention:`."""
    from cnncalc import yamlload
    from cnncalc.gcpause import paused

    from .document import read
    from .report import Report

    with paused():
        root = yamlload.load(text, path)
        return read(root, Report(path, text), default_name, files, constants or {}, convention)


def load_file(path: str, constants: dict | None = None, convention: str | None = None) -> Spec:
    """Read and parse the spec at `path` ('-' reads standard input); see cnncalc.spec.sources.
    `constants` and `convention`: as parse() takes them."""
    from . import sources

    text, shown = sources.read_spec(path)
    default_name = "spec" if path == "-" else _stem(path)
    return parse(text, shown, default_name=default_name, constants=constants, convention=convention)


def load_file_or_revision(argument: str, constants: dict | None = None, convention: str | None = None) -> Spec:
    """A spec from a file, '-' for standard input, or REV:PATH for a file at a git revision.

    REV:PATH is read from git when REV is a revision; PATH is relative to the current directory
    or, failing that, to the repository's top. An argument that is also an existing file is
    refused as ambiguous; one that is a file and not a revision is read as a file, so paths
    containing ':' still work.
    """
    from . import sources

    found = sources.revision_argument(argument)
    if found is None:
        return load_file(argument, constants, convention)
    revision, path, commit = found
    files = sources.GitFiles(argument, revision, commit)
    text = files.read_top(path)
    return parse(text, argument, default_name=_stem(path), files=files, constants=constants, convention=convention)


def _stem(path: str) -> str:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base
