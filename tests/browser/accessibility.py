"""Accessibility checks for the browser tier: axe-core over a notebook's outputs, and its main slider by keyboard.

axe-core is the engine behind the browsers' accessibility audits. The set-up installs it from npm into .venv/node
(pyproject's [tool.llmviz] npm-packages); it is injected into the page as one script and run on the output areas
only (JupyterLab's own chrome is not ours to fix), with the WCAG 2 A and AA rules. A critical or serious violation
fails the test, with the rule, the element and axe's help text.
"""

from __future__ import annotations

import os

import pytest

from .conftest import ROOT

AXE = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("critical", "serious")

RUN_AXE = """async () => {
  const rules = { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] }, resultTypes: ['violations'] };
  const result = await axe.run({ include: [['.jp-OutputArea-output']] }, rules);
  return result.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({ target: n.target.join(' '), html: n.html.slice(0, 160), impact: n.impact })) }));
}"""

# The elements a Tab press can reach, in document order (llmviz's widgets set no positive tabindex), and the last
# slider handle among them: the focus goes to the element before it, and Tab must then land on the handle.
FOCUS_BEFORE_LAST_SLIDER = """() => {
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const candidates = 'a[href], button, input, select, textarea, [tabindex]';
  const focusable = [...document.querySelectorAll(candidates)]
    .filter(el => !el.disabled && el.tabIndex >= 0 && shown(el));
  const handles = [...document.querySelectorAll('.jp-OutputArea-output .widget-slider .noUi-handle')];
  const handle = handles[handles.length - 1];
  const index = focusable.indexOf(handle);
  if (index < 1) return `the last slider handle is not in the tab order (index ${index})`;
  focusable[index - 1].focus();
  return document.activeElement === focusable[index - 1] ? '' : 'could not focus the element before the handle';
}"""
DESCRIBE = ("el => el ? `<${el.tagName.toLowerCase()} class='${el.className}'> ${(el.textContent || '').slice(0, 40)}`"
            " : null")

FOCUSED_HANDLE = """() => {
  const handles = [...document.querySelectorAll('.jp-OutputArea-output .widget-slider .noUi-handle')];
  const handle = handles[handles.length - 1];
  const style = getComputedStyle(handle);
  const label = handle.closest('.widget-slider').querySelector('.widget-label');
  const describe = __DESCRIBE__;
  return { focused: document.activeElement === handle, active: describe(document.activeElement),
           name: handle.getAttribute('aria-label'),
           label: label ? label.textContent.trim() : '', outline: style.outlineStyle,
           outlineWidth: parseFloat(style.outlineWidth) || 0, shadow: style.boxShadow };
}""".replace("__DESCRIBE__", DESCRIBE)


def axe_violations(page) -> list[dict]:
    """The critical and serious WCAG 2 A/AA violations axe-core finds in the page's output areas."""
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{AXE} is missing under CI: scripts/setup.sh installs axe-core with npm.")
        pytest.skip(f"{AXE} is missing: run `make setup` with Node.js and npm installed")
    page.add_script_tag(path=str(AXE))
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in SERIOUS]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']} ({v['help']}): {n['target']} {n['html']}"
                     for v in violations for n in v["nodes"][:5])


def tab_to_last_slider(page, presses: int = 3) -> dict:
    """Focus the element before the notebook's last slider handle, press Tab until the handle has the focus (at most
    `presses` times: the previous slider's readout, which takes the focus too, may lie between), and say what has it.
    """
    handle = page.locator(".jp-OutputArea-output .widget-slider .noUi-handle").last
    handle.scroll_into_view_if_needed()
    problem = page.evaluate(FOCUS_BEFORE_LAST_SLIDER)
    assert not problem, problem
    for _ in range(presses):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUSED_HANDLE)
        if focus["focused"]:
            break
    return focus
