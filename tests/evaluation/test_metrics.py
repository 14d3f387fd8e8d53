"""DAVIS J/F: hand-computed cases, an independent slow implementation, vos-benchmark, the official code."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from davis_fixtures import moving_ellipses, perturb, write_davis, write_predictions
from rpmbench.data.palette import write_palette_png
from rpmbench.errors import DataError
from rpmbench.evaluation import evaluate_results, score_sequence
from rpmbench.evaluation.metrics import (
    boundary_f,
    boundary_maps,
    boundary_tolerance,
    decay_bins,
    disk,
    jaccard,
    label_scores,
    statistics,
)


# ---------------------------------------------------------------- hand-computed cases
def test_tolerance_and_disk_at_davis_size() -> None:
    assert boundary_tolerance(480, 854) == 8
    assert disk(8).sum() == 197
    assert disk(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]


def test_jaccard_edge_cases() -> None:
    empty = np.zeros((1, 4, 4), bool)
    full = np.ones((1, 4, 4), bool)
    half = np.zeros((1, 4, 4), bool)
    half[0, :2] = True
    assert jaccard(empty, empty).tolist() == [1.0]
    assert jaccard(full, empty).tolist() == [0.0]
    assert jaccard(half, full).tolist() == [0.5]


def test_boundary_map_by_hand() -> None:
    mask = np.zeros((4, 5), bool)
    mask[1:3, 1:3] = True
    expected = np.array([
        [1, 1, 1, 0, 0],   # (0,0) differs from its lower-right neighbour, (0,1),(0,2) from below
        [1, 0, 1, 0, 0],   # (1,0) from right; (1,2) from right and lower-right
        [1, 1, 1, 0, 0],   # (2,0) differs from right; (2,1) below; (2,2) right and below
        [0, 0, 0, 0, 0],   # last row compares with the right neighbour only: all equal
    ], bool)
    assert np.array_equal(boundary_maps(mask), expected)


def test_full_image_mask_has_no_boundary_and_border_is_never_boundary() -> None:
    full = np.ones((1, 6, 7), bool)
    assert not boundary_maps(full).any()
    assert boundary_f(full, full).tolist() == [1.0]
    edge = np.zeros((6, 7), bool)
    edge[:, 4:] = True  # object touching the right and bottom borders
    bmap = boundary_maps(edge)
    assert bmap[:, 3].all() and not bmap[:, 4:].any()


def test_f_empty_cases() -> None:
    empty = np.zeros((1, 20, 20), bool)
    blob = np.zeros((1, 20, 20), bool)
    blob[0, 5:10, 5:10] = True
    assert boundary_f(empty, empty).tolist() == [1.0]
    assert boundary_f(blob, empty).tolist() == [0.0]
    assert boundary_f(empty, blob).tolist() == [0.0]


def test_f_by_hand_with_a_shifted_square() -> None:
    """A 5x5 square shifted by 3 px with tolerance 1: count matched boundary pixels by hand."""
    gt = np.zeros((1, 20, 20), bool)
    gt[0, 5:10, 5:10] = True
    pred = np.roll(gt, 3, axis=2)
    # The boundary of rows/cols 5..9 is the 6x6 ring of rows 4..9 x cols 4..9 (20 pixels):
    # row 4 and col 4 differ from their lower/right neighbours, row 9 and col 9 from outside.
    bg, bp = boundary_maps(gt)[0], boundary_maps(pred)[0]
    assert bg.sum() == bp.sum() == 20
    assert bg[4, 4:10].all() and bg[9, 4:10].all() and bg[4:10, 4].all() and bg[4:10, 9].all()
    matched = sum(1 for y, x in zip(*np.nonzero(bp))
                  if any(abs(y - v) ** 2 + abs(x - u) ** 2 <= 1 for v, u in zip(*np.nonzero(bg))))
    precision = recall = matched / 20
    assert boundary_f(pred, gt, radius=1).tolist() == [pytest.approx(precision)]
    assert precision == recall


def test_decay_bins_worked_example() -> None:
    # n = 10: linspace(1, 10, 5) = 1, 3.25, 5.5, 7.75, 10 -> round -> 1, 3, 6, 8, 10 -> minus 1
    assert decay_bins(10) == [(0, 2), (2, 5), (5, 7), (7, 9)]
    values = np.arange(10, dtype=float) / 10
    mean, recall, decay = statistics(values)
    assert mean == pytest.approx(0.45)
    assert recall == pytest.approx(0.4)  # 0.6, 0.7, 0.8, 0.9
    assert decay == pytest.approx(np.mean([0.0, 0.1, 0.2]) - np.mean([0.7, 0.8, 0.9]))


def test_decay_bins_long_sequences_use_true_edges() -> None:
    assert decay_bins(300)[-1] == (224, 299)


def test_void_k_padding_ids_above_k_and_missing_objects() -> None:
    gt = np.zeros((4, 6, 6), np.uint8)
    gt[:, 0:2, 0:2] = 1
    gt[:, 3:5, 3:5] = 2
    gt[:, 5, :] = 255            # void becomes background
    gt[1:, 0:2, 4:6] = 3         # id 3 is above K = 2 after frame 0: background
    pred = np.zeros((2, 6, 6), np.uint8)
    pred[:, 0:2, 0:2] = 1        # object 2 never predicted: K padding with empty masks
    table = score_sequence("seq", gt, pred, ["00001", "00002"])
    assert sorted(table["object"].unique()) == [1, 2]
    assert table[table.object == 1]["J"].tolist() == [1.0, 1.0]
    assert table[table.object == 2]["J"].tolist() == [0.0, 0.0]
    assert table[table.object == 2]["F"].tolist() == [0.0, 0.0]


def test_prediction_id_above_k_is_an_error() -> None:
    gt = np.zeros((3, 4, 4), np.uint8)
    gt[:, :2, :2] = 1
    pred = np.full((1, 4, 4), 2, np.uint8)
    with pytest.raises(DataError, match=r"predicted object id 2 .* has only 1 object\.$"):
        score_sequence("seq", gt, pred, ["00001"])
    gt[:, 3, 3] = 2
    with pytest.raises(DataError, match=r"predicted object id 3 .* has only 2 objects\.$"):
        score_sequence("seq", gt, pred + 1, ["00001"])


# ---------------------------------------------------------------- independent slow reference
def slow_j_and_f(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """Per-pixel Python implementation of one frame's J and F, written from the definitions."""
    height, width = gt.shape
    inter = union = 0
    for y in range(height):
        for x in range(width):
            inter += bool(pred[y, x] and gt[y, x])
            union += bool(pred[y, x] or gt[y, x])
    j = 1.0 if union == 0 else inter / union

    def boundary(mask):
        points = set()
        for y in range(height):
            for x in range(width):
                for dy, dx in ((0, 1), (1, 0), (1, 1)):
                    if y + dy < height and x + dx < width and mask[y, x] != mask[y + dy, x + dx]:
                        points.add((y, x))
        return points

    d = math.ceil(0.008 * math.sqrt(height**2 + width**2))
    bp, bg = boundary(pred), boundary(gt)

    def near(point, others):
        return any((point[0] - o[0]) ** 2 + (point[1] - o[1]) ** 2 <= d * d for o in others)

    if not bp and not bg:
        return j, 1.0
    if not bp or not bg:
        return j, 0.0
    precision = sum(near(p, bg) for p in bp) / len(bp)
    recall = sum(near(g, bp) for g in bg) / len(bg)
    f = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return j, f


@pytest.mark.parametrize("seed", [int(s) for s in np.random.SeedSequence().generate_state(3)])
def test_random_masks_match_slow_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gt = moving_ellipses(rng, 3, 23, 31, 2)
    pred = perturb(rng, gt, 2)
    for obj in (1, 2):
        j = jaccard(pred == obj, gt == obj)
        f = boundary_f(pred == obj, gt == obj)
        for t in range(3):
            expected = slow_j_and_f(pred[t] == obj, gt[t] == obj)
            assert (j[t], f[t]) == pytest.approx(expected, abs=1e-12), f"seed {seed}"


@pytest.mark.parametrize("seed", [int(s) for s in np.random.SeedSequence().generate_state(3)])
def test_cropped_label_scores_equal_full_frame_masks(seed: int) -> None:
    """label_scores crops each frame and object; the full-frame per-mask functions do not. Random
    id maps with objects on every border, void, ids above K and objects absent from some frames."""
    rng = np.random.default_rng(seed)
    gt = moving_ellipses(rng, 6, 37, 53, 4, void=True)
    pred = perturb(rng, gt, 4)
    gt[:, 0, rng.integers(0, 53, 5)] = 2            # objects touching the top border,
    pred[:, -3:, -4:] = 1                            # the bottom-right corner,
    gt[:, 10:14, -1] = 3                             # and the right border
    gt[2][gt[2] == 1] = 0                            # object 1 absent from frame 2 of the ground truth
    pred[4][pred[4] == 4] = 0                        # and object 4 from frame 4 of the prediction
    pred[5] = 0                                      # an empty prediction
    gt[:, 30:33, 5:9] = 6                            # an id above K = 4
    j, f = label_scores(list(pred), gt, num_objects=4)
    for obj in range(1, 5):
        np.testing.assert_array_equal(j[obj - 1], jaccard(pred == obj, gt == obj), err_msg=f"J {seed} {obj}")
        np.testing.assert_array_equal(f[obj - 1], boundary_f(pred == obj, gt == obj), err_msg=f"F {seed} {obj}")
    # object 1 is absent from frame 2 of the ground truth: J and F are 1 if the prediction has no
    # pixel of it either, else 0 (the official convention)
    expected = 0.0 if (pred[2] == 1).any() else 1.0
    assert j[0, 2] == expected and f[0, 2] == expected
    assert np.all(j[:, 5][[(gt[5] == k).any() for k in range(1, 5)]] == 0)


# ---------------------------------------------------------------- vos-benchmark and the official code
@pytest.mark.skipif(importlib.util.find_spec("vos_benchmark") is None, reason="vos-benchmark not installed")
def test_agrees_with_vos_benchmark_per_object_frame() -> None:
    """vos-benchmark scores 255 as an object and starts objects where they first appear, so
    compare on data without void whose objects all appear in the first scored frame."""
    from vos_benchmark.evaluator import Evaluator

    rng = np.random.default_rng()
    compared = 0
    for _ in range(3):
        gt = moving_ellipses(rng, 8, 48, 80, 3)
        pred = perturb(rng, gt, 3)
        num_objects = int(gt[0].max())
        pred[pred > num_objects] = 0
        present = [k for k in range(1, num_objects + 1) if (gt[1] == k).any()]
        ours = score_sequence("s", gt, pred[1:-1], [f"{t:05d}" for t in range(1, 7)])
        evaluator = Evaluator()
        for t in range(1, 7):
            evaluator.feed_frame(pred[t], np.where(gt[t] > num_objects, 0, gt[t]))
        for k in present:
            rows = ours[ours.object == k]
            np.testing.assert_allclose(rows["J"], evaluator.object_iou[k], rtol=0, atol=1e-12)
            np.testing.assert_allclose(rows["F"], evaluator.boundary_f[k], rtol=0, atol=1e-12)
            compared += len(rows)
    assert compared > 0


@pytest.mark.skipif(importlib.util.find_spec("davis2017") is None, reason="official davis2017 package not installed")
def test_evaluate_results_identical_to_official_tool(tmp_path: Path) -> None:
    from rpmbench.evaluation.official import evaluate_with_official

    root, results = _fixture(tmp_path, np.random.default_rng(7))
    ours = evaluate_results(root, results, workers=1, output_dir=tmp_path / "ours", progress=False)
    official = evaluate_with_official(root, results, output_dir=tmp_path / "official")
    assert ours.global_metrics == pytest.approx(official.global_metrics, abs=1e-12)
    for name in ("global_results-val.csv", "per-sequence_results-val.csv"):
        assert (tmp_path / "ours" / name).read_text() == (tmp_path / "official" / name).read_text()


# ---------------------------------------------------------------- the results-folder driver
def _fixture(tmp_path: Path, rng: np.random.Generator, sequences: int = 3) -> tuple[Path, Path]:
    gts = {f"seq{i}": moving_ellipses(rng, 7, 30, 44, 1 + i % 3, void=i % 2 == 0) for i in range(sequences)}
    preds = {}
    for name, gt in gts.items():
        pred = perturb(rng, gt, 3)
        pred[pred > np.where(gt[0] == 255, 0, gt[0]).max()] = 0
        preds[name] = pred
    return write_davis(tmp_path / "davis", gts), write_predictions(tmp_path / "results", preds)


def test_evaluate_results_files_and_workers(tmp_path: Path) -> None:
    root, results = _fixture(tmp_path, np.random.default_rng(1))
    (results / "global_results-val.csv").write_text("J&F-Mean\n0.999\n")  # stale: must be replaced
    single = evaluate_results(root, results, workers=1, progress=False)
    parallel = evaluate_results(root, results, workers=2, output_dir=tmp_path / "p", progress=False)
    assert single.global_metrics == parallel.global_metrics
    table = pd.read_csv(results / "global_results-val.csv")
    assert list(table.columns) == ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]
    assert table.iloc[0]["J&F-Mean"] == pytest.approx(round(single.global_metrics["J&F-Mean"], 3))
    per_seq = pd.read_csv(results / "per-sequence_results-val.csv")
    assert list(per_seq.columns) == ["Sequence", "J-Mean", "F-Mean"]
    assert per_seq["Sequence"].tolist()[0] == "seq0_1"
    per_frame = pd.read_csv(results / "per-frame_results-val.csv")
    assert len(per_frame) == sum(5 * k for k in (1, 2, 3))
    assert not list(results.glob("*.tmp")) and not list(results.glob(".*"))


def test_missing_and_bad_predictions_raise(tmp_path: Path) -> None:
    root, results = _fixture(tmp_path, np.random.default_rng(2))
    (results / "seq1" / "00003.png").unlink()
    with pytest.raises(DataError, match=r"seq1/00003.png: prediction missing"):
        evaluate_results(root, results, progress=False)
    write_palette_png(results / "seq1" / "00003.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match="prediction is 10x10 but the ground truth is 44x30"):
        evaluate_results(root, results, progress=False)
    from PIL import Image
    Image.new("RGB", (44, 30)).save(results / "seq1" / "00003.png")
    with pytest.raises(DataError, match="not a palette PNG"):
        evaluate_results(root, results, progress=False)
    (results / "seq1" / "00003.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="corrupt"):
        evaluate_results(root, results, progress=False)
    assert not (results / "global_results-val.csv").exists()
