"""Post-hoc check, beyond the paper: does a row lose DICE only because 0.5 is the wrong threshold for it?

For each finished run folder that still has its `best.pt` (checkpoints are not committed: they are on the machine that
trained them), the test split is scored at the run's own threshold (0.5; this must equal its committed
`summary.json`, else the check stops) and at the threshold `dsnet.training.train.choose_threshold` picks on the run's
validation split (the test split never chooses anything). A Soft Mask target is smaller than the binary mask it is
scored against (eq. (3)'s alpha falls below 0.5 at the border), so a row trained on it may be calibrated low.

   python tools/threshold_check.py results/cpu/lidc                # every finished run under it with a best.pt
   python tools/threshold_check.py results/cpu/isbi --models soft-loss,dsnet-consistent  # only these runs
   python tools/threshold_check.py results/cpu/lidc --out FILE.csv  # default: results/<profile>/analysis/
                                                                     #   threshold-check-<data>.csv

Writes one row a run (atomically; the rows of runs checked earlier, whose checkpoints may be on another machine, are
kept unless checked again) and prints the mean per method and seed."""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch

from dsnet.core import write_csv_atomic
from dsnet.training.config import resolve_precision
from dsnet.training.inference import mean_std_dict, predict_probabilities, score_images
from dsnet.training.predict import load_model
from dsnet.training.sources import load_source, split_groups
from dsnet.training.train import choose_threshold


def run_folders(root: Path) -> list[Path]:
    "The finished runs under `root` (a summary.json, not a k-fold summary) that still have their best.pt."
    return sorted(p.parent for p in root.rglob("best.pt") if (p.parent / "summary.json").is_file())


def test_scores(prob, src: dict, index, threshold: float) -> dict:
    "Mean DICE / SEN / PPV (%) of the test split at `threshold`."
    means = mean_std_dict(score_images(prob, src["mask"][index], src["name"][index], threshold))
    return {k: round(100 * means[k]["mean"], 2) for k in ("dice", "sen", "ppv")}


def check_run(folder: Path) -> dict:
    "One run: its test scores at its own threshold and at the one chosen on its validation split."
    model, cfg, _ = load_model(folder / "best.pt")
    precision = resolve_precision(cfg.precision, torch.device("cpu"))
    src = load_source(cfg)
    split = split_groups(src["group"], cfg.data, cfg.folds, cfg.fold, cfg.data_seed)
    val_prob = predict_probabilities(model, src["image"][split["val"]], tile=cfg.infer_tile, autocast_dtype=precision)
    chosen = choose_threshold(val_prob, src["mask"][split["val"]])
    prob = predict_probabilities(model, src["image"][split["test"]], tile=cfg.infer_tile, autocast_dtype=precision)
    own, tuned = test_scores(prob, src, split["test"], cfg.threshold), test_scores(prob, src, split["test"], chosen)
    committed = round(100 * json.loads((folder / "summary.json").read_text())["dice"]["mean"], 2)
    if abs(committed - own["dice"]) > 0.05:
        raise ValueError(f"{folder}: test DICE {own['dice']} here against {committed} in its summary.json")
    row = dict(run=cfg.model if cfg.soft_target == "matting" else f"{cfg.model}-{cfg.soft_target}")
    row.update(seed=cfg.seed, fold=cfg.fold, threshold=cfg.threshold, chosen=chosen)
    row.update({f"{k} at own": v for k, v in own.items()} | {f"{k} at chosen": v for k, v in tuned.items()})
    return row


KEY = ["run", "seed", "fold"]


def merge_rows(out: Path, rows: list[dict]) -> pd.DataFrame:
    "The rows of this check, and those already in `out` for the runs it did not check again (sorted by run, seed, fold)."
    new = pd.DataFrame(rows)
    if not out.is_file():
        return new.sort_values(KEY, ignore_index=True)
    old = pd.read_csv(out)
    kept = old[~old.set_index(KEY).index.isin(new.set_index(KEY).index)]
    return pd.concat([kept, new], ignore_index=True).sort_values(KEY, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("root", help="a results folder of one data set, e.g. results/cpu/lidc")
    p.add_argument("--out", default=None, help="the CSV to write")
    p.add_argument("--models", default=None, help="comma-separated run names to check (default: all)")
    args = p.parse_args(argv)
    root = Path(args.root)
    folders = run_folders(root)
    if args.models:
        folders = [f for f in folders if f.relative_to(root).parts[0] in args.models.split(",")]
    if not folders:
        print(f"threshold_check: no finished run with a best.pt under {root}", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    rows = [check_run(f) for f in folders]
    out = Path(args.out or root.parent / "analysis" / f"threshold-check-{root.name}.csv")
    frame = merge_rows(out, rows)
    write_csv_atomic(out, frame.to_dict("records"))
    columns = ["chosen", "dice at own", "dice at chosen", "sen at own", "sen at chosen"]
    print(frame.groupby(["run", "seed"])[columns].mean().round(2).to_string())
    print(f"threshold_check: {len(rows)} runs checked, {len(frame)} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
