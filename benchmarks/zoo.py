"""Time planning the zoo's largest specs in-process: parse and expand the blocks, propagate
shapes, count costs, estimate memory, and render the JSON document.

Usage: python benchmarks/zoo.py [--runs N] [--check]

The target: ResNet-152 (515 layers from 50 block calls) and DenseNet-121 (427 layers whose
concatenations grow to 1,024 channels) each plan in under 0.25 s; --check exits 1 when
either misses it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 0.25
SPECS = ["resnet152", "densenet121", "inception_v3", "efficientnet_b0", "unet"]


def plan_once(path: Path) -> float:
    from cnncalc.engine import plan
    from cnncalc.memory import estimate
    from cnncalc.render.json import dumps, plan_document
    from cnncalc.spec import load_file

    start = time.perf_counter()
    result = plan(load_file(str(path)))
    dumps(plan_document(result, estimate(result)))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target spec misses the target")
    args = parser.parse_args()
    missed = []
    for name in SPECS:
        path = ROOT / "architectures" / f"{name}.yaml"
        plan_once(path)  # imports and .pyc files
        seconds = statistics.median(plan_once(path) for _ in range(args.runs))
        print(f"{name:<18}{seconds * 1000:8.1f} ms")
        if name in ("resnet152", "densenet121") and seconds > TARGET_SECONDS:
            missed.append(name)
    if missed:
        print(f"over {TARGET_SECONDS * 1000:.0f} ms: {', '.join(missed)}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
