"""Issue 10, limits: tiny specs must not make cnncalc do (or print) a quadratic or unbounded
amount of work. Each case is a correct result or a located error with exit status 2.

The tests count work done (notes computed, layers drafted, values kept alive), never time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clirun import runner

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.layers import lookup
from cnncalc.spec import MAX_LAYERS, parse

ROOT = Path(__file__).resolve().parents[2]

# the 86-byte spec of the issue: an in-place relu repeated 4,000 times
IN_PLACE_CHAIN = "input: [1,8,8]\nblocks: {b: [relu: {inplace: true}]}\nlayers: [{type: b, repeat: 4000}]\n"


def _diagnostics(text: str):
    with pytest.raises(SpecError) as caught:
        plan(parse(textwrap.dedent(text), "s.yaml"))
    return caught.value.diagnostics


# ---- 1. notes: bounded, folded, computed in linear time ----------------------------------------


@pytest.fixture
def saves_asked(monkeypatch):
    """How often a relu was asked what it saves for backward; a quadratic run stops early."""
    calls = []
    relu_class = type(lookup("relu"))
    original = relu_class.saved_for_backward_of

    def counted(self, *arguments):
        calls.append(1)
        if len(calls) > 20_000:
            raise AssertionError("asked 20,000 times what relus save: the notes are quadratic in the layers")
        return original(self, *arguments)

    monkeypatch.setattr(relu_class, "saved_for_backward_of", counted)
    return calls


def test_the_in_place_chain_gives_one_short_note(saves_asked):
    assert len(IN_PLACE_CHAIN) < 90
    planned = plan(parse(IN_PLACE_CHAIN, "chain.yaml"))
    assert len(planned.layers) == 4000
    # work: each layer asked once what it saves, not once per in-place layer after it
    assert len(saves_asked) <= 2 * len(planned.layers), len(saves_asked)
    in_place = [w for w in planned.warnings if w.code == "note.in-place"]
    # 3,999 notes from one line of the block, folded into one that says how many more
    assert len(in_place) == 1, len(in_place)
    (note,) = in_place
    assert "saved it for backward" in note.message
    assert "3,998 more calls of this line" in note.message, note.message
    assert len(note.message) < 500, note.message


def test_a_note_names_at_most_three_layers_and_counts_the_rest(saves_asked):
    # 2,000 in-place relus written out, one a line: each note stays short
    text = "input: [1, 8, 8]\nlayers:\n" + "  - {type: relu, inplace: true}\n" * 2000
    planned = plan(parse(text, "flat.yaml"))
    notes = [w.message for w in planned.warnings if w.code == "note.in-place"]
    assert len(notes) == 1999
    last = notes[-1]
    assert "and 1,996 more saved it for backward" in last, last
    assert len(re.findall(r"'relu_\d+'", last)) == 2 + 3, last  # the layer, its input and three others
    assert sum(len(n) for n in notes) < 400 * len(notes)


def test_later_readers_are_counted_too():
    readers = "".join(f"  - {{type: sigmoid, name: s{i}, inputs: c}}\n" for i in range(50))
    text = (
        "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, name: c, out_channels: 3, kernel_size: 1}\n"
        "  - {type: relu, name: r, inplace: true}\n" + readers
    )
    planned = plan(parse(text, "readers.yaml"))
    (note,) = [w.message for w in planned.warnings if w.code == "note.in-place"]
    assert note.startswith("layer 'r' (relu) overwrites 'c' in place: 's0', 's1', 's2' and 47 more read it later")


def test_the_in_place_chain_prints_little_json(saves_asked):
    result = runner().invoke(cli, ["plan", "-", "--format", "json"], input=IN_PLACE_CHAIN)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert len(document["warnings"]) == 1
    assert len(json.dumps(document["warnings"])) < 1000
    # the 4,000 layers take ~4 MB; the notes used to add 150 MB
    assert len(result.stdout) < 8_000_000, len(result.stdout)


# ---- 2. expansion size estimated before expanding -------------------------------------------

NESTED = """\
input: [1, 8, 8]
blocks:
  inner: [relu]
  outer:
    layers:
      - {type: inner, repeat: 1000}
layers:
  - {type: outer, name: top, repeat: 1000}
"""


@pytest.fixture
def drafts(monkeypatch):
    """How many layers the expansion drafted."""
    made = []
    from cnncalc.spec import expand

    original = expand.Draft

    def counting(*arguments, **keywords):
        made.append(1)
        return original(*arguments, **keywords)

    monkeypatch.setattr(expand, "Draft", counting)
    return made


def test_nested_repeats_are_refused_before_expanding(drafts):
    (found,) = _diagnostics(NESTED)
    assert found.code == "spec.too-large"
    assert (found.loc.line, found.loc.column) == (8, 38), found  # at the repeat: that crosses
    assert "up to 1,000,000" in found.message and f"more than {MAX_LAYERS:,} layers" in found.message
    assert len(drafts) == 0


def test_the_crossing_repeat_inside_a_block_is_blamed(drafts):
    text = """\
    input: [1, 8, 8]
    blocks:
      inner: [relu, relu, relu, relu]
      outer:
        layers:
          - {type: inner, repeat: 30000}
    layers:
      - {type: outer, name: top, repeat: 2}
    """
    (found,) = _diagnostics(text)
    assert found.code == "spec.too-large"
    assert (found.loc.line, found.loc.column) == (6, 31), found
    assert "block 'outer'" in found.message and "up to 120,000" in found.message
    assert len(drafts) == 0


def test_many_calls_that_add_up_are_refused_before_expanding(drafts):
    calls = "".join(f"  - {{type: outer, name: o{i}}}\n" for i in range(120))
    text = "input: [1, 8, 8]\nblocks:\n  inner: [relu]\n  outer:\n    layers:\n      - {type: inner, repeat: 1000}\n"
    (found,) = _diagnostics(text + "layers:\n" + calls)
    assert found.code == "spec.too-large"
    assert (found.loc.line, found.loc.column) == (8 + 100, 5)  # the 101st call passes 100,000
    assert len(drafts) == 0


def test_a_computed_repeat_is_refused_after_its_first_call(drafts):
    text = """\
    input: [1, 8, 8]
    blocks:
      inner: [relu]
      outer:
        args: [n]
        layers:
          - {type: inner, repeat: n}
    layers:
      - {type: outer, name: top, n: 1000, repeat: 1000}
    """
    (found,) = _diagnostics(text)
    assert found.code == "spec.too-large"
    assert (found.loc.line, found.loc.column) == (9, 47), found
    assert "about" in found.message
    assert len(drafts) <= 1000  # one call of `outer`, not 100,000 layers


def test_a_block_named_by_an_argument_is_checked_when_called(drafts):
    text = """\
    input: [1, 8, 8]
    blocks:
      inner: [relu]
      big:
        layers: [{type: inner, repeat: 1000}]
      wrap:
        args: [kind]
        layers: [{type: kind, repeat: 200}]
    layers:
      - relu
      - {type: wrap, kind: big}
    """
    (found,) = _diagnostics(text)
    assert found.code == "spec.too-large"
    assert (found.loc.line, found.loc.column) == (8, 35), found
    assert "up to 200,000 after 1 layer before them" in found.message
    assert len(drafts) == 1


def test_when_false_entries_do_not_count(drafts):
    text = """\
    input: [1, 8, 8]
    blocks:
      inner: [relu]
    layers:
      - {type: inner, repeat: 99999, when: false}
      - {type: inner, repeat: 99999, when: false}
      - {type: inner, repeat: 5}
    """
    planned = plan(parse(textwrap.dedent(text), "s.yaml"))
    assert len(planned.layers) == 5


@pytest.mark.slow
def test_a_spec_at_the_limit_still_plans():
    text = f"input: [1, 2, 2]\nblocks:\n  inner: [relu]\nlayers:\n  - {{type: inner, repeat: {MAX_LAYERS}}}\n"
    assert len(parse(text, "s.yaml").layers) == MAX_LAYERS


# ---- 3. numbers: digits capped when the YAML is read ----------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1" * 4000,
        "1" * 31,
        "-" + "9" * 31,
        "0x" + "f" * 4000,
        "0b" + "1" * 20000,
        "1" + ":59" * 2000,
        "1.0e+400",
        "-1.0e+400",
        ".inf",
        "-.Inf",
        ".nan",
        "1.0e+31",
    ],
    ids=lambda v: v[:12],
)
def test_numbers_out_of_range_are_located_errors(tmp_path, value):
    path = tmp_path / "n.yaml"
    path.write_text(f"input: [3, 8, 8]\nlayers:\n  - {{type: dropout, p: 0.5}}\n  - linear: {value}\n")
    result = runner().invoke(cli, ["plan", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}:4:13: error:" in result.stderr, result.stderr
    assert len(result.stderr) < 2000  # the 4,000 digits are not echoed back


@pytest.mark.parametrize(
    "text",
    [
        "input: [3, 8, VALUE]\nlayers: [relu]\n",
        "input: [3, 8, 8]\nlayers: [relu]\nbudget: {max_params: VALUE}\n",
        "input: [3, 8, 8]\nlayers: [{type: dropout, p: VALUE}]\n",
        "input: [3, 8, 8]\nlayers: [relu]\nbudget: {max_params: 1M, batch_size: VALUE}\n",
    ],
    ids=["input", "budget", "field", "batch_size"],
)
@pytest.mark.parametrize("value", ["1" * 4000, "1.0e+999", ".inf"])
def test_a_huge_number_anywhere_is_a_located_error(tmp_path, text, value):
    path = tmp_path / "n.yaml"
    path.write_text(text.replace("VALUE", value))
    line, column = next(
        (i, written.index("VALUE") + 1) for i, written in enumerate(text.splitlines(), 1) if "VALUE" in written
    )
    result = runner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert f"\n{path}:{line}:{column}: error: " in result.stdout, result.stdout + result.stderr  # at the number
    result = runner().invoke(cli, ["check", str(path), "--format", "json"])
    (error,) = json.loads(result.stdout)["files"][0]["errors"]
    assert (error["code"], error["line"], error["column"]) == ("spec.bad-value", line, column)


def test_numbers_in_range_still_load():
    planned = plan(
        parse("input: [3, 8, 8]\nlayers:\n  - flatten\n  - linear: 0x10\n  - {type: dropout, p: 5.0e-1}\n", "s.yaml")
    )
    assert planned.output_shape == (16,)


def test_a_block_argument_of_four_thousand_digits(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text(
        "input: [3, 8, 8]\nblocks:\n  u:\n    args: [c]\n    layers: [{type: conv2d, out_channels: c, kernel_size: 1}]\n"
        f"layers:\n  - {{type: u, c: {'7' * 4000}}}\n"
    )
    result = runner().invoke(cli, ["plan", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}:7:18: error:" in result.stderr


# ---- 4. --batch-size is capped ------------------------------------------------------------


@pytest.mark.parametrize("command", ["plan", "check"])
@pytest.mark.parametrize(
    "size", ["1" + "0" * 4000, "1" + "0" * 5000, str(2**80), str(2**31), "-" + "9" * 100], ids=lambda s: s[:8]
)
def test_a_huge_batch_size_is_a_usage_error(tmp_path, command, size):
    path = tmp_path / "s.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [relu]\nbudget: {max_memory: 1GiB}\n")
    result = runner().invoke(cli, [command, str(path), f"--batch-size={size}"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "--batch-size" in result.stderr and "2,147,483,647" in result.stderr, result.stderr
    assert len(result.stderr) < 1000  # the digits are not echoed back


def test_the_largest_batch_size_works(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    result = runner().invoke(cli, ["plan", str(path), "--batch-size", str(2**31 - 1)])
    assert result.exit_code == 0, result.output


# ---- 5. verify --values frees what nothing reads any more -----------------------------------


def test_verify_values_frees_each_output_after_its_last_reader(monkeypatch):
    pytest.importorskip("torch")
    import weakref

    from cnncalc import verify as verify_module

    planned = plan(
        parse(
            "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, name: a, out_channels: 4, kernel_size: 3, padding: 1}\n"
            "  - {type: relu, name: b}\n  - {type: conv2d, name: c, out_channels: 4, kernel_size: 1}\n"
            "  - {type: add, name: d, inputs: [a, c]}\n  - {type: relu, name: e}\n  - {type: flatten, name: f}\n",
            "s.yaml",
        )
    )
    outputs: dict = {}  # layer -> a weak reference to its output in the run with real values
    alive_when_run: dict = {}
    real_same_values = verify_module._same_values

    def same_values(torch, build, plan_, device, run_layer):
        def run(model, row, arguments):
            alive_when_run[row.name] = sorted(name for name, ref in outputs.items() if ref() is not None)
            out = run_layer(model, row, arguments)
            outputs[row.name] = weakref.ref(out)
            return out

        return real_same_values(torch, build, plan_, device, run)

    monkeypatch.setattr(verify_module, "_same_values", same_values)
    results = verify_module.verify(planned, device="cpu")
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    # 'b' is read by 'c' only, 'a' and 'c' by 'd' only: gone before 'e' runs
    assert alive_when_run["c"] == ["a", "b"], alive_when_run
    assert alive_when_run["e"] == ["d"], alive_when_run
    assert alive_when_run["f"] == ["e"], alive_when_run


def test_verify_values_peak_memory_stays_near_the_weights(tmp_path):
    """A deep stack of same-size layers: keeping every output alive needs ~300 MB more."""
    pytest.importorskip("torch")
    path = tmp_path / "deep.yaml"
    path.write_text(
        "input: [16, 256, 256]\nblocks:\n  u: [{type: conv2d, out_channels: 16, kernel_size: 1}]\n"
        "layers:\n  - {type: u, repeat: 80}\n"
    )
    probe = (
        "import resource, sys\n"
        "from cnncalc.cli import cli\n"
        "try:\n    cli(['verify', sys.argv[1], '--values', '--brief'])\n"
        "except SystemExit as exit:\n    status = exit.code\n"
        "print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    baseline = (
        "import resource, sys\nimport torch\nfrom torch.utils.flop_counter import FlopCounterMode\n"
        "import cnncalc.cli, cnncalc.export\nprint(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )

    def peak(code: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=600, cwd=ROOT
        )
        status, kilobytes = done.stdout.split()[-2:]
        assert status in ("0", "None"), done.stdout + done.stderr
        return int(kilobytes)

    # each output is 2 x 16 x 256 x 256 x 4 bytes = 8 MiB; 80 of them kept alive are 640 MiB
    extra = peak(probe) - peak(baseline)
    assert extra < 250 * 1024, f"verify --values peaked {extra // 1024} MiB above torch's own start-up"
