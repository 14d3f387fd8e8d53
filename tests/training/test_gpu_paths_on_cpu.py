"""The GPU presets' opt-in code paths, met first on CPU at toy size: bf16 autocast (``amp``,
``precision=bfloat16``), ``channels_last``, ``torch.compile`` and the deformable-conv backend that
``auto`` picks on CUDA. Each runs two training steps (or one propagation) and is compared with the
plain float32 path on the reference backend, within the tolerance its arithmetic allows:

- channels_last, the CUDA backend, compile: the same float32 sums in another order: losses within
  1e-4 relative, first-step gradients within 1e-3 (relative L2 over all parameters);
- bf16 autocast: 8 mantissa bits in the convolutions: losses within 1e-2, gradients within 3e-2,
  embeddings within 2e-2 and propagated masks on at least 99% of the pixels (measured with torch
  2.14.1: 1.6e-3, 3.2e-3, 3.5e-3 and 100%).
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch
from torch import Tensor

from rpmbench.inference.propagate import PropagationConfig, embed_frames, propagate_sequence
from rpmbench.models import RPMNet, RPMNetConfig
from rpmbench.ops.deform_conv import resolve_backend
from rpmbench.training.config import TrainConfig
from rpmbench.training.loop import build_training, training_step

PLAIN = TrainConfig(model=RPMNetConfig("resnet18", backend="reference"), short_side=None, crop_size=32,
                    batch_size=2, steps=2, warmup_steps=0)


def _pairs() -> tuple[Tensor, Tensor]:
    """Two uint8 ``(2, 3, 32, 32)`` frame batches: smooth blobs and their shift by 1 pixel."""
    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(2, 3, 8, 8, generator=generator)
    frames = (255 * torch.nn.functional.interpolate(coarse, size=(34, 34), mode="bilinear")).to(torch.uint8)
    return frames[..., 1:33, 1:33].contiguous(), frames[..., 1:33, 2:34].contiguous()


def _two_steps(config: TrainConfig, step=training_step) -> tuple[list[float], Tensor]:
    """Losses of two Adam steps on the same batch, and the first step's gradients (one vector)."""
    reference, target = _pairs()
    model, optimiser, scheduler = build_training(config)
    model.train()
    losses, gradients = [], None
    for _ in range(2):
        loss = step(model, reference, target, config)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if gradients is None:
            gradients = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        optimiser.step()
        scheduler.step()
        losses.append(float(loss.detach()))
    return losses, gradients


def _relative(a: Tensor, b: Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def _assert_close(config: TrainConfig, loss_tolerance: float, gradient_tolerance: float, step=training_step) -> None:
    plain_losses, plain_gradients = _two_steps(PLAIN)
    losses, gradients = _two_steps(config, step)
    assert np.allclose(losses, plain_losses, rtol=loss_tolerance, atol=0), (losses, plain_losses)
    assert _relative(gradients, plain_gradients) < gradient_tolerance


def test_channels_last_training_matches_float32_on_cpu() -> None:
    _assert_close(dataclasses.replace(PLAIN, channels_last=True), 1e-4, 1e-3)


def test_bf16_autocast_training_matches_float32_on_cpu() -> None:
    _assert_close(dataclasses.replace(PLAIN, amp=True), 1e-2, 3e-2)


def test_the_backend_auto_picks_on_cuda_trains_like_the_reference_on_cpu() -> None:
    backend = resolve_backend("auto", "cuda")  # mmcv where importable, else torchvision
    assert resolve_backend("auto", "cpu") == "reference"
    config = dataclasses.replace(PLAIN, model=dataclasses.replace(PLAIN.model, backend=backend))
    _assert_close(config, 1e-4, 1e-3)


def test_the_gpu_preset_settings_train_together_on_cpu() -> None:
    """amp and channels_last (the gpu preset's pair) at once, on the backend auto picks on CUDA."""
    model = dataclasses.replace(PLAIN.model, backend=resolve_backend("auto", "cuda"))
    _assert_close(dataclasses.replace(PLAIN, amp=True, channels_last=True, model=model), 1e-2, 3e-2)


def _compiler_available() -> bool:
    return any(shutil.which(name) for name in ("cc", "gcc", "clang", "c++", "g++"))


@pytest.mark.slow
@pytest.mark.skipif(not _compiler_available(), reason="torch.compile on CPU needs a C++ compiler (gcc or clang)")
def test_compiled_training_step_matches_eager_on_cpu() -> None:
    """``compile=True`` wraps the step in ``torch.compile`` (inductor's C++ kernels on CPU; slow: the
    first call compiles forward and backward)."""
    torch._dynamo.reset()
    _assert_close(dataclasses.replace(PLAIN, compile=True), 1e-4, 1e-3, step=torch.compile(training_step))


def _toy_model() -> RPMNet:
    """A ResNet-18 RPM-Net whose matching layers have small random weights (a non-zero flow)."""
    torch.manual_seed(0)
    model = RPMNet(RPMNetConfig("resnet18", backend="reference")).eval()
    with torch.no_grad():
        for parameter in model.matching.parameters():
            parameter.normal_(0, 0.05)
    return model


def test_bf16_propagation_matches_float32_on_cpu() -> None:
    rng = np.random.default_rng(0)
    frames = np.repeat(np.repeat(rng.integers(0, 256, (3, 8, 12, 3), dtype=np.uint8), 4, 1), 4, 2)
    first = np.zeros((32, 48), np.uint8)
    first[8:24, 12:30] = 1
    model = _toy_model()
    plain, bf16 = PropagationConfig(), PropagationConfig(precision="bfloat16")
    assert _relative(embed_frames(model, frames, bf16), embed_frames(model, frames, plain)) < 2e-2
    masks = propagate_sequence(model, frames, first, bf16).masks
    assert (masks == propagate_sequence(model, frames, first, plain).masks).mean() >= 0.99
