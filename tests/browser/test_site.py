"""The static site in Chromium, opened from file:// with every request that is not a local file refused and counted.

A smoke build of two notebooks (the pages `make site` writes for every notebook): the tour, whose figures are all
llmviz FigureWidgets drawn from their last state, and the attention notebook, with plain plotly figures beside its
explorer's widget. Each page, the index too, must make no request outside its folder, log no console error, and draw
every figure the build emitted; a heatmap must answer a hover with plotly's label and a drag with a zoom.
Screenshots go to build/screenshots/site_*.png.
"""

from __future__ import annotations

import pytest

from llmviz.site import build_site

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.browser
SMOKE = ["00_tour", "04_attention"]  # about 15 s and 25 s on a fresh kernel here: the smoke build stays under 90 s


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(folder, {page name: figures emitted}) of a smoke build, the index included."""
    out = tmp_path_factory.mktemp("site") / "site"
    pages = build_site(out, only=SMOKE, log=lambda _: None)
    return out, {"index": 0} | {page.name: page.figures for page in pages}


@pytest.fixture
def offline(page):
    """The browser tier's page, allowed local files only: any other request is refused and listed in
    page.offline_requests (registered last, this route takes precedence over the tier's 127.0.0.1 route)."""
    def local_files_only(route):
        if route.request.url.startswith("file://"):
            return route.continue_()
        page.offline_requests.append((route.request.resource_type, route.request.url))
        return route.abort("internetdisconnected")

    page.route("**/*", local_files_only)
    return page


def open_page(page, folder, name: str, figures: int):
    page.goto((folder / f"{name}.html").as_uri())
    # Every figure drawn: one plotly div per emitted figure, each holding its SVG.
    page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot').length === {figures} && "
                           "Array.from(document.querySelectorAll('.js-plotly-plot')).every(d => d.querySelector("
                           "'svg.main-svg'))", timeout=30_000)
    page.wait_for_timeout(500)  # let late console errors arrive


@pytest.mark.parametrize("name", ["index", *SMOKE])
def test_each_page_draws_every_figure_with_no_network_request_and_no_console_error(site, offline, name):
    folder, figures = site
    open_page(offline, folder, name, figures[name])
    assert offline.locator(".js-plotly-plot").count() == figures[name]
    assert offline.offline_requests == [], f"{name}.html asked the network for {offline.offline_requests}"
    assert offline.console_errors == [], offline.console_errors
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    offline.screenshot(path=str(SCREENSHOTS / f"site_{name}.png"), full_page=True)


def test_the_refused_request_list_sees_a_page_that_reaches_out(site, offline):
    """The check above can fail: a page that fetches from the internet is caught and refused."""
    folder, figures = site
    open_page(offline, folder, "index", figures["index"])
    offline.evaluate("() => fetch('https://cdn.example.org/plotly.js').catch(() => null)")
    offline.wait_for_timeout(300)
    assert ("fetch", "https://cdn.example.org/plotly.js") in offline.offline_requests


@pytest.mark.parametrize("name", SMOKE)
def test_a_heatmap_answers_a_hover_with_its_value_and_a_drag_with_a_zoom(site, offline, name):
    folder, figures = site
    open_page(offline, folder, name, figures[name])
    plot = offline.locator(".js-plotly-plot:has(.heatmaplayer .hm)").first
    plot.scroll_into_view_if_needed()
    area = plot.locator(".nsewdrag").first.bounding_box()
    label = None
    for fx, fy in [(0.2, 0.8), (0.5, 0.5), (0.3, 0.6), (0.8, 0.2)]:  # masked (empty) cells show no label
        offline.mouse.move(area["x"] + fx * area["width"], area["y"] + fy * area["height"])
        offline.wait_for_timeout(200)
        if plot.locator(".hoverlayer .hovertext").count():
            label = plot.locator(".hoverlayer .hovertext").first.text_content()
            break
    assert label and any(ch.isdigit() for ch in label), f"no hover label with a value on {name}'s heatmap"
    before = plot.evaluate("d => d._fullLayout.xaxis.range.slice()")
    offline.mouse.move(area["x"] + 0.3 * area["width"], area["y"] + 0.3 * area["height"])
    offline.mouse.down()
    offline.mouse.move(area["x"] + 0.6 * area["width"], area["y"] + 0.6 * area["height"], steps=8)
    offline.mouse.up()
    offline.wait_for_timeout(300)
    after = plot.evaluate("d => d._fullLayout.xaxis.range.slice()")
    assert after[1] - after[0] < before[1] - before[0], f"a drag did not zoom {name}'s heatmap: {before} -> {after}"
    assert offline.console_errors == [], offline.console_errors
