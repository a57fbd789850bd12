"""Every notebook in a real browser: Run All, no errors, widgets and plots render, the outputs pass axe-core's WCAG 2
A/AA rules, and the last slider, reached with Tab and moved with the arrow keys, moves a figure.

nbval runs the code but never renders JavaScript; this tier catches what users actually see fail: widget
front-ends that do not load, "Error displaying widget", blank plots. Screenshots before and after the
interaction go to build/screenshots/ (the README's screenshot comes from there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .accessibility import axe_violations, describe, tab_to_last_slider
from .conftest import ROOT, SCREENSHOTS, SERVERS, lab_api

# The course quiz (13) has no slider or figure to move: tests/browser/test_quiz_notebook.py answers it instead.
QUIZZES = ("13_course_quiz.ipynb",)
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb") if p.name not in QUIZZES)
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
    // Cells tagged "test" drive a second copy of a widget for nbval: collapsed on screen, out of the learner's way.
    tests: cells.filter(cell => (cell.model.getMetadata('tags') || []).includes('test')).length,
    testsShown: cells.filter(cell => (cell.model.getMetadata('tags') || []).includes('test') && !cell.inputHidden)
                     .map(cell => cell.model.sharedModel.getSource().slice(0, 80)),
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


# Runs inside the page: every output of every code cell, and for each widget output every widget in its tree, each
# with whether it is on screen. A control is any @jupyter-widgets/controls model but the containers and the text
# displays; a figure is a plotly FigureWidget (an anywidget model syncing `_widget_data`), a plotly output or an image.
# The widget manager is reached through an output's WidgetRenderer, which holds it as `_manager` (a promise).
INVENTORY = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  const shown = el => !!el && el.isConnected && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden';
  const notControls = ['BoxModel', 'HBoxModel', 'VBoxModel', 'GridBoxModel', 'AccordionModel', 'TabModel',
    'StackModel', 'HTMLModel', 'HTMLMathModel', 'LabelModel'];
  const items = [];
  const walk = async (model, cell) => {
    const views = (await Promise.all(Object.values(model.views || {}))).filter(view => shown(view.el));
    const name = model.get('_model_name');
    let kind = null;
    if (model.get('_model_module') === '@jupyter-widgets/controls' && !notControls.includes(name)) kind = 'control';
    if ('_widget_data' in model.attributes && '_widget_layout' in model.attributes) kind = 'figure';
    // A FigureWidget's view element is itself the .js-plotly-plot once plotly has drawn into it.
    if (kind) items.push({cell, kind, name, description: model.get('description') || '', shown: views.some(view =>
      kind === 'control' || view.el.matches('.js-plotly-plot'))});
    for (const child of (model.get('children') || [])) await walk(child, cell);
  };
  const cells = panel.content.widgets.filter(cell => cell.model.type === 'code');
  for (const [index, cell] of cells.entries()) {
    const outputs = cell.model.outputs.toJSON();
    const areas = cell.outputArea.widgets;
    for (const [i, output] of outputs.entries()) {
      const data = output.data || {};
      const node = areas[i] ? areas[i].node : null;
      if (data['application/vnd.jupyter.widget-view+json']) {
        const renderer = areas.flatMap(area => area.widgets || []).find(widget => widget._manager);
        const manager = await renderer._manager.promise;
        await walk(await manager.get_model(data['application/vnd.jupyter.widget-view+json'].model_id), index + 1);
      } else if (data['application/vnd.plotly.v1+json']) {
        items.push({cell: index + 1, kind: 'figure', name: 'plotly output', description: '',
                    shown: !!node && [...node.querySelectorAll('.js-plotly-plot')].some(shown)});
      } else if (data['image/png'] || data['image/svg+xml']) {
        items.push({cell: index + 1, kind: 'figure', name: 'image', description: '',
                    shown: !!node && [...node.querySelectorAll('img, svg')].some(shown)});
      }
    }
  }
  return items;
}"""


def assert_everything_shown(name, items, kinds=("control", "figure")):
    """Every control and figure the notebook displays is on screen, and there is something of each of `kinds`."""
    missing = [f"cell {item['cell']}: {item['kind']} {item['name']} {item['description']!r}".rstrip()
               for item in items if not item["shown"]]
    assert not missing, f"{name}: displayed but not on screen: {missing}"
    shown = {item["kind"] for item in items}
    assert shown >= set(kinds), f"{name}: the notebook shows no {set(kinds) - shown}"


def plot_pictures(page):
    return [plot.screenshot() for plot in page.locator(".js-plotly-plot").all()]


def move_last_slider(page, name):
    """Reach the last slider (the notebook's explore widget) with Tab and move it with the arrow keys, as a learner
    with a keyboard would: the handle takes the focus, shows it, and is named after its label."""
    focus = tab_to_last_slider(page)
    assert focus["focused"], f"{name}: Tab from the element before the last slider did not reach its handle within " \
        f"3 presses, but {focus['active']}"
    assert focus["name"] and focus["name"] == focus["label"].rstrip(":"), \
        f"{name}: the focused slider handle is named {focus['name']!r}, its label says {focus['label']!r}"
    assert focus["outline"] != "none" and focus["outlineWidth"] >= 2 or focus["shadow"] != "none", \
        f"{name}: the focused slider handle shows no focus (outline {focus['outline']}, shadow {focus['shadow']})"
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(1500)


# Voilà's lab template links two font-awesome stylesheets from a CDN (share/jupyter/voila/templates/lab); offline
# they fail and only icons are lost. Anything else fetched from outside the machine fails the test.
TOLERATED_OUTSIDE = ("stylesheet", "@fortawesome/fontawesome-free")


def tolerated_outside(kind: str, url: str) -> bool:
    return kind == TOLERATED_OUTSIDE[0] and TOLERATED_OUTSIDE[1] in url


def frozen_figures(page) -> str:
    """Why a figure may not respond: anywidget's model runtime gives up after 2 s (see assert_no_widget_errors)."""
    failed = sum("[anywidget] Failed to initialize model." in text for text, _ in page.console_errors)
    return (f"; anywidget gave up initialising {failed} figure model(s) at its 2 s limit, and such a figure ignores "
            "every update from the kernel") if failed else ""


def assert_no_widget_errors(page):
    text = page.inner_text("body")
    assert "Error displaying widget" not in text
    assert "Failed to load model class" not in text
    outside = [(kind, url) for kind, url in page.offline_requests if not tolerated_outside(kind, url)]
    assert not outside, f"requests that left the machine: {outside}"
    # Every request to our own server must succeed: a 404 is a missing widget bundle, stylesheet or model file.
    local = [f"{status} {url}" for url, status in page.local_failures]
    assert not local, f"requests to the local server that failed: {local}"
    # A "Failed to load resource" message names no URL in its text; its location does. Only the tolerated outside
    # stylesheets may fail. "[anywidget] Failed to initialize model." is an error too: anywidget gives a model 2 s
    # (AbortSignal.timeout(2000)) and then drops every update from the kernel, so the figure freezes. llmviz's
    # FigureWidget (viz/widgets/figure_widget.py) starts at once and loads plotly.js afterwards; this guards it.
    tolerated_urls = {url for kind, url in page.offline_requests if tolerated_outside(kind, url)}
    ours = [f"{text} ({url})" for text, url in page.console_errors
            if not ("Failed to load resource" in text and url in tolerated_urls)]
    assert not ours, f"console errors: {ours}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_renders_and_responds(lab, page, name):
    base, token = lab
    open_notebook(page, base, token, name)
    state = run_all(page)
    assert not state["errors"], f"{name}: error outputs {state['errors']}"
    assert not state["stderr"], f"{name}: warnings printed to stderr {state['stderr']}"
    assert state["tests"] > 0 and not state["testsShown"], \
        f"{name}: {state['tests']} test cells, of which these are not collapsed: {state['testsShown']}"
    page.wait_for_timeout(1000)
    assert_everything_shown(name, page.evaluate(INVENTORY))
    assert page.locator(".jp-OutputArea-output .widget-slider").count() > 0, f"{name}: no slider to move"
    assert_no_widget_errors(page)
    violations = axe_violations(page)
    assert not violations, f"{name}: axe-core finds critical or serious violations in the outputs:\n" \
        + describe(violations)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    page.locator(".widget-slider").last.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{stem}-before.png"))
    before = plot_pictures(page)
    move_last_slider(page, name)
    page.screenshot(path=str(SCREENSHOTS / f"{stem}-after.png"))
    after = plot_pictures(page)
    assert len(after) == len(before) and any(a != b for a, b in zip(before, after, strict=True)), \
        f"{name}: moving the slider changed no figure on screen{frozen_figures(page)}"
    assert_no_widget_errors(page)


# Voilà exposes no app or widget manager to the page, so the kernel lists what it displays: given the model ids of
# the page's widget outputs, it walks each tree and tags every control and figure with a CSS class naming its model
# id (a synced DOM class; every view of a control gets it). The page then finds each tag on screen, or not.
TAG_SHOWN = """
import json
from ipywidgets import Box, DOMWidget, HTML, HTMLMath, Label
from ipywidgets.widgets.widget import _instances
items = []
def _walk(widget):
    if isinstance(widget, Box):
        for child in widget.children:
            _walk(child)
        return
    figure = hasattr(widget, "_widget_data") and hasattr(widget, "_widget_layout")
    if isinstance(widget, DOMWidget) and (figure or not isinstance(widget, (HTML, HTMLMath, Label))) \\
            and widget._model_module in ("@jupyter-widgets/controls", "anywidget"):
        widget.add_class("llmviz-shown-" + widget.model_id)
        items.append(dict(id=widget.model_id, kind="figure" if figure else "control",
                          name=type(widget).__name__, description=getattr(widget, "description", "")))
for model_id in MODEL_IDS:
    _walk(_instances[model_id])
print(json.dumps(items))
"""
SHOWN = """id => [...document.querySelectorAll('.llmviz-shown-' + id)].some(el =>
  el.isConnected && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')"""
VISIBLE_PLOTS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(el =>
  el.isConnected && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden').length"""


def voila_inventory(page, html: str, voila_pid: int) -> list[dict]:
    """Every control and figure the Voilà page displays, each with whether it is on screen (see TAG_SHOWN). html is
    the page as Voilà served it: its widget outputs name their models (the page's script removes them once read)."""
    import psutil
    from jupyter_client import BlockingKernelClient

    model_ids = list(dict.fromkeys(re.findall(r"model_id\W+([0-9a-f]{32})", html)))
    assert model_ids, "the Voilà page holds no widget output"
    files = [arg for child in psutil.Process(voila_pid).children(recursive=True) for arg in child.cmdline()
             if arg.endswith(".json") and "kernel-" in arg]
    assert len(files) == 1, f"expected Voilà to run one kernel, found {files}"
    client = BlockingKernelClient(connection_file=files[0])
    client.load_connection_file()
    client.start_channels()
    try:
        printed = []
        reply = client.execute_interactive(f"MODEL_IDS = {model_ids!r}\n{TAG_SHOWN}", timeout=60,
                                           output_hook=lambda msg: msg["msg_type"] == "stream"
                                           and printed.append(msg["content"]["text"]))
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
    items = json.loads("".join(printed))
    page.wait_for_timeout(1000)  # the tags travel to the page as widget state updates
    # anywidget's view does not apply DOM classes, so figures are matched by number: as many plotly plots on screen
    # as the kernel's figures.
    plots = page.evaluate(VISIBLE_PLOTS)
    figures = 0
    for item in items:
        if item["kind"] == "figure":
            figures += 1
            item["shown"] = figures <= plots
        else:
            item["shown"] = page.evaluate(SHOWN, item["id"])
        item["cell"] = "-"
    return items


def test_tour_runs_as_a_voila_app(voila_server, page):
    """App mode: the tour served by Voilà shows every control and figure it creates, and responds to a control."""
    html = page.goto(voila_server, timeout=180_000).text()
    page.wait_for_selector(".widget-slider", timeout=180_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_timeout(1000)
    assert_everything_shown("00_tour.ipynb in Voilà", voila_inventory(page, html, SERVERS["voila"]["pid"]))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "voila-tour-before.png"), full_page=True)
    before = plot_pictures(page)
    move_last_slider(page, "the Voilà tour")
    page.screenshot(path=str(SCREENSHOTS / "voila-tour-after.png"), full_page=True)
    assert any(a != b for a, b in zip(before, plot_pictures(page), strict=False)), \
        f"the tour in Voilà: moving the slider changed no figure on screen{frozen_figures(page)}"
    assert_no_widget_errors(page)


def test_servers_listen_on_loopback_only(lab_server):
    """The servers this tier starts listen on loopback only."""
    import psutil
    mine = [c.laddr.ip for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.pid and "jupyter" in " ".join(psutil.Process(c.pid).cmdline())]
    assert mine and set(mine) <= {"127.0.0.1", "::1"}, mine


def test_no_stray_servers_are_left(lab_server, notebook_copy):
    """After the tests above, JupyterLab runs no kernel, and nothing else this run started is listening: no Voilà,
    no kernel of its, no notebook's kernel. Kernels left alive pile up (about 11 GB for the twelve notebooks) and
    starve whatever runs after them."""
    import psutil
    base, token = lab_server
    kernels = lab_api(base, token, "kernels")
    assert not kernels, f"JupyterLab still runs kernels of earlier tests: {kernels}"
    listening = {c.pid for c in psutil.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
    listening.discard(SERVERS["lab"]["pid"])
    stray = []
    for pid in listening:
        try:
            process = psutil.Process(pid)
            # Ours: started by this run, or (a kernel whose server died leaves no parent) working in its notebooks.
            if process in psutil.Process().children(recursive=True) or process.cwd().startswith(str(notebook_copy)):
                stray.append(f"{pid} {' '.join(process.cmdline())[:160]}")
        except psutil.Error:  # it exited meanwhile, or belongs to someone else: not ours
            continue
    assert not stray, f"servers this run started and never stopped: {stray}"
