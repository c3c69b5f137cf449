"""What the exported module holds besides its classes: its imports and the helpers it defines.

Their names are taken: no class, argument or layer attribute of the export may hide them.
"""

from __future__ import annotations

FUTURE = "annotations"  # `from __future__ import annotations`: `int | None` on Python 3.9

# name -> the line that imports it
IMPORTS = {
    "OrderedDict": "from collections import OrderedDict",
    "torch": "import torch",
    "nn": "from torch import nn",
}

MAKE_DIVISIBLE = '''def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round to a multiple of divisor, never below min_value nor 10% below value (MobileNet)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded
'''

# The expression language's functions that Python lacks (cnncalc.expressions.FUNCTIONS): name ->
# its definition, written into the module when an expression calls it
HELPER_FUNCTIONS = {"make_divisible": MAKE_DIVISIBLE}


def helper_classes() -> set[str]:
    """The classes the layer types' helpers define (torch_helper), from the registry."""
    from cnncalc.layers import REGISTRY

    return {name for layer in REGISTRY.values() for name in layer.torch_helper_names()}
