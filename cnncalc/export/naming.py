"""Names in the exported module: class names, layer attributes, forward()'s variables, and the
names nothing may take (forward()'s own, the module's imports and helpers)."""

from __future__ import annotations

import builtins
import keyword
import re

from cnncalc.export.prelude import FUTURE, HELPER_FUNCTIONS, IMPORTS, helper_classes
from cnncalc.spec import Block

# torch.nn.Module's own attributes (PyTorch 2.x); a layer named like one is renamed.
# tests/test_export.py checks this list against the installed torch.
MODULE_ATTRIBUTES = frozenset(
    """T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda
    double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
    get_submodule half ipu load_state_dict modules mtia named_buffers named_children named_modules
    named_parameters parameters register_backward_hook register_buffer register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
    set_extra_state set_submodule share_memory state_dict to to_empty train training type xpu
    zero_grad""".split()
)

FORWARD_VARIABLES = ("self", "x", "out")  # forward()'s own names: the module, its input, the running value
# no attribute, argument or variable takes these
RESERVED = frozenset({*FORWARD_VARIABLES, *IMPORTS, *HELPER_FUNCTIONS})


def class_name(name: str) -> str:
    """'seed-50x50' -> 'Seed50x50', 'vgg16_bn' -> 'Vgg16Bn'."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    result = "".join(w[0].upper() + w[1:] for w in words) or "Net"
    return result if result[0].isalpha() and not keyword.iskeyword(result) else f"Net{result}"


def identifier(name: str, taken: set[str]) -> str:
    """A Python attribute for a spec name: itself where that is a valid, free identifier."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if keyword.iskeyword(base) or base in MODULE_ATTRIBUTES or base.startswith("_") or not base[:1].isalpha():
        base = f"layer_{base.lstrip('_')}"
    result, n = base, 2
    while result in taken:
        result, n = f"{base}_{n}", n + 1
    taken.add(result)
    return result


def claim_exact(names, taken: set[str]) -> set[str]:
    """The names that are already valid, free attributes, added to `taken` first: `my_layer`
    keeps its name, and `my-layer` (written `my_layer` too) becomes `my_layer_2`."""
    claimed = {name for name in names if name and name not in taken and identifier(name, set()) == name}
    taken |= claimed
    return claimed


def attribute(name: str, taken: set[str], claimed: set[str]) -> str:
    """The attribute for `name`: itself if claimed for it (once), else a free identifier."""
    if name in claimed:
        claimed.discard(name)
        return name
    return identifier(name, taken)


def attribute_names(plan) -> list[str]:
    """For a spec without blocks: a Python attribute per layer, in order."""
    taken = set(RESERVED)
    claimed = claim_exact([row.name for row in plan.layers], taken)
    return [attribute(row.name, taken, claimed) for row in plan.layers]


def module_names(spec) -> set[str]:
    """Names a class must not take: the module's imports and helpers, builtins, and every name
    a block's __init__ defines (an argument `Bottleneck` would hide the class of that name)."""
    taken = {*RESERVED, FUTURE, *dir(builtins), *helper_classes()}
    for block in spec.blocks.values() if spec is not None else ():
        taken |= {*block.params, *block.let}
    return taken


def model_class_name(name: str, taken: set[str]) -> str:
    result = class_name(name)
    while result in taken:
        result += "Model"
    return result


def block_class_names(spec, model_name: str, taken: set[str]) -> dict[str, str]:
    """A class name for each block of the spec, clear of `taken` and of each other."""
    taken = {*taken, model_name}
    names = {}
    for name in spec.blocks if spec is not None else {}:
        candidate = class_name(name)
        while candidate in taken:
            candidate += "Block"
        taken.add(candidate)
        names[name] = candidate
    return names


def channel_params(block: Block) -> list[str]:
    """The constructor's channel arguments: in_channels for the first input, <name>_channels after."""
    names = []
    for i, name in enumerate(block.inputs):
        base = "in_channels" if i == 0 else f"{name}_channels"
        while base in block.params or base in block.let or base in names:
            base = f"{base}_"
        names.append(base)
    return names


def input_variable(name: str, position: int) -> str:
    """forward()'s argument for a block's input: x for the first, the input's name after."""
    if position == 0:
        return "x"
    return name if name.isidentifier() and not keyword.iskeyword(name) and name not in RESERVED else f"input_{position}"


def model_input_variables(names) -> list[str]:
    """The model's forward() arguments: x for one input; for named inputs their names where each
    is a free Python name (else input_1, input_2, ...): forward(self, image, t)."""
    names = list(names)
    if len(names) == 1:
        return ["x"]
    variables: list[str] = []
    for position, name in enumerate(names):
        free = name.isidentifier() and not keyword.iskeyword(name) and not hasattr(builtins, name)
        free = free and name not in RESERVED and name not in ("x", "out", "_")
        variable, n = (name if free else f"input_{position + 1}"), 2
        while variable in variables or variable in names[position + 1 :]:  # never one another input takes
            variable, n = f"input_{position + 1}_{n}", n + 1
        variables.append(variable)
    return variables
