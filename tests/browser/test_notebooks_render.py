"""Every notebook in a real browser: Run All, no errors, widgets and plots render, and a control moves a figure.

nbval runs the code but never renders JavaScript; this tier catches what users actually see fail: widget
front-ends that do not load, "Error displaying widget", blank plots. Screenshots before and after the
interaction go to build/screenshots/ (the README's screenshot comes from there).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT, SCREENSHOTS

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.browser

# Runs inside the page: JupyterLab exposes its app as window.jupyterapp (--LabApp.expose_app_in_browser).
RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const run = async () => {
    await panel.context.ready;
    await panel.sessionContext.ready;
    await app.commands.execute('notebook:run-all-cells');
    return true;
  };
  // A kernel-picker dialog or a cell waiting for input would otherwise hang the test for ever.
  const limit = new Promise((_, reject) => setTimeout(() => reject(new Error('Run All did not finish in 180 s '
    + '(is a dialog open, e.g. no kernelspec?)')), 180000));
  return Promise.race([run(), limit]);
}"""
CELL_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets.filter(cell => cell.model.type === 'code');
  return {
    kernel: panel.sessionContext.session?.kernel?.status,
    unrun: cells.filter(cell => cell.model.executionCount === null).length,
    errors: cells.flatMap(cell => cell.model.outputs.toJSON())
                 .filter(output => output.output_type === 'error')
                 .map(output => output.ename + ': ' + output.evalue),
    // Warnings (e.g. a library's deprecation notice) print to stderr: a pink box a learner takes for an error.
    stderr: cells.flatMap(cell => cell.model.outputs.toJSON())
                 .filter(output => output.output_type === 'stream' && output.name === 'stderr')
                 .map(output => String(output.text).slice(0, 200)),
  };
}"""


def open_notebook(page, base, token, name):
    # A workspace of its own, so JupyterLab does not restore the previous test's notebook beside this one.
    workspace = Path(name).stem.replace("_", "-")
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/notebooks/{name}?reset&token={token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)


def run_all(page):
    page.evaluate(RUN_ALL)
    page.wait_for_function(f"() => {{ const s = ({CELL_STATE})(); return s.kernel === 'idle' && s.unrun === 0; }}",
                           timeout=180_000, polling=500)
    return page.evaluate(CELL_STATE)


def plot_pictures(page):
    return [plot.screenshot() for plot in page.locator(".js-plotly-plot").all()]


def move_last_slider(page):
    """Focus the last slider (the notebook's explore widget) and press keys, as a learner with a keyboard would."""
    handle = page.locator(".widget-slider .noUi-handle").last
    handle.scroll_into_view_if_needed()
    handle.click()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(1500)


# Voilà's lab template links two font-awesome stylesheets from a CDN (share/jupyter/voila/templates/lab); offline
# they fail and only icons are lost. Anything else fetched from outside the machine fails the test.
TOLERATED_OUTSIDE = ("stylesheet", "@fortawesome/fontawesome-free")


def assert_no_widget_errors(page, console_errors):
    text = page.inner_text("body")
    assert "Error displaying widget" not in text
    assert "Failed to load model class" not in text
    outside = [(kind, url) for kind, url in page.offline_requests
               if not (kind == TOLERATED_OUTSIDE[0] and TOLERATED_OUTSIDE[1] in url)]
    assert not outside, f"requests that left the machine: {outside}"
    # A refused request is logged as "Failed to load resource"; those are judged above, by URL. anywidget (plotly's
    # FigureWidget front end) rejects a promise when a model takes over 2 s to initialise (AbortSignal.timeout(2000)
    # in its model runtime), which happens on a busy CPU while plotly.js loads; the model still initialises and
    # renders, and the callers check that every figure is on screen and responds, so that message alone is not ours.
    tolerated = ("favicon", "Failed to load resource", "[anywidget] Failed to initialize model.")
    ours = [e for e in console_errors if not any(t in e for t in tolerated)]
    assert not ours, f"console errors: {ours}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_renders_and_responds(page, lab_server, name):
    base, token = lab_server
    open_notebook(page, base, token, name)
    state = run_all(page)
    assert not state["errors"], f"{name}: error outputs {state['errors']}"
    assert not state["stderr"], f"{name}: warnings printed to stderr {state['stderr']}"
    page.wait_for_timeout(1000)
    assert page.locator(".jp-OutputArea-output .widget-slider").count() > 0, f"{name}: no slider rendered"
    assert page.locator(".js-plotly-plot").count() > 0, f"{name}: no plotly figure rendered"
    assert_no_widget_errors(page, page.console_errors)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    page.locator(".widget-slider").last.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{stem}-before.png"))
    before = plot_pictures(page)
    move_last_slider(page)
    page.screenshot(path=str(SCREENSHOTS / f"{stem}-after.png"))
    after = plot_pictures(page)
    assert len(after) == len(before) and any(a != b for a, b in zip(before, after, strict=True)), \
        f"{name}: moving the slider changed no figure on screen"
    assert_no_widget_errors(page, page.console_errors)


def test_tour_runs_as_a_voila_app(voila_server, page):
    """App mode: the tour served by Voilà renders its widgets and responds to a control."""
    page.goto(voila_server, timeout=180_000)
    page.wait_for_selector(".widget-slider", timeout=180_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_timeout(1000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "voila-tour-before.png"), full_page=True)
    before = plot_pictures(page)
    move_last_slider(page)
    page.screenshot(path=str(SCREENSHOTS / "voila-tour-after.png"), full_page=True)
    assert any(a != b for a, b in zip(before, plot_pictures(page), strict=False))
    assert_no_widget_errors(page, page.console_errors)


def test_no_stray_servers_are_left(lab_server):
    """The servers this tier starts listen on loopback only."""
    import psutil
    mine = [c.laddr.ip for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.pid and "jupyter" in " ".join(psutil.Process(c.pid).cmdline())]
    assert mine and set(mine) <= {"127.0.0.1", "::1"}, mine

