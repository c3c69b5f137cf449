"""Time planning the zoo's specs in-process: parse and expand the blocks, propagate shapes, count
costs, estimate memory, and write the JSON document (or print the table).

Usage: python benchmarks/zoo.py [--runs N] [--check]

Targets, each the median of N runs after one to warm up:
- ResNet-152 (515 layers from 50 block calls) and DenseNet-121 (427 layers whose
  concatenations grow to 1,024 channels) each plan to JSON in under 250 ms;
- ResNet-50 plans to JSON in at most 25 ms and to the table in at most 60 ms (issue 11);
- the table of a plain list of 1,000 layers renders (plan and memory already made) in at
  most 100 ms, "well under a second" (issue 11; it took about 1.1 ms a row).
--check exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ["resnet50", "resnet152", "densenet121", "inception_v3", "efficientnet_b0", "unet"]
# (spec, format) -> the most seconds it may take
TARGETS = {
    ("resnet152", "json"): 0.250,
    ("densenet121", "json"): 0.250,
    ("resnet50", "json"): 0.025,
    ("resnet50", "table"): 0.060,
}
TABLE_ROWS, TABLE_TARGET = 1000, 0.100


def plan_once(path: Path, fmt: str) -> float:
    """Seconds to plan the spec at `path` and write it as `fmt` (json or table) to memory."""
    from cnncalc.engine import plan
    from cnncalc.memory import estimate
    from cnncalc.render.json import plan_json
    from cnncalc.render.table import render
    from cnncalc.spec import load_file

    start = time.perf_counter()
    result = plan(load_file(str(path)))
    memory = estimate(result)
    if fmt == "json":
        plan_json(result, memory)
    else:
        render(result, memory, io.StringIO())
    return time.perf_counter() - start


def table_once(rows: int) -> float:
    """Seconds to render the table of a plain list of `rows` layers, planned beforehand."""
    from cnncalc.engine import plan
    from cnncalc.memory import estimate
    from cnncalc.render.table import render
    from cnncalc.spec import parse

    result = plan(parse("input: [3, 8, 8]\nlayers:\n" + "  - relu\n" * rows, "rows.yaml"))
    memory = estimate(result)
    start = time.perf_counter()
    render(result, memory, io.StringIO())
    return time.perf_counter() - start


def median(measure, runs: int) -> float:
    measure()  # imports and .pyc files
    return statistics.median(measure() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    missed = []
    print(f"{'spec':<18}{'json':>10}{'table':>10}")
    for name in SPECS:
        path = ROOT / "architectures" / f"{name}.yaml"
        seconds = {fmt: median(lambda fmt=fmt, path=path: plan_once(path, fmt), args.runs) for fmt in ("json", "table")}
        print(f"{name:<18}" + "".join(f"{seconds[fmt] * 1000:8.1f}ms" for fmt in ("json", "table")))
        missed += [f"{name} {fmt}" for fmt in seconds if seconds[fmt] > TARGETS.get((name, fmt), float("inf"))]
    seconds = median(lambda: table_once(TABLE_ROWS), args.runs)
    print(f"table of {TABLE_ROWS:,} layers: {seconds * 1000:.1f} ms")
    if seconds > TABLE_TARGET:
        missed.append(f"table of {TABLE_ROWS:,} layers")
    targets = [f"{name} {fmt} {limit * 1000:.0f} ms" for (name, fmt), limit in TARGETS.items()]
    print(f"targets: {', '.join(targets)}, table of {TABLE_ROWS:,} layers {TABLE_TARGET * 1000:.0f} ms")
    print("missed: " + ", ".join(missed) if missed else "all met")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
