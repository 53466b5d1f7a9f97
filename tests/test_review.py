"""The review step on the other folder layout it reads (an LNSM build: items/<key>.npz with the image inside), and
what the training loaders get from it."""
import json

import numpy as np
import pytest

from dsnet.labelling.review import (MANIFEST_NAME, ReviewSession, accepted_items, item_folder, load_accepted, read_item,
                          read_manifest)
from dsnet.labelling.softmask import composite_sample


def lnsm_build(root, sizes=(64, 64, 64)):
    "A tiny LNSM-like build: manifest.csv and items/<key>.npz holding image, soft, binary, trimap and extra arrays."
    (root / "items").mkdir(parents=True)
    (root / "manifest.csv").write_text("key,status\n" + "".join(f"k{i},done\n" for i in range(len(sizes))))
    for i, size in enumerate(sizes):
        c = composite_sample(size, noise=0.02, seed=i)
        np.savez_compressed(root / "items" / f"k{i}.npz", image=c["image"].astype(np.float32), soft=c["alpha"].astype(np.float32),
                            binary=c["mask"], trimap=c["trimap"].astype(np.float32), image_hu=np.zeros((size, size), np.float32),
                            long_axis=np.array([[10.0, 10.0], [40.0, 40.0]]))
    return root


def test_lnsm_items_are_reviewed_and_relabelled(tmp_path):
    root = lnsm_build(tmp_path / "lnsm")
    assert item_folder(root) == root / "items"
    it = read_item(root, "k0")
    assert it.image is not None and it.image.shape == it.soft.shape == (64, 64)      # the image comes from the item
    s = ReviewSession(root)
    s.decide("accepted"); s.decide("rejected")
    assert s.index == 2 and (root / "items" / MANIFEST_NAME).is_file()
    s.relabel("recist", erode=2, dilate=4)
    s.keep_relabel()
    with np.load(root / "items" / "k2.npz") as z:
        assert {"image", "image_hu", "long_axis", "soft", "binary", "trimap"} <= set(z.files)   # other arrays kept
        assert str(z["strategy"]) == "recist" and np.allclose(z["soft"], s.item(2).soft)
    assert (root / "items" / "review-originals" / "k2.npz").is_file()
    assert accepted_items(root) == ["k0", "k2"]
    data = load_accepted(root)
    assert data["keys"].tolist() == ["k0", "k2"] and data["image"].shape == data["soft"].shape == (2, 64, 64)
    assert data["binary"].dtype == np.uint8 and data["skipped"] == []


def test_load_accepted_skips_what_cannot_be_stacked(tmp_path):
    root = lnsm_build(tmp_path / "lnsm", sizes=(64, 48, 64))
    (root / "items" / MANIFEST_NAME).write_text(json.dumps({"k0": "yes", "k1": "yes", "k2": True, "gone": "yes"}))
    assert accepted_items(root) == ["k0", "k1", "k2"]                                    # "gone" has no file
    data = load_accepted(root)
    assert data["keys"].tolist() == ["k0", "k2"] and len(data["skipped"]) == 1
    assert data["skipped"][0][0] == "k1" and "(48, 48)" in data["skipped"][0][1]


def test_decisions_survive_and_no_temporary_file_is_left(tmp_path):
    root = lnsm_build(tmp_path / "lnsm")
    s = ReviewSession(root, reviewer="dr a")
    s.decide("accepted")
    assert not [p for p in (root / "items").iterdir() if p.name.startswith(".")]          # atomic writes cleaned up
    again = ReviewSession(root)
    assert again.index == 1 and again.decisions["k0"]["reviewer"] == "dr a"
    assert read_manifest(root)[2]                                                         # a clean current manifest


def test_bad_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        ReviewSession(tmp_path / "missing")
    empty = ReviewSession(tmp_path)
    assert empty.names == [] and accepted_items(tmp_path) == [] and len(load_accepted(tmp_path)["keys"]) == 0
