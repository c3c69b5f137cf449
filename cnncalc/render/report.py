"""The HTML report (cnncalc/report.py's document) as one self-contained page.

The page is assets/report.html with assets/report.css, layout.js (svg.py's layout) and report.js
written in, and the
document as JSON in a `<script type="application/json">` element: its `<`, `>` and `&` are written
as \\u escapes, so no text from a spec can close the element or start markup. The script draws
everything with textContent and attributes. A Content-Security-Policy lets the page run only its
own script (by its hash) and load nothing: it works offline, and nothing a spec holds can make it
fetch or run anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from importlib.resources import files
from string import Template

from cnncalc import __version__

_ASSETS = files("cnncalc.render") / "assets"


def html(document: dict) -> str:
    """The whole page."""
    script = "\n".join((_ASSETS / name).read_text(encoding="utf-8") for name in ("layout.js", "report.js"))
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    plan = document["plan"]
    return Template((_ASSETS / "report.html").read_text(encoding="utf-8")).substitute(
        title=_text(plan["name"]),
        description=_text(plan.get("description") or ""),
        version=escape(__version__),
        css=(_ASSETS / "report.css").read_text(encoding="utf-8"),
        data=script_json(document),
        script=script,
        script_hash=f"sha256-{digest}",
    )


def script_json(document: dict) -> str:
    """JSON that is safe inside a <script> element: ASCII, with <, > and & as \\u escapes."""
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _text(text: str) -> str:
    """HTML-escaped, without the control characters HTML forbids (line breaks kept: the page
    shows them)."""
    return escape("".join(c if c.isprintable() or c in " \n" else "?" for c in text))
