"""Time `cnncalc sizes`: a spec planned at many input sizes in one process, read once.

Usage: python benchmarks/sizes.py [--runs N] [--sizes N] [--profile] [--check]

Target (issue 14): 1,000 square sizes of ResNet-50 (32 to 1,031; every one plans) in at most
3 s in-process, reading the spec, planning each size, and writing the JSON, the median of N
runs after one to warm up; the whole command in a fresh process is printed too (start-up and
imports on top). --profile prints where one run's time goes, by function (cumulative).
--check exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "architectures" / "resnet50.yaml"
FIRST = 32
TARGET = 3.0  # seconds for 1,000 sizes


def sizes_once(count: int) -> float:
    """Seconds to read ResNet-50, plan it at `count` square sizes and write the JSON."""
    from cnncalc.render.sizes import as_json
    from cnncalc.sizes import Span, explore
    from cnncalc.spec import load_file

    start = time.perf_counter()
    found = explore(load_file(str(SPEC)), Span(FIRST, FIRST + count - 1))
    as_json(found, str(SPEC))
    seconds = time.perf_counter() - start
    assert len(found.valid) == count, "every size of ResNet-50 from 32 up plans"
    return seconds


def command_once(count: int) -> float:
    """Wall seconds of `cnncalc sizes ... --format json` in a fresh process."""
    command = [sys.executable, "-m", "cnncalc", "sizes", str(SPEC), "--range", f"{FIRST}:{FIRST + count - 1}"]
    start = time.perf_counter()
    subprocess.run([*command, "--format", "json"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def profile(count: int) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(sizes_once, count)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, default=1000, help="how many sizes [default: 1000]")
    parser.add_argument("--profile", action="store_true", help="print where one run's time goes")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args()
    if args.profile:
        profile(args.sizes)
        return 0
    sizes_once(10)  # imports and .pyc files
    seconds = statistics.median(sizes_once(args.sizes) for _ in range(args.runs))
    per_size = seconds / args.sizes * 1000
    print(f"resnet50, {args.sizes:,} sizes in-process: {seconds:.2f} s ({per_size:.2f} ms a size)")
    print(f"the command in a fresh process: {command_once(args.sizes):.2f} s")
    limit = TARGET * args.sizes / 1000
    print(f"target: {limit:.2f} s in-process: " + ("met" if seconds <= limit else "missed"))
    return 1 if args.check and seconds > limit else 0


if __name__ == "__main__":
    sys.exit(main())
