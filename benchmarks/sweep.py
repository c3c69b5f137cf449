"""Time `cnncalc sweep` over 10,000 variants of ResNet-50: 100 widths x 100 input sizes.

    python benchmarks/sweep.py [--processes N] [--check]

Target (issue 14): under 60 s on 2 cores, the whole command in one process tree (each width
parsed once, each size re-planned from it, the widths shared among processes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 60.0
ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=None, help="passed to cnncalc sweep")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    options = parser.parse_args()
    command = [sys.executable, "-m", "cnncalc", "sweep", str(ROOT / "architectures" / "resnet50.yaml")]
    command += ["--set", "width=16:115:1", "--input", "64:460:4", "--format", "csv"]
    if options.processes:
        command += ["--processes", str(options.processes)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    rows = len(done.stdout.splitlines()) - 1
    print(f"{rows:,} variants of ResNet-50 in {seconds:.1f} s (target: under {TARGET_SECONDS:.0f} s)")
    if done.returncode != 0 or rows != 10_000:
        print(done.stderr, file=sys.stderr)
        return 2
    return 1 if options.check and seconds > TARGET_SECONDS else 0


if __name__ == "__main__":
    sys.exit(main())
