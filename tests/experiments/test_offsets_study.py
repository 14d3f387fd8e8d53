"""The offsets study: offset magnitudes and layer 109's distance to the true correspondence, on known
motions, and end to end through the spine and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rpmbench.experiments.studies.offsets import (
    centroid_motion,
    correspondence_errors,
    object_feature_pixels,
    offset_magnitudes,
)
from rpmbench.ops import sampling_locations


def test_offset_magnitudes_are_the_norms_of_the_offsets_given() -> None:
    offset = torch.randn(1, 18, 5, 7, dtype=torch.float64)
    sampling = sampling_locations(offset, 3, 1, 1, 1)[:, 0]
    expected = offset.view(1, 9, 2, 5, 7).permute(0, 1, 3, 4, 2).norm(dim=-1).flatten()  # (dy, dx) per tap
    assert torch.allclose(offset_magnitudes(sampling), expected)
    assert offset_magnitudes(sampling_locations(torch.zeros(1, 18, 4, 4), 3, 1, 1, 1)[:, 0]).abs().max() == 0


def test_centroid_motion_and_its_rejections() -> None:
    previous = np.zeros((40, 60), bool)
    previous[5:15, 10:30] = True
    current = np.roll(previous, (3, -7), axis=(0, 1))
    assert centroid_motion(previous, current, 0.2).tolist() == [3.0, -7.0]
    half = previous.copy()
    half[5:10] = False
    assert centroid_motion(previous, half, 0.2) is None  # area halved: occlusion or exit
    assert centroid_motion(previous, np.zeros_like(previous), 0.2) is None


def test_object_feature_pixels_are_the_mostly_covered_blocks() -> None:
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True  # feature pixel (1, 1) exactly
    mask[8:10, 8:12] = True  # 8 of the 16 pixels of feature pixel (2, 2)
    pixels = {tuple(p) for p in object_feature_pixels(mask).tolist()}
    assert (1, 1) in pixels and (2, 2) in pixels and (0, 0) not in pixels


def test_correspondence_errors_are_zero_for_the_true_flow_and_the_motion_for_zero_flow() -> None:
    rng = np.random.default_rng(0)
    dy, dx = (int(v) for v in rng.integers(-7, 8, 2))  # no wrap-around of np.roll; any sub-pixel shift
    previous = np.zeros((64, 96), np.uint8)
    previous[20:40, 30:60] = 1
    previous[44:56, 8:20] = 2
    previous[0:8, 0:8] = 255  # void is ignored
    current = np.roll(np.where(previous == 255, 0, previous), (dy, dx), axis=(0, 1))
    grid = torch.stack(torch.meshgrid(torch.arange(16.0), torch.arange(24.0), indexing="ij"), dim=-1)
    true_warp = (grid - torch.tensor([dy / 4, dx / 4])).view(1, 1, 16, 24, 2)
    learned, zero = correspondence_errors(true_warp, previous, current)
    assert learned.size == zero.size > 0 and np.allclose(learned, 0)
    assert np.allclose(zero, np.hypot(dy, dx))
    still, _ = correspondence_errors(grid.view(1, 1, 16, 24, 2), previous, current)
    assert np.allclose(still, np.hypot(dy, dx))  # the identity warp is zero flow


def test_untrained_snapshots_measure_zero_offsets_and_zero_flow_end_to_end(root: Path, tmp_path: Path) -> None:
    # Step 0 is the seeded, untrained model: its zero-initialised offsets and flow layer make every
    # offset 0 and layer 109's error zero flow's, through the command line (specs -> spine -> CSV/MD).
    from rpmbench.cli import main

    settings = {"backbones": "[resnet18]", "data.source": "davis", "data.davis_root": str(root),
                "propagation.scale": 1.0, "train.short_side": "null", "train.model.backend": "reference",
                "train.batch_size": 2}
    sets = [argument for key, value in settings.items() for argument in ("--set", f"{key}={value}")]
    out = tmp_path / "figures" / "offsets"
    assert main(["offsets", "--preset", "smoke", *sets, "--variants", "deformable-l3", "standard-l3",
                 "--seeds", "4", "--steps", "0", "1", "--run-dir", str(tmp_path / "run"), "--out", str(out), "--no-progress"]) == 0
    table = pd.read_csv(out.with_suffix(".csv"))
    untrained = table[table["steps"] == 0]
    offsets = untrained[untrained["measure"] == "offset magnitude"]
    assert offsets["variant"].tolist() == ["deformable-l3"] * 3 and (offsets[["mean_px", "p90_px"]] == 0).all().all()
    for _, part in untrained.groupby("variant"):
        learned = part[part["measure"] == "distance to true correspondence"].iloc[0]
        zero = part[part["measure"] == "distance to true correspondence, zero flow"].iloc[0]
        assert learned["count"] == zero["count"] > 0
        assert np.isclose(learned["mean_px"], zero["mean_px"]) and np.isclose(learned["p90_px"], zero["p90_px"])
    assert set(table["steps"]) == {0, 1} and set(table["seed"]) == {4}
    # J&F is each spec's published cell result: the untrained models propagate as zero flow both
    scores = table[table["measure"] == "val J&F (percent)"]
    assert len(scores) == 4 and scores["count"].eq(3).all() and scores["mean_px"].between(0, 100).all()
    assert scores[scores["steps"] == 0]["mean_px"].nunique() == 1
    cells = [json.loads(path.read_text()) for path in (tmp_path / "run" / "cells").glob("*.json")]
    assert np.allclose(sorted(100 * cell["metrics"]["J&F-Mean"] for cell in cells), sorted(scores["mean_px"]),
                       atol=1e-4, rtol=0)  # the CSV keeps 4 decimals
    assert out.with_suffix(".md").read_text().count("\n") == 6
    # a rerun reuses every result and measurement: nothing is trained or measured again
    measured = sorted((tmp_path / "run" / "offsets").glob("*.json"))
    stamps = [path.stat().st_mtime_ns for path in measured]
    assert main(["offsets", "--preset", "smoke", *sets, "--variants", "deformable-l3", "standard-l3",
                 "--seeds", "4", "--steps", "0", "1", "--run-dir", str(tmp_path / "run"), "--out", str(out), "--no-progress"]) == 0
    assert len(measured) == 4 and [path.stat().st_mtime_ns for path in measured] == stamps
    pd.testing.assert_frame_equal(pd.read_csv(out.with_suffix(".csv")), table)


def test_a_set_with_ground_truth_flow_adds_layer_109s_exact_error(root: Path, tmp_path: Path) -> None:
    """On a set with ground-truth flow each model's row block carries its cell's exact end-point
    error (the published ``flow_metrics``), and the Markdown shows it."""
    import shutil

    from rpmbench.cli import main
    from rpmbench.data.davis import DavisDataset
    from rpmbench.data.flow import write_sequence_flow

    davis = Path(shutil.copytree(root, tmp_path / "davis"))
    rng = np.random.default_rng(1)
    for sequence in DavisDataset(davis, "val").sequences:
        write_sequence_flow(davis, "480p", sequence, rng.normal(0, 3, (6, 40, 56, 2)).astype(np.float32),
                            np.ones((6, 40, 56), bool))
    settings = {"backbones": "[resnet18]", "data.source": "davis", "data.davis_root": str(davis),
                "propagation.scale": 1.0, "train.short_side": "null", "train.model.backend": "reference",
                "train.batch_size": 2}
    sets = [argument for key, value in settings.items() for argument in ("--set", f"{key}={value}")]
    out = tmp_path / "offsets"
    assert main(["offsets", "--preset", "smoke", *sets, "--variants", "standard-l3", "--seeds", "0",
                 "--steps", "1", "--run-dir", str(tmp_path / "run"), "--out", str(out), "--no-progress"]) == 0
    table = pd.read_csv(out.with_suffix(".csv"))
    exact = table[table["measure"] == "end-point error against the ground-truth flow"]
    cell, = (json.loads(path.read_text()) for path in (tmp_path / "run" / "cells").glob("*.json"))
    assert len(exact) == 1 and exact["count"].iloc[0] == cell["flow_metrics"]["pixels"] > 0
    assert np.isclose(exact["mean_px"].iloc[0], cell["flow_metrics"]["epe_image_px"], atol=1e-4, rtol=0)
    row = out.with_suffix(".md").read_text().splitlines()[2]
    assert row.endswith(f"| {cell['flow_metrics']['epe_image_px']:.2f} |")
