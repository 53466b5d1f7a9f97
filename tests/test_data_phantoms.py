"""Tests of dsnet.data.phantoms, dsnet.data.datasets and dsnet.data.metrics beyond the notebooks' cells (run by `make test`)."""
import numpy as np
import pytest

from dsnet.data.datasets import SegmentationDataset, ct_window, phantom_dataset, split_indices
from dsnet.data.metrics import dice, ppv, sensitivity
from dsnet.data.phantoms import KINDS, area_average, lnsm_synthetic, make_phantom


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [64, 40])
def test_phantom_shapes_and_truth(kind, size):
    p = make_phantom(kind, size, seed=7)
    assert p.image.shape == (size, size) and p.hr_image.shape == (4 * size, 4 * size)
    assert p.readers.shape == (4, size, size)
    assert np.allclose(area_average(p.hr_alpha, 4), p.alpha, atol=1e-6)
    assert p.alpha.sum() > 5 and p.true_mask.sum() > 3
    # readers disagree, but each overlaps the truth
    assert len({r.tobytes() for r in p.readers}) > 1
    assert all(dice(r, p.true_mask) > 0.3 for r in p.readers)


def test_phantom_set_deterministic_and_split():
    a = lnsm_synthetic(n=21, size=32, seed=3, workers=1)
    b = lnsm_synthetic(n=21, size=32, seed=3, workers=1)
    assert [len(a[k]) for k in ("train", "val", "test")] == [14, 1, 6]
    assert all(np.array_equal(x.image, y.image) and x.kind == y.kind for x, y in zip(a["train"], b["train"]))


def test_image_is_ct_like():
    p = make_phantom("solid", 64, seed=0)
    lung = p.image[p.alpha == 0]
    assert -950 < np.median(lung) < -700
    assert p.image[p.alpha > 0.99].mean() > -100
    w = ct_window(p.image)
    assert 0 <= w.min() and w.max() <= 1


def test_phantom_dataset_batches():
    import torch
    from dsnet.core import get_profile
    prof = get_profile("quick").replace(n_lnsm=24, crop_size=32, label_workers=1)
    ds = phantom_dataset("train", prof, labels="true", with_hr=True)
    batch = torch.utils.data.default_collate([ds[i] for i in range(4)])
    assert batch["image"].shape == (4, 1, 32, 32) and batch["hr_image"].shape == (4, 1, 128, 128)
    assert torch.equal(batch["mask"], (batch["soft"] >= 0.5).float())


def test_metrics_empty_convention():
    z, one = np.zeros((4, 4)), np.eye(4)
    assert (dice(z, z), sensitivity(z, z), ppv(z, z)) == (1.0, 1.0, 1.0)
    assert (dice(one, z), sensitivity(one, z), ppv(one, z)) == (0.0, 0.0, 0.0)
    assert (dice(z, one), sensitivity(z, one), ppv(z, one)) == (0.0, 0.0, 0.0)


def test_splits_reproducible():
    assert [len(v) for v in split_indices(1500, "lnsm", 4).values()] == [1000, 100, 400]
    assert np.array_equal(split_indices(300, "isbi", 4)["val"], split_indices(300, "isbi", 4)["val"])
    assert not np.array_equal(split_indices(300, "isbi", 4)["val"], split_indices(300, "isbi", 5)["val"])
    # the phantom sets are cut by the same seeded split as split_indices
    sets = lnsm_synthetic(n=15, size=32, seed=2, workers=1)
    idx = split_indices(15, "lnsm", 2)
    assert [p.seed for p in sets["test"]] == [2 * 100003 + int(i) for i in idx["test"]]
