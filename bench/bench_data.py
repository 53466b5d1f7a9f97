"""Benchmarks of the data notebooks (03–04): phantom generation and build_lnsm.

    python bench/bench_data.py [--n 1500] [--workers 2] [--lnsm-rows 1100]

1. `lnsm_synthetic(n=1500, size=64)` on `workers` processes (the issue asks for < 10 s on two cores);
2. `build_lnsm` on the real DeepLesion lung rows of ../shared/data/deeplesion, with 16-bit slices written here
   (a rendered nodule at each row's RECIST marks), skipped with a message when the sample is absent.
Results go to figures/bench_data.json.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from dsnet.core import figures_dir, shared_data_dir, write_json_atomic
from dsnet.data.datasets import build_lnsm
from dsnet.data.readers import read_dl_info, synthetic_recist_slice, write_deeplesion_slice
from dsnet.data.phantoms import KINDS, lnsm_synthetic, make_phantom


def bench_phantoms(n: int, workers: int) -> dict:
    lnsm_synthetic(n=16, size=64, seed=1, workers=1)                  # warm-up (imports, first allocations)
    t0 = time.perf_counter()
    sets = lnsm_synthetic(n=n, size=64, seed=0, workers=workers)
    dt = time.perf_counter() - t0
    # CPU time of one process, which other jobs on a shared machine do not inflate
    c0 = time.process_time()
    for i in range(300):
        make_phantom(KINDS[i % len(KINDS)], 64, seed=i)
    cpu_ms = 1000 * (time.process_time() - c0) / 300
    projected = n * cpu_ms / 1000 / workers
    return {"n": n, "workers": workers, "wall_seconds": round(dt, 3), "wall_ms_per_crop": round(1000 * dt / n, 3),
            "cpu_ms_per_crop": round(cpu_ms, 3), "projected_seconds_on_free_cores": round(projected, 2),
            "split": {k: len(v) for k, v in sets.items()}, "target_seconds": 10.0,
            "meets_target_wall": dt < 10.0, "meets_target_cpu": projected < 10.0}


def bench_build_lnsm(rows: int, workers: int) -> dict | None:
    dl = shared_data_dir("deeplesion")
    if dl is None:
        print("DeepLesion sample absent: build_lnsm benchmark skipped")
        return None
    csv_path = dl / "DL_info_test_lung_type5.csv"
    records, _ = read_dl_info(csv_path)
    records = records[:rows]
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        for rec in records:
            write_deeplesion_slice(Path(root) / rec.slice_path, synthetic_recist_slice(rec))
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = build_lnsm(root, Path(root) / "lnsm", csv_path=csv_path, workers=workers, limit=rows, progress=False)
        dt = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_lnsm(root, Path(root) / "lnsm", csv_path=csv_path, workers=workers, limit=rows, progress=False)
        t_resume = time.perf_counter() - t0
    return {"rows": len(records), "done": summary["done"], "failed": summary["failed"], "workers": workers,
            "seconds": round(dt, 2), "ms_per_lesion": round(1000 * dt / max(len(records), 1), 1),
            "resume_seconds": round(t_resume, 2), "slice_writing_seconds": round(t_write, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lnsm-rows", type=int, default=1100)
    args = ap.parse_args()
    result = {"phantoms": bench_phantoms(args.n, args.workers), "build_lnsm": bench_build_lnsm(args.lnsm_rows, args.workers)}
    print(json.dumps(result, indent=1))
    write_json_atomic(figures_dir() / "bench_data.json", result)


if __name__ == "__main__":
    main()
