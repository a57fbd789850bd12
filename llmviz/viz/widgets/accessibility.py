"""What llmviz's front end adds for keyboard and screen-reader users: a name for every slider handle, visible focus.

ipywidgets draws a slider with noUiSlider, whose handle is the element that takes focus and the arrow keys:
`<div class="noUi-handle" role="slider" tabindex="0" aria-valuenow=...>`. It carries no name, so a screen reader
announces "slider" and nothing says what it moves (axe-core's rule `aria-input-field-name`, 20 serious violations
over the twelve notebooks). The name is on screen already, in the widget's description label ("Layer:"); this script
copies it onto the handle as `aria-label` ("Layer"), falling back to the widget's tooltip. A MutationObserver keeps
doing it as widgets render or re-render their handles. The style rule gives a focused handle a visible outline.

It runs once per page, from the ES module of llmviz's FigureWidget (figure_widget.py), which every llmviz widget with
a slider displays; `ACCESSIBILITY_JS` is plain JavaScript text, so the browser tier and any other front end can run
the same script.
"""

from __future__ import annotations

# Selectors are ipywidgets 8's: .widget-slider wraps IntSlider, FloatSlider, SelectionSlider and the range sliders.
ACCESSIBILITY_JS = r"""
(() => {
  if (window.__llmviz_accessibility) return;
  window.__llmviz_accessibility = true;
  const nameOf = (handle) => {
    const widget = handle.closest(".widget-slider, .jupyter-widget-slider, .widget-hslider, .widget-vslider");
    if (!widget) return null;
    const label = widget.querySelector(".widget-label");
    const text = (label && label.textContent || "").trim().replace(/:$/, "");
    return text || widget.getAttribute("title") || (label && label.getAttribute("title")) || null;
  };
  const nameSliders = () => {
    for (const handle of document.querySelectorAll('[role="slider"]')) {
      const name = nameOf(handle);
      if (name && handle.getAttribute("aria-label") !== name) handle.setAttribute("aria-label", name);
    }
  };
  const style = document.createElement("style");
  style.textContent = ".widget-slider .noUi-handle:focus-visible, .widget-slider .noUi-handle:focus "
    + "{ outline: 3px solid #1565c0; outline-offset: 2px; }";
  document.head.appendChild(style);
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; nameSliders(); });
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
  nameSliders();
})();
"""
