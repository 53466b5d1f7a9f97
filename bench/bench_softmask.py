"""Benchmark of the Soft Mask pipeline (issue: speed and accuracy targets of notebooks 00-01).

Prints, as medians of repeated runs on this machine:
  1. closed-form alpha on a 256x256 image with an 8-px-wide unknown band: ours vs pymatting.estimate_alpha_cf
     (same inputs, same run), for a nodule-sized lesion and for a large one;
  2. accuracy: ours vs a direct sparse solve of the same system, and vs pymatting;
  3. strategy (1) on 64x64 crops, whole pipeline (trimap + matting + binarisation): crops/s on 1 and on 2 processes;
  4. strategy (3) (RECIST -> GrabCut -> Soft Mask) on a 256x256 slice: ms per lesion on one core.
Usage: python bench/bench_softmask.py [--repeats N] [--crops N]
"""
import os
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")                                   # one core per process

import argparse
import time

import numpy as np


def median_seconds(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def ring_case(size=256, radius=24, band=8, noise=0.02, seed=0):
    "A disc lesion with a soft edge; trimap = unknown ring of `band` px around the edge."
    import cv2
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    rad = np.hypot(yy - size / 2, xx - size / 2)
    alpha = cv2.GaussianBlur(np.clip(radius - rad + 0.5, 0, 1), (0, 0), 1.0)
    image = np.clip(0.2 + 0.5 * alpha + noise * rng.standard_normal((size, size)), 0, 1)
    trimap = np.full((size, size), 0.5)
    trimap[rad < radius - band / 2] = 1.0
    trimap[rad >= radius + band / 2] = 0.0
    return image, trimap, alpha


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--crops", type=int, default=6000)
    a = ap.parse_args()

    import scipy.sparse.linalg as spla
    t0 = time.perf_counter()
    import pymatting
    print(f"(import pymatting: {time.perf_counter() - t0:.1f} s)")
    from dsnet.softmask import closed_form_alpha, closed_form_system, composite_sample
    from dsnet.trimaps import recist_from_mask, soft_mask_from_recist
    from dsnet.label import soft_masks_from_masks

    print("\n1-2. Closed-form alpha, 256x256, 8-px-wide unknown band (targets: <= 1.5 ms, >= 10x pymatting, "
          "<= 1e-4 from a direct solve)")
    print(f"{'lesion':>22} {'unknown':>8} {'ours ms':>8} {'pymatting ms':>13} {'speed-up':>9} {'|ours-direct|':>14} {'|ours-pymatting|':>17}")
    for label, radius in (("nodule, r = 24 px", 24), ("large, r = 40 px", 40), ("very large, r = 60 px", 60)):
        image, trimap, _ = ring_case(radius=radius)
        rgb = np.dstack([image] * 3)
        closed_form_alpha(image, trimap)                          # compile / load the numba cache
        pymatting.estimate_alpha_cf(rgb, trimap)
        ours = median_seconds(lambda: closed_form_alpha(image, trimap), a.repeats)
        theirs = median_seconds(lambda: pymatting.estimate_alpha_cf(rgb, trimap), max(5, a.repeats // 3))
        L, rhs, unknown = closed_form_system(image, trimap)
        direct = np.clip(spla.spsolve(L.tocsc(), rhs), 0, 1)
        err_direct = np.abs(closed_form_alpha(image, trimap)[unknown] - direct).max()
        pm = pymatting.estimate_alpha_cf(rgb, trimap, laplacian_kwargs={"epsilon": 1e-5})
        err_pm = np.abs(closed_form_alpha(image, trimap, eps=1e-5 / 3) - pm).max()
        print(f"{label:>22} {int(unknown.sum()):>8} {1e3 * ours:>8.2f} {1e3 * theirs:>13.2f} {theirs / ours:>8.1f}x "
              f"{err_direct:>14.1e} {err_pm:>17.1e}")

    print("\n3. Strategy (1) on 64x64 crops, whole pipeline (target: >= 5,000 crops/s on 2 cores)")
    base = [composite_sample(64, noise=0.02, seed=s, spicules=s % 5) for s in range(200)]
    reps = -(-a.crops // len(base))
    images = np.stack([b["image"] for b in base] * reps)[: a.crops]
    masks = np.stack([b["mask"] for b in base] * reps)[: a.crops]
    soft_masks_from_masks(images[:64], masks[:64], workers=1)       # warm up
    for workers in (1, 2):
        rates = []
        for _ in range(3):
            t0 = time.perf_counter()
            _, errors = soft_masks_from_masks(images, masks, workers=workers)
            rates.append(len(images) / (time.perf_counter() - t0))
        assert not errors, errors[:3]
        print(f"  {workers} process(es): {np.median(rates):8.0f} crops/s  (median of 3 runs of {len(images)} crops)")

    print("\n4. Strategy (3): RECIST -> GrabCut -> trimap -> Soft Mask on a 256x256 slice (target: <= 20 ms per lesion per core)")
    times, dice = [], []
    for seed in range(12):
        s = composite_sample(256, radius=12 + 2 * seed, noise=0.02, seed=seed)
        la, sa = recist_from_mask(s["mask"])
        soft_mask_from_recist(s["image"], la, sa)
        times.append(median_seconds(lambda: soft_mask_from_recist(s["image"], la, sa), max(3, a.repeats // 6)))
        b = soft_mask_from_recist(s["image"], la, sa).binary
        dice.append(2 * (b & s["mask"]).sum() / (b.sum() + s["mask"].sum()))
    print(f"  lesions of radius 12-34 px: median {1e3 * np.median(times):.1f} ms, max {1e3 * np.max(times):.1f} ms per lesion; "
          f"Dice of the binarised Soft Mask vs the true mask: mean {np.mean(dice):.3f}")


if __name__ == "__main__":
    main()
