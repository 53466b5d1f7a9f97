"""Packaging checks: the library imports, answers its version, and its console script runs."""
import subprocess
import sys
from pathlib import Path

import dsnet


def test_version_matches_settings():
    ini = (Path(__file__).resolve().parents[1] / "settings.ini").read_text()
    version = next(l.split("=", 1)[1].strip() for l in ini.splitlines() if l.startswith("version"))
    assert dsnet.__version__ == version


def test_softmask_command_help_and_usage_error():
    exe = Path(sys.executable).with_name("dsnet-softmask")
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--recist" in out.stdout and "--demo" in out.stdout
    bad = subprocess.run([str(exe), "--images", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--out" in bad.stderr


def test_import_is_light():
    "Importing the labelling modules must not import pymatting (its numba compile belongs to no start-up path)."
    code = "import sys, dsnet.labelling.softmask, dsnet.labelling.trimaps, dsnet.labelling.label; print('pymatting' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
