"""Issue 15, item 5: a model trained with `dsnet-train --data lidc` on the real four-reader nodules and applied with
`dsnet-predict` to its test nodules, saved as the 8-bit PNGs a user has, scores what its run scored on them
(`dsnet-evaluate` against the 50 % consensus): the same input normalisation, the same size handling, the same
threshold. The inputs are the nodule windows the run itself was tested on (`crop_size`² cut around the readers' union,
see `dsnet.training.sources.lidc_slice_arrays`): a whole 128² slice is another input and gets another score.
Skipped with a message when ../shared/data/lidc-slices is absent. Quick profile, about a minute on 2 cores."""
import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from dsnet.core import shared_data_dir
from dsnet.training.cli import main as train_main
from dsnet.training.config import TrainConfig
from dsnet.training.evaluate import evaluate_main
from dsnet.training.predict import predict_main
from dsnet.training.sources import load_source

pytestmark = pytest.mark.skipif(
    shared_data_dir("lidc-slices") is None, reason="no ../shared/data/lidc-slices (the real LIDC nodules): skipped"
)


def scores(path: Path) -> dict[str, float]:
    "name -> DICE of a per-image CSV (a run's test_per_image.csv, dsnet-evaluate's per_image.csv)."
    return {row["name"]: float(row["dice"]) for row in csv.DictReader(open(path))}


def write_png(path: Path, unit: np.ndarray) -> None:
    "An image in [0, 1] as the 8-bit PNG it was read from (exact: the source is 8-bit / 255)."
    assert cv2.imwrite(str(path), np.round(unit * 255).astype(np.uint8))


def test_predict_reproduces_the_runs_test_scores(tmp_path):
    run = tmp_path / "run"
    root = str(shared_data_dir())
    assert train_main(["--data", "lidc", "--model", "unet", "--profile", "quick", "--data-root", root,
                       "--out", str(run), "--quiet"]) == 0
    tested = scores(run / "test_per_image.csv")
    src = load_source(TrainConfig.load(run))
    where = {name: i for i, name in enumerate(src["name"])}
    images, truth, pred = tmp_path / "images", tmp_path / "truth", tmp_path / "pred"
    images.mkdir()
    truth.mkdir()
    for name in tested:
        write_png(images / f"{name}.png", src["image"][where[name]])
        write_png(truth / f"{name}.png", (src["mask"][where[name]] > 0.5).astype(np.float32))
    assert predict_main(["--checkpoint", str(run / "best.pt"), "--images", str(images), "--out", str(pred),
                         "--quiet"]) == 0
    assert evaluate_main(["--pred", str(pred), "--truth", str(truth)]) == 0
    predicted = scores(pred / "per_image.csv")
    assert set(predicted) == set(tested) and len(tested) >= 10
    gaps = [abs(predicted[n] - tested[n]) for n in tested]
    assert max(gaps) < 1e-6, f"largest DICE gap {max(gaps):.2e} over {len(gaps)} test nodules"
    assert len({round(d, 6) for d in tested.values()}) > 1  # real scores, not one floor repeated
