"""tools/threshold_check.py on a tiny trained run: its score at the run's own threshold is the committed one, the chosen
threshold is one of the validation grid, and a summary.json that disagrees stops the check."""
import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from dsnet.core import get_profile
from dsnet.training.config import TrainConfig
from dsnet.training.train import THRESHOLDS, train_run

TOOL = Path(__file__).resolve().parents[1] / "tools" / "threshold_check.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("threshold_check", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_threshold_check_on_a_tiny_run(tmp_path):
    tool = load_tool()
    cfg = TrainConfig.from_profile(get_profile("quick"), model="unet", epochs=1, train_steps=10)
    run = tmp_path / "lnsm" / "unet" / "seed-0"
    summary = train_run(cfg, run, progress=False)
    assert tool.run_folders(tmp_path / "lnsm") == [run]
    assert tool.main([str(tmp_path / "lnsm"), "--out", str(tmp_path / "out.csv")]) == 0
    row = pd.read_csv(tmp_path / "out.csv").iloc[0]
    assert row["run"] == "unet" and row["seed"] == cfg.seed and row["chosen"] in THRESHOLDS
    assert abs(row["dice at own"] - 100 * summary["dice"]["mean"]) < 0.01
    earlier = dict(row) | {"run": "dsnet", "fold": 0}  # checked on another machine: its checkpoint is not here
    pd.DataFrame([earlier, dict(row) | {"dice at own": -1.0}]).to_csv(tmp_path / "out.csv", index=False)
    assert tool.main([str(tmp_path / "lnsm"), "--out", str(tmp_path / "out.csv")]) == 0
    merged = pd.read_csv(tmp_path / "out.csv")
    assert list(merged["run"]) == ["dsnet", "unet"]  # the earlier run kept, this one's stale row replaced
    assert abs(merged["dice at own"].iloc[1] - 100 * summary["dice"]["mean"]) < 0.01
    assert tool.main([str(tmp_path / "lnsm"), "--models", "dsnet"]) == 1  # nothing of that name
    changed = json.loads((run / "summary.json").read_text())
    changed["dice"]["mean"] -= 0.01  # one point lower than the run scores
    (run / "summary.json").write_text(json.dumps(changed))
    with pytest.raises(ValueError, match="summary.json"):
        tool.check_run(run)
