"""Size and speed of every comparison network and every Table 3 row: parameters, multiply-adds, CPU forward time, training steps/s.

Usage: python bench/bench_models.py [--profiles quick,paper] [--side 64] [--repeats N] [--train-steps N] [--only NAME ...]
Writes one table for every profile asked, figures/bench_models.csv, and prints it.

Every figure is for one side×side crop (batch 1) on the CPU with one thread: the forward time is the median of
`repeats` passes without gradients; training steps/s is the median over `train-steps` steps (after one warm-up step)
of an Adam step on the DICE loss (eq. 2) plus the network's auxiliary loss where it has one. The Table 3 rows take
their own training step (`dsnet.networks.adversarial.adversarial_step` with their losses: DICE, + Soft Mask L1, + GAN with the
discriminator's update), with an untrained SR teacher at the profile's sizes. Multiply-adds count convolution and
linear layers (`dsnet.networks.size.count_macs`) plus MedT's attention products (`dsnet.networks.baselines.baseline_macs`).
"""
import argparse
from pathlib import Path
import statistics
import time

import pandas as pd
import torch

from dsnet.networks.adversarial import adversarial_step, dice_loss
from dsnet.networks.backbone import count_parameters
from dsnet.networks.baselines import BASELINES, baseline_macs, baseline_names, build_baseline
from dsnet.core import atomic_path, figures_dir, get_profile
from dsnet.networks.model import build_discriminator, build_model, table3_configs
from dsnet.networks.size import forward_time_ms
from dsnet.networks.srgan import SRResNet


def median_step_seconds(step, steps: int) -> float:
    "Median wall time of `steps` calls of `step()` after one warm-up call."
    step()
    times = []
    for _ in range(steps):
        start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
    return statistics.median(times)


def baseline_row(name: str, profile, side: int, repeats: int, steps: int) -> dict:
    net = build_baseline(name, profile=profile, **({"img_size": side} if name == "medt" else {}))
    x, mask = torch.rand(1, 1, side, side), (torch.rand(1, 1, side, side) > 0.7).float()
    macs = baseline_macs(net.eval(), x)
    ms = forward_time_ms(net, x, repeats)
    opt = torch.optim.Adam(net.parameters(), lr=profile.lr)
    def step():
        net.train()
        loss = dice_loss(torch.sigmoid(net(x)), mask)
        if hasattr(net, "auxiliary_loss"): loss = loss + net.auxiliary_loss(mask)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    seconds = median_step_seconds(step, steps)
    return {"model": name, "kind": "baseline", "method": BASELINES[name].display, "losses": "dice" + ("+aux" if hasattr(net, "auxiliary_loss") else ""),
            "params": count_parameters(net), "MMACs": macs / 1e6, "cpu_ms": ms, "train_steps_per_s": 1 / seconds}


def table3_row(name: str, cfg, profile, side: int, repeats: int, steps: int) -> dict:
    teacher = SRResNet(1, profile.sr_width, profile.sr_blocks, profile.sr_scale) if cfg.needs_teacher else None
    model, disc = build_model(cfg, teacher), build_discriminator(cfg)
    x = torch.rand(1, 1, side, side)
    soft = torch.rand(1, 1, side, side)
    batch = {"image": x, "mask": (soft > 0.5).float(), "soft": soft}
    macs = baseline_macs(model.eval(), x)
    ms = forward_time_ms(model, x, repeats)
    opt_g = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=profile.lr)   # the teacher's are frozen
    opt_d = torch.optim.Adam(disc.parameters(), lr=profile.lr) if disc is not None else None
    losses = cfg.loss_config()
    seconds = median_step_seconds(lambda: adversarial_step(model, disc, batch, opt_g, opt_d, losses), steps)
    return {"model": name, "kind": "table3", "method": name, "losses": "+".join(["dice"] + ["soft"] * cfg.soft_loss + ["gan"] * cfg.gan_loss),
            "params": count_parameters(model), "MMACs": macs / 1e6, "cpu_ms": ms, "train_steps_per_s": 1 / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="quick,paper", help="comma-separated profiles, measured one after the other")
    parser.add_argument("--side", type=int, default=64, help="crop side in pixels (the paper's crops are 64)")
    parser.add_argument("--repeats", type=int, default=None, help="forward passes behind each median (profile's bench_repeats)")
    parser.add_argument("--train-steps", type=int, default=5, help="training steps behind each median")
    parser.add_argument("--only", nargs="*", default=None, help="measure only these baseline names / Table 3 rows")
    parser.add_argument("--out", default=None, help="the CSV to write (default figures/bench_models.csv)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rows = []
    for profile in (get_profile(p) for p in args.profiles.split(",")):
        repeats = args.repeats or profile.bench_repeats
        for name in baseline_names():
            if args.only is None or name in args.only:
                rows.append({"profile": profile.name, **baseline_row(name, profile, args.side, repeats, args.train_steps)})
        for name, cfg in table3_configs(profile).items():
            if args.only is None or name in args.only:
                rows.append({"profile": profile.name, **table3_row(name, cfg, profile, args.side, repeats, args.train_steps)})
    table = pd.DataFrame(rows)
    out = Path(args.out) if args.out else figures_dir() / "bench_models.csv"
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4g")
    print(f"profiles {args.profiles}, {args.side}x{args.side}, batch 1, 1 thread, medians of forwards / "
          f"{args.train_steps} training steps, torch {torch.__version__}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
