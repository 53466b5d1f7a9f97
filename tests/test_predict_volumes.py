"""dsnet-predict as a user meets it: each model reads its inputs as it was trained (the input normalisation recorded
in its checkpoint: the same numbers as the training loaders give, source by source); MetaImage and NIfTI volumes in,
volumes of the same geometry out; bad files named, the batch going on past them; an old checkpoint without the
record warned about. Tiny checkpoints made here (untrained networks of the quick profile), CPU, seconds."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import SimpleITK as sitk
import torch

from dsnet.data.datasets import CropConfig, ct_window, phantom_dataset
from dsnet.data.phantoms import lnsm_synthetic
from dsnet.data.readers import read_deeplesion_slice, write_deeplesion_slice
from dsnet.training.config import TrainConfig, build_network
from dsnet.training.inference import (input_normalisation, predict_probabilities, read_checkpoint, save_checkpoint,
                                      to_training_side)
from dsnet.training.predict import predict_main, read_input_image, read_input_volume
from dsnet.training.sources import load_source

SPACING, ORIGIN = (0.7, 0.8, 2.5), (-12.5, 30.0, 7.25)
DIRECTION = (0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0)          # rows and columns swapped, z reversed


def quick(**changes) -> TrainConfig:
    return TrainConfig.from_profile("quick", model="unet", **changes)


def tiny_checkpoint(path: Path, cfg: TrainConfig) -> Path:
    "An untrained UNet of the quick profile saved as dsnet-train saves its checkpoints."
    torch.manual_seed(0)
    return save_checkpoint(path, cfg, build_network(cfg), None, kind="best", epoch=0)


def volume(values: np.ndarray, path: Path) -> Path:
    "Write (Z, H, W) `values` with a non-trivial geometry (spacing, origin, direction) to `path`."
    image = sitk.GetImageFromArray(values)
    image.SetSpacing(SPACING); image.SetOrigin(ORIGIN); image.SetDirection(DIRECTION)
    sitk.WriteImage(image, str(path))
    return path


def same_geometry(a: sitk.Image, b: sitk.Image) -> bool:
    "Size, spacing, origin and direction equal (to float precision): for NIfTI, the same affine."
    return (a.GetSize() == b.GetSize() and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=1e-6)
            and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=1e-5)
            and np.allclose(a.GetDirection(), b.GetDirection(), atol=1e-6))


def run_predict(capsys, *args) -> tuple[int, str, str]:
    code = predict_main([*map(str, args), "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- 1. the same image normalised at training and at prediction: identical tensors, source by source -------------

def test_phantoms_hu_window_identical(tmp_path):
    "lnsm-synthetic / lidc-synthetic: the phantoms' HU as .npy and as a NIfTI volume give the training images."
    cfg = quick()
    sizes = cfg.sizes().replace(n_lnsm=24)
    trained = phantom_dataset("test", sizes, "lnsm", seed=0, augment=False, workers=1).images
    hu = np.stack([p.image for p in lnsm_synthetic(24, cfg.crop_size, 0, 1)["test"]])
    record = input_normalisation(cfg)
    assert record == {"kind": "hu_window", "center": -600.0, "width": 1500.0}
    np.save(tmp_path / "p0.npy", hu[0])
    assert np.array_equal(read_input_image(tmp_path / "p0.npy", record)[0], trained[0])
    slices, how, _ = read_input_volume(volume(hu.astype(np.float32), tmp_path / "phantoms.nii.gz"), record)
    assert np.array_equal(slices, trained) and "window level -600 width 1500" in how


def test_lnsm_deeplesion_png_identical(tmp_path):
    "lnsm: a DeepLesion 16-bit slice windowed as build_lnsm_item does (read_deeplesion_slice, then ct_window)."
    hu = np.round(np.random.default_rng(1).uniform(-1100, 300, (48, 40)))
    png = write_deeplesion_slice(tmp_path / "000001_01_01_100.png", hu)
    trained = ct_window(read_deeplesion_slice(png), *CropConfig().window)
    image, how = read_input_image(png, input_normalisation(quick(data="lnsm")))
    assert np.array_equal(image, trained) and "DeepLesion" in how


def test_lidc_patches_identical(tmp_path):
    "lidc: the 8-bit lung-window patch of the training loader and the same patch as an 8-bit PNG."
    rng = np.random.default_rng(2)
    u8 = rng.integers(0, 256, (64, 64)).astype(np.uint8)
    readers = np.zeros((4, 64, 64), np.uint8); readers[:, 20:40, 22:42] = 1; readers[0, 20:24] = 0
    folder = tmp_path / "patches"; folder.mkdir()
    np.savez(folder / "LIDC-IDRI-0001_n1_k10.npz", image_lungwindow_u8=u8, rater_masks=readers,
             consensus50=(readers.mean(0) >= 0.5).astype(np.uint8), pixel_spacing_mm=0.7)
    cfg = quick(data="lidc", data_root=str(folder))
    trained = load_source(cfg, cache=False)["image"][0]
    cv2.imwrite(str(tmp_path / "patch.png"), u8)
    assert np.array_equal(read_input_image(tmp_path / "patch.png", input_normalisation(cfg))[0], trained)


def test_lidc_slices_identical(tmp_path):
    "lidc (LIDC-IDRI-slices layout): the 8-bit lung-window slice of the training loader and the same PNG."
    from dsnet.data.lidc_slices import write_nodule
    rng = np.random.default_rng(8)
    u8 = rng.integers(0, 256, (1, 64, 64)).astype(np.uint8)
    readers = np.zeros((4, 1, 64, 64), bool); readers[:, 0, 24:40, 20:44] = True; readers[1, 0, 24:28] = False
    nodule = write_nodule(tmp_path / "LIDC-IDRI-slices" / "LIDC-IDRI-0001" / "nodule-1", u8, readers)
    cfg = quick(data="lidc", data_root=str(tmp_path), crop_size=64)
    trained = load_source(cfg, cache=False)["image"]
    image = read_input_image(nodule / "images" / "slice-0.png", input_normalisation(cfg))[0]
    assert trained.shape == (1, 64, 64) and np.array_equal(image, trained[0])


def test_isbi_unit_range_identical(tmp_path):
    "isbi: the training loader's slice (grey / 255) and the same PNG under the ISBI model's record."
    root = tmp_path / "isbi"
    for sub in ("image", "label"): (root / "train" / sub).mkdir(parents=True)
    grey = np.random.default_rng(3).integers(0, 256, (64, 64)).astype(np.uint8)
    label = np.zeros((64, 64), np.uint8); label[10:50, 12:40] = 255
    cv2.imwrite(str(root / "train" / "image" / "0.png"), grey)
    cv2.imwrite(str(root / "train" / "label" / "0.png"), label)
    cfg = quick(data="isbi", data_root=str(root), n_items=1)
    trained = load_source(cfg, cache=False)["image"][0]
    record = input_normalisation(cfg)
    assert record == {"kind": "unit_range"}
    assert np.array_equal(read_input_image(root / "train" / "image" / "0.png", record)[0], trained)


@pytest.mark.parametrize("suffix", [".mhd", ".nii.gz"])
def test_promise_percentiles_identical(tmp_path, suffix):
    "promise: the training loader's slices (percentiles of each slice, resized) and the volume read for prediction."
    rng = np.random.default_rng(4)
    mr = (rng.gamma(2.0, 150.0, (5, 40, 40)) + np.linspace(0, 400, 40)[None, None]).astype(np.int16)
    seg = np.zeros((5, 40, 40), np.uint8); seg[1:4, 12:30, 10:28] = 1              # the prostate on slices 1–3
    root = tmp_path / "promise"; root.mkdir()
    volume(mr, root / f"Case00{suffix}")
    if suffix == ".mhd": volume(seg, root / "Case00_segmentation.mhd")
    else:                                                        # the training loader reads MetaImage only
        volume(mr, root / "Case00.mhd"); volume(seg, root / "Case00_segmentation.mhd")
    cfg = quick(data="promise", data_root=str(root), promise_size=32)
    trained = load_source(cfg, cache=False)["image"]
    record = input_normalisation(cfg)
    assert record == {"kind": "percentile", "low": 1.0, "high": 99.0, "side": 32} and trained.shape == (3, 32, 32)
    slices, how, _ = read_input_volume(root / f"Case00{suffix}", record)
    predicted = np.stack([to_training_side(s, record["side"]) for s in slices[1:4]])
    assert np.array_equal(predicted, trained) and "percentiles 1–99 of each slice" in how


def test_checkpoint_carries_the_record(tmp_path):
    "save_checkpoint derives the record from the run's TrainConfig: nothing in the training loop sets it."
    for data, kind in [("lnsm-synthetic", "hu_window"), ("isbi", "unit_range"), ("promise", "percentile")]:
        cfg = quick(data=data)
        assert read_checkpoint(tiny_checkpoint(tmp_path / f"{data}.pt", cfg))["input_normalisation"]["kind"] == kind


# --- 2. volumes in, volumes of the same geometry out -------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".mhd", ".nii", ".nii.gz"])
def test_volume_prediction_keeps_geometry(tmp_path, capsys, suffix):
    cfg = quick()
    checkpoint = tiny_checkpoint(tmp_path / "best.pt", cfg)
    hu = np.random.default_rng(5).normal(-500, 300, (3, 37, 45)).astype(np.int16)        # odd sides: padding
    src = volume(hu, tmp_path / f"ct{suffix}")
    code, out, err = run_predict(capsys, "--checkpoint", checkpoint, "--images", src, "--out", tmp_path / "pred")
    assert code == 0 and "1 predicted" in out, err
    soft, mask = (sitk.ReadImage(str(tmp_path / "pred" / f"ct_{k}{suffix}")) for k in ("soft", "mask"))
    reference = sitk.ReadImage(str(src))
    assert same_geometry(soft, reference) and same_geometry(mask, reference)
    assert soft.GetPixelIDTypeAsString() == "32-bit float" and mask.GetPixelIDTypeAsString() == "8-bit unsigned integer"
    soft_values = sitk.GetArrayFromImage(soft)
    model = build_network(cfg); model.load_state_dict(read_checkpoint(checkpoint)["model"])
    expected = predict_probabilities(model, ct_window(hu))                                 # slice by slice, by hand
    assert soft_values.shape == (3, 37, 45) and np.abs(soft_values - expected).max() < 1e-5
    assert np.array_equal(sitk.GetArrayFromImage(mask), (soft_values >= 0.5).astype(np.uint8))
    if suffix == ".mhd": assert (tmp_path / "pred" / "ct_mask.zraw").is_file()
    row = next(csv.DictReader(open(tmp_path / "pred" / "predictions.csv")))
    assert (row["slices"], row["height"], row["width"]) == ("3", "37", "45") and "padded by reflection" in row["fit"]


def test_promise_model_resizes_and_restores(tmp_path, capsys):
    "A model trained on 32×32 PROMISE slices: a 40×40 volume is predicted at 32×32 and written back at 40×40."
    cfg = quick(data="promise", promise_size=32)
    checkpoint = tiny_checkpoint(tmp_path / "best.pt", cfg)
    mr = np.random.default_rng(6).gamma(2.0, 200.0, (2, 40, 40)).astype(np.uint16)
    src = volume(mr, tmp_path / "Case07.mhd")
    volume(np.zeros((2, 40, 40), np.uint8), tmp_path / "Case07_segmentation.mhd")        # a truth: not an input
    code, out, err = run_predict(capsys, "--checkpoint", checkpoint, "--images", tmp_path, "--out", tmp_path / "pred")
    assert code == 0 and "1 predicted" in out, err
    assert same_geometry(sitk.ReadImage(str(tmp_path / "pred" / "Case07_mask.mhd")), sitk.ReadImage(str(src)))
    row = next(csv.DictReader(open(tmp_path / "pred" / "predictions.csv")))
    assert "resized 40×40 → 32×32" in row["fit"] and "percentiles 1–99" in row["read"]


# --- 3. bad input: the file, the value and what was expected; the batch goes on ----------------------------------

def test_bad_files_named_and_batch_goes_on(tmp_path, capsys):
    checkpoint = tiny_checkpoint(tmp_path / "isbi.pt", quick(data="isbi"))
    inputs = tmp_path / "in"; inputs.mkdir()
    cv2.imwrite(str(inputs / "good.png"), np.full((40, 40), 128, np.uint8))
    volume(np.full((2, 40, 40), 200, np.uint8), inputs / "good8bit.nii.gz")
    volume(np.full((2, 16, 16), -700.0, np.float32), inputs / "hu.nii.gz")               # HU for a grey-level model
    (inputs / "junk.nii").write_text("not a volume")
    volume(np.zeros((2, 8, 8), np.int16), inputs / "noraw.mhd"); (inputs / "noraw.raw").unlink()
    series = sitk.GetImageFromArray(np.zeros((2, 3, 8, 8), np.float32), isVector=False)   # a 4-D time series
    sitk.WriteImage(series, str(inputs / "time.nii.gz"))
    colour = np.zeros((8, 8, 3), np.uint8); colour[..., 1] = 99; cv2.imwrite(str(inputs / "colour.png"), colour)
    code, out, err = run_predict(capsys, "--checkpoint", checkpoint, "--images", inputs, "--out", tmp_path / "pred")
    assert code == 1 and "2 predicted" in out and "5 failed" in out, (out, err)
    failures = [line for line in err.splitlines() if line.startswith("  failed:")]
    expected = {"hu.nii.gz": "values -700…-700 (float32)", "junk.nii": "not a readable volume",
                "noraw.mhd": "noraw.raw (ElementDataFile) is not beside it",
                "time.nii.gz": "4-D image of size (8, 8, 3, 2)", "colour.png": "expected 1 grey channel"}
    for name, words in expected.items():
        line = next((f for f in failures if f"{name}:" in f), None)
        assert line is not None and words in line, (name, failures)
    assert "expects 8-bit or 16-bit grey, or floats in [0, 1]" in next(f for f in failures if "hu.nii.gz" in f)
    assert (tmp_path / "pred" / "good_mask.png").is_file() and (tmp_path / "pred" / "good8bit_mask.nii.gz").is_file()
    rows = {r["name"]: r["status"] for r in csv.DictReader(open(tmp_path / "pred" / "predictions.csv"))}
    assert rows["good"] == "done" and rows["junk"].startswith("failed: ") and len(rows) == 7


def test_old_checkpoint_warns_and_reads_as_before(tmp_path, capsys):
    "A checkpoint without the record: the lung window (what dsnet-predict always did), and a warning naming it."
    cfg = quick()
    new = tiny_checkpoint(tmp_path / "new.pt", cfg)
    state = read_checkpoint(new); del state["input_normalisation"]
    torch.save(state, tmp_path / "old.pt")
    src = volume(np.random.default_rng(7).normal(-600, 200, (2, 32, 32)).astype(np.int16), tmp_path / "ct.nii.gz")
    outputs = {}
    for name in ("new", "old"):
        code, out, err = run_predict(capsys, "--checkpoint", tmp_path / f"{name}.pt", "--images", src,
                                     "--out", tmp_path / name)
        assert code == 0, err
        outputs[name] = (sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / name / "ct_soft.nii.gz"))), err)
    assert np.array_equal(outputs["new"][0], outputs["old"][0])
    assert "warning" not in outputs["new"][1]
    assert f"dsnet-predict: warning: {tmp_path / 'old.pt'}: no input normalisation recorded" in outputs["old"][1]


def test_the_installed_command(tmp_path):
    "The console script, in its own process: a volume in, its mask out, exit status 0."
    checkpoint = tiny_checkpoint(tmp_path / "best.pt", quick())
    src = volume(np.full((2, 24, 24), -650, np.int16), tmp_path / "one.mhd")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [str(Path(sys.executable).parent / "dsnet-predict"), "--checkpoint", str(checkpoint),
               "--images", str(src), "--out", str(tmp_path / "pred"), "--quiet"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert same_geometry(sitk.ReadImage(str(tmp_path / "pred" / "one_mask.mhd")), sitk.ReadImage(str(src)))


def test_evaluate_volumes(tmp_path, capsys):
    "dsnet-evaluate on volumes: NAME_mask.mhd against PROMISE12's NAME_segmentation.mhd, one 3-D DICE per case."
    from dsnet.training.evaluate import evaluate_main
    truth, pred = tmp_path / "truth", tmp_path / "pred"; truth.mkdir(); pred.mkdir()
    seg = np.zeros((3, 8, 8), np.uint8); seg[1, 2:6, 2:6] = 1                             # 16 voxels
    found = np.zeros((3, 8, 8), np.uint8); found[1, 2:6, 2:4] = 1; found[2, 0, :4] = 1     # 8 of them and 4 others
    volume(seg, truth / "Case03_segmentation.mhd"); volume(np.ones((3, 8, 8), np.int16), truth / "Case03.mhd")
    volume(found, pred / "Case03_mask.mhd"); volume(found.astype(np.float32), pred / "Case03_soft.mhd")
    assert evaluate_main(["--pred", str(pred), "--truth", str(truth)]) == 0
    row = next(csv.DictReader(open(pred / "per_image.csv")))
    assert row["name"] == "Case03" and float(row["dice"]) == 2 * 8 / (12 + 16) and float(row["sen"]) == 0.5
    volume(np.zeros((2, 8, 8), np.uint8), truth / "Case03_segmentation.mhd")               # a truth of another size
    assert evaluate_main(["--pred", str(pred), "--truth", str(truth)]) == 1
    assert "sizes differ" in capsys.readouterr().err
