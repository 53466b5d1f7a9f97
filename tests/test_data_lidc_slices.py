"""The LIDC-IDRI-slices reader (dsnet.data.lidc_slices), its cache, and the `lidc` source built on it (dsnet.training.sources):
a tiny layout written here with a broken nodule per reason, and the shared sample when it is there."""
import os
import shutil

import cv2
import numpy as np
import pytest

from dsnet.core import shared_data_dir
from dsnet.data.lidc_slices import (LidcSliceSet, NoduleError, find_lidc_slices, load_lidc_slices, nodule_folders,
                                    nodule_labels, read_lidc_slices, read_nodule, sample_slice, write_nodule)
from dsnet.training.config import TrainConfig
from dsnet.training.sources import find_dataset, load_source, split_groups

SHARED = shared_data_dir("lidc-slices")
needs_shared = pytest.mark.skipif(SHARED is None, reason="the LIDC-IDRI-slices sample (../shared/data/lidc-slices) is absent")


def toy_nodule(slices: int = 3, side: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    "Noise slices; readers 0-3 mark squares of sides 10, 8, 8, 6 centred at (16, 16) on every slice."
    image = np.random.default_rng(seed).integers(0, 256, (slices, side, side), dtype=np.uint8)
    readers = np.zeros((4, slices, side, side), bool)
    for r, half in enumerate((5, 4, 4, 3)):
        readers[r, :, 16 - half:16 + half, 16 - half:16 + half] = True
    return image, readers


def break_nodule(folder, how: str) -> None:
    if how == "three readers": shutil.rmtree(folder / "mask-3")
    if how == "missing mask slice": (folder / "mask-2" / "slice-1.png").unlink()
    if how == "extra mask slice": cv2.imwrite(str(folder / "mask-0" / "slice-7.png"), np.zeros((32, 32), np.uint8))
    if how == "size mismatch": cv2.imwrite(str(folder / "mask-1" / "slice-0.png"), np.zeros((16, 16), np.uint8))
    if how == "image size mismatch": cv2.imwrite(str(folder / "images" / "slice-2.png"), np.zeros((32, 30), np.uint8))
    if how == "unreadable": (folder / "images" / "slice-1.png").write_bytes(b"no png")
    if how == "colour": cv2.imwrite(str(folder / "images" / "slice-0.png"), np.zeros((32, 32, 3), np.uint8))
    if how == "grey mask": cv2.imwrite(str(folder / "mask-0" / "slice-0.png"), np.full((32, 32), 128, np.uint8))
    if how == "silent reader":
        for k in range(3): cv2.imwrite(str(folder / "mask-3" / f"slice-{k}.png"), np.zeros((32, 32), np.uint8))
    if how == "no images": shutil.rmtree(folder / "images")


BROKEN = {  # how the nodule is broken: what its reason must say
    "three readers": "3 reader folder(s)", "missing mask slice": "mask-2/slice-1.png missing",
    "extra mask slice": "mask-0/slice-7.png has no images/slice-7.png", "size mismatch": "mask-1/slice-0.png: 16×16, expected 32×32",
    "image size mismatch": "images/slice-2.png: 32×30, expected 32×32", "unreadable": "images/slice-1.png: not a readable PNG",
    "colour": "images/slice-0.png: uint8 (32, 32, 3); expected an 8-bit grey PNG",
    "grey mask": "mask-0: values other than 0 and 255", "silent reader": "mask-3 marks no pixel on any slice",
    "no images": "no images/slice-K.png",
}


@pytest.fixture
def data_root(tmp_path):
    "A data root with lidc-slices/LIDC-IDRI-slices: 3 good nodules of 2 patients, then one broken nodule per reason."
    layout = tmp_path / "data" / "lidc-slices" / "LIDC-IDRI-slices"
    for i, name in enumerate(["LIDC-IDRI-0001/nodule-0", "LIDC-IDRI-0001/nodule-3", "LIDC-IDRI-0002/nodule-1"]):
        write_nodule(layout / name, *toy_nodule(seed=i))
    for i, how in enumerate(BROKEN):
        folder = write_nodule(layout / f"LIDC-IDRI-{i + 10:04d}" / "nodule-0", *toy_nodule(seed=10 + i))
        break_nodule(folder, how)
    return tmp_path / "data"


def test_every_broken_nodule_is_reported_with_its_reason_and_skipped(data_root):
    nodules, skipped = read_lidc_slices(data_root)
    assert [n.name for n in nodules] == ["LIDC-IDRI-0001/nodule-0", "LIDC-IDRI-0001/nodule-3", "LIDC-IDRI-0002/nodule-1"]
    image, readers = toy_nodule(seed=1)
    assert np.array_equal(nodules[1].image, image) and np.array_equal(nodules[1].readers, readers)
    assert nodules[1].image.dtype == np.uint8 and nodules[1].readers.dtype == bool and nodules[1].slices.tolist() == [0, 1, 2]
    assert len(skipped) == len(BROKEN)
    for (folder, reason), (how, expected) in zip(skipped, BROKEN.items()):
        assert expected in reason, (how, reason)
    with pytest.raises(NoduleError, match="3 reader folder"):
        read_nodule(skipped[0][0])


def test_the_layout_is_found_from_the_data_root_or_its_own_folders(data_root, tmp_path):
    layout = data_root / "lidc-slices" / "LIDC-IDRI-slices"
    assert find_lidc_slices(data_root) == find_lidc_slices(data_root / "lidc-slices") == find_lidc_slices(layout) == layout
    assert find_lidc_slices(tmp_path) is None
    with pytest.raises(ValueError, match="no LIDC-IDRI-slices layout"):
        read_lidc_slices(tmp_path)


def test_slices_are_ordered_by_number_and_nodules_by_number(tmp_path):
    layout = tmp_path / "LIDC-IDRI-slices"
    for n in (10, 2):
        write_nodule(layout / "LIDC-IDRI-0007" / f"nodule-{n}", *toy_nodule(), slices=[0, 10, 2])
    assert [f.name for f in nodule_folders(layout)] == ["nodule-2", "nodule-10"]
    nodule = read_nodule(layout / "LIDC-IDRI-0007" / "nodule-2")
    assert nodule.slices.tolist() == [0, 2, 10]
    image, _ = toy_nodule()
    assert np.array_equal(nodule.image[1], image[2])                    # slice-2.png was written from image[2]


def test_ground_truth_is_the_50_percent_consensus_and_the_sample_has_one():
    image, readers = toy_nodule()
    readers[:, 0] = False
    readers[0, 0, 9:23, 9:23] = True                                    # slice 0: the largest union, one reader only
    readers[2:, 2] = False                                               # slice 2: readers 0 and 1 only
    nodule = read_nodule_free(image, readers)
    consensus, soft, notes = nodule_labels(nodule)
    assert consensus[0].sum() == 0 and consensus[1].sum() == 64 and consensus[2].sum() == 64    # ≥ 2 of 4: the 8×8 squares
    assert sample_slice(readers) == 1                                    # slice 2 has the same union; slice 0 no truth
    assert soft[1][readers[:, 1].all(0)].min() == 1 and soft[1][~readers[:, 1].any(0)].max() == 0
    assert notes[1] == "" and "share no pixel" in notes[0]
    with pytest.raises(NoduleError, match="empty on every slice"):
        sample_slice(readers[:, :1])


def read_nodule_free(image, readers):
    from dsnet.data.lidc_slices import SliceNodule
    return SliceNodule("P", "nodule-0", np.arange(len(image)), image, readers)


def test_the_cache_gives_the_same_set_and_changes_with_the_files_and_the_settings(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("DSNET_CACHE", str(tmp_path / "cache"))
    first = load_lidc_slices(data_root)
    assert len(first.patient) == 3 and len(first.skipped) == len(BROKEN)
    files = sorted((tmp_path / "cache").rglob("*.npz"))
    assert len(files) == 1
    again = load_lidc_slices(data_root)
    for k in ("image", "marks", "consensus", "soft", "nodule_of", "slice_number", "sample"):
        assert np.array_equal(getattr(first, k), getattr(again, k)), k
    assert again.skipped == first.skipped and sorted((tmp_path / "cache").rglob("*.npz")) == files
    load_lidc_slices(data_root, erode=2)                                # other Soft Mask settings: another file
    png = data_root / "lidc-slices" / "LIDC-IDRI-slices" / "LIDC-IDRI-0002" / "nodule-1" / "mask-0" / "slice-0.png"
    os.utime(png, ns=(png.stat().st_atime_ns, png.stat().st_mtime_ns + 10**9))
    load_lidc_slices(data_root)                                          # a copy (new times, same bytes): same file
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 2
    mask = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    mask[0, 0] = 255 - mask[0, 0]
    cv2.imwrite(str(png), mask)
    load_lidc_slices(data_root)                                          # a changed file: another file
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 3
    assert isinstance(LidcSliceSet.load(files[0]), LidcSliceSet)


def test_the_lidc_source_groups_nodules_by_patient(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("DSNET_CACHE", str(tmp_path / "cache"))
    for p in range(8):                                                   # 8 more patients, two nodules each
        for n in range(2):
            write_nodule(data_root / "lidc-slices" / "LIDC-IDRI-slices" / f"LIDC-IDRI-01{p:02d}" / f"nodule-{n}",
                         *toy_nodule(seed=100 + 2 * p + n))
    cfg = TrainConfig.from_profile("quick", model="unet", data="lidc", data_root=str(data_root), n_items=0)
    src = load_source(cfg, cache=False)
    assert src["image"].shape == (19, cfg.crop_size, cfg.crop_size) and len(np.unique(src["group"])) == 10
    patients = np.array([name.split("_")[0] for name in src["name"]])
    for k in range(4):
        split = split_groups(src["group"], "lidc", 4, k)
        sides = [set(patients[split[s]]) for s in ("train", "val", "test")]
        assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2]), k


def test_the_data_root_holds_every_dataset_and_a_wrong_root_names_what_was_looked_for(data_root, tmp_path):
    (data_root / "isbi2012" / "train" / "image").mkdir(parents=True)
    (data_root / "lnsm").mkdir(); (data_root / "lnsm" / "manifest.csv").write_text("key,split,status\n")
    (data_root / "promise12").mkdir(); (data_root / "promise12" / "Case00.mhd").write_text("")
    cfg = TrainConfig.from_profile("quick", model="unet", data="lidc", data_root=str(data_root))
    expected = {"lidc": "lidc-slices", "isbi": "isbi2012", "lnsm": "lnsm", "promise": "promise12"}
    for source, folder in expected.items():
        assert find_dataset(cfg.replace(data=source)) == (folder, data_root / folder)
        assert find_dataset(cfg.replace(data=source, data_root=str(data_root / folder))) == (folder, data_root / folder)
    shutil.rmtree(data_root / "lidc-slices")
    (data_root / "lidc" / "patches").mkdir(parents=True); (data_root / "lidc" / "patches" / "a.npz").touch()
    assert find_dataset(cfg) == ("lidc-patches", data_root / "lidc" / "patches")    # the fall-back: today's patches
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError) as error:
        find_dataset(cfg.replace(data_root=str(empty)))
    assert str(empty) in str(error.value) and "lidc-slices/LIDC-IDRI-slices" in str(error.value) and "lidc/patches" in str(error.value)
    with pytest.raises(ValueError, match="ISBI 2012"):
        find_dataset(cfg.replace(data="isbi", data_root=str(tmp_path / "nowhere")))


@needs_shared
def test_the_shared_sample_reads_whole():
    nodules, skipped = read_lidc_slices(SHARED)
    assert skipped == [] and len(nodules) == 680
    assert len({n.patient for n in nodules}) == 430 and sum(len(n.slices) for n in nodules) == 4921
    assert all(n.image.shape[1:] == (128, 128) and n.readers.shape == (4, *n.image.shape) for n in nodules)
    assert all(n.readers[r].any() for n in nodules for r in range(4))
    assert all(np.array_equal(n.slices, np.arange(len(n.slices))) for n in nodules)


@needs_shared
def test_the_shared_sample_as_the_lidc_source_is_split_by_patient(tmp_path, monkeypatch):
    cfg = TrainConfig.from_profile("quick", model="unet", data="lidc", data_root=str(SHARED.parent), n_items=0)
    src = load_source(cfg)
    assert len(src["image"]) == min(680, cfg.sizes().n_lidc) and (src["mask"].sum(axis=(1, 2)) > 0).all()
    patients = np.array([name.split("_")[0] for name in src["name"]])
    for k in range(4):
        split = split_groups(src["group"], "lidc", 4, k)
        assert not set(patients[split["test"]]) & (set(patients[split["train"]]) | set(patients[split["val"]]))
        assert not set(patients[split["train"]]) & set(patients[split["val"]])
