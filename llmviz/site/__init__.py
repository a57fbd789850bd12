"""The course as a static site: every notebook executed on a fresh kernel and rendered by nbconvert to pages that
open from file:// with no network (build.py says why nbconvert). Run it with `make site` or `python -m llmviz.site`.
"""

from llmviz.site.build import build_site

__all__ = ["build_site"]
