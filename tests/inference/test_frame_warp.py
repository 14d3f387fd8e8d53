"""Full-resolution warping (``warp_resolution="frame"``): flow upsampled x4, mask warped at frame size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rpmbench.errors import ConfigError
from rpmbench.inference.baselines import baseline_masks
from rpmbench.inference.propagate import PropagationConfig, propagate_sequence, upsample_flow
from rpmbench.models import build_rpmnet


def test_upsample_flow_scales_by_the_size_ratio() -> None:
    flow = torch.zeros(1, 2, 3, 5)
    flow[:, 0], flow[:, 1] = 1.0, -2.0  # one feature pixel down, two left
    full = upsample_flow(flow, (12, 20))
    assert full.shape == (1, 2, 12, 20)
    assert torch.allclose(full[:, 0], torch.full((1, 12, 20), 4.0))
    assert torch.allclose(full[:, 1], torch.full((1, 12, 20), -8.0))


def test_untrained_model_at_frame_resolution_keeps_the_mask_exactly() -> None:
    """A fresh model predicts zero flow: at H/4 the round trip rounds the object's corners, at
    the frame size nothing moves (the copy-first result, with void as background)."""
    model = build_rpmnet("resnet18", backend="reference").eval()
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 40, 3), dtype=np.uint8)
    first = np.zeros((32, 40), np.uint8)
    first[5:19, 7:22] = 1  # not aligned with the 4x4 cells
    first[0:2, 0:3] = 255
    config = PropagationConfig(warp_resolution="frame")
    masks = propagate_sequence(model, frames, first, config).masks
    assert np.array_equal(masks, baseline_masks("copy-first", frames, first))
    feature = propagate_sequence(model, frames, first).masks
    assert not np.array_equal(feature[1], masks[1])


def test_optical_flow_at_frame_resolution_moves_a_textured_square_by_its_motion() -> None:
    """A textured square shifted by 3 pixels per frame (not a multiple of 4) lands on its
    ground truth up to a few boundary pixels at the frame size."""
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    frames = np.full((3, 48, 64, 3), 128, np.uint8)
    gt = np.zeros((3, 48, 64), np.uint8)
    for t in range(3):
        frames[t, 16:32, 10 + 3 * t:26 + 3 * t] = texture
        gt[t, 16:32, 10 + 3 * t:26 + 3 * t] = 1
    masks = baseline_masks("optical-flow", frames, gt[0], PropagationConfig(warp_resolution="frame"))
    assert all(np.count_nonzero(masks[t] != gt[t]) < 40 for t in (1, 2))
    with pytest.raises(ConfigError, match="flow baselines only"):
        baseline_masks("pixels", frames, gt[0], PropagationConfig(warp_resolution="frame"))
