"""Runs written as files that need no kernel: `export_trace` writes one prompt's trace as a self-contained,
interactive HTML page (trace_data.py computes the numbers, trace_page.py lays out the page)."""

from llmviz.export.trace import export_trace

__all__ = ["export_trace"]
