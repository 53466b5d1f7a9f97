"""Helpers of the browser tests: a JupyterLab server in a temporary root, driven by Debian's Chromium through Playwright.

Nothing is written into the repository except screenshots under tests/browser/output/: the server's root, config,
data, runtime and settings folders are temporary, and the notebooks run from copies."""
from __future__ import annotations

import json
import re
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUTPUT = Path(__file__).resolve().parent / "output"
CHROMIUM = os.environ.get("DSNET_CHROMIUM", "/usr/bin/chromium")
# the system Chromium, headless; without the background-networking flags its connections are refused by a closed network
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMINGS: list[tuple[str, float, str]] = []     # (what, seconds, outcome), printed at the end and kept in output/
LAB_SETTINGS = {                              # quiet, predictable JupyterLab: no news, no autosave, every cell in the DOM
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
}


def chromium_missing() -> str | None:
    "Why the browser tests cannot run here (None when they can)."
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return (f"browser tests skipped: no Chromium at {CHROMIUM} (Debian: apt-get install chromium; "
                "or set DSNET_CHROMIUM to the browser's path)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "browser tests skipped: playwright is not installed (pip install -e '.[dev]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    "A running JupyterLab server."
    proc: subprocess.Popen
    port: int
    token: str
    root: Path              # the server's root: copies of nbs/*.ipynb and settings.ini
    log: Path

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(self.url(f"api/{path}"), method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        "Stop every kernel of the server (between notebooks: each starts fresh)."
        for s in self.api("sessions"):
            self.api(f"sessions/{s['id']}", "DELETE")


def lab_root(tmp: Path) -> Path:
    "A temporary project root: settings.ini and copies of the notebooks (the repository's files are never touched)."
    root = tmp / "root"
    (root / "nbs").mkdir(parents=True)
    shutil.copy(REPO / "settings.ini", root / "settings.ini")
    for nb in sorted((REPO / "nbs").glob("*.ipynb")):
        shutil.copy(nb, root / "nbs" / nb.name)
    return root


def kernel_env(tmp: Path) -> dict:
    "The server's (and so its kernels') environment: the quick profile, the user's default matplotlib backend."
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTEST", "MPLBACKEND"))}
    for name in ("config", "data", "runtime", "ipython", "lab-settings", "lab-workspaces"):
        (tmp / name).mkdir(exist_ok=True)
    env.update(DSNET_PROFILE="quick", JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), IPYTHONDIR=str(tmp / "ipython"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    shared = REPO.parent / "shared" / "data"                  # the real samples, as the notebooks find them from the repo
    if "DSNET_DATA" not in env and shared.is_dir():
        env["DSNET_DATA"] = str(shared)
    for plugin, values in LAB_SETTINGS.items():
        f = tmp / "lab-settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    return env


def start_lab(tmp: Path, timeout: float = 120) -> Lab:
    "Start JupyterLab on 127.0.0.1 (a free port, a token, no browser) in its own process group; wait until it answers."
    root, env, port, token = lab_root(tmp), kernel_env(tmp), free_port(), secrets.token_hex(16)
    log = tmp / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False", "--LabApp.news_url=None"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(proc, port, token, root, log)
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            lab.api("status"); return lab
        except OSError:
            time.sleep(0.5)
    stop_lab(lab)
    raise RuntimeError(f"JupyterLab did not answer on port {port} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_lab(lab: Lab) -> None:
    "Stop the server and its kernels: SIGTERM to its process group (started by us), SIGKILL after 15 s."
    if lab.proc.poll() is None:
        try:
            os.killpg(lab.proc.pid, signal.SIGTERM)
            lab.proc.wait(15)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try: os.killpg(lab.proc.pid, signal.SIGKILL)
            except ProcessLookupError: pass
            lab.proc.wait(5)


PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"      # the notebook of the current tab
KERNEL_READY_JS = (f"() => {{ const s = document.querySelector('{PANEL} .jp-Notebook-ExecutionIndicator');"
                   f" const k = document.querySelector('{PANEL} .jp-KernelName');"
                   " return s && s.getAttribute('data-status') === 'idle' && k && !/No Kernel/.test(k.textContent); }")


def open_notebook(page, lab: Lab, name: str, timeout_s: float = 90) -> None:
    "Open nbs/<name> in JupyterLab and wait until its kernel is started and idle (accepting a kernel dialog if one shows)."
    page.goto(lab.url(f"lab/tree/nbs/{name}?reset&token={lab.token}"), timeout=timeout_s * 1000)   # reset: no tab restored
    page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
    t0, ready = time.time(), 0
    while time.time() - t0 < timeout_s:
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click(); ready = 0
        ready = ready + 1 if page.evaluate(KERNEL_READY_JS) else 0
        if ready >= 4:                               # ready, and no dialog, for about 2 s
            return
        time.sleep(0.5)
    raise TimeoutError(f"{name}: the kernel was not ready within {timeout_s:.0f} s")


PROMPTS_JS = f"() => [...document.querySelectorAll('{PANEL} .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim())"


def run_all(page, timeout_s: float) -> float:
    "Run > Run All Cells, then wait until no cell is running or queued; returns the seconds it took."
    t0 = time.time()
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).first.click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()
    page.wait_for_function(f"() => ({PROMPTS_JS})().some(p => p.includes('*') || /\\d/.test(p))", timeout=60_000)
    quiet = 0
    while time.time() - t0 < timeout_s:
        prompts = page.evaluate(PROMPTS_JS)
        status = page.evaluate(f"() => {{ const s = document.querySelector('{PANEL} .jp-Notebook-ExecutionIndicator');"
                               " return s ? s.getAttribute('data-status') : null; }")
        quiet = quiet + 1 if not any("*" in p for p in prompts) and status == "idle" else 0
        if quiet >= 3:
            return time.time() - t0
        time.sleep(0.5)
    raise TimeoutError(f"the notebook was still running after {timeout_s:.0f} s")


def save(page, lab: Lab, name: str, timeout_s: float = 30) -> dict:
    "Save the notebook from the browser (Ctrl+S) and return it as read back from the server's root."
    path = lab.root / "nbs" / name
    before = path.stat().st_mtime_ns
    page.locator(f"{PANEL} .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    t0 = time.time()
    while path.stat().st_mtime_ns == before:
        if time.time() - t0 > timeout_s:
            raise TimeoutError(f"{name} was not saved within {timeout_s:.0f} s")
        time.sleep(0.2)
    time.sleep(0.3)
    return json.loads(path.read_text())


def notebook_problems(nb: dict) -> list[str]:
    "Error outputs, plots shown as text (a bare matplotlib Figure's repr) and code cells that never ran."
    problems = []
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for i, c in enumerate(code, 1):
        first = "".join(c["source"]).splitlines()[:1]
        where = f"code cell {i} ({first[0][:60] if first else ''!r})"
        if c.get("execution_count") is None and "".join(c["source"]).strip():
            problems.append(f"{where}: not run (execution stopped before it)")
        for o in c.get("outputs", []):
            if o["output_type"] == "error":
                problems.append(f"{where}: {o['ename']}: {o['evalue'][:300]}")
            data = o.get("data", {})
            text = "".join(data.get("text/plain", ""))
            if text.lstrip().startswith("<Figure size") and "image/png" not in data:
                problems.append(f"{where}: a plot shows as text ({text.strip()[:60]})")
    return problems


def screenshot(page, name: str, locator=None) -> Path:
    "Write a screenshot of the page (scrolled to `locator` when given) to tests/browser/output/<name>.png."
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    if locator is not None:
        locator.scroll_into_view_if_needed()
    page.screenshot(path=str(path))
    return path
