"""Training configuration: the recipe (:class:`TrainConfig`, every choice that decides a number;
hashed into a result's spec) and how a run is carried out (:class:`TrainExecution`, never
hashed). Where the unlabelled video lies is a third thing, passed to ``train`` as paths. See
``docs/reproduction.md`` for why each default was chosen; the main paper does not publish them."""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from rpmbench.errors import ConfigError
from rpmbench.models import RPMNetConfig

COLOUR_SPACES = ("lab", "rgb")
LOSSES = ("huber", "l1", "mast")
SCHEDULES = ("cosine", "constant")


@dataclass
class TrainConfig:
    """Self-supervised training of RPM-Net: reconstruct frame t from frame t-gap by warping.

    Attributes:
        model: the RPM-Net variant (:class:`~rpmbench.models.RPMNetConfig`).
        davis_splits: split files used for the DAVIS-layout roots among the training data.
        short_side: frames are resized so their short side is at most this (None: native size).
        frame_gap: (min, max) distance between reference and target frame, sampled uniformly.
        crop_size: square random crop (pixels) taken at the same place in both frames.
        hflip: random horizontal flip of both frames.
        colour_space: ``lab`` (MAST-era default) or ``rgb``; inputs and targets are scaled to about [-1, 1].
        loss: ``huber`` (smooth L1, delta 1 in scaled units) or ``l1`` between warped reference and
            target at H/4; ``mast``: MAST's loss, smooth L1 (delta 1) on the
            values scaled by 20 after upsampling the warped reference (bilinear) to the full crop.
        loss_blur_sigmas: training-time widening of layer 109's reach: for each sigma (feature
            pixels) the loss is also taken between the Gaussian-blurred reference warped by the same
            flow and the equally blurred target, and the terms are averaged. Inference is unchanged
            (Table 1's layer 109 warps the unblurred payload). Empty = off (the default).
        channel_dropout: probability per pair of zeroing one random channel of both network inputs
            (MAST's colour dropout); the loss still reconstructs every channel. 0 = off.
        lr, weight_decay, schedule, warmup_steps: Adam with a cosine (or constant) learning rate.
        batch_size, steps, grad_clip: per-step batch, total optimiser steps, max gradient norm (0: off).
        seed: fixes initialisation, data order, crops and flips.
        device: ``cpu`` or ``cuda[:i]``.
        amp, channels_last, compile: bf16 autocast, channels-last tensors, ``torch.compile`` of the
            training step; off by default, on in the ``gpu`` and ``paper`` presets, and honoured on any
            device (on CPU they run at toy size in the tests; ``compile`` there needs a C++ compiler).
    """

    model: RPMNetConfig = field(default_factory=lambda: RPMNetConfig(backbone="resnet18"))
    davis_splits: list[str] = field(default_factory=lambda: ["train"])
    short_side: int | None = 256
    frame_gap: tuple[int, int] = (1, 2)
    crop_size: int = 256
    hflip: bool = True
    colour_space: str = "lab"
    loss: str = "huber"
    loss_blur_sigmas: list[float] = field(default_factory=list)
    channel_dropout: float = 0.0
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_steps: int = 0
    batch_size: int = 8
    steps: int = 1000
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "cpu"
    amp: bool = False
    channels_last: bool = False
    compile: bool = False

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an impossible setting, before any work starts."""
        self.model.validate()
        low, high = self.frame_gap
        checks = [
            (self.colour_space in COLOUR_SPACES, f"colour_space must be one of {COLOUR_SPACES}"),
            (self.loss in LOSSES, f"loss must be one of {LOSSES}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}"),
            (1 <= low <= high, f"frame_gap must be (min, max) with 1 <= min <= max, got {self.frame_gap}"),
            (self.crop_size >= 16, f"crop_size must be >= 16, got {self.crop_size}"),
            (self.short_side is None or self.short_side >= self.crop_size,
             f"short_side {self.short_side} is smaller than crop_size {self.crop_size}"),
            (self.batch_size >= 1 and self.steps >= 1, "batch_size and steps must be >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (all(sigma > 0 for sigma in self.loss_blur_sigmas),
             f"loss_blur_sigmas must be positive, got {self.loss_blur_sigmas}"),
            (not (self.loss == "mast" and self.loss_blur_sigmas),
             "loss_blur_sigmas works with loss huber or l1 (the mast loss compares at full size)"),
            (0 <= self.channel_dropout <= 1, f"channel_dropout must be in [0, 1], got {self.channel_dropout}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"train config: {message}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (used when loading checkpoints; the execution and path fields
        that checkpoints of earlier versions carried are dropped)."""
        values = {key: value for key, value in values.items() if key not in EXECUTION_FIELDS_OF_OLD_CHECKPOINTS}
        values["model"] = RPMNetConfig(**values["model"])
        values["frame_gap"] = tuple(values["frame_gap"])
        return cls(**values)


#: Fields older checkpoints stored inside the recipe; they never changed a number.
EXECUTION_FIELDS_OF_OLD_CHECKPOINTS: tuple[str, ...] = ("data_roots", "checkpoint_every", "keep_checkpoints_at",
                                                        "num_workers", "tensorboard")


@dataclass(frozen=True)
class TrainExecution:
    """How a training run is carried out: none of it changes a number.

    Attributes:
        checkpoint_every: write the checkpoint every N steps (and at the end).
        keep_checkpoints_at: steps whose checkpoint is also kept as ``checkpoint-step<N>.pt``
            (snapshots of the run, e.g. for learning curves).
        num_workers: DataLoader worker processes that prepare batches.
        tensorboard: also write loss, lr and samples/s to ``<run dir>/tensorboard`` (needs the
            ``tensorboard`` package; the JSONL log is always written).
    """

    checkpoint_every: int = 100
    keep_checkpoints_at: tuple[int, ...] = ()
    num_workers: int = 0
    tensorboard: bool = False

    def validate(self, steps: int) -> None:
        """Raise :class:`ConfigError` for an impossible setting of a ``steps``-step run."""
        checks = [
            (self.checkpoint_every >= 1, "checkpoint_every must be >= 1"),
            (all(1 <= s <= steps for s in self.keep_checkpoints_at),
             f"keep_checkpoints_at must list steps in 1..steps={steps}, got {list(self.keep_checkpoints_at)}"),
            (self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}"),
            (not self.tensorboard or importlib.util.find_spec("tensorboard") is not None,
             "tensorboard=true needs the tensorboard package: pip install tensorboard"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"train execution: {message}")
