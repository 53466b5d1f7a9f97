"""Every other notebook, run once in JupyterLab (Run All): no error output, no plot that shows as text.

The set is chosen with DSNET_BROWSER_NOTEBOOKS: `all` (the default: every notebook of nbs/ but the two that
test_browser_widgets.py drives), `none`, or a comma-separated list of names or globs (`00_*,03_phantoms.ipynb`).
DSNET_BROWSER_TIMEOUT (seconds, default 1200) bounds one notebook. The time of each is printed at the end."""
import fnmatch
import os
import time

import pytest

import jlab
from jlab import TIMINGS

DRIVEN = {"02_widgets.ipynb", "02a_review.ipynb"}          # run, and clicked through, by test_browser_widgets.py


def selected_notebooks() -> list[str]:
    names = sorted(p.name for p in (jlab.REPO / "nbs").glob("*.ipynb"))
    choice = os.environ.get("DSNET_BROWSER_NOTEBOOKS", "all").strip()
    if choice.lower() == "none":
        return []
    if choice.lower() == "all":
        return [n for n in names if n not in DRIVEN]
    patterns = [p.strip() for p in choice.split(",") if p.strip()]
    return [n for n in names if any(fnmatch.fnmatch(n, p) or fnmatch.fnmatch(n, p + ".ipynb") for p in patterns)]


@pytest.mark.parametrize("name", selected_notebooks())
def test_notebook_in_jupyterlab(page, lab, name):
    t0, problems = time.time(), ["did not finish"]
    try:
        jlab.open_notebook(page, lab, name)
        jlab.run_all(page, float(os.environ.get("DSNET_BROWSER_TIMEOUT", 1200)))
        problems = jlab.notebook_problems(jlab.save(page, lab, name))
        if page.locator(".jp-OutputArea-output", has_text="<Figure size").count():
            problems.append("a plot shows as text in the page")
    finally:
        TIMINGS.append((name, time.time() - t0, "ok" if not problems else "FAILED"))
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_problems_are_found():
    "The checks themselves (no browser needed): an error, a plot shown as text, a cell never run; a real plot passes."
    cell = lambda src, outputs, n=1: {"cell_type": "code", "source": [src], "execution_count": n, "outputs": outputs}
    nb = {"cells": [cell("ok", [{"output_type": "display_data", "data": {"image/png": "...", "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}]),
                    cell("fig", [{"output_type": "execute_result", "data": {"text/plain": ["<Figure size 800x230 with 4 Axes>"]}}]),
                    cell("1/0", [{"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": []}]),
                    cell("after", [], None), {"cell_type": "markdown", "source": ["# title"]}]}
    problems = jlab.notebook_problems(nb)
    assert len(problems) == 3, problems
    assert "code cell 2" in problems[0] and "plot shows as text" in problems[0]
    assert "ZeroDivisionError" in problems[1] and "not run" in problems[2]
