"""Training and inference speed of every Table 3 row, at the quick and the paper widths, on this machine's device.

Usage: python bench/bench_train.py [--profiles quick,paper] [--rows unet,...,dsnet] [--device auto|cpu|cuda]
                                   [--repeats 5] [--max-batch 256] [--step-budget 5] [--runs] [--out CSV]

For each profile and row, on 64×64 crops (the LNSM crop), with an untrained SR teacher of the profile's size:
  * training steps/s and crops/s at batch 1 (the paper's) and at the largest batch that fits: batches double from 2
    until the device runs out of memory, `--max-batch` is reached, or one step takes longer than `--step-budget`
    seconds (on a CPU, memory is rarely what stops it); a step is `dsnet.networks.adversarial.adversarial_step` with the row's
    own losses (DICE; + Soft Mask L1; + GAN with the discriminator's update), bf16 autocast and channels-last on a GPU;
  * inference crops/s (batches of 32, no gradients);
  * peak memory of the training steps: `torch.cuda.max_memory_allocated` on a GPU, the process's peak resident size
    (VmHWM, reset between rows through /proc/self/clear_refs) on a CPU.
Every time is the median of `--repeats` calls after one warm-up call. `--runs` also times a whole quick-profile run of
each row on synthetic LNSM (`dsnet.training.train.train_run`: the profile's steps, validation and test; teacher cached first).
Writes figures/bench_train_<device>.csv and prints the table.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from dsnet.networks.adversarial import adversarial_step
from dsnet.networks.backbone import count_parameters
from dsnet.core import atomic_path, figures_dir, get_profile
from dsnet.networks.model import build_discriminator, build_model, make_optimizers
from dsnet.networks.srgan import SRResNet
from dsnet.training.config import ROWS, TrainConfig, resolve_device, resolve_precision


def median_seconds(fn, repeats: int, sync) -> float:
    "Median wall time of `repeats` calls of `fn()` after one warm-up call."
    fn(); sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); fn(); sync(); times.append(time.perf_counter() - start)
    return statistics.median(times)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(device)
    else:
        try: Path("/proc/self/clear_refs").write_text("5")      # resets VmHWM on Linux
        except OSError: pass


def peak_mb(device: torch.device) -> float:
    if device.type == "cuda": return torch.cuda.max_memory_allocated(device) / 2 ** 20
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
    return float("nan")


def row_figures(row: str, profile_name: str, device: torch.device, repeats: int, max_batch: int, budget: float) -> dict:
    cfg = TrainConfig.from_profile(profile_name, model=row, device=str(device))
    c, p = cfg.model_config(), cfg.sizes()
    torch.manual_seed(0)
    teacher = SRResNet(1, p.sr_width, p.sr_blocks, p.sr_scale) if c.needs_teacher else None
    model = build_model(c, teacher).to(device)
    disc = build_discriminator(c)
    disc = disc.to(device) if disc is not None else None
    if device.type == "cuda": model = model.to(memory_format=torch.channels_last)
    opt_g, opt_d = make_optimizers(model, disc, cfg.lr, cfg.betas)
    dtype = resolve_precision(cfg.precision, device)
    losses = cfg.loss_config()
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    side = cfg.crop_size

    def batch(n: int) -> dict:
        soft = torch.rand(n, 1, side, side, device=device)
        return {"image": torch.rand(n, 1, side, side, device=device), "mask": (soft > 0.5).float(), "soft": soft}

    reset_peak(device)
    one = batch(1)
    step1 = median_seconds(lambda: adversarial_step(model, disc, one, opt_g, opt_d, losses, dtype), repeats, sync)
    peak1 = peak_mb(device)
    best_n, best_s, stopped = 1, step1, "batch 1 only"
    n = 2
    while n <= max_batch:
        try:
            b = batch(n)
            reset_peak(device)
            s = median_seconds(lambda: adversarial_step(model, disc, b, opt_g, opt_d, losses, dtype), max(2, repeats // 2), sync)
        except torch.cuda.OutOfMemoryError:
            stopped = f"out of memory at {n}"; break
        best_n, best_s, peak_big = n, s, peak_mb(device)
        stopped = f"max batch {max_batch}" if n * 2 > max_batch else stopped
        if s > budget: stopped = f"step over {budget:g} s at {n}"; break
        n *= 2
    x = torch.rand(32, 1, side, side, device=device)
    model.eval()
    def infer():
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            model(x)
    infer_s = median_seconds(infer, repeats, sync)
    return {"profile": profile_name, "row": row, "variant": ROWS[row], "device": str(device),
            "precision": str(dtype or torch.float32).replace("torch.", ""), "params": count_parameters(model),
            "steps_per_s_b1": 1 / step1, "crops_per_s_b1": 1 / step1, "largest_batch": best_n,
            "steps_per_s_largest": 1 / best_s, "crops_per_s_largest": best_n / best_s, "largest_batch_stop": stopped,
            "infer_crops_per_s": 32 / infer_s, "peak_mb_b1": peak1, "peak_mb_largest": peak_big if best_n > 1 else peak1}


def quick_run_seconds(row: str, device: torch.device) -> float:
    "Wall time of one whole quick-profile run of `row` on synthetic LNSM (data and teacher cached first)."
    from dsnet.training.sources import load_source
from dsnet.training.teachers import ensure_teacher
    from dsnet.training.train import train_run
    cfg = TrainConfig.from_profile("quick", model=row, device=str(device))
    load_source(cfg)
    if cfg.needs_teacher: ensure_teacher(cfg, device, progress=False)
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        train_run(cfg, Path(d) / "run", progress=False)
        return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", default="quick,paper")
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-batch", type=int, default=256)
    ap.add_argument("--step-budget", type=float, default=5.0, help="stop doubling the batch when one step takes longer (s)")
    ap.add_argument("--runs", action="store_true", help="also time a whole quick-profile run of each row")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    device = resolve_device(args.device)
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{torch.get_num_threads()} CPU threads'}), "
          f"torch {torch.__version__}")
    records = []
    for profile in args.profiles.split(","):
        get_profile(profile)
        for row in args.rows.split(","):
            started = time.perf_counter()
            r = row_figures(row, profile, device, args.repeats, args.max_batch, args.step_budget)
            if args.runs and profile == "quick": r["quick_run_s"] = quick_run_seconds(row, device)
            records.append(r)
            print(f"{profile:6s} {row:10s} b1 {r['steps_per_s_b1']:8.2f} steps/s | b{r['largest_batch']:<4d} {r['crops_per_s_largest']:9.1f} crops/s "
                  f"({r['largest_batch_stop']}) | infer {r['infer_crops_per_s']:9.1f} crops/s | peak {r['peak_mb_b1']:.0f} / {r['peak_mb_largest']:.0f} MB"
                  + (f" | quick run {r['quick_run_s']:.1f} s" if "quick_run_s" in r else "") + f"  [{time.perf_counter() - started:.0f} s]")
    table = pd.DataFrame(records)
    out = Path(args.out) if args.out else figures_dir() / f"bench_train_{device.type}.csv"
    with atomic_path(out) as tmp: table.to_csv(tmp, index=False, float_format="%.4g")
    print(table.drop(columns=["device", "variant"]).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"-> {out}")


if __name__ == "__main__":
    main()
