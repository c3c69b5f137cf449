"""cnncalc report: one self-contained HTML page; spec text stays text; it runs only its own script
and loads nothing. What the page does in a browser is tests/test_report_browser.py's."""

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from clirun import runner

from cnncalc.checking import MemorySettings, check
from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.memory import estimate
from cnncalc.render.report import html, script_json
from cnncalc.report import report_document
from cnncalc.spec import load_file, parse

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)> & \"q\" 'a' \u2028"


class Page(HTMLParser):
    """The tags, attributes and scripts of a page."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def _page(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def _report(stem: str) -> tuple[str, dict]:
    spec = load_file(str(ARCH_DIR / f"{stem}.yaml"))
    result = plan(spec)
    document = report_document(result, estimate(result), check(result, spec, {}, MemorySettings()))
    return html(document), document


@pytest.mark.parametrize("stem", ["seed_50x50", "resnet50", "googlenet", "dogs_cats_keras", "r2plus1d_18"])
def test_the_page_holds_the_plan_document_and_one_script(stem):
    text, document = _report(stem)
    page = _page(text)
    data = [body for attrs, body in page.scripts if attrs.get("type") == "application/json"]
    code = [body for attrs, body in page.scripts if "type" not in attrs]
    assert len(data) == 1 and len(code) == 1 and len(page.scripts) == 2
    assert json.loads(data[0]) == json.loads(json.dumps(document))
    assert len(document["plan"]["layers"]) == len(plan(load_file(str(ARCH_DIR / f"{stem}.yaml"))).layers)


def test_the_policy_runs_only_the_pages_own_script_and_loads_nothing():
    text, _ = _report("resnet50")
    page = _page(text)
    policy = next(attrs["content"] for tag, attrs in page.tags if attrs.get("http-equiv") == "Content-Security-Policy")
    code = next(body for attrs, body in page.scripts if "type" not in attrs)
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "unsafe-eval" not in policy
    for tag, attrs in page.tags:  # nothing to fetch: no src, no link, no external href
        assert "src" not in attrs and tag not in ("link", "iframe", "object", "embed", "img")
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text)


def test_spec_text_stays_text():
    spec = parse(
        f"name: {json.dumps(HOSTILE)}\ndescription: {json.dumps(HOSTILE)}\ninput: [1, 8, 8]\n"
        "layers:\n  - {type: conv2d, out_channels: 2, kernel_size: 3}\n"
    )
    result = plan(spec)
    text = html(report_document(result, estimate(result), []))
    page = _page(text)
    assert len(page.scripts) == 2  # the name closed no element and opened none
    assert sum(tag == "img" for tag, _ in page.tags) == 0
    data = next(body for attrs, body in page.scripts if attrs.get("type") == "application/json")
    assert "<" not in data and ">" not in data and "&" not in data
    assert json.loads(data)["plan"]["name"] == HOSTILE
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in text.split("<body>")[1].split("<script")[0]


def test_script_json_escapes_what_could_end_the_element():
    text = script_json({"a": "</script><!-- & \u2028 \u2029 \x00"})
    assert json.loads(text) == {"a": "</script><!-- & \u2028 \u2029 \x00"}
    assert not set("<>&") & set(text) and text.isascii()


def test_a_large_network_starts_folded_a_small_one_unfolded():
    assert _report("resnet50")[1]["fold_depth"] == 1
    assert _report("seed_50x50")[1]["fold_depth"] is None


def test_budget_verdicts_are_checks():
    _, document = _report("resnet50")
    assert {v["what"] for v in document["budget"]} == {"params", "macs"}
    assert all(v["passed"] == (v["actual"] <= v["limit"]) for v in document["budget"])


def test_cli_writes_the_file(tmp_path):
    out = tmp_path / "r.html"
    result = runner().invoke(cli, ["report", str(ARCH_DIR / "alexnet.yaml"), "-o", str(out), "--batch-size", "8"])
    assert result.exit_code == 0, result.output
    data = next(body for attrs, body in _page(out.read_text()).scripts if attrs.get("type") == "application/json")
    assert json.loads(data)["plan"]["memory"]["batch_size"] == 8


def test_cli_memory_follows_the_budgets_settings(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: s\ninput: [3, 8, 8]\nbudget: {max_memory: 1GiB, batch_size: 4, dtype: float16}\n"
        "layers:\n  - {type: conv2d, out_channels: 4, kernel_size: 3}\n"
    )
    out = tmp_path / "r.html"
    assert runner().invoke(cli, ["report", str(spec), "-o", str(out)]).exit_code == 0
    data = json.loads(next(b for a, b in _page(out.read_text()).scripts if a.get("type") == "application/json"))
    assert (data["plan"]["memory"]["batch_size"], data["plan"]["memory"]["dtype"]) == (4, "float16")
    assert data["budget"][0]["detail"] == "inference peak, batch 4, float16"


def test_cli_a_bad_spec_says_where_and_writes_nothing(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\ninput: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: 9}\n")
    out = tmp_path / "r.html"
    result = runner().invoke(cli, ["report", str(spec), "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert f"{spec}:4:" in result.stderr and "Traceback" not in result.stderr


def test_cli_needs_an_output(tmp_path):
    result = runner().invoke(cli, ["report", str(ARCH_DIR / "alexnet.yaml")])
    assert result.exit_code == 2 and "-o" in result.stderr


def test_a_description_keeps_its_line_breaks():
    spec = parse("name: m\ndescription: |\n  first line\n  second <b>line</b>\ninput: [1, 4, 4]\nlayers: [relu]\n")
    result = plan(spec)
    text = html(report_document(result, estimate(result), []))
    assert "<p>first line\nsecond &lt;b&gt;line&lt;/b&gt;\n</p>" in text
