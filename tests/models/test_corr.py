"""The ``corr`` matching variant (beyond the paper): soft-argmax over a local cost volume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rpmbench.models import build_rpmnet
from rpmbench.models.matching import CORR_RADIUS, local_soft_argmax


def brute_force_soft_argmax(target: torch.Tensor, reference: torch.Tensor, radius: int) -> torch.Tensor:
    """Pixel-by-pixel float64 loops over the displacements that stay inside the image."""
    batch, channels, height, width = target.shape
    flow = torch.zeros(batch, 2, height, width, dtype=torch.float64)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                costs, moves = [], []
                for dy in range(-radius, radius + 1):
                    for dx in range(-radius, radius + 1):
                        if 0 <= y + dy < height and 0 <= x + dx < width:
                            dot = sum(float(target[b, c, y, x]) * float(reference[b, c, y + dy, x + dx])
                                      for c in range(channels))
                            costs.append(dot / math.sqrt(channels))
                            moves.append((dy, dx))
                top = max(costs)
                weights = [math.exp(c - top) for c in costs]
                total = sum(weights)
                flow[b, 0, y, x] = sum(w * m[0] for w, m in zip(weights, moves)) / total
                flow[b, 1, y, x] = sum(w * m[1] for w, m in zip(weights, moves)) / total
    return flow


def test_soft_argmax_matches_brute_force_loops() -> None:
    generator = torch.Generator().manual_seed(11)
    target = torch.randn(2, 3, 5, 6, generator=generator, dtype=torch.float64) * 2
    reference = torch.randn(2, 3, 5, 6, generator=generator, dtype=torch.float64) * 2
    for radius in (1, 2):
        expected = brute_force_soft_argmax(target, reference, radius)
        torch.testing.assert_close(local_soft_argmax(target, reference, radius), expected,
                                   rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(local_soft_argmax(target.float(), reference.float(), radius),
                                   expected.float(), rtol=1e-4, atol=1e-5)


def test_soft_argmax_gradients() -> None:
    generator = torch.Generator().manual_seed(12)
    target = torch.randn(1, 2, 4, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    reference = torch.randn(1, 2, 4, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, r: local_soft_argmax(t, r, 1), (target, reference))


def test_soft_argmax_finds_a_known_shift() -> None:
    """Sharp, distinctive features shifted by (1, -2): the interior flow points to the source."""
    generator = torch.Generator().manual_seed(13)
    reference = torch.randn(1, 64, 12, 12, generator=generator, dtype=torch.float64) * 4
    target = torch.roll(reference, shifts=(-1, 2), dims=(2, 3))  # target[p] = reference[p + (1, -2)]
    flow = local_soft_argmax(target, reference, 3)[..., 3:-3, 3:-3]
    torch.testing.assert_close(flow[:, 0], torch.ones_like(flow[:, 0]), atol=1e-3, rtol=0)
    torch.testing.assert_close(flow[:, 1], -2 * torch.ones_like(flow[:, 1]), atol=1e-3, rtol=0)


def test_untrained_corr_model_follows_the_base_flow_and_is_deterministic() -> None:
    frames = torch.rand(2, 2, 3, 64, 64, generator=torch.Generator().manual_seed(14))
    torch.manual_seed(0)
    model = build_rpmnet("resnet18", matching="corr", backend="reference").eval()
    torch.manual_seed(0)
    twin = build_rpmnet("resnet18", matching="corr", backend="reference").eval()
    with torch.no_grad():
        out = model(frames[0], frames[1], return_sampling=True)
        again = twin(frames[0], frames[1])
        features = model.embed(torch.cat([frames[0], frames[1]]))
    target_features, reference_features = features.chunk(2)
    torch.testing.assert_close(out.flow, local_soft_argmax(target_features, reference_features, CORR_RADIUS))
    assert out.warped.shape == (2, 3, 16, 16) and len(out.sampling) == 4
    assert torch.equal(out.warped, again.warped)


def test_frame_size_warp_uses_the_cost_volume_base_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """`warp_resolution=frame` warps by the same flow as the feature-size warp (base flow included),
    upsampled x4: an untrained corr model's flow is its cost volume's soft-argmax, not zero."""
    from rpmbench.inference.propagate import PropagationConfig, propagate_sequence, upsample_flow
    from rpmbench.models import build_rpmnet

    torch.manual_seed(0)
    model = build_rpmnet("resnet18", matching="corr", backend="reference").eval()
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 32, 48, 3), dtype=np.uint8)
    first = np.zeros((32, 48), np.uint8)
    first[8:20, 10:30] = 1
    warped_by = []
    original = model.matching.warp.forward
    monkeypatch.setattr(model.matching.warp, "forward",
                        lambda payload, flow: warped_by.append(flow) or original(payload, flow))
    propagate_sequence(model, frames, first, PropagationConfig(warp_resolution="frame"))
    frame_flows, warped_by[:] = list(warped_by), []
    propagate_sequence(model, frames, first, PropagationConfig())
    feature_flows = list(warped_by)
    assert len(frame_flows) == len(feature_flows) == 2
    for at_frame, at_feature in zip(frame_flows, feature_flows):
        assert at_feature.abs().mean() > 0.05  # the base flow of random features is not zero
        torch.testing.assert_close(at_frame, upsample_flow(at_feature.float(), (32, 48)))
