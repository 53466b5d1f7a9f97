"""dsnet-train, dsnet-predict and dsnet-evaluate as a user runs them (quick profile, CPU): kill -9 at any moment and
resume, the same seed twice, two processes with DistributedDataParallel (gloo) against one process with the same
global batch, bfloat16 autocast, real ISBI 2012 by 4-fold cross-validation, and bad input."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from dsnet.core import shared_data_dir
from dsnet.training.inference import load_network_state, predict_probabilities, read_checkpoint
from dsnet.training.sources import load_source
from dsnet.training.teachers import ensure_teacher
from dsnet.training.train import train_run
from dsnet.training.config import TrainConfig, build_network

BIN = Path(sys.executable).parent
ENV = {**os.environ, "DSNET_PROFILE": "quick", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
QUICK = ["--data", "lnsm-synthetic", "--profile", "quick", "--quiet"]


def cli(name: str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], env=ENV, capture_output=True, text=True, timeout=timeout)


def wait_until(condition, process: subprocess.Popen, seconds: float = 600) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()}"
        assert time.time() < deadline, "the run did not get there in time"
        time.sleep(0.02)


def test_kill_9_at_any_moment_then_resume_ends_with_the_same_summary(tmp_path):
    args = [*QUICK, "--model", "unet", "--epochs", "4", "--set", "train_steps=32"]
    ref = cli("dsnet-train", *args, "--out", str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr
    run = tmp_path / "killed"
    epochs_done = lambda: len(pd.read_csv(run / "epochs.csv")) if (run / "epochs.csv").is_file() else 0
    # first kill: right after the run folder appears (no checkpoint yet); second: once two epochs are finished
    for reached in (lambda: (run / "config.json").is_file(), lambda: epochs_done() >= 2):
        process = subprocess.Popen([str(BIN / "dsnet-train"), *args, "--out", str(run), "--resume"], env=ENV,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_until(reached, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert not (run / "summary.json").exists() and epochs_done() < 4
    resumed_at = epochs_done()
    done = cli("dsnet-train", *args, "--out", str(run), "--resume")
    assert done.returncode == 0, done.stderr
    # its time counts the epochs of the killed processes too (each epoch's own seconds are in epochs.csv)
    timing = json.loads((run / "timing.json").read_text())
    assert timing["resumed_at_epoch"] in (resumed_at, resumed_at + 1) and resumed_at >= 2  # last.pt is written first
    assert json.loads((tmp_path / "ref" / "timing.json").read_text())["resumed_at_epoch"] is None
    assert timing["seconds"] >= pd.read_csv(run / "epochs.csv").seconds.sum()
    assert json.loads((run / "summary.json").read_text()) == json.loads((tmp_path / "ref" / "summary.json").read_text())
    assert pd.read_csv(run / "epochs.csv").drop(columns="seconds").equals(pd.read_csv(tmp_path / "ref" / "epochs.csv").drop(columns="seconds"))
    assert not list(run.glob(".*")), "temporary files left behind"


def test_the_same_seed_twice_gives_identical_weights_and_metrics(tmp_path):
    cfg = TrainConfig.from_profile("quick", model="dsnet", epochs=1, train_steps=6)
    a, b = train_run(cfg, tmp_path / "a", progress=False), train_run(cfg, tmp_path / "b", progress=False)
    assert {k: a[k] for k in ("dice", "sen", "ppv", "epoch_chosen")} == {k: b[k] for k in ("dice", "sen", "ppv", "epoch_chosen")}
    wa, wb = read_checkpoint(tmp_path / "a" / "last.pt")["model"], read_checkpoint(tmp_path / "b" / "last.pt")["model"]
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    other = train_run(cfg.replace(seed=1), tmp_path / "c", progress=False)
    wc = read_checkpoint(tmp_path / "c" / "last.pt")["model"]
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)                          # and another seed does not


def test_two_ddp_processes_on_gloo_match_one_process_with_the_same_global_batch(tmp_path):
    # two steps: the second one runs on the Adam state of the first (longer runs drift apart, see below)
    args = [*QUICK, "--model", "dsnet", "--batch-size", "2", "--epochs", "1", "--set", "train_steps=2"]
    one = cli("dsnet-train", *args, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(BIN / "dsnet-train"), *args, "--out", str(tmp_path / "two")],
                         env=ENV, capture_output=True, text=True, timeout=900)
    assert two.returncode == 0, two.stderr[-3000:]
    w1, w2 = (read_checkpoint(tmp_path / d / "last.pt") for d in ("one", "two"))
    assert w1["model"].keys() == w2["model"].keys() and w2["disc"] is not None
    # Tiny float differences (the gradient of a mean over 2 items vs the mean of two 1-item gradients) are turned by
    # Adam into whole steps of ±lr where a gradient is near zero (e.g. the biases before an instance norm, which get
    # no gradient at all), and over many steps such differences grow (6 steps: probabilities apart by up to 0.04).
    # So the weights are compared by how far they moved: the two runs must differ by a small part of what training
    # changed, and compute the same probabilities.
    cfg = TrainConfig.load(tmp_path / "one")
    teacher = ensure_teacher(cfg)[0]
    torch.manual_seed(cfg.seed)
    w0 = build_network(cfg, teacher).state_dict()                                 # the weights both runs started from
    keys = [k for k in w1["model"] if w1["model"][k].ndim > 1]
    moved = sum(((w1["model"][k] - w0[k]) ** 2).sum() for k in keys).sqrt()
    differ = sum(((w1["model"][k] - w2["model"][k]) ** 2).sum() for k in keys).sqrt()
    assert differ < 0.1 * moved, f"the runs differ by {differ:.3g}, training moved the weights by {moved:.3g}"
    assert max((w1["disc"][k] - w2["disc"][k]).abs().max().item() for k in w1["disc"]) < 1e-5
    torch.manual_seed(cfg.seed)
    nets = [build_network(cfg, teacher)]                                           # as both runs started
    for w in (w1, w2):
        net = build_network(cfg, teacher); load_network_state(net, w["model"], "last.pt"); nets.append(net)
    images = load_source(cfg)["image"][:8]
    p0, p1, p2 = (predict_probabilities(net, images) for net in nets)
    # the probabilities too: the two runs differ by a small part of what the two steps changed (absolute differences
    # depend on the teacher a fresh cache trains: 1e-4 to 2e-3 here, while training moved them by 1e-1)
    changed, apart = np.abs(p1 - p0).max(), np.abs(p1 - p2).max()
    assert apart < 0.05 * changed, f"the runs' probabilities are {apart:.3g} apart; training moved them by {changed:.3g}"
    s1, s2 = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "two"))
    assert abs(s1["dice"]["mean"] - s2["dice"]["mean"]) < 0.01 and s1["n_test"] == s2["n_test"]
    assert json.loads((tmp_path / "two" / "timing.json").read_text())["world"] == 2


def test_bf16_autocast_on_the_cpu_trains_the_dsnet_row(tmp_path):
    cfg = TrainConfig.from_profile("quick", model="dsnet", epochs=1, train_steps=4, precision="bf16")
    summary = train_run(cfg, tmp_path / "bf16", progress=False)
    history = pd.read_csv(tmp_path / "bf16" / "epochs.csv")
    assert np.isfinite(history[["total", "seg", "soft", "gan", "disc", "val_dice"]].to_numpy()).all()
    assert 0 <= summary["dice"]["mean"] <= 1 and "bfloat16" in json.loads((tmp_path / "bf16" / "timing.json").read_text())["precision"]


@pytest.mark.skipif(shared_data_dir("isbi2012") is None, reason="the ISBI 2012 sample (../shared/data/isbi2012) is absent")
def test_real_isbi_by_4_fold_cross_validation_trains_on_crops_and_predicts_whole_slices(tmp_path):
    out = tmp_path / "isbi"
    r = cli("dsnet-train", "--data", "isbi", "--model", "unet", "--profile", "quick", "--folds", "4", "--epochs", "1",
            "--set", "train_steps=10", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    quick_isbi = TrainConfig.from_profile("quick", data="isbi")
    slices, side = quick_isbi.source_items, quick_isbi.isbi_side or 512    # the quick profile's first slices, cut to 256²
    assert summary["over"] == "folds" and len(summary["runs"]) == 4 and summary["over_images"]["n_images"] == slices
    per_image = pd.concat(pd.read_csv(out / f"fold-{k}" / "test_per_image.csv") for k in range(4))
    assert sorted(per_image.name) == sorted(f"isbi-{i:02d}" for i in range(slices))  # each slice tested exactly once
    assert (per_image.truth_pixels > 0.5 * side * side).all()                       # whole (cut) slices, cell interior
    assert (per_image.truth_pixels <= side * side).all()
    assert "DICE" in r.stdout and "over folds" in r.stdout


def test_predict_and_evaluate_from_the_command_line(tmp_path):
    run = tmp_path / "run"
    assert cli("dsnet-train", *QUICK, "--model", "unet", "--epochs", "1", "--set", "train_steps=8", "--out", str(run)).returncode == 0
    images, truth = tmp_path / "images", tmp_path / "truth"
    images.mkdir(); truth.mkdir()
    rng = np.random.default_rng(0)
    for i, side in enumerate((64, 61, 130)):
        img = np.zeros((side, side), np.float32); img[side // 4: side // 2, side // 4: side // 2] = 0.6
        cv2.imwrite(str(images / f"n{i}.png"), np.round((img + 0.05 * rng.random(img.shape)) * 255).astype(np.uint8))
        cv2.imwrite(str(truth / f"n{i}.png"), (img > 0).astype(np.uint8) * 255)
    pred = tmp_path / "pred"
    p = cli("dsnet-predict", "--checkpoint", str(run / "best.pt"), "--images", str(images), "--out", str(pred), "--quiet")
    assert p.returncode == 0, p.stderr
    assert np.load(pred / "n1.npz")["soft"].shape == (61, 61) and cv2.imread(str(pred / "n2_mask.png"), 0).shape == (130, 130)
    e = cli("dsnet-evaluate", "--pred", str(pred), "--truth", str(truth))
    assert e.returncode == 0, e.stderr
    assert json.loads((pred / "summary.json").read_text())["n_images"] == 3 and len(pd.read_csv(pred / "per_image.csv")) == 3
    (truth / "n2.png").unlink()
    e = cli("dsnet-evaluate", "--pred", str(pred), "--truth", str(truth))
    assert e.returncode == 1 and "n2" in e.stderr and "without a truth" in e.stderr
    colour = np.zeros((8, 8, 3), np.uint8); colour[..., 1] = 99
    cv2.imwrite(str(images / "colour.png"), colour)
    p = cli("dsnet-predict", "--checkpoint", str(run / "best.pt"), "--images", str(images), "--out", str(pred), "--quiet")
    assert p.returncode == 1 and "colour.png" in p.stderr and "1 failed" in p.stdout and "3 already done" in p.stdout


def test_bad_input_gets_a_clear_message_and_leaves_no_half_made_folder(tmp_path):
    r = cli("dsnet-train", "--data", "isbi", "--model", "unet", "--data-root", str(tmp_path / "empty"), "--out", str(tmp_path / "a"))
    assert r.returncode == 1 and "ISBI 2012" in r.stderr and str(tmp_path / "empty") in r.stderr and not (tmp_path / "a").exists()
    r = cli("dsnet-train", *QUICK, "--model", "dsnet", "--teacher", "/no/teacher.pt", "--out", str(tmp_path / "b"))
    assert r.returncode == 1 and "/no/teacher.pt" in r.stderr and not (tmp_path / "b").exists()
    r = cli("dsnet-train", *QUICK, "--model", "no-such-net", "--out", str(tmp_path / "c"))
    assert r.returncode == 1 and "--model" in r.stderr and "expected one of" in r.stderr and "dsnet" in r.stderr
    run = tmp_path / "d"
    assert cli("dsnet-train", *QUICK, "--model", "unet", "--epochs", "2", "--set", "train_steps=4", "--out", str(run)).returncode == 0
    r = cli("dsnet-train", *QUICK, "--model", "unet", "--epochs", "2", "--set", "train_steps=4", "--lr", "1e-3", "--out", str(run), "--resume")
    assert r.returncode == 1 and "lr: 0.0002 there, 0.001 now" in r.stderr
    (run / "summary.json").unlink()
    (run / "last.pt").write_bytes((run / "last.pt").read_bytes()[:500])              # a truncated checkpoint
    r = cli("dsnet-train", *QUICK, "--model", "unet", "--epochs", "2", "--set", "train_steps=4", "--out", str(run), "--resume")
    assert r.returncode == 1 and "last.pt" in r.stderr and "corrupt or truncated" in r.stderr
