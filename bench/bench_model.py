"""Size and speed of the Table 3 variants: parameters, multiply-adds and median CPU forward time.

Usage: python bench/bench_model.py [--profile quick|paper] [--side 64] [--repeats N] [--resolution sr|label]
Writes figures/<profile>/bench_model.csv (figures/ for paper) and prints the table.
"""
import argparse

import torch

from dsnet.core import atomic_path, figures_dir, get_profile
from dsnet.model import variants_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="profile name (default: $DSNET_PROFILE or quick)")
    parser.add_argument("--side", type=int, default=64, help="crop side in pixels (the paper's crops are 64)")
    parser.add_argument("--repeats", type=int, default=None, help="forward passes behind each median (profile's bench_repeats)")
    parser.add_argument("--resolution", choices=("sr", "label"), default="sr", help="where the teacher's 4x meets the label")
    args = parser.parse_args()
    profile = get_profile(args.profile)
    torch.manual_seed(0)
    table = variants_table(profile, side=args.side, repeats=args.repeats, resolution=args.resolution)
    out = figures_dir(profile) / "bench_model.csv"
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4g")
    print(f"profile {profile.name}, {args.side}x{args.side}, resolution {args.resolution}, torch {torch.__version__}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
