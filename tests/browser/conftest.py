"""Fixtures of the browser tests: one JupyterLab server and one Chromium for the session, stopped even when a test fails.

They skip, saying why, when no Chromium is found (locally: `apt-get install chromium`; CI installs it)."""
import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

import jlab

TIMINGS = jlab.TIMINGS
_SKIPPED: list[str] = []


@pytest.fixture(scope="session")
def chromium():
    why = jlab.chromium_missing()
    if why:
        _SKIPPED.append(why)
        pytest.skip(why)
    return jlab.CHROMIUM


@pytest.fixture(scope="session")
def lab(chromium):
    tmp = Path(tempfile.mkdtemp(prefix="dsnet-browser-"))
    t0 = time.time()
    server = jlab.start_lab(tmp)
    TIMINGS.append(("JupyterLab start", time.time() - t0, "ok"))
    try:
        yield server
    finally:
        jlab.stop_lab(server)
        jlab.OUTPUT.mkdir(parents=True, exist_ok=True)
        (jlab.OUTPUT / "jupyterlab.log").write_bytes(server.log.read_bytes())
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory(prefix="dsnet-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True,
                                                       args=jlab.CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser, lab):
    page = browser.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        page.close()
        lab.shutdown_kernels()


def pytest_terminal_summary(terminalreporter):
    if _SKIPPED:
        terminalreporter.write_line(f"[browser] {_SKIPPED[0]}")
    if TIMINGS:
        terminalreporter.write_line("[browser] timings (s):")
        for what, seconds, outcome in TIMINGS:
            terminalreporter.write_line(f"[browser]   {seconds:7.1f}  {what}  ({outcome})")
        terminalreporter.write_line(f"[browser]   {sum(t for _, t, _ in TIMINGS):7.1f}  total")
        jlab.OUTPUT.mkdir(parents=True, exist_ok=True)
        (jlab.OUTPUT / "timings.json").write_text(json.dumps([{"what": w, "seconds": round(s, 1), "outcome": o}
                                                              for w, s, o in TIMINGS], indent=1))
