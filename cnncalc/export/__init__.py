"""Export a plan as a self-contained PyTorch module: the public face of cnncalc/export/."""

from __future__ import annotations

from cnncalc.export.build import (
    MODULE_ATTRIBUTES,
    RESERVED,
    Exported,
    ExportError,
    _Exporter,
    attribute_names,
    class_name,
    export,
    to_pytorch,
)

__all__ = [
    "MODULE_ATTRIBUTES",
    "RESERVED",
    "ExportError",
    "Exported",
    "_Exporter",
    "attribute_names",
    "class_name",
    "export",
    "to_pytorch",
]
