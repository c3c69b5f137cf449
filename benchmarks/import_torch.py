"""Time `cnncalc import MODULE:CALLABLE` on generated PyTorch models of growing depth.

Usage: python benchmarks/import_torch.py [--runs N] [--sizes 250,1000,4000] [--check]

Needs torch. Each model is built on the meta device, traced once, written as a spec with its
blocks and repeats, and checked by planning that spec against the trace (what `cnncalc import`
does); the median of N runs is shown per size, with the time per module, so growth that is
not linear in the number of modules shows as a rising time per module. The models:

- chain: one nn.Sequential of conv, batch norm, ReLU, repeated (3 modules a unit);
- residual: ResNet-style blocks (conv, bn, relu, conv, bn, and the sum with the input), in
  stages of 8 blocks, each stage an nn.Sequential (5 modules a block);
- looped: a ModuleList of blocks a for-loop runs, each block reading its input twice (a
  squeeze-and-excitation gate: 4 modules a block).

Target (issue 16): a model of 1,000 modules imports in under 5 s, and the time per module at
the largest size is at most twice that at the smallest. --check exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 5.0
KINDS = {"chain": 3, "residual": 5, "looped": 4}  # modules a unit


def build(kind: str, modules: int):
    import torch
    from torch import nn

    units = max(1, modules // KINDS[kind])

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1, self.bn1, self.relu = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()
            self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)

        def forward(self, x):
            return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + x)

    class Gate(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.pool, self.fc1, self.fc2 = nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // 2, 1), nn.Conv2d(c // 2, c, 1)
            self.act = nn.Sigmoid()

        def forward(self, x):
            return x * self.act(self.fc2(torch.relu(self.fc1(self.pool(x)))))

    class Looped(nn.Module):
        def __init__(self):
            super().__init__()
            self.gates = nn.ModuleList([Gate(8) for _ in range(units)])

        def forward(self, x):
            for gate in self.gates:
                x = gate(x)
            return x

    if kind == "chain":
        return nn.Sequential(*[m for _ in range(units) for m in (nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())])
    if kind == "residual":
        stages = [nn.Sequential(*[Block(8) for _ in range(min(8, units - s))]) for s in range(0, units, 8)]
        return nn.Sequential(*stages)
    return Looped()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="250,1000,4000")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    from cnncalc.importers.pytorch import to_spec

    sizes = [int(s) for s in args.sizes.split(",")]
    missed = False
    target = f"{Path(__file__).resolve()}:build"
    to_spec(target, [(8, 16, 16)], {"kind": "chain", "modules": 30})  # torch's own imports, once
    for kind in KINDS:
        per_module = []
        for size in sizes:
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                text = to_spec(target, [(8, 16, 16)], {"kind": kind, "modules": size}, name=kind)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            per_module.append(median / size)
            print(f"{kind:9} {size:6} modules  {median:7.3f} s  {1e3 * median / size:6.3f} ms/module  {len(text.splitlines()):5} lines")
            if size == 1000 and median > TARGET_SECONDS:
                missed = True
        if per_module[-1] > 2 * per_module[0]:
            print(f"{kind}: time per module grows {per_module[-1] / per_module[0]:.1f}x from {sizes[0]} to {sizes[-1]}")
            missed = True
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
