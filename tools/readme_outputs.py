"""The README's pasted outputs, recomputed: `python tools/readme_outputs.py` rewrites them in place.

tests/test_readme_outputs.py uses the same functions to fail when a pasted output is stale.
Each pasted block follows a sentence naming its command; the specs it runs come from the
README's own `# tiny.yaml` and `# bad.yaml` blocks.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from click.testing import CliRunner

from cnncalc.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def _spec_block(text: str, name: str) -> str:
    return re.search(rf"```yaml\n(# {re.escape(name)}\n.*?)```", text, re.S)[1]


def _run(args: list[str], directory: Path) -> str:
    import os

    cwd = os.getcwd()
    os.chdir(directory)
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        os.chdir(cwd)
    return "\n".join(line.rstrip() for line in (result.stdout + result.stderr).splitlines())


def _block_after(text: str, marker: str) -> tuple[int, int]:
    """(start, end) of the body of the first code block after `marker`."""
    at = text.index(marker)
    start = text.index("```", at)
    start = text.index("\n", start) + 1
    return start, text.index("```", start)


def json_text(document: dict) -> str:
    """The document as cnncalc lays it out (cnncalc.render.json.dumps)."""
    from cnncalc.render.json import dumps

    return dumps(document)


def expected_blocks(text: str) -> dict[str, str]:
    """marker -> the block's body as cnncalc prints it today."""
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        for name in ("tiny.yaml", "bad.yaml"):
            (directory / name).write_text(_spec_block(text, name))
        table = _run(["plan", "tiny.yaml"], directory)
        low = _run(["plan", "tiny.yaml", "--batch-size", "64", "--dtype", "float16", "--optimizer", "sgd"], directory)
        columns = _run(
            ["plan", "tiny.yaml", "--columns", "name,output,macs,macs_pct,rf,rf_stride,rf_padding"], directory
        )
        document = json.loads(_run(["plan", "tiny.yaml", "--format", "json"], directory))
        bad = _run(["plan", "bad.yaml"], directory)
    check = _run(["check", "architectures/alexnet.yaml", "--max-params", "25M"], README.parent)
    document["layers"] = [row for row in document["layers"] if row["name"] in ("maxpool2d_2", "linear_1")]
    return {
        "`cnncalc plan tiny.yaml` prints:": table + "\n",
        "--optimizer sgd` ends with:": "\n".join(
            low.splitlines()[low.splitlines().index("Memory at batch size 64, float16:") :]
        )
        + "\n",
        "this table above the same totals and memory lines:": columns.split("\n\nTotal params")[0] + "\n",
        "`cnncalc plan tiny.yaml --format json` prints": json_text(document) + "\n",
        "$ cnncalc plan bad.yaml": "$ cnncalc plan bad.yaml\n" + bad + "\n",
        "$ cnncalc check architectures/alexnet.yaml --max-params 25M": (
            "$ cnncalc check architectures/alexnet.yaml --max-params 25M\n" + check + "\n"
        ),
    }


def update(text: str) -> str:
    for marker, body in expected_blocks(text).items():
        if marker.startswith("$ "):
            start = text.index(marker)
            end = text.index("```", start)
        else:
            start, end = _block_after(text, marker)
        text = text[:start] + body + text[end:]
    return text


if __name__ == "__main__":
    README.write_text(update(README.read_text()))
