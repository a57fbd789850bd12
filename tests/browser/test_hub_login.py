"""The class hub in a real browser: a learner logs in through the hub's login form with the class password, lands in
their own JupyterLab on the tour, runs it, and sees its widgets render.

The hub is `make hub`'s (deploy/hub/jupyterhub_config.py) on 127.0.0.1, started and stopped by pid by
llmviz.classroom.Hub; the tour runs on the tiny model here, for speed (tests/test_hub.py checks the shared SmolLM2
cache). The checks are the notebook tier's own: no error output, every control and figure on screen, no widget error,
no request leaving the machine.
"""

from __future__ import annotations

import json

import pytest

from llmviz.classroom import Hub

from .conftest import SCREENSHOTS, SERVERS
from .test_notebooks_render import INVENTORY, assert_everything_shown, assert_no_widget_errors, run_all

pytestmark = pytest.mark.browser


@pytest.fixture
def hub(tmp_path):
    state = tmp_path / "hub"
    # Render every cell (JupyterLab's windowing leaves cells off screen out of the page): the learner's own settings.
    settings = state / "homes" / "ada" / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    with Hub(state, env={"LLMVIZ_MODEL": "tiny",
                         "LLMVIZ_HUB_SERVER_ARGS": "--LabApp.expose_app_in_browser=True"}) as running:
        SERVERS["hub"] = dict(url=running.url + "/", query="", pid=running.process.pid, log=str(running.log_path))
        try:
            yield running
        finally:
            SERVERS.pop("hub", None)


def test_a_learner_logs_in_and_the_tour_renders(hub, page):
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", "ada")
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    # The hub starts her server and sends her to the tour (the spawn page waits while the server starts).
    page.wait_for_url("**/user/ada/lab/**", timeout=180_000)
    assert "/user/ada/lab/tree/llmviz-notebooks/00_tour.ipynb" in page.url
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext", timeout=120_000)
    state = run_all(page)
    assert not state["errors"], f"error outputs {state['errors']}"
    page.wait_for_timeout(1000)
    items = page.evaluate(INVENTORY)
    assert_everything_shown("00_tour.ipynb through the hub", items)
    assert any(item["kind"] == "figure" and item["name"] != "image" for item in items), items
    assert_no_widget_errors(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "hub-tour.png"))
