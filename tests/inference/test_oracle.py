"""The oracle: the paper's t-1 warp moved by the ground-truth flow (the protocol's ceiling)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from davis_fixtures import write_davis
from rpmbench.data.flow import write_sequence_flow
from rpmbench.errors import ConfigError
from rpmbench.evaluation import evaluate_results
from rpmbench.experiments.presets import load_grid_config
from rpmbench.inference.baselines import run_baseline, truth_on_grid


def test_truth_on_grid_averages_valid_pixels_by_hand() -> None:
    """A 4x4 frame onto a 2x2 grid: each cell's mean over its valid pixels, in grid pixels, (dy, dx)."""
    flow = np.zeros((4, 4, 2), np.float32)
    flow[:2, :2] = (8, 4)       # top-left cell: dx 8, dy 4 image px on all four pixels
    flow[0, 2] = (2, 2)         # top-right cell: one valid pixel (2, 2), three invalid ones
    flow[0, 3] = (100, 100)
    valid = np.ones((4, 4), bool)
    valid[0, 3] = valid[1, 2] = valid[1, 3] = False
    valid[2:, :2] = False       # bottom-left cell: nothing valid -> 0
    grid = truth_on_grid(flow, valid, (2, 2))
    expected = torch.tensor([[[4 / 2, 2 / 2], [0, 0]], [[8 / 2, 2 / 2], [0, 0]]])  # (dy, dx), halved
    torch.testing.assert_close(grid[0], expected)


@pytest.fixture(scope="module")
def sliding_square(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A square sliding 6 image pixels right per frame, its exact flow stored (valid everywhere)."""
    masks = np.zeros((6, 48, 64), np.uint8)
    for t in range(6):
        masks[t, 16:32, 8 + 6 * t:24 + 6 * t] = 1
    root = write_davis(tmp_path_factory.mktemp("oracle"), {"square": masks})
    flow = np.zeros((6, 48, 64, 2), np.float32)
    flow[..., 0] = -6.0  # each pixel of frame t was 6 pixels to the left in frame t-1
    write_sequence_flow(root, "480p", "square", flow, np.ones((6, 48, 64), bool))
    return root


def test_oracle_follows_the_true_motion_and_copy_previous_does_not(sliding_square: Path, tmp_path: Path) -> None:
    scores = {}
    for name in ("oracle-flow", "copy-previous"):
        run_baseline(name, sliding_square, "val", tmp_path / name, progress=False)
        scores[name] = evaluate_results(sliding_square, tmp_path / name, "val", progress=False).global_metrics
    assert scores["oracle-flow"]["J-Mean"] > 0.9 > scores["copy-previous"]["J-Mean"]


def test_oracle_needs_ground_truth(tmp_path: Path) -> None:
    rng_masks = np.zeros((3, 16, 16), np.uint8)
    rng_masks[:, 4:8, 4:8] = 1
    root = write_davis(tmp_path / "d", {"a": rng_masks})
    with pytest.raises(ConfigError, match="needs ground-truth flow"):
        run_baseline("oracle-flow", root, "val", tmp_path / "out", progress=False)
    with pytest.raises(ConfigError, match="only the built-in"):
        load_grid_config("smoke", overrides={"data.source": "davis", "data.davis_root": str(root),
                                             "baselines": ["oracle-flow"]})
