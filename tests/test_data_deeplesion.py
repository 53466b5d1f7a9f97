"""build_lnsm on all 1,100 real DeepLesion lung rows, with 16-bit slices written by the test (skipped without the sample)."""
import tempfile
from pathlib import Path

import numpy as np
import pytest

from dsnet.core import shared_data_dir
from dsnet.data.datasets import build_lnsm, read_lnsm
from dsnet.data.readers import read_dl_info, synthetic_recist_slice, write_deeplesion_slice

DL = shared_data_dir("deeplesion")


@pytest.mark.skipif(DL is None, reason="DeepLesion sample (../shared/data/deeplesion) absent")
def test_build_lnsm_on_the_real_rows():
    csv_path = DL / "DL_info_test_lung_type5.csv"
    records, errors = read_dl_info(csv_path)
    assert len(records) == 1100 and not errors
    with tempfile.TemporaryDirectory() as root:
        for rec in records:
            write_deeplesion_slice(Path(root) / rec.slice_path, synthetic_recist_slice(rec))
        summary = build_lnsm(root, Path(root) / "lnsm", csv_path=csv_path, workers=2, progress=False)
        assert summary["done"] == 1100 and summary["failed"] == 0, summary["errors"][:3]
        lnsm = read_lnsm(Path(root) / "lnsm", split="test")
        assert lnsm["image"].shape == (1100, 64, 64) and lnsm["soft"].dtype == np.float32
        # the binarised Soft Mask sits on the rendered nodule (crop centre) for nearly every lesion
        centre = lnsm["binary"][:, 31:33, 31:33].mean(axis=(1, 2))
        assert (centre > 0.5).mean() > 0.95
        assert (Path(root) / "lnsm" / "manifest.csv").read_text().count("\n") == 1101
