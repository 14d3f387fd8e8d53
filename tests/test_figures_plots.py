"""The notebooks' plotting helpers on inputs with known answers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import torch

from rpmbench.figures.figure2 import feature_to_image, pca_rgb, plot_figure2, target_sampling_points
from rpmbench.figures.table2 import plot_table2, side_by_side


def test_pca_of_rank_one_features_varies_only_along_the_first_component() -> None:
    pattern = torch.linspace(0, 1, 12).view(3, 4)
    direction = torch.randn(8)
    features = [direction.view(8, 1, 1) * pattern, direction.view(8, 1, 1) * (1 - pattern)]
    images = pca_rgb(features)
    assert images[0].shape == (3, 4, 3)
    stacked = np.concatenate([i.reshape(-1, 3) for i in images])
    assert stacked.min() >= 0 and stacked.max() <= 1
    first = stacked[:, 0]
    assert np.isclose(abs(np.corrcoef(first, np.concatenate([pattern.flatten(), 1 - pattern.flatten()]))[0, 1]), 1)


def test_feature_to_image_and_sampling_points() -> None:
    assert feature_to_image(np.array([0.0, 2.0])).tolist() == [1.5, 9.5]
    layer = torch.zeros(1, 9, 3, 3, 2)
    layer[0, :, 1, 2] = torch.tensor([[1.0, 2.0]] * 9)
    points = target_sampling_points([layer], (1, 2))
    assert points[0].shape == (9, 2) and points[0][0].tolist() == [5.5, 9.5]


def test_figure2_rows_show_the_target_and_its_sampling_locations() -> None:
    frames = np.zeros((3, 16, 24, 3), np.uint8)
    features = [torch.randn(32, 4, 6) for _ in range(3)]
    grid = torch.stack(torch.meshgrid(torch.arange(4.0), torch.arange(6.0), indexing="ij"), dim=-1)
    matching = [grid.expand(1, 9, 4, 6, 2) + 0.5 * k for k in range(3)]  # layers 106-108
    warp = (grid + torch.tensor([1.0, -2.0])).expand(1, 1, 4, 6, 2)  # layer 109: flow (1, -2)
    figure = plot_figure2(frames, features, [matching + [warp]] * 2, targets=[(1, 3), (2, 4)], columns=[1, 2])
    axes = np.array(figure.axes[:8]).reshape(4, 2)
    # row 3: target plus 3 layers' points in frame t; row 4: target and layer 109's point in frame t-1
    assert len(axes[2, 0].collections) == 4 and len(axes[3, 0].collections) == 2
    star = axes[3, 0].collections[-1].get_offsets()[0]
    assert star.tolist() == [(3 - 2) * 4 + 1.5, (1 + 1) * 4 + 1.5]  # (x, y) in image pixels
    assert axes[2, 1].get_title() == "frame 2: layers 106-108" and axes[3, 1].get_title() == "frame 1: layer 109"


def test_table2_side_by_side_and_plot() -> None:
    table = pd.DataFrame({
        "row": ["deformable-l3", "deformable-l3", "copy-first"], "backbone": ["resnet18", "resnet34", None],
        "J&F": [40.0, 42.0, 20.0], "paper_J": [32.9, 34.6, np.nan], "paper_F": [36.2, 37.5, np.nan]})
    wide = side_by_side(table)
    assert wide.loc["deformable-l3", ("resnet18", "paper_J&F")] == (32.9 + 36.2) / 2
    assert wide.loc["deformable-l3", ("resnet34", "diff_J&F")] == 42.0 - (34.6 + 37.5) / 2
    assert len(plot_table2(table).axes) == 2
