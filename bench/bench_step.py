"""Steps/s of one training step of every Table 3 row at the cpu profile's sizes and recipe (issue 14).

Usage: python bench/bench_step.py [--data lnsm-synthetic,isbi] [--rows unet,...,dsnet] [--threads 1,2] [--repeats 7]
                                  [--warmup 2] [--profile cpu] [--out CSV] [--torch-profile ROW] [--compare-reference]

For each data source, thread count and row: the row is built as `dsnet-train` builds it,
`TrainConfig.from_profile(profile, model=row, data=data)` (cpu: batch 8 of 64² LNSM crops, batch 8 of 128² ISBI crops,
lr 1e-3), with an untrained SR teacher of the profile's size (`TrainConfig.srgan_config()`), on the CPU in float32.
One step is `dsnet.networks.adversarial.adversarial_step`: forward, the eq. (6) loss of the row, backward and the Adam
step (and the discriminator's update for the GAN row). Each figure is the median of `--repeats` timed steps after
`--warmup` untimed ones; the plain U-Net is measured in the same run, and `vs unet` is its time over the row's.
The table is printed (and written to `--out` as CSV when given); nothing is asserted: times depend on the machine and
on what else runs on it. `--compare-reference` times each row against its pre-issue-14 copy (`reference_copy`), the
two interleaved in one process so that the ratio holds on a loaded machine. `--torch-profile ROW` prints
torch.profiler's table of the slowest operators of one step of ROW (first data source, first thread count) instead.
"""
import argparse
import statistics
import time

import pandas as pd
import torch

from dsnet.core import atomic_path
from dsnet.networks.adversarial import adversarial_step
from dsnet.networks.model import build_discriminator, build_model, make_optimizers
from dsnet.networks.srgan import SRResNet
from dsnet.training.config import ROWS, TrainConfig


def row_setup(row: str, data: str, profile: str) -> tuple:
    "The model, discriminator, optimisers, losses and one fixed batch of `row` as the profile trains it on `data`."
    cfg = TrainConfig.from_profile(profile, model=row, data=data, device="cpu")
    c = cfg.model_config()
    torch.manual_seed(0)
    teacher = None
    if c.needs_teacher:
        s = cfg.srgan_config()
        teacher = SRResNet(s.sr_in_channels, s.sr_width, s.sr_blocks, s.sr_scale, s.sr_norm, s.sr_bicubic_skip)
    model, disc = build_model(c, teacher), build_discriminator(c)
    opt_g, opt_d = make_optimizers(model, disc, cfg.lr, cfg.betas)
    n, side = cfg.batch_size, cfg.train_side
    soft = torch.rand(n, 1, side, side)
    batch = {"image": torch.rand(n, 1, side, side), "mask": (soft > 0.5).float(), "soft": soft}
    return model, disc, opt_g, opt_d, cfg.loss_config(), batch


def step_seconds(row: str, data: str, profile: str, repeats: int, warmup: int) -> float:
    "Median seconds of one training step of `row` on `data`."
    model, disc, opt_g, opt_d, losses, batch = row_setup(row, data, profile)
    for _ in range(warmup): adversarial_step(model, disc, batch, opt_g, opt_d, losses)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        adversarial_step(model, disc, batch, opt_g, opt_d, losses)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(rows: list[str], datas: list[str], threads: list[int], profile: str, repeats: int,
          warmup: int) -> pd.DataFrame:
    records = []
    for data in datas:
        for n in threads:
            torch.set_num_threads(n)
            for row in rows:
                seconds = step_seconds(row, data, profile, repeats, warmup)
                records.append(dict(data=data, threads=n, row=ROWS[row], ms=1000 * seconds, steps_s=1 / seconds))
                print(f"{data:15s} {n} threads {ROWS[row]:22s} {1000 * seconds:8.1f} ms  {1 / seconds:6.2f} steps/s",
                      flush=True)
    table = pd.DataFrame(records)
    unet = table[table.row == ROWS["unet"]].set_index(["data", "threads"]).ms
    table["vs_unet"] = [unet.get((d, t), float("nan")) / ms for d, t, ms in zip(table.data, table.threads, table.ms)]
    return table


def reference_copy(model: torch.nn.Module) -> torch.nn.Module:
    "`model` as it was before issue 14: nn.InstanceNorm2d, in-place ReLU after a norm, SDRFM's GAP of U_c + U_d."
    import copy
    from dsnet.networks.backbone import InstanceNorm2d as FastInstanceNorm
    from dsnet.networks.fusion import SDRFM
    ref = copy.deepcopy(model)
    for module in list(ref.modules()):
        for name, child in module.named_children():
            if isinstance(child, FastInstanceNorm):
                plain = torch.nn.InstanceNorm2d(child.num_features, affine=True)
                plain.load_state_dict(child.state_dict()); setattr(module, name, plain)
        if isinstance(module, torch.nn.Sequential):
            for before, after in zip(module, list(module)[1:]):
                if isinstance(before, torch.nn.InstanceNorm2d) and isinstance(after, torch.nn.ReLU):
                    after.inplace = True
        if isinstance(module, SDRFM):
            module.selection_weights = (lambda f: lambda uc, ud: f.select(f.squeeze((uc + ud).mean(dim=(2, 3))))
                                        .view(-1, 2, f.out_channels).softmax(dim=1))(module)
    return ref


def interleaved(fast, reference, repeats: int) -> tuple[float, float]:
    "Median seconds of `fast()` and `reference()`, called in turn `repeats` times after one untimed round."
    times = {"fast": [], "reference": []}
    for i in range(repeats + 1):
        for name, call in (("fast", fast), ("reference", reference)):
            start = time.perf_counter()
            call()
            if i:
                times[name].append(time.perf_counter() - start)
    return statistics.median(times["fast"]), statistics.median(times["reference"])


def compare_reference(rows: list[str], data: str, profile: str, repeats: int) -> None:
    "Optimised and reference (`reference_copy`) steps of each row, interleaved in one process: a ratio robust to load."
    for row in rows:
        model, disc, opt_g, opt_d, losses, batch = row_setup(row, data, profile)
        ref = reference_copy(model)
        ref_opt_g = torch.optim.Adam([p for p in ref.parameters() if p.requires_grad], lr=1e-3)
        fast, slow = interleaved(lambda: adversarial_step(model, disc, batch, opt_g, opt_d, losses),
                                 lambda: adversarial_step(ref, disc, batch, ref_opt_g, opt_d, losses), repeats)
        print(f"{data:15s} {torch.get_num_threads()} threads {ROWS[row]:22s} reference {1000 * slow:7.1f} ms  "
              f"optimised {1000 * fast:7.1f} ms  speed-up ×{slow / fast:.2f}", flush=True)


def torch_profile(row: str, data: str, profile: str, threads: int) -> None:
    torch.set_num_threads(threads)
    model, disc, opt_g, opt_d, losses, batch = row_setup(row, data, profile)
    for _ in range(2): adversarial_step(model, disc, batch, opt_g, opt_d, losses)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(3): adversarial_step(model, disc, batch, opt_g, opt_d, losses)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="lnsm-synthetic,isbi")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", default="")
    parser.add_argument("--torch-profile", default="")
    parser.add_argument("--compare-reference", action="store_true", help="time each row against its pre-issue-14 copy")
    args = parser.parse_args()
    datas, threads = args.data.split(","), [int(t) for t in args.threads.split(",")]
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown: raise ValueError(f"--rows: unknown rows {unknown}; expected names from {list(ROWS)}")
    if args.torch_profile:
        torch_profile(args.torch_profile, datas[0], args.profile, threads[0])
        return
    if args.compare_reference:
        for data in datas:
            for n in threads:
                torch.set_num_threads(n)
                compare_reference(rows, data, args.profile, args.repeats)
        return
    if "unet" not in rows: rows = ["unet", *rows]                          # the reference of the ratios
    table = bench(rows, datas, threads, args.profile, args.repeats, args.warmup)
    pd.set_option("display.width", 200); pd.set_option("display.max_columns", 20)
    pivot = table.pivot_table(index="row", columns=["data", "threads"], values=["steps_s", "vs_unet"], sort=False)
    print(pivot.round(2))
    if args.out:
        with atomic_path(args.out, suffix=".csv") as tmp: table.to_csv(tmp, index=False)


if __name__ == "__main__":
    main()
