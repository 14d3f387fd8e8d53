"""Training-time options: MAST's loss, Gaussian-blurred warping loss, channel dropout."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rpmbench.models import build_rpmnet
from rpmbench.models.matching import FlowWarp
from rpmbench.training import TrainConfig
from rpmbench.training.loop import drop_channels, gaussian_blur, reconstruction_loss, training_step


def test_mast_loss_by_hand() -> None:
    """Constant images: upsampling keeps the value, so the loss is smooth L1 of 20 x the difference."""
    target = torch.zeros(1, 2, 8, 8)
    warped = torch.stack([torch.full((2, 2), 0.01), torch.full((2, 2), 0.1)])[None]
    # channel 0: |20 * 0.01| = 0.2 < 1 -> 0.5 * 0.2^2 = 0.02; channel 1: 2 -> 2 - 0.5 = 1.5
    assert reconstruction_loss(warped, target, "mast").item() == pytest.approx((0.02 + 1.5) / 2, rel=1e-5)


def test_gaussian_blur_matches_a_float64_loop() -> None:
    generator = torch.Generator().manual_seed(21)
    image = torch.randn(1, 2, 7, 9, generator=generator, dtype=torch.float64)
    sigma = 0.8
    radius = math.ceil(3 * sigma)
    taps = [math.exp(-(i * i) / (2 * sigma * sigma)) for i in range(-radius, radius + 1)]
    taps = [t / sum(taps) for t in taps]

    def reflect(i: int, n: int) -> int:
        return -i if i < 0 else 2 * (n - 1) - i if i >= n else i

    expected = torch.zeros_like(image)
    for c in range(2):
        for y in range(7):
            for x in range(9):
                expected[0, c, y, x] = sum(
                    taps[a] * taps[b] * image[0, c, reflect(y + a - radius, 7), reflect(x + b - radius, 9)]
                    for a in range(2 * radius + 1) for b in range(2 * radius + 1))
    torch.testing.assert_close(gaussian_blur(image.float(), sigma).double(), expected, atol=1e-5, rtol=1e-5)


def test_blurred_warping_loss_sees_farther_shifts() -> None:
    """At zero flow, a 3-pixel shift: the unblurred loss gradient is near chance at this distance,
    the blurred one points toward the true motion for most pixels."""
    generator = torch.Generator().manual_seed(22)
    reference = gaussian_blur(torch.randn(1, 3, 48, 48, generator=generator), 1.0) * 3
    target = torch.roll(reference, shifts=(0, -3), dims=(2, 3))  # target[p] = reference[p + (0, 3)]
    warp = FlowWarp("reference")

    def agreement(sigma: float | None) -> float:
        flow = torch.zeros(1, 2, 48, 48, requires_grad=True)
        blur = (lambda x: gaussian_blur(x, sigma)) if sigma else (lambda x: x)
        F.l1_loss(warp(blur(reference), flow), blur(target)).backward()
        inner = -flow.grad[0, 1, 8:-8, 8:-8]  # descent direction of dx; the truth is +3
        return (inner > 0).float().mean().item()

    assert agreement(3.0) > 0.75
    assert agreement(3.0) > agreement(None) + 0.1


def test_training_step_without_options_is_the_plain_loss() -> None:
    torch.manual_seed(0)
    model = build_rpmnet("resnet18", backend="reference")
    pairs = torch.randint(0, 256, (2, 2, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    config = TrainConfig(model=model.config, crop_size=32, short_side=None)
    plain = training_step(model, pairs[0], pairs[1], config)
    blurred = training_step(model, pairs[0], pairs[1], TrainConfig(model=model.config, loss_blur_sigmas=[1.0, 2.0]))
    assert torch.isfinite(blurred) and not torch.equal(plain, blurred)
    from rpmbench.data.colour import to_network_input

    out = model(to_network_input(pairs[1], "lab"), to_network_input(pairs[0], "lab"))
    expected = F.huber_loss(out.warped, model.downsample_payload(to_network_input(pairs[1], "lab")), delta=1.0)
    torch.testing.assert_close(plain, expected)


def test_channel_dropout_zeroes_one_shared_channel_per_pair() -> None:
    generator = torch.Generator().manual_seed(23)
    reference, target = torch.rand(6, 3, 4, 4, generator=generator) + 1, torch.rand(6, 3, 4, 4, generator=generator) + 1
    torch.manual_seed(5)
    dropped_reference, dropped_target = drop_channels(reference, target, 1.0)
    for out in (dropped_reference, dropped_target):
        zero = (out == 0).all(dim=(2, 3))
        assert zero.sum(dim=1).tolist() == [1] * 6
    assert torch.equal((dropped_reference == 0), (dropped_target == 0))
    torch.manual_seed(5)
    assert torch.equal(drop_channels(reference, target, 1.0)[0], dropped_reference)  # seeded
    assert torch.equal(drop_channels(reference, target, 0.0)[0], reference)


def test_bad_option_values_are_rejected() -> None:
    from rpmbench.errors import ConfigError

    with pytest.raises(ConfigError, match="loss_blur_sigmas"):
        TrainConfig(loss_blur_sigmas=[0.0]).validate()
    with pytest.raises(ConfigError, match="channel_dropout"):
        TrainConfig(channel_dropout=1.5).validate()
