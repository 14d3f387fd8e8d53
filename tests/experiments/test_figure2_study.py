"""Figure 2's measurement: PCA colours, the carried target, and a panel's points from a model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rpmbench.errors import ConfigError
from rpmbench.experiments.studies.figure2 import (
    bilinear,
    carry_target,
    feature_to_image,
    image_to_feature,
    on_object,
    pca_rgb,
    sequence_panel,
    start_target,
    target_pixel,
)
from rpmbench.inference.propagate import PropagationConfig, propagate_sequence


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


def test_feature_to_image_round_trip() -> None:
    assert feature_to_image(np.array([0.0, 2.0])).tolist() == [1.5, 9.5]
    coords = np.random.default_rng(0).uniform(0, 50, (5, 2))
    assert np.allclose(image_to_feature(feature_to_image(coords)), coords)


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


def test_on_object_checks_the_target_pixel_against_the_masks() -> None:
    annotations = np.zeros((3, 16, 24), np.uint8)
    annotations[:, 4:12, 8:20] = 1
    targets = [np.array([0.0, 0.0]), np.array([1.0, 3.0]), np.array([2.2, 3.8])]
    assert on_object(targets, annotations, 1) == [False, True, True]  # (1, 3) and (2, 4) are inside, (0, 0) not
    assert on_object(targets, annotations, 2) == [False, False, False]


def test_a_panel_draws_where_propagation_samples_for_the_carried_target(moving_model) -> None:
    """The panel's points are the propagation's own sampling locations at the carried target's pixel."""
    model = moving_model
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (4, 32, 48, 3), dtype=np.uint8)
    annotations = np.zeros((4, 32, 48), np.uint8)
    annotations[:, 8:20, 10:30] = 1
    config = PropagationConfig()
    panel = sequence_panel(model, config, "seq", frames, annotations, [1, 3])
    expected = propagate_sequence(model, frames, annotations[0], config, return_sampling=True)
    carried = carry_target([layers[-1] for layers in expected.sampling], start_target(annotations[0], 1))
    assert np.array_equal(panel.carried, np.stack(carried)) and panel.carried.shape == (4, 2)
    assert panel.taps.shape == (2, 3, 9, 2) and panel.warps.shape == (2, 2) and panel.embeddings.shape == (2, 2, 8, 12, 3)
    for col, t in enumerate([1, 3]):
        y, x = target_pixel(carried[t])
        assert panel.targets[col].tolist() == [4 * y + 1.5, 4 * x + 1.5]
        *matching, warp = expected.sampling[t - 1]
        assert np.array_equal(panel.taps[col], feature_to_image(torch.stack(matching)[:, 0, :, y, x].numpy()))
        assert np.array_equal(panel.warps[col], feature_to_image(warp[0, 0, y, x].numpy()))
    colours = pca_rgb([expected.features[t] for t in (1, 3)] + [expected.features[t - 1] for t in (1, 3)])
    assert np.allclose(panel.embeddings[1, 0], colours[3]) and np.allclose(panel.embeddings[1, 1], colours[1])
    assert panel.on_object == on_object(carried, annotations, 1)
    with pytest.raises(ConfigError, match="outside 1..3"):
        sequence_panel(model, config, "seq", frames, annotations, [0, 4])
