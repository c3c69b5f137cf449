"""The classes being written: a Draft per class (the model's, or a block's), a Context per call of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnncalc.spec import Block, Entry, Group, LayerSpec


class ExportError(Exception):
    """The plan has a structure the export cannot write yet; the message says which."""


class Irregular(Exception):
    """A block's calls differ in a way one class cannot express; the module is passed in whole."""


@dataclass
class Context:
    """One call of the class being written: the values its __init__ names stand for."""

    group: Group | None  # the block call (or list), None for the model
    env: dict  # argument, `let:` and channel names -> values


@dataclass
class Draft:
    """A class being written: for the model (one context, every value literal) or a block."""

    name: str
    block: Block | None
    contexts: list[Context]
    literal: bool
    hoisted: dict[str, list[str]] = field(default_factory=dict)  # extra argument -> value code per call
    hoisted_kinds: dict[str, str] = field(default_factory=dict)
    attributes: dict[int, str] = field(default_factory=dict)  # entry position -> attribute
    taken: set[str] = field(default_factory=set)  # attribute names
    names: set[str] = field(default_factory=set)  # __init__'s own names: arguments, `let:` values
    init: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    channel_params: list[str] = field(default_factory=list)
    output_channels: str | None = None  # the output's channels as an expression of the arguments
    done: bool = False
    sequential_chain: bool = False  # written as an nn.Sequential subclass
    input_variables: list[str] = field(default_factory=list)  # the model's forward() arguments
    constants: dict = field(default_factory=dict)  # the spec's `let:` values, written as values
    exposes: list[str] = field(default_factory=list)  # names inside a call its forward() also returns
    extra: list[str] = field(default_factory=list)  # those of `exposes` returned after its output


class Code(str):
    """Python source standing in for a config value in forward()'s expressions."""


def present(entry: Entry) -> bool:
    """Built in this call: not left out by `when:`, and not a block call all of whose layers were."""
    return entry.present and (entry.kind == "layer" or entry.target.layer_count > 0)


def layer_spec(rows: dict, entry: Entry) -> LayerSpec | None:
    """The layer an entry builds; None for a group."""
    return rows[entry.target].spec if entry.kind == "layer" and entry.target in rows else None
