"""Export a Keras-convention plan as a Keras 3 functional-model script.

One statement per layer, in planning order: `x = layers.Conv2D(32, 3, activation="relu",
name="conv2d_1")(x)`, with a comment where a block call starts. Every value is written anew from
the checked config (python_literal), never copied from the spec's text; layer names are the
spec's, with '.' written '_' (Keras's torch backend refuses dots). Pure: it never imports keras.
"""

from __future__ import annotations

import re

from cnncalc import __version__
from cnncalc.engine import Plan
from cnncalc.export.drafts import ExportError
from cnncalc.export.emit import docstring_text, forward_lines
from cnncalc.export.naming import model_input_variables
from cnncalc.layers.base import fmt_shape, python_literal
from cnncalc.layers.keras_code import named

# the script's own names: no variable may take them
_TAKEN = frozenset({"keras", "layers", "build_model", "inputs", "model", "x", "out"})


def to_keras(plan: Plan, *, source: str | None = None) -> str:
    """Python source of `build_model()`, returning the plan's network as a keras.Model: a
    Keras-convention plan layer for layer; a PyTorch-convention one with channels_first layers
    (ExportError naming the layers Keras has no exact equivalent for)."""
    names = keras_names(plan)
    arguments = model_input_variables(plan.input_shapes)
    variables = dict(zip(plan.input_shapes, arguments))
    if len(variables) == 1:
        variables = dict.fromkeys(variables, "inputs")
    elif any(variable in _TAKEN for variable in variables.values()):
        variables = {name: f"input_{k}" for k, name in enumerate(plan.input_shapes, 1)}
    lines = [
        f"    {variables[name]} = keras.Input(shape={_shape(shape)}, name={python_literal(name)})"
        for name, shape in plan.input_shapes.items()
    ]
    steps, rows = _steps(plan, names)
    returns = tuple(plan.output_shapes)
    body = forward_lines(steps, dict(variables), chain_style=True, returns=returns, reserved=_TAKEN)
    *statements, returned = (line[4:] for line in body)
    outputs = returned.removeprefix("    return ").strip()
    outputs_text = f"[{outputs}]" if len(returns) > 1 else outputs
    inputs_text = f"[{', '.join(variables.values())}]" if len(variables) > 1 else next(iter(variables.values()))
    lines += _with_block_comments(plan, rows, statements)
    lines.append(f"    return keras.Model({inputs_text}, {outputs_text}, name={python_literal(names_of_model(plan))})")
    return "\n".join([*_header(plan, source), *lines, *_main()]) + "\n"


def _steps(plan: Plan, names: dict[str, str]) -> tuple[list, list[int]]:
    """forward_lines' steps (one Keras layer each, called on its inputs) and, for each, the
    position of the spec layer it builds."""
    steps, rows, missing = [], [], []
    taken = set(names.values()) | set(plan.input_shapes)
    for position in plan.order:
        row = plan.layers[position]
        codes = _layer_codes(plan, row, names[row.name], taken)
        if codes is None:
            missing.append(row)
            continue
        inputs = row.spec.inputs
        for k, (code, name) in enumerate(codes):
            holes = [f"{{{i}}}" for i in range(len(inputs))] if k == 0 else ["{0}"]
            called = f"[{', '.join(holes)}]" if k == 0 and row.spec.layer.merges else holes[0]
            local = row.name if k == len(codes) - 1 else f"{row.name}#{k}"
            steps.append((local, f"{named(code, name, row.spec.trainable)}({called})", inputs))
            rows.append(position)
            inputs = (local,)
    if missing:
        listed = ", ".join(repr(row.name) for row in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ExportError(
            f"Keras has no exact equivalent for layer {listed}{more}: the Keras export of a PyTorch-convention "
            f"spec writes convolutions, pooling, normalisation, dense, activations, dropout, padding, upsampling "
            f"by whole factors and the merges (docs/spec.md lists what each becomes)"
        )
    return steps, rows


def _layer_codes(plan: Plan, row, name: str, taken: set) -> list[tuple[str, str]] | None:
    """The Keras layers (constructor without its name, and the name) that build one spec layer;
    `taken`: the model's names so far, which a padding or cropping layer's name must avoid."""
    spec = row.spec
    if not spec.inputs or (len(spec.inputs) > 1 and not spec.layer.merges):
        return None  # a learned tensor; an upsample to another's size
    codes = spec.layer.keras_layers(spec.cfg, row.input_shape)
    if codes is None:
        return None
    return [(code, _part_name(code, name, len(codes), taken)) for code in codes]


def _part_name(code: str, name: str, count: int, taken: set) -> str:
    """A spec layer written as several Keras layers: the padding or cropping around the main one
    is named after it (conv1_pad, conv1), and made unique among the model's names."""
    suffix = {"layers.ZeroPadding": "_pad", "layers.Cropping": "_crop"}
    extra = next((end for start, end in suffix.items() if code.startswith(start)), None)
    if count == 1 or extra is None:
        return name
    part, k = f"{name}{extra}", 2
    while part in taken:
        part, k = f"{name}{extra}_{k}", k + 1
    taken.add(part)
    return part


def _with_block_comments(plan: Plan, rows: list[int], statements: list[str]) -> list[str]:
    """A comment where each block call (or list) written at the top level starts:
    `# conv2.block1: block1`; `rows`: the spec layer each statement builds."""
    lines, current, previous = [], None, None
    for position, statement in zip(rows, statements):
        spec = plan.layers[position].spec
        caveat = spec.layer.keras_caveat(spec.cfg) if position != previous else None
        previous = position
        groups = spec.groups
        # the innermost call below the top level (a repetition of `conv2`, not `conv2` itself)
        call = next((g for g in groups if g.repeat is None), None) if groups else None
        if call is not current and call is not None:
            lines.append(f"    # {call.name}: {call.block}")
        current = call
        if caveat:
            lines.append(f"    # {caveat}")
        lines.append(statement)
    return lines


def keras_names(plan: Plan) -> dict[str, str]:
    """Each layer's Keras name: its spec name, '.' written '_', made unique."""
    taken: set[str] = set(plan.input_shapes)
    names = {}
    for row in plan.layers:
        base = row.name.replace(".", "_")
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[row.name] = name
    return names


def names_of_model(plan: Plan) -> str:
    """The keras.Model's name: the spec's, with what Keras (or its torch backend) refuses in a name written '_'."""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", plan.name) or "model"


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _header(plan: Plan, source: str | None) -> list[str]:
    origin = f" from {docstring_text(source)}" if source else ""
    totals = plan.totals
    shapes = ", ".join(fmt_shape(shape) for shape in plan.output_shapes.values())
    return [
        f'"""{docstring_text(plan.name)}: a Keras 3 model, generated by cnncalc {__version__}{origin}.',
        "",
        f"Input {', '.join(fmt_shape(s) for s in plan.input_shapes.values())} ({_layout(plan)}). Output {shapes}.",
        f"{totals.params:,} parameters: {totals.trainable_params:,} trainable, "
        f"{totals.non_trainable_params:,} non-trainable (model.summary() prints the same).",
        '"""',
        "",
        "import keras",
        "from keras import layers",
        "",
        "",
        "def build_model() -> keras.Model:",
    ]


def _layout(plan: Plan) -> str:
    if plan.convention == "keras":
        return "channels last"
    return "channels first: the spec's PyTorch layout, kept by data_format='channels_first'"


def _main() -> list[str]:
    return ["", "", 'if __name__ == "__main__":', "    build_model().summary()"]
