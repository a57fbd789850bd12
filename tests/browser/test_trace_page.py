"""The one-file trace (`llmviz export`) in headless Chromium, opened from file:// with every other request refused.

It checks what only a browser shows: the figures render with no console error and no request leaves the file; the
layer and temperature controls redraw their figures, and the bars the page computes equal softmax(logits / T) of
the stored logits by torch; a hover writes the exact value; a prompt holding </script> and an <img onerror> is shown
as text and runs nothing; and the page fits a 390 px phone. Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

HOSTILE = 'The cat </script><script>alert("script")</script> <img src=x onerror="alert(\'img\')"> & dog'


@pytest.fixture(scope="module")
def trace_file(tiny_lm, tmp_path_factory):
    path = tmp_path_factory.mktemp("trace") / "trace.html"
    tiny_lm.export_trace(HOSTILE, path, generate_tokens=4)
    return path


def stored_data(path) -> dict:
    html = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', html, re.S)[1])


@pytest.fixture(params=[(1400, 1000), (390, 844)], ids=["desktop", "phone"])  # (width, height) of the viewport
def trace_page(request, browser, trace_file):
    """The trace opened from file:// in a fresh context: every request that is not a file:// URL is refused and
    recorded (page.refused), as are console errors, page errors and dialogs (alert() from injected markup)."""
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=width < 500,
                                  has_touch=width < 500)
    page = context.new_page()
    page.refused, page.errors, page.dialogs, page.files = [], [], [], []
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda req: req.url.startswith("file://") and page.files.append(req.url))

    def refuse(route):
        if route.request.url.startswith("file://"):
            return route.continue_()
        page.refused.append(route.request.url)
        return route.abort("internetdisconnected")

    page.route("**/*", refuse)
    page.goto(trace_file.as_uri())
    page.wait_for_selector("#next-token svg")
    page.viewport = width
    try:
        yield page
    finally:
        context.close()


def bar_probabilities(page) -> list[float]:
    return [float(p) for p in page.eval_on_selector_all("#next-token rect.bar", "bars => bars.map(b => b.dataset.p)")]


def test_the_trace_renders_offline_and_its_controls_redraw_the_figures(trace_page, trace_file):
    page, data = trace_page, stored_data(trace_file)
    n = len(data["tokens"])
    for figure in ("#embedding", "#attention", "#residual", "#lens", "#next-token"):
        assert page.locator(f"{figure} svg").count() == 1, f"{figure} drew no figure"
    assert page.locator("#attention svg rect").count() == n * n
    assert page.locator("#lens svg rect").count() == (data["n_layers"] + 1) * n
    assert page.locator("#tokens li").count() == n
    assert page.locator("#generation tbody tr").count() == 4 and page.is_visible("#generation-section")

    # The layer slider redraws the attention heatmap with that layer's numbers.
    before = page.inner_html("#attention")
    page.focus("#layer")
    page.keyboard.press("ArrowRight")
    assert page.input_value("#layer") == "1"
    assert page.inner_html("#attention") != before
    assert page.get_attribute("#attention svg", "aria-label").startswith("Layer 1, head 0")
    cell = page.locator('#attention svg rect[data-r="3"][data-c="1"]')
    # A hover (a tap on a phone) writes the cell's exact weight, as stored.
    cell.tap() if page.viewport < 500 else cell.hover()
    weight = data["attention"][1][0][3][1] / data["attention_scale"]
    assert page.text_content("#attention-readout").endswith(f"{weight:.4f}")

    # The temperature slider reshapes the bars: softmax(logits / T) over the stored top-k, as torch computes it.
    logits = torch.tensor(data["next_token"]["logits"], dtype=torch.float64)
    at_one = bar_probabilities(page)
    assert at_one == pytest.approx(torch.softmax(logits, -1)[: len(at_one)].tolist(), abs=1e-9)
    before = page.inner_html("#next-token")
    page.focus("#temperature")
    page.keyboard.press("End")  # T = 3, the slider's maximum
    assert page.inner_html("#next-token") != before
    assert bar_probabilities(page) == pytest.approx(torch.softmax(logits / 3, -1)[: len(at_one)].tolist(), abs=1e-9)
    assert page.text_content("#temperature-value") == "T = 3.00"
    page.keyboard.press("Home")  # T = 0.05: almost all the mass on the top token
    assert bar_probabilities(page)[0] == pytest.approx(float(torch.softmax(logits / 0.05, -1)[0]), abs=1e-9)

    name = "desktop" if page.viewport > 500 else "phone"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"trace_{name}.png"), full_page=True)
    assert page.refused == [], f"the page tried to reach the network: {page.refused}"
    assert set(page.files) == {trace_file.as_uri()}, page.files
    assert page.errors == []


def test_a_hostile_prompt_is_shown_as_text_and_runs_nothing(trace_page, trace_file):
    page, data = trace_page, stored_data(trace_file)
    assert page.text_content("#prompt") == HOSTILE
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 3  # the data, the palette and the page's own script
    shown = page.locator("#tokens li").all_text_contents()  # each box: the token, then its id
    assert shown == [f"{token}{i}" for token, i in zip(data["tokens"], data["token_ids"], strict=True)]
    assert page.title().startswith("llmviz trace: The cat </script>")
    assert page.dialogs == [] and page.errors == [] and page.refused == []


@pytest.mark.parametrize("trace_page", [(390, 844)], ids=["phone"], indirect=True)
def test_the_page_fits_a_phone(trace_page):
    """On a 390 px screen nothing but the wide figures scrolls sideways, inside their own boxes."""
    page = trace_page
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport
    for control in ("#layer", "#head", "#position", "#temperature"):
        box = page.locator(control).bounding_box()
        assert box["width"] > 200 and box["x"] + box["width"] <= page.viewport, control
