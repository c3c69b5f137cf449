"""Time `cnncalc draw --format svg` on generated graphs of 1,000 layers and on the zoo's largest.

Usage: python benchmarks/draw.py [--runs N] [--layers N] [--check]

Each graph is planned once; then the drawing (one box per layer, with its activation memory)
and the SVG (layout and text) are made N times, in-process, and the median is shown, split
into the two, with the layout's own count of steps (`work`, which the tests hold to linear
growth) and the picture's size. The generated graphs, each --layers layers:

- chain: a plain list of `relu` layers;
- residual: units of ten layers (eight in a row, a 1x1 projection of the unit's input beside
  them, and their sum), as ResNet's bottlenecks;
- inception: units of four branches (1, 2, 3 and 2 layers long) and their concatenation;
- unet: half the layers going down, half coming up, every 50th joined to its mirror image
  by a skip connection (ten nested skips hundreds of layers long);
- broadcast: a chain, every tenth layer adding a second input (a timestep embedding);
- gather: a chain whose every other layer a last concatenation reads.

Target (issue 15): each graph of 1,000 layers draws (drawing and SVG) in under 2 s.
--check exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 2.0
ZOO = [("resnet152", None), ("resnet152", 2), ("densenet121", None), ("inception_v3", None), ("ddpm_unet", None)]


def spec_text(kind: str, layers: int) -> str:
    """A spec of `layers` layers (rounded down to whole units) of the kind the docstring names."""
    head = "input: [8, 16, 16]\n"
    if kind == "chain":
        return head + "layers:\n" + "  - relu\n" * layers
    if kind == "residual":
        unit = [f"{{type: conv2d, name: c{k}, out_channels: 8, kernel_size: 3, padding: 1}}" for k in range(8)]
        unit += ["{type: conv2d, name: proj, inputs: input, out_channels: 8, kernel_size: 1}"]
        unit += ["{type: add, name: add, inputs: [c7, proj]}"]
        return _repeated(head, unit, layers // 10)
    if kind == "inception":
        unit = [
            "{type: conv2d, name: b1, out_channels: 2, kernel_size: 1}",
            "{type: conv2d, name: b2a, inputs: input, out_channels: 2, kernel_size: 1}",
            "{type: conv2d, name: b2b, out_channels: 2, kernel_size: 3, padding: 1}",
            "{type: relu, name: b3a, inputs: input}",
            "{type: conv2d, name: b3b, out_channels: 2, kernel_size: 1}",
            "{type: relu, name: b3c}",
            "{type: maxpool2d, name: b4a, inputs: input, kernel_size: 3, stride: 1, padding: 1}",
            "{type: conv2d, name: b4b, out_channels: 2, kernel_size: 1}",
            "{type: concat, name: cat, inputs: [b1, b2b, b3c, b4b]}",
            "{type: relu, name: out}",
        ]
        return _repeated(head, unit, layers // 10)
    lines = []
    if kind == "unet":
        half = layers // 2
        lines = [f"  - {{type: relu, name: e{k}}}" for k in range(half)]
        for k in range(half):
            mirror = half - 1 - k
            skip = f", inputs: [{f'd{k - 1}' if k else f'e{half - 1}'}, e{mirror}]" if mirror % 50 == 0 else ""
            lines.append(f"  - {{type: {'add' if skip else 'relu'}, name: d{k}{skip}}}")
        return head + "layers:\n" + "\n".join(lines) + "\n"
    if kind == "broadcast":
        head = "inputs:\n  x: [8, 16, 16]\n  t: [8, 16, 16]\n"
        for k in range(layers):
            previous = f"l{k - 1}" if k else "x"
            extra = f", inputs: [{previous}, t]" if k % 10 == 9 else ""
            lines.append(f"  - {{type: {'add' if extra else 'relu'}, name: l{k}{extra}}}")
        return head + "layers:\n" + "\n".join(lines) + "\n"
    if kind == "gather":
        lines = [f"  - {{type: relu, name: l{k}}}" for k in range(layers - 1)]
        lines.append(
            f"  - {{type: concat, name: cat, inputs: [{', '.join(f'l{k}' for k in range(0, layers - 1, 2))}]}}"
        )
        return head + "layers:\n" + "\n".join(lines) + "\n"
    raise ValueError(kind)


def _repeated(head: str, unit: list[str], count: int) -> str:
    body = "".join(f"      - {line}\n" for line in unit)
    return head + f"blocks:\n  unit:\n    layers:\n{body}layers:\n  - {{type: unit, name: u, repeat: {count}}}\n"


KINDS = ["chain", "residual", "inception", "unet", "broadcast", "gather"]


def measure(result, depth: int | None, runs: int) -> tuple[float, float, object, int]:
    """Median seconds of the drawing and of the SVG, the last layout, and the SVG's size."""
    from cnncalc.draw import drawing
    from cnncalc.render.svg import layout, svg

    draw_times, svg_times = [], []
    for _ in range(runs + 1):  # the first warms up
        start = time.perf_counter()
        picture = drawing(result, depth)
        middle = time.perf_counter()
        text = svg(picture)
        draw_times.append(middle - start)
        svg_times.append(time.perf_counter() - middle)
    return statistics.median(draw_times[1:]), statistics.median(svg_times[1:]), layout(picture), len(text)


def main() -> int:
    from cnncalc.engine import plan
    from cnncalc.spec import load_file, parse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--layers", type=int, default=1000)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    missed = []
    print(f"{'graph':<22}{'layers':>7}{'boxes':>7}{'drawing':>10}{'svg':>9}{'total':>9}{'work':>9}  picture")
    cases = [(kind, plan(parse(spec_text(kind, args.layers), f"{kind}.yaml")), None) for kind in KINDS]
    cases += [
        (
            f"{stem} depth {depth}" if depth else stem,
            plan(load_file(str(ROOT / "architectures" / f"{stem}.yaml"))),
            depth,
        )
        for stem, depth in ZOO
    ]
    for name, result, depth in cases:
        drawing_s, svg_s, where, size = measure(result, depth, args.runs)
        total = drawing_s + svg_s
        print(
            f"{name:<22}{len(result.layers):>7}{len(where.boxes):>7}{drawing_s * 1000:>8.0f}ms{svg_s * 1000:>7.0f}ms"
            f"{total * 1000:>7.0f}ms{where.work:>9}  {where.width:.0f} x {where.height:.0f} px, {size // 1024} KiB"
        )
        if name in KINDS and total > TARGET_SECONDS:
            missed.append(name)
    print("targets:", f"MISSED ({', '.join(missed)})" if missed else "met")
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
