"""The notebooks' plotting helpers on inputs with known answers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import torch

from rpmbench.errors import ConfigError
from rpmbench.viz.figure2 import (
    ZOOM,
    SequencePanel,
    bilinear,
    carry_target,
    feature_to_image,
    image_to_feature,
    on_object,
    pca_rgb,
    plot_figure2,
    start_target,
    target_pixel,
    target_sampling_points,
    zoom_window,
)
from rpmbench.viz.table2 import beats_copy_previous, model_cells, plot_table2, side_by_side


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
    coords = np.random.default_rng(0).uniform(0, 50, (5, 2))
    assert np.allclose(image_to_feature(feature_to_image(coords)), coords)
    layer = torch.zeros(1, 9, 3, 3, 2)
    layer[0, :, 1, 2] = torch.tensor([[1.0, 2.0]] * 9)
    points = target_sampling_points([layer], (1, 2))
    assert points[0].shape == (9, 2) and points[0][0].tolist() == [5.5, 9.5]


def _grid(h: int, w: int) -> torch.Tensor:
    return torch.stack(torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij"), dim=-1)


def test_carry_target_adds_up_sub_pixel_motion_and_ignores_the_ground_truth() -> None:
    # An object moving by (+0.3, -0.45) feature pixels per frame: layer 109 of frame t samples p - motion.
    h, w = 12, 16
    motion = torch.tensor([0.3, -0.45])
    warps = [(_grid(h, w) - motion).view(1, 1, h, w, 2) for _ in range(10)]
    targets = carry_target(warps, (2.0, 9.0))
    expected = [np.array([2.0, 9.0]) + t * motion.numpy() for t in range(11)]
    assert np.allclose(np.stack(targets), np.stack(expected), atol=1e-6)
    assert target_pixel(targets[9]) == (5, 5)  # (4.7, 4.95)


def test_carry_target_inverts_a_smooth_non_uniform_flow() -> None:
    # flow(q) = a * q (a zoom about the origin): q + a q = previous  =>  q = previous / (1 + a).
    h, w, a = 20, 20, 0.05
    grid = _grid(h, w)
    warps = [(grid * (1 + a)).view(1, 1, h, w, 2)]
    start = np.random.default_rng(0).uniform(2, 15, 2)
    assert np.allclose(carry_target(warps, tuple(start), iterations=30)[1], start / (1 + a), atol=1e-6)


def test_bilinear_matches_a_linear_field_and_clamps() -> None:
    field = np.stack(np.mgrid[:4, :5], axis=-1).astype(float) @ np.array([[2.0, 0.0], [0.0, -1.0]])
    assert np.allclose(bilinear(field, np.array([1.25, 2.5])), [2.5, -2.5])
    assert np.allclose(bilinear(field, np.array([-3.0, 9.0])), field[0, 4])


def test_start_target_sits_inside_a_ring_whose_centroid_is_outside() -> None:
    yy, xx = np.mgrid[:40, :40]
    radius = np.hypot(yy - 20, xx - 20)
    mask = ((radius > 10) & (radius < 18)).astype(np.uint8) * 2
    y, x = start_target(mask, 2)
    block = mask[4 * y:4 * y + 4, 4 * x:4 * x + 4]
    assert (block == 2).mean() >= 0.5
    with pytest.raises(ConfigError, match="object 1"):
        start_target(mask, 1)


def test_zoom_window_keeps_its_size_and_stays_inside_the_image() -> None:
    for centre in [(0.0, 0.0), (60.0, 100.0), (127.0, 223.0)]:
        top, bottom, left, right = zoom_window(centre, (128, 224))
        assert bottom - top == 2 * ZOOM[0] and right - left == 2 * ZOOM[1]
        assert top >= -0.5 and bottom <= 127.5 and left >= -0.5 and right <= 223.5
    top, _, left, _ = zoom_window((60.0, 100.0), (128, 224))
    assert (top, left) == (60 - ZOOM[0], 100 - ZOOM[1])


def test_figure2_rows_show_the_target_and_its_sampling_locations() -> None:
    frames = np.zeros((3, 16, 24, 3), np.uint8)
    annotations = np.zeros((3, 16, 24), np.uint8)
    annotations[:, 4:12, 8:20] = 1
    features = [torch.randn(32, 4, 6) for _ in range(3)]
    grid = _grid(4, 6)
    matching = [grid.expand(1, 9, 4, 6, 2) + 0.5 * k for k in range(3)]  # layers 106-108
    warp = (grid + torch.tensor([1.0, -2.0])).expand(1, 1, 4, 6, 2)  # layer 109: flow (1, -2)
    panel = SequencePanel("seq", frames, features, [matching + [warp]] * 2, [(0, 0), (1, 3), (2, 4)], [1, 2],
                          annotations)
    figure = plot_figure2([panel, panel])
    axes = np.array(figure.axes).reshape(8, 2)
    # row 3: target plus 3 layers' points in frame t; row 4: target and layer 109's point in frame t-1
    assert len(axes[2, 0].collections) >= 4 and len(axes[3, 0].collections) >= 2
    star = axes[3, 0].collections[-1].get_offsets()[0]
    assert star.tolist() == [(3 - 2) * 4 + 1.5, (1 + 1) * 4 + 1.5]  # (x, y) in image pixels
    assert all(c.get_edgecolor()[0].tolist() == [0, 0, 0, 1] for c in axes[2, 0].collections[-4:])
    assert axes[2, 1].get_title() == "frame 2: layers 106-108 (zoom)"
    assert axes[7, 1].get_title() == "frame 1: layer 109 (zoom)"
    assert on_object(panel) == [False, True, True]  # (1, 3) and (2, 4) are inside the object, (0, 0) not
    assert axes[0, 0].get_title() == "seq: frames 0 + 1\ntarget on object in 2/3 frames"
    with pytest.raises(ConfigError):
        plot_figure2([])


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "row": ["deformable-l3", "deformable-l3", "dcn-v2", "copy-previous", "pixels"],
        "backbone": ["resnet18", "resnet34", "resnet18", None, None],
        "seeds": [3, 1, 1, 1, 1],
        "J&F": [40.0, 25.0, 30.0, 27.0, 35.0], "J_std": [2.0, np.nan, np.nan, np.nan, np.nan],
        "F_std": [1.0, np.nan, np.nan, np.nan, np.nan],
        "paper_J": [32.9, 34.6, np.nan, np.nan, np.nan], "paper_F": [36.2, 37.5, np.nan, np.nan, np.nan]})


def test_table2_side_by_side_blocks_and_copy_previous() -> None:
    table = _table()
    wide = side_by_side(table)
    assert wide.loc["deformable-l3", ("resnet18", "paper_J&F")] == (32.9 + 36.2) / 2
    assert wide.loc["deformable-l3", ("resnet34", "diff_J&F")] == 25.0 - (34.6 + 37.5) / 2
    cells = model_cells(table)
    assert cells["block"].tolist() == ["paper", "paper", "beyond the paper"]
    assert cells["J&F_std"].iloc[0] == 1.5  # (J_std + F_std) / 2 without a J&F_std column
    assert beats_copy_previous(table).tolist() == [True, False, True]
    with_block = table.assign(block=["paper", "paper", "beyond", "baseline", "baseline"], **{"J&F_std": 0.7})
    assert model_cells(with_block)["J&F_std"].iloc[0] == 0.7
    assert model_cells(with_block)["block"].tolist() == ["paper", "paper", "beyond the paper"]
    with pytest.raises(ConfigError, match="J&F"):
        model_cells(table.drop(columns=["J&F"]))


def test_table2_plot_draws_baselines_error_bars_and_the_beyond_block() -> None:
    figure = plot_table2(_table())
    axes = np.array(figure.axes).reshape(2, 2)
    assert axes[1, 0].get_title() == "resnet18 (beyond the paper)"
    lines = {round(line.get_ydata()[0], 3) for line in axes[0, 0].lines}
    assert {27.0, 35.0} <= lines  # copy-previous and pixels as horizontal lines
    bars = axes[0, 0].patches
    assert bars[0].get_hatch() is None and axes[0, 1].patches[0].get_hatch() == "////"
    assert len(axes[0, 0].containers) >= 2  # bars plus an error bar (3 seeds)
