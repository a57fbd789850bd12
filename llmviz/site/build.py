"""`make site`: run every notebook on a fresh kernel and write the course as static pages that need no network.

    python -m llmviz.site                       every notebook in notebooks/ -> build/site/
    python -m llmviz.site --only 04_attention   some notebooks (the browser tier's smoke build)

build/site/ holds index.html (the pipeline diagram and the notebook list), one page per notebook with all its
outputs, glossary.html (docs/glossary.md, when it exists), and plotly.min.js once, from the installed plotly, which
every page loads by a relative path. Notebooks run in a temporary copy, so no output is ever written into notebooks/.

Why nbconvert: it is Jupyter's own renderer, already installed with JupyterLab, and its HTMLExporter with a template
renders every output type the notebooks make the way JupyterLab does. What the site needs beyond it is two small
preprocessors (widgets to their last state; links between pages) and a template that removes its CDN loads.
Documentation tools built for notebooks (Jupyter Book, mkdocs-jupyter, Quarto) would bring a second site generator,
their own themes and more dependencies, and render widgets with the same CDN-loaded HTML manager we must avoid.

The Binder link comes from one setting, `[project.urls] Repository` in pyproject.toml; without it the pages have no
Binder link and the build says so. This module renders nothing itself (pages.py) and knows no widget (static_widgets).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import nbformat
import plotly.offline
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell

from llmviz.site import pages
from llmviz.site.static_widgets import FIGURE_DUMP, FIGURES, PLOTLY, StaticWidgetsPreprocessor
from llmviz.viz.pipeline import pipeline_svg

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: no Binder link (the project's environments are 3.11)
    tomllib = None

ROOT = Path(__file__).resolve().parents[2]
PLOTLY_JS = "plotly.min.js"
SIZE_LIMIT = 60_000_000  # bytes: the whole site, so that it can be copied to a phone or a course page


@dataclass
class Page:
    name: str           # "04_attention": the page is name + ".html"
    title: str
    figures: int        # plotly figures on the page (each drawn into one div)
    seconds: float      # execution time on its fresh kernel


def repository_url(root: Path = ROOT) -> str:
    """`[project.urls] Repository` from pyproject.toml, or "" when it is not set."""
    pyproject = root / "pyproject.toml"
    if tomllib is None or not pyproject.exists():
        return ""
    urls = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("urls", {})
    return urls.get("Repository", "").strip()


def binder_url(repository: str, notebook: str | None = None) -> str:
    """mybinder.org's link that opens notebooks/<notebook>.ipynb of a repository in JupyterLab, or the repository
    without a notebook ("" when there is no repository)."""
    if not repository:
        return ""
    parsed = urllib.parse.urlparse(repository.removesuffix(".git"))
    path = parsed.path.strip("/")
    if parsed.netloc == "github.com":
        spec = f"gh/{path}/HEAD"
    elif parsed.netloc == "gitlab.com":
        spec = f"gl/{urllib.parse.quote(path, safe='')}/HEAD"
    else:
        spec = f"git/{urllib.parse.quote(repository, safe='')}/HEAD"
    if notebook is None:
        return f"https://mybinder.org/v2/{spec}"
    return f"https://mybinder.org/v2/{spec}?labpath=" + urllib.parse.quote(f"notebooks/{notebook}.ipynb", safe="")


def execute(nb, folder: Path, timeout: int = 600) -> dict:
    """Run every cell of nb on a fresh kernel started in folder (in place); return {model_id: figure JSON} of every
    figure widget alive at the end (static_widgets.FIGURE_DUMP). A failing cell raises nbclient's CellExecutionError."""
    nb.cells.append(new_code_cell(FIGURE_DUMP))
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        dump = nb.cells.pop()
    return next((o.data[FIGURES] for o in dump.get("outputs", []) if FIGURES in o.get("data", {})), {})


def count_figures(nb) -> int:
    return sum(PLOTLY in output.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for output in cell.outputs)


def build_notebook(source: Path, folder: Path, out: Path, repository: str, html, glossary: bool) -> Page:
    """Execute one notebook in folder (a copy of notebooks/), make its widgets static, write out/<name>.html."""
    nb = nbformat.read(source, as_version=4)
    started = time.monotonic()
    try:
        figures = execute(nb, folder)
    except CellExecutionError as err:
        raise RuntimeError(f"{source.name}: a cell failed on a fresh kernel, so the site is not built. "
                           f"Run the notebook in JupyterLab to see it.\n{err}") from err
    seconds = time.monotonic() - started
    link = binder_url(repository, source.stem)
    nb, _ = StaticWidgetsPreprocessor(figures=figures, binder_url=link).preprocess(nb, {})
    title = pages.notebook_title(nb) or source.stem
    (out / f"{source.stem}.html").write_text(pages.render(html, nb, title, link, glossary), encoding="utf-8")
    return Page(source.stem, title, count_figures(nb), seconds)


def build_site(out: Path = ROOT / "build" / "site", only: list[str] | None = None, root: Path = ROOT,
               pipeline_svg: str | None = None, log=print) -> list[Page]:
    """Build the site into out (emptied first); only: notebook names (without .ipynb) to build, default all.
    pipeline_svg: the index's pipeline diagram (issue 15's library diagram), None leaves its slot empty."""
    sources = sorted((root / "notebooks").glob("*.ipynb"))
    if only:
        unknown = sorted(set(only) - {s.stem for s in sources})
        if unknown:
            raise ValueError(f"No notebook named {', '.join(unknown)} in {root / 'notebooks'}; "
                             f"the names are {', '.join(s.stem for s in sources)}.")
        sources = [s for s in sources if s.stem in only]
    repository = repository_url(root)
    if not repository:
        log("llmviz site: no [project.urls] Repository in pyproject.toml, so the pages have no Binder link.")
    if out.exists():
        # Emptied only when it holds a site already: a mistyped --out (".", "notebooks") must never be deleted.
        if any(out.iterdir()) and not (out / "index.html").exists():
            raise ValueError(f"{out} is not empty and holds no site (no index.html); give an empty or new folder.")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / PLOTLY_JS).write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
    html = pages.exporter()
    glossary = root / "docs" / "glossary.md"
    if not glossary.exists():
        log(f"llmviz site: {glossary.relative_to(root)} does not exist yet, so the site has no glossary page.")
    built = []
    with tempfile.TemporaryDirectory(prefix="llmviz-site-") as temp:
        folder = Path(temp) / "notebooks"
        shutil.copytree(root / "notebooks", folder)  # the kernels' working folder: outputs never reach notebooks/
        for source in sources:
            built.append(build_notebook(folder / source.name, folder, out, repository, html, glossary.exists()))
            log(f"llmviz site: {source.stem}.html ({built[-1].figures} figures, ran in {built[-1].seconds:.0f} s)")
    home = binder_url(repository)
    if glossary.exists():
        nb = pages.glossary_notebook(glossary.read_text(encoding="utf-8"))
        (out / "glossary.html").write_text(pages.render(html, nb, "Glossary", home), encoding="utf-8")
    entries = [(page.name, page.title) for page in built]
    index = pages.index_notebook(entries, pipeline_svg, glossary.exists())
    page = pages.render(html, index, "llmviz course", home, glossary.exists(), here=False)
    (out / "index.html").write_text(page, encoding="utf-8")
    return built


def site_size(out: Path) -> int:
    """Bytes of every file under out."""
    return sum(path.stat().st_size for path in out.rglob("*") if path.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmviz.site", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="output folder (emptied first)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="notebook names to build, e.g. 04_attention")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        build_site(args.out, args.only, pipeline_svg=pipeline_svg())  # the course's diagram, no stage marked
    except (ValueError, RuntimeError) as err:
        print(f"llmviz site: {err}", file=sys.stderr)
        return 2
    size = site_size(args.out)
    print(f"llmviz site: {args.out} in {time.monotonic() - started:.0f} s, {size / 1e6:.1f} MB")
    if size > SIZE_LIMIT:
        print(f"llmviz site: {size / 1e6:.1f} MB is over the {SIZE_LIMIT / 1e6:.0f} MB limit; look for a page that "
              "embeds a large output.", file=sys.stderr)
        return 1
    return 0
