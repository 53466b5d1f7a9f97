"""The frozen SR teacher in the channels-last layout against the default layout: time and exactness (issue 14).

Usage: python bench/bench_teacher.py [--data isbi,lidc,lnsm-synthetic] [--rows sr-input,dsnet] [--threads 1]
                                     [--repeats 7] [--steps 3] [--profile cpu] [--out CSV]

For each data source and row (built as `dsnet-train` builds it at the profile's sizes, with an untrained teacher of
the profile's size, under the profile's precision: bf16 at `cpu`), two copies of one network are made from the same
weights: "fast" (`FrozenTeacher.fast_layout=True`, what training uses) and "reference" (the default layout, as before
the change). Three figures per row, each the median of `--repeats`, the two interleaved in one process so that the
ratio holds on a loaded machine:
- teacher: the teacher's forward pass on one training batch;
- step: one training step (`adversarial_step`: forward, eq. (6), backward, Adam; the discriminator's update too);
- whole image: a forward pass of the network on one image of the side it is validated and tested on.
`identical` says whether `--steps` training steps from the same weights on the same batches gave bit-identical losses
and parameters, and the whole-image outputs bit-identical probabilities. Nothing is asserted: times depend on the
machine; exactness depends on the CPU's kernels (07a_teacher's test checks closeness and the outputs' strides).
"""
import argparse
import copy

import pandas as pd
import torch

from bench_step import interleaved, row_setup
from dsnet.core import atomic_path
from dsnet.networks.adversarial import adversarial_step
from dsnet.reproduction.running import whole_image_side
from dsnet.training.config import ROWS, TrainConfig, resolve_precision


def pair(row: str, data: str, profile: str) -> tuple[dict, dict]:
    "Two copies of one set-up of `row`: the teacher in its fast layout, and in the default layout."
    model, disc, opt_g, opt_d, losses, batch = row_setup(row, data, profile)
    fast = dict(model=model, disc=disc, losses=losses, batch=batch)
    ref = copy.deepcopy(fast)
    ref["model"].teacher.fast_layout = False
    for s in (fast, ref):
        trainable = [p for p in s["model"].parameters() if p.requires_grad]
        s["opt_g"] = torch.optim.Adam(trainable, lr=opt_g.param_groups[0]["lr"], betas=opt_g.param_groups[0]["betas"])
        s["opt_d"] = None if opt_d is None else torch.optim.Adam(s["disc"].parameters(), lr=opt_d.param_groups[0]["lr"])
    return fast, ref


def step(s: dict, dtype) -> dict:
    "One training step of a set-up made by `pair`."
    return adversarial_step(s["model"], s["disc"], s["batch"], s["opt_g"], s["opt_d"], s["losses"], dtype)


def whole_image(s: dict, side: int, dtype):
    "The network's probabilities on one image of `side`², as validation and test predict it."
    x = torch.rand(1, 1, side, side, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        return torch.sigmoid(s["model"](x))


def identical_training(row: str, data: str, profile: str, steps: int, dtype) -> bool:
    "True when `steps` steps of both copies give bit-identical losses and parameters."
    torch.manual_seed(0)
    fast, ref = pair(row, data, profile)
    same = all(step(fast, dtype) == step(ref, dtype) for _ in range(steps))
    return same and all(torch.equal(a, b) for a, b in zip(fast["model"].parameters(), ref["model"].parameters()))


def bench_row(row: str, data: str, profile: str, repeats: int, steps: int) -> list[dict]:
    cfg = TrainConfig.from_profile(profile, model=row, data=data, device="cpu")
    dtype = resolve_precision(cfg.precision, torch.device("cpu"))
    side = whole_image_side(cfg)
    same_training = identical_training(row, data, profile, steps, dtype)
    fast, ref = pair(row, data, profile)
    same_image = torch.equal(whole_image(fast, side, dtype), whole_image(ref, side, dtype))
    x = fast["batch"]["image"]
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        teacher = interleaved(lambda: fast["model"].teacher(x), lambda: ref["model"].teacher(x), repeats)
    figures = {
        f"teacher ({x.shape[0]}×{x.shape[-1]}²)": (teacher, same_training),
        f"step (batch {x.shape[0]}×{x.shape[-1]}²)": (
            interleaved(lambda: step(fast, dtype), lambda: step(ref, dtype), repeats), same_training),
        f"whole image ({side}²)": (
            interleaved(lambda: whole_image(fast, side, dtype), lambda: whole_image(ref, side, dtype), repeats),
            same_image),
    }
    out = []
    for what, ((t_fast, t_ref), same) in figures.items():
        out.append(dict(data=data, row=ROWS[row], what=what, precision=cfg.precision, threads=torch.get_num_threads(),
                        reference_ms=1000 * t_ref, fast_ms=1000 * t_fast, speedup=t_ref / t_fast, identical=same))
        print(f"{data:15s} {ROWS[row]:16s} {what:26s} reference {1000 * t_ref:8.1f} ms  fast {1000 * t_fast:8.1f} ms"
              f"  ×{t_ref / t_fast:.2f}  identical: {same}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="isbi,lidc,lnsm-synthetic")
    parser.add_argument("--rows", default="sr-input,dsnet")
    parser.add_argument("--threads", type=int, default=1, help="1: as each of `dsnet-reproduce --jobs 2`'s processes")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3, help="training steps compared for exactness")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS or r in ("unet", "backbone")]
    if unknown:
        raise ValueError(f"--rows: {unknown} have no teacher; expected rows from {list(ROWS)[2:]}")
    torch.set_num_threads(args.threads)
    records = [r for data in args.data.split(",") for row in rows
               for r in bench_row(row, data, args.profile, args.repeats, args.steps)]
    table = pd.DataFrame(records)
    print(table.round(2).to_string(index=False))
    if args.out:
        with atomic_path(args.out, suffix=".csv") as tmp:
            table.to_csv(tmp, index=False)


if __name__ == "__main__":
    main()
