"""The one-file trace page: a trace dict (trace_data.py) in, a self-contained HTML document out.

The page is a static skeleton (trace_page.html), its style (trace_page.css) and a small hand-written script
(trace_page.js) that draws every figure as SVG; plotly's 4.6 MB bundle would not fit the 5 MB budget, and a phone
draws a few thousand SVG cells at once. The data goes in as JSON inside `<script type="application/json">`, with
`<`, `>`, `&` and the JavaScript line separators U+2028/U+2029 escaped, so no prompt can close the element or inject
markup; the script reads it with JSON.parse and inserts text with textContent only. A Content-Security-Policy lets
the page load nothing at all (`default-src 'none'`) and run only its own script, named by its SHA-256 hash. This
module computes nothing about models and only returns a string; trace.py writes the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib.resources import files
from string import Template

from plotly.colors import get_colorscale

from llmviz.viz.style import BLUE, DIVERGING, GREY, MASKED, ORANGE, SEQUENTIAL, TEXT

ASSETS = files("llmviz.export")


def escape_json(value) -> str:
    """JSON that is safe inside an HTML <script> element: no '<' (so no '</script>' or '<!--'), '>' or '&', and
    no U+2028/U+2029 (line breaks to older JavaScript parsers). Each becomes its \\uXXXX escape, which JSON.parse
    reads back as the same character. NaN and infinities are refused: JSON.parse would reject the page."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def palette() -> dict:
    """The page's colours, from llmviz.viz.style: one colour scheme across the notebooks and the trace."""
    return dict(sequential=[[at, colour] for at, colour in get_colorscale(SEQUENTIAL)], diverging=DIVERGING,
                masked=MASKED, grey=GREY, highlight=BLUE, chosen=ORANGE, text=TEXT)


def content_security_policy(script: str) -> str:
    """Nothing may be fetched; the only script that may run is the page's own, named by the hash of its text."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def trace_html(data: dict) -> str:
    """The whole page for one trace dict, as a string (UTF-8 when written)."""
    script = (ASSETS / "trace_page.js").read_text(encoding="utf-8").strip("\n")
    page = Template((ASSETS / "trace_page.html").read_text(encoding="utf-8"))
    # The skeleton writes `<script>\n$script\n</script>`: the hash covers exactly that element's text.
    return page.substitute(csp=content_security_policy("\n" + script + "\n"), data=escape_json(data),
                           style=(ASSETS / "trace_page.css").read_text(encoding="utf-8").strip("\n"),
                           palette=escape_json(palette()), script=script)
