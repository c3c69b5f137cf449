"""`cnncalc sizes`: which input sizes a spec accepts (cnncalc.sizes), and how they are shown
(cnncalc.render.sizes). Checked against the spec read anew at each size, against sizes worked
out by hand, and against PyTorch and Keras themselves on a sample of the zoo."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from clirun import runner

from cnncalc import sizes as sizes_module
from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.layers.base import unread_note
from cnncalc.render.sizes import compress, describe
from cnncalc.render.sizes import text as render_text
from cnncalc.sizes import SizesError, Span, explore, parse_span, pixel_note, spatial_positions
from cnncalc.spec import load_file, parse

ROOT = Path(__file__).resolve().parent.parent
ARCH = ROOT / "architectures"
ONE_INPUT = re.compile(r"^input: \[[\d, ]+\]$", re.M)


def invoke(args, *, exit_code=0, input=None):
    result = runner().invoke(cli, args, input=input)
    assert result.exit_code == exit_code, (
        f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
    )
    return result


def spec_at(text: str, path: str, shape) -> str:
    """The spec's text with its `input:` replaced: what the spec would be, written at that size."""
    written, count = ONE_INPUT.subn(f"input: [{', '.join(map(str, shape))}]", text, count=1)
    assert count == 1, "the spec's `input:` was not found"
    return written


def pixel_notes(planned):
    """Every layer's pixel notes, asked of each layer (the slow way, no warning looked at):
    (edges, skips) as sets of messages."""
    edges, skips = set(), set()
    for row in planned.layers:
        if row.spec.layer.merges:
            continue
        for _, note in row.spec.layer.notes(row.spec.cfg, row.input_shape, row.output_shape):
            message = f"layer {row.name!r} ({row.type_name}): {note}"
            {"edge": edges, "skip": skips, None: set()}[pixel_note(note)].add(message)
    return edges, skips


def reread(text: str, path: str, shape):
    """(plan, None) of the spec read anew with this input, or (None, its first diagnostic)."""
    try:
        return plan(parse(spec_at(text, path, shape), path)), None
    except SpecError as exc:
        return None, exc.diagnostics[0]


def full_shape(spec, size):
    shape = list(spec.input_shape)
    for position, value in zip(spatial_positions(spec.input_shape, spec.convention), size):
        shape[position] = value
    return tuple(shape)


def assert_agrees_with_reading_anew(path: Path, span: Span):
    """Each size explored is what reading the spec written at that size gives: refused at the
    same place with the same words, or valid with the same layers losing pixels."""
    text = path.read_text()
    found = explore(load_file(str(path)), span)
    for trial in found.trials:
        planned, error = reread(text, str(path), full_shape(found.spec, trial.size))
        if error is not None:
            assert trial.error is not None, (trial.size, error.message)
            if error.message.startswith("layer "):
                assert (trial.error.message, trial.error.loc) == (error.message, error.loc)
            # else the reading stopped at a layer that fails (a block reading in_channels after
            # it), and then reports what is missing (YOLO's `outputs:`) rather than that layer
            continue
        assert trial.error is None, (trial.size, trial.error.message)
        edges, skips = pixel_notes(planned)
        assert {d.message for d in trial.edges} == edges, trial.size
        assert {d.message for d in trial.skips} == skips, trial.size


# ---- the command-line syntax --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [("32:512", (32, 512, 1)), ("32:512:32", (32, 512, 32)), ("224", (224, 224, 1)), (" 7 : 9 ", (7, 9, 1))],
)
def test_parse_span(text, expected):
    span = parse_span(text)
    assert (span.first, span.last, span.step) == expected


@pytest.mark.parametrize(
    "text, words",
    [
        ("512:32", "goes up"),
        ("0:10", "from 1"),
        ("1:10:0", "STEP"),
        ("a:b", "LO:HI"),
        ("1:2:3:4", "LO:HI"),
        ("-1:4", "LO:HI"),
        ("1:" + "9" * 11, "LO:HI"),
        ("1:3000000000", "2,147,483,647"),
        ("", "LO:HI"),
    ],
)
def test_parse_span_refuses(text, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_span(text)


def test_span_values_are_inclusive():
    assert list(Span(3, 9, 3).values) == [3, 6, 9]
    assert str(Span(3, 9, 3)) == "3:9:3" and str(Span(3, 9)) == "3:9"


# ---- writing sizes short --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, unit, expected",
    [
        (list(range(63, 513)), 1, "63-512 (every size)"),
        (list(range(64, 513, 32)), 1, "64, 96, 128, ..., 512 (every 32)"),
        ([5], 1, "5"),
        ([5, 6], 1, "5-6"),
        ([5, 7], 1, "5, 7"),
        ([16, 24], 8, "16, 24"),
        ([16, 24, 40, 48, 56, 64], 8, "16, 24; 40, 48, 56, ..., 64 (every 8)"),
        ([1, 2, 3, 5, 7, 9], 1, "1-3 (every size); 5, 7, 9"),
        (
            [63, 64, 65, 95, 96, 97, 127, 128, 129, 159, 160, 161, 200],
            1,
            "63-65, 95-97, 127-129, ..., 159-161 (every 32); 200",
        ),
        ([22, 23, 26, 27], 1, "22-23; 26-27"),
        ([], 1, "none"),
    ],
)
def test_compress(values, unit, expected):
    assert compress(values, unit) == expected


def test_compress_says_how_many_it_leaves_out():
    values = list(range(1, 100, 3)) + [200, 300, 301, 302, 400, 500]
    assert compress(values, limit=2) == "1, 4, 7, ..., 97 (every 3); 200; ... and 5 more (--format json lists them all)"


def expand(text: str) -> list[int]:
    """The sizes a text of compress stands for, read back."""
    sizes = []
    for piece in text.split("; "):
        period = int(piece.split("(every ")[1].rstrip(")")) if "(every " in piece and "size" not in piece else None
        tokens = piece.split(" (")[0].split(", ")
        blocks = [
            tuple(map(int, token.split("-"))) if "-" in token else (int(token),) * 2
            for token in tokens
            if token != "..."
        ]
        if "..." in tokens:  # the first blocks show the period; the last ends it
            first, last = blocks[0], blocks[-1]
            blocks = [(first[0] + k, first[1] + k) for k in range(0, last[0] - first[0] + 1, period)]
        sizes += [size for low, high in blocks for size in range(low, high + 1)]
    return sizes


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, 4, 6, 8, 9, 10, 11, 13, 20, 21, 22, 40, 41, 42, 60, 61, 62, 80],
        [20, 21, 40, 41, 60, 61],
        [20, 21, 22, 40, 41, 42, 60, 61, 62, 80, 81, 82, 99],
        [5, 7, 9, 10, 11, 15, 16, 17],
        list(range(3, 300, 7)) + [400],
    ],
)
def test_compress_writes_every_size_once(values):
    """Reading back what compress writes gives the sizes (no size lost or added at a seam)."""
    assert expand(compress(values)) == values


def test_three_blocks_are_written_out():
    assert compress([20, 21, 22, 40, 41, 42, 60, 61, 62]) == "20-22, 40-42, 60-62 (every 20)"


def test_describe_over_two_axes():
    points = [(h, w) for h in range(60, 70) for w in (32, 64, 96)] + [(80, 32)]
    assert describe(points, ("height", "width"), (1, 32)) == [
        "height 60-69 (every size) x width {32, 64, 96}",
        "height 80 x width 32",
    ]


# ---- pixels: which notes say what -----------------------------------------------------------------


@pytest.mark.parametrize(
    "axes, kind",
    [
        ([("height", 25, 0, 0, 2, 1, 2, 12), ("width", 25, 0, 0, 2, 1, 2, 12)], "edge"),
        ([("height", 25, 0, 0, 2, 1, 2, 12), ("width", 24, 0, 0, 2, 1, 2, 12)], "edge"),
        ([("length", 10, 0, 0, 3, 1, 2, 4)], "edge"),
        ([("depth", 9, 0, 0, 2, 1, 2, 4), ("height", 8, 0, 0, 2, 1, 2, 4), ("width", 8, 0, 0, 2, 1, 2, 4)], "edge"),
        ([("height", 56, 0, 0, 1, 1, 2, 28), ("width", 56, 0, 0, 1, 1, 2, 28)], "skip"),
        ([("height", 56, 0, 0, 3, 3, 4, 13)], "skip"),  # holes of a dilation
        ([("height", 1000, 0, 0, 1, 1, 3, 334)], "skip"),
    ],
)
def test_pixel_note_reads_unread_notes_words(axes, kind):
    """pixel_note reads the words unread_note writes: if these change, sizes must change with them."""
    note = unread_note(axes)
    assert note is not None
    assert pixel_note(note) == kind
    # and as the engine writes it in a warning (the fast path looks there first)
    assert sizes_module._PIXELS_WARNING.search(f"layer 'x.0' (conv2d): {note}")


def test_other_notes_are_not_about_pixels():
    spec = parse(
        "input: [4, 8, 8]\nlayers:\n"
        "  - conv2d: {out_channels: 4, kernel_size: 2, padding: same}\n"
        "  - groupnorm: {num_groups: 4}\n"
        "  - global_avgpool2d\n"
        "  - groupnorm: {num_groups: 4}\n",
        "notes.yaml",
    )
    planned = plan(spec)
    assert len([w for w in planned.warnings if w.code == "note.layer"]) >= 2  # uneven 'same', single values
    assert pixel_notes(planned) == (set(), set())
    trial = explore(spec, Span(8, 8)).trials[0]
    assert trial.valid and trial.exact(strict=True)


# ---- exploring ------------------------------------------------------------------------------------


def test_alexnet_accepts_nothing_below_63():
    found = explore(load_file(str(ARCH / "alexnet.yaml")), Span(1, 100))
    assert found.valid == list(range(63, 101))
    assert "pool5" in found.trials[61].error.message  # 62: its last pooling gets 1x1


def test_exact_sizes_worked_out_by_hand():
    """conv 3x3 (stride 1) then max pool 2: the pool reads every row when s - 2 is even; a
    conv 3x3 stride 2 after that reads every row when (s - 2) / 2 - 3 is even."""
    spec = parse(
        "input: [1, 20, 20]\nlayers:\n"
        "  - conv2d: {out_channels: 2, kernel_size: 3}\n"
        "  - maxpool2d: 2\n"
        "  - conv2d: {out_channels: 2, kernel_size: 3, stride: 2}\n",
        "hand.yaml",
    )
    found = explore(spec, Span(1, 60))
    assert found.valid == list(range(8, 61))  # 8: conv -> 6, pool -> 3, conv -> 1
    assert found.exact == [s for s in range(8, 61) if (s - 2) % 2 == 0 and ((s - 2) // 2 - 3) % 2 == 0]
    edges = {d.message.split(" (")[0] for trial in found.trials for d in trial.edges}
    assert edges == {"layer 'maxpool2d_1'", "layer 'conv2d_2'"}


def test_strict_counts_skipped_pixels():
    """A 1x1 convolution with stride 2 skips every other pixel: not counted against a size
    unless strict, when no size above 1 is exact."""
    spec = parse("input: [1, 9, 9]\nlayers:\n  - conv2d: {out_channels: 1, kernel_size: 1, stride: 2}\n", "s.yaml")
    found = explore(spec, Span(1, 12))
    assert found.exact == list(range(1, 13))
    assert [t.size[0] for t in found.trials if t.skips] == list(range(2, 13))
    assert explore(spec, Span(1, 12), strict=True).exact == [1]


def test_a_line_of_a_block_keeps_each_calls_own_note():
    """The plan folds one note per line of a block, in the first call's words: here the first
    call skips pixels (1x1, stride 2) and the second leaves its last row (2x2, stride 2, odd
    input). Both are found."""
    spec = parse(
        "input: [1, 22, 22]\n"
        "blocks:\n  down:\n    args: [k]\n    layers:\n"
        "      - conv2d: {out_channels: 1, kernel_size: k, stride: 2}\n"
        "layers:\n  - {type: down, name: a, k: 1}\n  - {type: down, name: b, k: 2}\n",
        "fold.yaml",
    )
    trial = explore(spec, Span(22, 22)).trials[0]  # a: 22 -> 11; b: 11 -> 5, its last row unread
    assert [d.message.split(":")[0] for d in trial.skips] == ["layer 'a.conv2d_1' (conv2d)"]
    assert [d.message.split(":")[0] for d in trial.edges] == ["layer 'b.conv2d_1' (conv2d)"]
    assert not trial.exact()


def test_each_size_is_the_spec_read_at_that_size():
    path = ARCH / "resnet18.yaml"
    assert_agrees_with_reading_anew(path, Span(1, 70, 3))
    text = path.read_text()
    spec = load_file(str(path))
    for size in (33, 100):
        varied = replace(spec, input_shape=(3, size, size), inputs={"input": (3, size, size)}).ordered(spec.order)
        mine, theirs = plan(varied), reread(text, str(path), (3, size, size))[0]
        assert [r.output_shape for r in mine.layers] == [r.output_shape for r in theirs.layers]
        assert mine.totals == theirs.totals


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(p for p in ARCH.glob("*.yaml") if ONE_INPUT.search(p.read_text())), ids=str)
def test_every_bundled_spec_at_a_few_sizes_is_the_spec_read_anew(path):
    spec = load_file(str(path))
    own = spec.input_shape[spatial_positions(spec.input_shape, spec.convention)[0]]
    assert_agrees_with_reading_anew(path, Span(1, own + 1, max(1, own // 5)))


def test_nothing_is_read_again(monkeypatch):
    """The spec is read once: every size is planned from the Spec already read."""
    spec = load_file(str(ARCH / "seed_50x50.yaml"))
    planned = []

    def refuse(*args, **kwargs):
        raise AssertionError("the spec was read again")

    def counted(spec):
        planned.append(spec.inputs["input"])
        return plan(spec)

    monkeypatch.setattr("cnncalc.spec.document.read", refuse)
    monkeypatch.setattr("cnncalc.yamlload.load", refuse)
    monkeypatch.setattr(sizes_module, "make_plan", counted)
    found = explore(spec, Span(40, 59))
    assert len(found.trials) == 20
    assert planned == [(3, 50, 50)] + [(3, s, s) for s in range(40, 60)]  # its own size, then each


def test_keras_convention_varies_the_axes_before_the_channels():
    """[H, W, C]: the height is axis 0. Conv2D 3x3 stride 2 'valid' reads every row when h - 3 is even."""
    spec = parse(
        "convention: keras\ninput: [20, 30, 3]\nlayers:\n  - Conv2D: {filters: 2, kernel_size: 3, strides: 2}\n",
        "k.yaml",
    )
    found = explore(spec, {"height": Span(2, 8)})
    assert found.valid == [[h, 30] for h in range(3, 9)]
    assert found.exact == []  # the width, 30, loses its last column at every height
    found = explore(spec, {"height": Span(2, 8), "width": Span(29, 31)})
    assert found.exact == [[h, w] for h in (3, 5, 7) for w in (29, 31)]
    assert found.trials[0].error.code == "shape.nonpositive"


def test_per_axis_keeps_the_other_axes():
    found = explore(load_file(str(ARCH / "seed_50x50.yaml")), {"width": Span(46, 50)})
    assert [t.size for t in found.trials] == [(50, w) for w in range(46, 51)]
    assert found.point(found.trials[0]) == [50, 46]


def test_a_3d_input_varies_depth_height_and_width():
    spec = parse("input: [1, 8, 8, 8]\nlayers:\n  - maxpool3d: 2\n", "v.yaml")
    assert explore(spec, Span(3, 4)).exact == [4]
    found = explore(spec, {"depth": Span(3, 4), "width": Span(4, 5)})
    assert found.exact == [[4, 8, 4]]
    assert found.axes == ("depth", "height", "width")


def test_several_inputs_vary_the_first_or_the_named():
    text = (
        "inputs:\n  image: [3, 16, 16]\n  mask: [1, 8, 8]\n"
        "layers:\n  - {type: maxpool2d, name: p, kernel_size: 2, inputs: image}\n"
        "  - {type: concat, name: both, inputs: [p, mask]}\n"
    )
    spec = parse(text, "two.yaml")
    found = explore(spec, Span(14, 18))
    assert found.input_name == "image"
    assert found.valid == [16, 17]  # p must be 8 x 8, as the mask is
    assert found.exact == [16]
    found = explore(spec, Span(6, 10), input_name="mask")
    assert found.input_name == "mask" and found.input_shape == (1, 8, 8)
    assert found.valid == [8]
    with pytest.raises(SizesError, match="no input 'maks'; its inputs are image, mask"):
        explore(spec, Span(1, 2), input_name="maks")
    timestep_first = parse(
        "inputs:\n  t: [16]\n  image: [3, 8, 8]\nlayers:\n  - {type: relu, inputs: image}\n", "t.yaml"
    )
    with pytest.raises(SizesError, match=r"is \[16\] \(features\).*--input picks another \(image\)"):
        explore(timestep_first, Span(1, 2))
    assert explore(timestep_first, Span(1, 2), input_name="image").valid == [1, 2]


def test_requests_the_input_cannot_answer():
    spec = parse("input: [3, 8, 8]\nlayers:\n  - relu\n", "r.yaml")
    with pytest.raises(SizesError, match=r"no depth axis \(its spatial axes: height, width\)") as caught:
        explore(spec, {"depth": Span(1, 2)})
    assert caught.value.option == "--depth"
    with pytest.raises(SizesError, match="features"):
        explore(parse("input: [8]\nlayers:\n  - relu\n", "f.yaml"), Span(1, 2))
    with pytest.raises(SizesError, match="more than 100,000"):
        explore(spec, {"height": Span(1, 400), "width": Span(1, 400)})


def test_a_block_reading_the_channels_of_a_flattened_tensor_is_refused():
    """A block's in_channels after a flatten follows the input's size: the layers read at the
    spec's size do not hold at another, so sizes says so rather than answer wrongly."""
    text = (
        "input: [1, 8, 8]\n"
        "blocks:\n  head:\n    layers:\n      - linear: in_channels // 2\n"
        "layers:\n  - flatten\n  - head\n"
    )
    spec = parse(text, "flat.yaml")
    assert explore(spec, Span(8, 8)).valid == [8]
    with pytest.raises(SizesError, match=r"in_channels of 'flatten_1'.*64 at the spec's size, 81 at 9x9"):
        explore(spec, Span(8, 9))


def test_a_block_reading_image_channels_is_fine():
    text = (
        "input: [3, 8, 8]\n"
        "blocks:\n  widen:\n    layers:\n      - conv2d: {out_channels: in_channels * 2, kernel_size: 3}\n"
        "layers:\n  - widen\n  - widen\n"
    )
    assert explore(parse(text, "w.yaml"), Span(1, 8)).valid == [5, 6, 7, 8]


def test_a_spec_that_does_not_plan_at_its_size():
    """Without blocks reading in_channels, the spec is whole: its valid sizes are found. With
    one, the spec read stops at the layer that fails, so its error is raised."""
    plain = "input: [3, 4, 4]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 5}\n  - relu\n"
    assert explore(parse(plain, "p.yaml"), Span(3, 6)).valid == [5, 6]
    stopped = (
        "input: [3, 4, 4]\n"
        "blocks:\n  widen:\n    layers:\n      - conv2d: {out_channels: in_channels * 2, kernel_size: 3}\n"
        "layers:\n  - conv2d: {out_channels: 4, kernel_size: 5}\n  - widen\n"
    )
    with pytest.raises(SpecError, match="kernel height 5 is larger"):
        explore(parse(stopped, "s.yaml"), Span(3, 9))


def test_keras_pooling_that_drops_a_row_is_not_exact():
    """Keras's MaxPooling2D of an odd size drops the last row, as torch's does."""
    spec = parse("convention: keras\ninput: [8, 8, 1]\nlayers:\n  - MaxPooling2D: 2\n", "kp.yaml")
    found = explore(spec, Span(6, 9))
    assert (found.valid, found.exact) == ([6, 7, 8, 9], [6, 8])


# ---- the text and the JSON ------------------------------------------------------------------------


def test_text_for_people():
    found = explore(load_file(str(ARCH / "alexnet.yaml")), Span(32, 512))
    out = render_text(found, "architectures/alexnet.yaml")
    lines = out.splitlines()
    assert lines[0].startswith("alexnet (architectures/alexnet.yaml): input [3, 224, 224] (pytorch convention)")
    assert lines[1] == "valid: 450 of 481: 63-512 (every size)"
    assert lines[2].startswith("exact: 44 of 450 valid")
    assert lines[2].endswith(": 63-65, 95-97, 127-129, ..., 479-481 (every 32); 511-512")
    assert f"refused:\n  32-62 (every size)\n    {ARCH / 'alexnet.yaml'}:27:49: layer 'pool5' (maxpool2d)" in out
    assert "(at 32)" in out


def test_text_makes_spec_text_safe():
    spec = parse('name: "evil\\x1b[31m"\ninput: [1, 4, 4]\nlayers:\n  - maxpool2d: 2\n', "e.yaml")
    out = render_text(explore(spec, Span(3, 4)), "e\x1b.yaml")
    assert "\x1b" not in out and "evil\\x1b[31m" in out


def test_cli_json(tmp_path):
    document = json.loads(
        invoke(["sizes", str(ARCH / "seed_50x50.yaml"), "--range", "44:52", "--format", "json"]).stdout
    )
    assert document["valid"] == list(range(44, 53))
    assert document["exact"] == [44, 48, 52]
    assert document["tried"] == {"square": True, "count": 9, "from": 44, "to": 52, "step": 1}
    assert document["input"] == {"name": "input", "shape": [3, 50, 50], "axes": ["height", "width"]}
    assert [(edge["line"], edge["sizes"]) for edge in document["edges"]] == [
        (12, [45, 47, 49, 51]),
        (15, [46, 47, 50, 51]),
    ]
    assert document["refused"] == [] and document["skips"] == []
    per_axis = ["sizes", str(ARCH / "seed_50x50.yaml"), "--height", "48:50:2", "--width", "50", "--format", "json"]
    document = json.loads(invoke(per_axis).stdout)
    assert document["valid"] == [[48, 50], [50, 50]]
    assert document["tried"]["axes"] == {
        "height": {"from": 48, "to": 50, "step": 2},
        "width": {"from": 50, "to": 50, "step": 1},
    }


def test_cli_text_names_the_input_varied():
    out = invoke(["sizes", str(ARCH / "ddpm_unet.yaml"), "--range", "24:40:8"]).stdout
    assert out.splitlines()[0].startswith("ddpm_unet (")
    assert "(input 'x', 1 of 2)" in out.splitlines()[0]
    assert "valid: 1 of 3: 32" in out


@pytest.mark.parametrize(
    "args, words",
    [
        (["--range", "9:3"], "Invalid value for '--range': LO:HI goes up: 9 is more than 3"),
        (["--height", "x"], "Invalid value for '--height': expected LO:HI"),
        (["--range", "1:4", "--width", "3:4"], "not both"),
        ([], "give the sizes to try"),
        (["--depth", "1:4"], "Invalid value for '--depth'"),
        (["--range", "1:4", "--input", "nope"], "Invalid value for '--input': the spec has no input 'nope'"),
        (["--height", "1:1000", "--width", "1:1000"], "1,000,000 sizes to try"),
    ],
)
def test_cli_refuses_a_bad_request(args, words):
    result = invoke(["sizes", str(ARCH / "seed_50x50.yaml"), *args], exit_code=2)
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refuses_a_bad_spec_with_its_location(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_chanels: 4}\n")
    result = invoke(["sizes", str(path), "--range", "1:4"], exit_code=2)
    assert re.search(r"bad\.yaml:3:\d+: error: .*out_chanels", result.stderr)
    assert "Traceback" not in result.stderr
    result = invoke(["sizes", str(path), "--range", "1:4", "--format", "json"], exit_code=2)
    assert json.loads(result.stdout)["errors"][0]["line"] == 3


def test_cli_reads_standard_input_and_set():
    spec = "input: [1, 8, 8]\nlet: {k: 2}\nlayers:\n  - maxpool2d: k\n"
    out = invoke(["sizes", "-", "--range", "4:9", "--set", "k=3", "--format", "json"], input=spec).stdout
    assert json.loads(out)["exact"] == [6, 9]
    assert json.loads(out)["spec"]["file"] == "<stdin>"


def test_the_plan_command_does_not_import_sizes():
    import subprocess
    import sys

    code = (
        "import sys\nfrom cnncalc.cli import main\n"
        f"sys.argv = ['cnncalc', 'plan', {str(ARCH / 'alexnet.yaml')!r}, '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'cnncalc.sizes' not in sys.modules and 'cnncalc.render.sizes' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr


# ---- against the frameworks ----------------------------------------------------------------------


def boundary_sizes(found, most: int = 8) -> list[int]:
    """Square sizes where validity changes (each side of it), and the first and last tried."""
    trials = found.trials
    picked = {trials[0].size[0], trials[-1].size[0]}
    for before, after in zip(trials, trials[1:]):
        if before.valid != after.valid and len(picked) < most:
            picked |= {before.size[0], after.size[0]}
    return sorted(picked)


TORCH_SAMPLE = [
    ("alexnet", Span(55, 70)),
    ("vgg11", Span(20, 40)),
    ("resnet18", Span(1, 12)),
    ("squeezenet1_1", Span(10, 40)),
    ("mobilenet_v2", Span(1, 12)),
    ("googlenet", Span(5, 40)),
    ("inception_v3", Span(60, 90)),
    ("unet", Span(12, 40)),
    ("lenet5", Span(10, 24)),
    ("seed_50x50", Span(1, 12)),
    ("m5", Span(6840, 6860)),  # 1-D: its length; pool4 sees 6,848 samples
]


def torch_module(planned):
    """The exported module of a plan, built on the meta device (no memory, no arithmetic)."""
    import torch

    from cnncalc.export import class_name, to_pytorch

    namespace: dict = {"__name__": "exported"}
    exec(compile(to_pytorch(planned), f"{planned.name}.py", "exec"), namespace)
    with torch.device("meta"):
        return namespace[class_name(planned.name)]().eval()  # training: a batch norm refuses one value per channel


@pytest.mark.parametrize("stem, span", TORCH_SAMPLE, ids=[stem for stem, _ in TORCH_SAMPLE])
def test_torch_accepts_exactly_the_valid_sizes(stem, span):
    """The module exported at the spec's size, run on the meta device at each size near where
    validity changes: torch runs it (with the planned output shape) exactly at the valid sizes.
    A size whose first linear layer takes another in_features gets its own export."""
    from torch_reference import require_torch

    torch = require_torch()
    spec = load_file(str(ARCH / f"{stem}.yaml"))
    base = plan(spec)
    module = torch_module(base)
    found = explore(spec, span)
    for trial in [t for t in found.trials if t.size[0] in boundary_sizes(found)]:
        shape = full_shape(spec, trial.size)
        planned = plan(replace(spec, input_shape=shape, inputs={"input": shape})) if trial.valid else None
        run = module
        if (
            planned is not None
            and planned.first_linear
            and planned.first_linear.in_features != base.first_linear.in_features
        ):
            run = torch_module(planned)
        try:
            out = run(torch.empty((1, *shape), device="meta"))
        except (RuntimeError, ValueError) as exc:
            assert not trial.valid, f"{stem} at {trial.size}: torch refuses what cnncalc accepts: {exc}"
            continue
        assert trial.valid, f"{stem} at {trial.size}: torch accepts what cnncalc refuses: {trial.error.message}"
        assert tuple(out.shape[1:]) == planned.output_shape


def test_torch_agrees_per_axis():
    """AlexNet's height alone: 63 rows at least, whatever the width (kept at 224)."""
    from torch_reference import require_torch

    torch = require_torch()
    spec = load_file(str(ARCH / "alexnet.yaml"))
    module = torch_module(plan(spec))
    found = explore(spec, {"height": Span(60, 66)})
    assert found.valid == [[h, 224] for h in range(63, 67)]
    for trial in found.trials:
        try:
            module(torch.empty((1, 3, *trial.size), device="meta"))
            accepted = True
        except RuntimeError:
            accepted = False
        assert accepted == trial.valid, trial.size


KERAS_SAMPLE = [("dogs_cats_keras", Span(1, 40)), ("mobilenet_v2_keras", Span(20, 40)), ("resnet50_keras", Span(1, 6))]


@pytest.mark.parametrize("stem, span", KERAS_SAMPLE, ids=[stem for stem, _ in KERAS_SAMPLE])
def test_keras_accepts_exactly_the_valid_sizes(stem, span):
    """The Keras export, built with its Input at each size near where validity changes: Keras
    builds it (with the planned output shape) exactly at the valid sizes."""
    from keras_reference import require_keras

    require_keras()
    from cnncalc.export.keras import to_keras

    spec = load_file(str(ARCH / f"{stem}.yaml"))
    code = to_keras(plan(spec))
    written = f"keras.Input(shape=({', '.join(map(str, spec.input_shape))})"
    assert written in code
    found = explore(spec, span)
    for trial in [t for t in found.trials if t.size[0] in boundary_sizes(found)]:
        shape = full_shape(spec, trial.size)
        namespace: dict = {"__name__": "exported_keras"}
        exec(
            compile(code.replace(written, f"keras.Input(shape=({', '.join(map(str, shape))})"), "k.py", "exec"),
            namespace,
        )
        try:
            model = namespace["build_model"]()
        except ValueError as exc:
            assert not trial.valid, f"{stem} at {trial.size}: Keras refuses what cnncalc accepts: {exc}"
            continue
        assert trial.valid, f"{stem} at {trial.size}: Keras accepts what cnncalc refuses: {trial.error.message}"
        planned = plan(replace(spec, input_shape=shape, inputs={"input": shape}))
        assert tuple(model.output_shape[1:]) == planned.output_shape


def test_sizes_say_when_the_first_linear_layer_would_take_other_features():
    """cnncalc infers in_features at each size; a model built at the spec's size has it fixed."""
    spec = load_file(str(ARCH / "alexnet_original.yaml"))
    found = explore(spec, Span(200, 260))
    keeping = [t.size[0] for t in found.trials if t.valid and t.in_features == 9216]
    assert found.in_features == 9216 and keeping == list(range(227, 259))
    text = runner().invoke(cli, ["sizes", str(ARCH / "alexnet_original.yaml"), "--range", "200:260"]).stdout
    assert "a model built at that size takes 32 of the 61 valid sizes: 227-258 (every size)" in text
    pooled = explore(load_file(str(ARCH / "resnet50.yaml")), Span(200, 230))
    assert pooled.other_in_features == []  # global pooling: 2,048 features at every size
