"""The zoo table in docs/costs.md, recomputed: `python tools/zoo_table.py` rewrites it in place.

tests/test_zoo.py fails when the pasted table is stale.
"""

from __future__ import annotations

import re
from pathlib import Path

from cnncalc.engine import plan
from cnncalc.memory import estimate
from cnncalc.render.units import human_bytes, human_count
from cnncalc.spec import load_file

ROOT = Path(__file__).resolve().parent.parent
COSTS = ROOT / "docs" / "costs.md"
ZOO = [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
    "densenet121", "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_small",
    "mobilenet_v3_large", "googlenet", "inception_v3", "shufflenet_v2_x1_0", "mnasnet1_0",
    "efficientnet_b0", "regnet_y_400mf", "convnext_tiny", "unet",
]  # fmt: skip
START, END = "<!-- zoo table: python tools/zoo_table.py -->", "<!-- end of zoo table -->"


def _field(result) -> str:
    """The final feature map's field (the last output larger than 1x1); '-' where none is
    defined (after a squeeze-and-excitation gate or an upsampling)."""
    maps = [row for row in result.layers if len(row.output_shape) == 3 and row.output_shape[1:] != (1, 1)]
    field = maps[-1].receptive_field
    if field is None or field.size[0] != field.size[1]:
        return "-"
    return f"{field.size[0]} / {field.stride[0]}"


def table() -> str:
    lines = [
        "| Model | Input | Layers | Params | MACs | Receptive field / stride | Training memory, batch 32 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in ZOO:
        result = plan(load_file(str(ROOT / "architectures" / f"{name}.yaml")))
        memory = estimate(result, batch_size=32)
        shape = "x".join(str(d) for d in result.input_shape)
        lines.append(
            f"| [{name}](../architectures/{name}.yaml) | {shape} | {len(result.layers)} | "
            f"{result.totals.params:,} | {human_count(result.totals.macs)} | {_field(result)} | "
            f"{human_bytes(memory.training_total_bytes)} |"
        )
    return "\n".join(lines)


def rewritten(text: str) -> str:
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    return pattern.sub(lambda _: f"{START}\n{table()}\n{END}", text)


if __name__ == "__main__":
    COSTS.write_text(rewritten(COSTS.read_text()))
