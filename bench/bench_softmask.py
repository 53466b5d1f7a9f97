"""Benchmark of the Soft Mask pipeline (issue: speed and accuracy targets of notebooks 00-01).

Prints, as medians of repeated runs on this machine:
  1. closed-form alpha on a 256x256 image with an 8-px-wide unknown band: ours vs pymatting.estimate_alpha_cf
     (same inputs, same run, timed in turns), on composites with a known alpha of three nodule shapes with about
     1,900 unknown pixels each (round, spiculated, lobulated), and on round lesions of three sizes;
  2. accuracy: ours vs a direct sparse solve of the same system (worst of three seeds per shape), and vs pymatting;
  3. strategy (1) on 64x64 crops, whole pipeline (trimap + matting + binarisation): crops/s on 1 and on 2 processes;
  4. strategy (3) (RECIST -> GrabCut -> Soft Mask) on a 256x256 slice: ms per lesion on one core.
Usage: python bench/bench_softmask.py [--repeats N] [--crops N] [--matting-only]
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



def nodule_case(kind, size=256, radius=27, band=4, noise=0.02, seed=0):
    """A composite I = alpha F + (1 - alpha) B with a known partial-volume alpha, of a nodule shape:
    'round' (a disc), 'spiculated' (a disc with 10 thin spicules 1.4-1.9 radii long) or 'lobulated' (5 + 9 lobes).
    The trimap is the alpha's full part eroded by `band` px and its empty part dilated by `band` px."""
    import cv2
    rng = np.random.default_rng(seed)
    up = 8                                                          # render 8x finer, then area-average
    yy, xx = (np.mgrid[: size * up, : size * up] + 0.5) / up - size / 2
    rr, th = np.hypot(yy, xx), np.arctan2(yy, xx)
    if kind == "round":
        edge = np.full_like(rr, radius)
    elif kind == "lobulated":
        edge = radius * (1 + 0.18 * np.sin(5 * th + rng.uniform(0, 6.3)) + 0.08 * np.sin(9 * th + rng.uniform(0, 6.3)))
    elif kind == "spiculated":
        edge = radius * (1 + 0.08 * np.sin(3 * th + rng.uniform(0, 6.3)))
        for ang in rng.uniform(-np.pi, np.pi, 10):
            dth = np.angle(np.exp(1j * (th - ang)))
            edge = np.maximum(edge, np.where(np.abs(dth) < 0.9 / (rr + 1), radius * rng.uniform(1.4, 1.9), 0))
    else:
        raise ValueError(f"kind: expected 'round', 'spiculated' or 'lobulated', got {kind!r}")
    alpha = cv2.resize((rr <= edge).astype(np.float64), (size, size), interpolation=cv2.INTER_AREA)
    gy, gx = np.mgrid[:size, :size] / size
    image = np.clip(alpha * (0.75 + 0.1 * gx) + (1 - alpha) * (0.15 + 0.1 * gy) + noise * rng.standard_normal((size, size)), 0, 1)
    k = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    trimap = np.full((size, size), 0.5)
    trimap[cv2.erode((alpha > 0.999).astype(np.uint8), k) > 0] = 1.0
    trimap[cv2.dilate((alpha > 0.001).astype(np.uint8), k) == 0] = 0.0
    return image, trimap, alpha


def medians_in_turns(fns, repeats, weights):
    "Median seconds of each function, timed in turns (fn 0, fn 1, ... then again), `weights[i]` calls per turn."
    times = [[] for _ in fns]
    for _ in range(repeats):
        for f, k, ts in zip(fns, weights, times):
            for _ in range(k):
                t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return [float(np.median(ts)) for ts in times]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--crops", type=int, default=6000)
    ap.add_argument("--matting-only", action="store_true", help="sections 1-2 only")
    a = ap.parse_args()

    import scipy.sparse.linalg as spla
    t0 = time.perf_counter()
    import pymatting
    print(f"(import pymatting: {time.perf_counter() - t0:.1f} s)")
    from dsnet.labelling.softmask import closed_form_alpha, closed_form_system, composite_sample
    from dsnet.labelling.trimaps import recist_from_mask, soft_mask_from_recist
    from dsnet.labelling.label import soft_masks_from_masks

    print("\n1-2. Closed-form alpha, 256x256, 8-px-wide unknown band (targets: >= 10x pymatting on every shape, "
          "<= 1e-4 from a direct solve)")
    print(f"{'lesion':>26} {'unknown':>8} {'ours ms':>8} {'pymatting ms':>13} {'speed-up':>9} {'iterations':>10} "
          f"{'|ours-direct|':>14} {'|ours-pymatting|':>17}")
    cases = [(f"{kind}, r = {r} px", [nodule_case(kind, radius=r, seed=s) for s in range(3)])
             for kind, r in (("round", 27), ("spiculated", 15), ("lobulated", 23))]
    cases += [(label, [ring_case(radius=radius)]) for label, radius in
              (("ring nodule, r = 24 px", 24), ("ring large, r = 40 px", 40), ("ring very large, r = 60 px", 60))]
    for label, shapes in cases:
        image, trimap, _ = shapes[0]
        rgb = np.dstack([image] * 3)
        closed_form_alpha(image, trimap)                          # compile / load the numba cache
        pymatting.estimate_alpha_cf(rgb, trimap)
        ours, theirs = medians_in_turns([lambda: closed_form_alpha(image, trimap), lambda: pymatting.estimate_alpha_cf(rgb, trimap)],
                                        max(5, a.repeats // 3), (3, 1))
        err_direct, iterations, unknown = 0.0, [], []
        for im, tri, _ in shapes:                                  # accuracy: the worst seed
            L, rhs, u = closed_form_system(im, tri)
            direct = np.clip(spla.spsolve(L.tocsc(), rhs), 0, 1)
            alpha, info = closed_form_alpha(im, tri, return_info=True)
            err_direct = max(err_direct, float(np.abs(alpha[u] - direct).max()))
            iterations.append(info["iterations"]); unknown.append(int(u.sum()))
        pm = pymatting.estimate_alpha_cf(rgb, trimap, laplacian_kwargs={"epsilon": 1e-5})
        err_pm = np.abs(closed_form_alpha(image, trimap, eps=1e-5 / 3) - pm).max()
        its = "/".join(map(str, iterations))
        print(f"{label:>26} {int(np.mean(unknown)):>8} {1e3 * ours:>8.2f} {1e3 * theirs:>13.2f} {theirs / ours:>8.1f}x "
              f"{its:>10} {err_direct:>14.1e} {err_pm:>17.1e}")

    if a.matting_only:
        return
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
