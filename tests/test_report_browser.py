"""cnncalc report in a real browser: Debian's Chromium, headless, driven by Playwright.

Each report loads with no console error and asks for nothing over the network; its table holds
one row per layer, sorts and filters; its diagram has one box per layer or folded block call (as
`cnncalc draw` counts them), unfolds and folds on a click; a screenshot is not blank.

Needs `chromium` (Debian: `apt-get install chromium`) and the test extra's playwright. Without
them these tests are skipped, unless CNNCALC_REQUIRE_BROWSER is set (.ci/run sets it): then
they fail.
"""

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from cnncalc.checking import MemorySettings, check
from cnncalc.draw import drawing
from cnncalc.engine import plan
from cnncalc.memory import estimate
from cnncalc.render.report import html
from cnncalc.report import report_document
from cnncalc.spec import load_file, parse

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
CHROMIUM_FLAGS = [  # as root, in a machine with no network: no sandbox, no background fetches
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SPECS = ["resnet50", "googlenet", "resnet50_keras", "r2plus1d_18", "m5", "yolov5s", "unet"]


def _missing(why: str):
    if os.environ.get("CNNCALC_REQUIRE_BROWSER"):
        pytest.fail(f"CNNCALC_REQUIRE_BROWSER is set, but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _missing("no chromium on PATH (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Opened:
    """A report open in a page, with what the page said and asked for."""

    def __init__(self, browser, path: Path):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.set_default_timeout(10_000)
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready=true]", timeout=15_000)

    def boxes(self) -> int:
        return self.page.locator("#diagram g.box").count()

    def column(self, name: str) -> list[str]:
        return self.page.locator(f"#layers tbody td.c-{name}").all_inner_texts()


def _written(tmp_path: Path, stem: str) -> tuple[Path, object]:
    spec = load_file(str(ARCH_DIR / f"{stem}.yaml"))
    result = plan(spec)
    path = tmp_path / f"{stem}.html"
    path.write_text(html(report_document(result, estimate(result), check(result, spec, {}, MemorySettings()))))
    return path, result


@pytest.fixture(params=SPECS)
def opened(request, browser, tmp_path):
    path, result = _written(tmp_path, request.param)
    report = Opened(browser, path)
    yield report, result
    report.page.close()


def test_loads_with_no_error_and_asks_for_nothing(opened):
    report, _ = opened
    assert report.errors == []
    assert [url for url in report.requests if not url.startswith("file://")] == []


def test_the_table_has_a_row_per_layer_and_sorts(opened):
    report, result = opened
    assert len(report.column("name")) == len(result.layers)
    assert report.page.inner_text("#table-count") == f"{len(result.layers)} of {len(result.layers)} layers"
    report.page.click('#layers th[data-column="params"]')
    shown = [int(text.replace(",", "")) for text in report.column("params")]
    assert shown == sorted((row.params for row in result.layers), reverse=True)
    report.page.click('#layers th[data-column="params"]')
    assert [int(text.replace(",", "")) for text in report.column("params")] == sorted(shown)
    report.page.click('#layers th[data-column="index"]')
    assert report.column("name") == [row.name for row in result.layers]


def test_the_table_filters(opened):
    report, result = opened
    report.page.fill("#filter", "conv")
    wanted = [
        row.name
        for row in result.layers
        if "conv" in f"{row.name} {row.spec.layer.type_name} {row.spec.groups[-1].name if row.spec.groups else ''}"
    ]
    assert report.column("name") == wanted
    report.page.fill("#filter", "")
    assert len(report.column("name")) == len(result.layers)


def test_the_diagram_draws_what_draw_draws_and_folds(opened):
    report, result = opened
    start = json.loads(report.page.locator("#cnncalc-data").inner_text())["fold_depth"]
    assert report.boxes() == len(drawing(result, start).nodes)
    if not result.group_totals:  # nothing to fold
        assert report.page.is_disabled("#fold-depth")
        assert report.boxes() == len(result.layers) + len(result.input_shapes)
        return
    report.page.select_option("#fold-depth", "all")
    assert report.boxes() == len(drawing(result).nodes) == len(result.layers) + len(result.input_shapes)
    report.page.select_option("#fold-depth", "1")
    folded = len(drawing(result, 1).nodes)
    assert report.boxes() == folded
    first = result.group_totals[0].group  # a top-level call: unfold it, then fold it again
    report.page.click("#zoom-fit")  # the whole drawing in view
    report.page.click(f'#diagram g.box[data-key="b:{first.name}"]')
    inside = {
        row.spec.groups[1].name if len(row.spec.groups) > 1 else row.name
        for row in result.layers
        if row.spec.groups and row.spec.groups[0].name == first.name
    }
    assert report.boxes() == folded - 1 + len(inside)
    counts = [folded]  # unfold the first call inside until a layer shows; its click folds the call back
    call = first.name
    while True:
        counts.append(report.boxes())
        rows = [row for row in result.layers if any(g.name == call for g in row.spec.groups)]
        depth = next(i for i, g in enumerate(rows[0].spec.groups) if g.name == call)
        layer = next((row for row in rows if len(row.spec.groups) == depth + 1), None)
        if layer is not None:
            break
        call = rows[0].spec.groups[depth + 1].name
        report.page.dispatch_event(f'#diagram g.box[data-key="b:{call}"]', "click")  # maybe out of view
    report.page.dispatch_event(f'#diagram g.box[data-key="l:{layer.name}"]', "click")
    assert report.boxes() == counts[-2]
    assert report.page.locator(f'#diagram g.box[data-key="b:{call}"]').count() == 1
    assert report.errors == []


def test_a_click_on_a_row_finds_its_layer_in_the_diagram(opened):
    report, result = opened
    deepest = max(result.layers, key=lambda row: (len(row.spec.groups), -row.spec.index))
    report.page.fill("#filter", deepest.name)
    report.page.click(f'#layers tbody tr[data-index="{deepest.spec.index}"]')
    found = report.page.locator("#diagram g.box.found")
    assert found.count() == 1 and found.get_attribute("data-key") == f"l:{deepest.name}"
    assert found.is_visible() and report.errors == []


def test_the_charts_are_drawn(opened):
    report, result = opened
    bars = report.page.locator("#charts figure").first.locator("rect.bar").count()
    grain = report.page.input_value("#grain")
    assert grain == "layer" and bars == len(result.layers)
    has_field = any(row.receptive_field for row in result.layers)
    assert report.page.locator("#charts figure").count() == 4 + has_field
    report.page.select_option("#grain", "block")
    tops = {row.spec.groups[0].name if row.spec.groups else row.name for row in result.layers}
    assert report.page.locator("#charts figure").first.locator("rect.bar").count() == len(tops)


def test_a_screenshot_is_not_blank(opened, tmp_path):
    from PIL import Image

    report, _ = opened
    picture = Image.open(io.BytesIO(report.page.screenshot(full_page=False))).convert("RGB")
    colours = picture.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    background = max(colours)[0] / (picture.width * picture.height)
    assert background < 0.9  # not one colour with a speck
    diagram = Image.open(io.BytesIO(report.page.locator("#diagram").screenshot())).convert("L")
    assert len(diagram.getcolors(maxcolors=1 << 16)) > 10  # boxes and text, not an empty frame


def test_hostile_text_runs_nothing(browser, tmp_path):
    hostile = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    spec = parse(
        f"name: {json.dumps(hostile)}\ndescription: {json.dumps(hostile)}\ninput: [1, 8, 8]\n"
        "layers:\n  - {type: conv2d, out_channels: 2, kernel_size: 3}\n"
    )
    result = plan(spec)
    path = tmp_path / "hostile.html"
    path.write_text(html(report_document(result, estimate(result), [])))
    report = Opened(browser, path)
    assert report.errors == [] and report.requests == [path.as_uri()]
    assert report.page.inner_text("header h1") == hostile
    assert report.page.locator("img").count() == 0
    report.page.close()


def _zoo_drawings():
    for path in sorted(ARCH_DIR.glob("*.yaml")):
        result = plan(load_file(str(path)))
        deepest = max((len(row.spec.groups) for row in result.layers), default=0)
        for depth in sorted({None, 1, 2, deepest} - {0}, key=lambda d: d or 99):
            if depth is None or depth <= deepest:
                yield f"{path.stem}@{depth}", drawing(result, depth)


def test_the_pages_layout_is_draws_layout(browser):
    """layout.js places every box and routes every arrow as svg.py does, for every bundled
    architecture folded at several depths; and sizes boxes and clips labels alike."""
    from cnncalc.render import svg

    page = browser.new_page()
    page.add_script_tag(content=(Path(svg.__file__).parent / "assets" / "layout.js").read_text())
    compared = 0
    for label, picture in _zoo_drawings():
        box_w = svg._box_width(picture.nodes)
        expected = svg.layout(picture, box_w, top=svg.MARGIN + svg.HEADER)
        given = {
            "nodes": [{"id": node.id} for node in picture.nodes],
            "edges": [[edge.source, edge.target] for edge in picture.edges],
        }
        got = page.evaluate("([d, w, t]) => cnncalcLayout.layout(d, w, t)", [given, box_w, svg.MARGIN + svg.HEADER])
        assert list(got["boxes"]) == list(expected.boxes), label
        flat = [c for corner in expected.boxes.values() for c in corner]
        assert [c for corner in got["boxes"].values() for c in corner] == pytest.approx(flat), label
        routes = [expected.routes[(edge.source, edge.target)] for edge in picture.edges]
        assert len(got["routes"]) == len(routes), label
        for mine, theirs in zip(got["routes"], routes):
            assert [c for p in mine for c in p] == pytest.approx([c for p in theirs for c in p]), label
        assert (got["width"], got["height"], got["crossings"], got["work"]) == pytest.approx(
            (expected.width, expected.height, expected.crossings, expected.work)
        ), label
        labels = [svg._lines(node, "params") for node in picture.nodes]
        assert page.evaluate("(l) => cnncalcLayout.boxWidth(l)", labels) == pytest.approx(box_w), label
        compared += 1
    names = [node.name for _, picture in _zoo_drawings() for node in picture.nodes][::7]
    for name in names[:300]:
        assert page.evaluate("(n) => cnncalcLayout.fit(n, 60, 11, true)", name) == svg._fit(name, 60, 11, True)
    assert compared > 100
    page.close()
