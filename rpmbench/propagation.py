"""Semi-supervised mask propagation through DAVIS sequences (Table 2's inference protocol).

For every sequence the first frame's ground truth (K objects; void counted as background)
becomes a (K+1)-channel one-hot map, area-averaged to the feature resolution H/4. For each next
frame t the matching module predicts the flow between the embeddings of frames t and t-1 (each
frame is embedded once) and layer 109 warps the t-1 **soft** mask to frame t. Probability mass
that left the image is given to the background, so each pixel's channels sum to 1. The soft
mask is bilinearly upsampled to the frame size and its argmax written as a palette PNG; frame 0
is the ground truth itself. ``mode="hard"`` instead re-one-hots the argmax at H/4 after every
step (no blur accumulates, but sub-pixel evidence is lost).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from rpmbench.data.davis import VOID_ID, DavisDataset, write_sequence_predictions
from rpmbench.errors import ConfigError
from rpmbench.models import RPMNet
from rpmbench.training.colour import to_network_input


@dataclass
class PropagationConfig:
    """How masks are propagated.

    Attributes:
        device: ``cpu`` or ``cuda[:i]``.
        precision: ``float32`` or ``bfloat16`` (autocast; CUDA only).
        colour_space: must match the training colour space (``infer`` reads it from the checkpoint).
        mode: ``soft`` (propagate probabilities) or ``hard`` (re-one-hot every step).
        scale: frames are resized by this factor before embedding (1 = native resolution).
        batch_frames: frames embedded per forward pass.
    """

    device: str = "cpu"
    precision: str = "float32"
    colour_space: str = "lab"
    mode: str = "soft"
    scale: float = 1.0
    batch_frames: int = 8

    def validate(self) -> None:
        if self.precision not in ("float32", "bfloat16"):
            raise ConfigError(f"propagation precision must be float32 or bfloat16, got {self.precision!r}")
        if self.mode not in ("soft", "hard"):
            raise ConfigError(f"propagation mode must be soft or hard, got {self.mode!r}")
        if not 0 < self.scale <= 4:
            raise ConfigError(f"propagation scale must be in (0, 4], got {self.scale}")
        if self.batch_frames < 1:
            raise ConfigError(f"propagation batch_frames must be >= 1, got {self.batch_frames}")


@dataclass
class PropagationStats:
    """Frames propagated, seconds spent (reading and writing excluded) and frames per second."""

    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else math.inf


@dataclass
class PropagationOutput:
    """``masks (T, H, W)`` uint8 ids; with ``return_sampling``, per frame t >= 1 the sampling
    locations of every matching layer (list of ``(1, k*k, h, w, 2)``; layer 109's is each pixel
    plus its flow) and every frame's embedding ``(32, h, w)``."""

    masks: np.ndarray
    sampling: list[list[Tensor]] | None = None
    features: list[Tensor] | None = None


def one_hot_first_mask(first_mask: np.ndarray) -> tuple[Tensor, int]:
    """``(H, W)`` ids (void -> background) -> ``(1, K+1, H, W)`` float one-hot and K."""
    ids = np.where(first_mask == VOID_ID, 0, first_mask).astype(np.int64)
    num_objects = int(ids.max())
    one_hot = F.one_hot(torch.from_numpy(ids), num_objects + 1).permute(2, 0, 1)[None].float()
    return one_hot, num_objects


def renormalise(soft: Tensor) -> Tensor:
    """Give mass that left the image to the background; channels then sum to 1 per pixel."""
    soft = soft.clamp_min(0)
    missing = (1 - soft.sum(dim=1, keepdim=True)).clamp_min(0)
    soft = torch.cat([soft[:, :1] + missing, soft[:, 1:]], dim=1)
    return soft / soft.sum(dim=1, keepdim=True)


def harden(soft: Tensor) -> Tensor:
    return F.one_hot(soft.argmax(dim=1), soft.shape[1]).permute(0, 3, 1, 2).to(soft.dtype)


def to_full_resolution(soft: Tensor, height: int, width: int) -> np.ndarray:
    """``(1, K+1, h, w)`` -> ``(H, W)`` uint8 argmax after bilinear upsampling."""
    full = F.interpolate(soft, size=(height, width), mode="bilinear", align_corners=False)
    return full[0].argmax(dim=0).to(torch.uint8).cpu().numpy()


def propagate_with_flows(first_mask: np.ndarray, steps: Iterable[Callable[[Tensor], Tensor]],
                         feature_size: tuple[int, int], mode: str = "soft") -> np.ndarray:
    """Propagate the first mask with one warp function per later frame (shared by all methods).

    Each ``step(soft (1, K+1, h, w)) -> warped (1, K+1, h, w)`` moves the previous soft mask.
    Returns ``(T, H, W)`` uint8 ids.
    """
    height, width = first_mask.shape
    one_hot, _ = one_hot_first_mask(first_mask)
    soft = F.interpolate(one_hot, size=feature_size, mode="area")
    masks = [np.where(first_mask == VOID_ID, 0, first_mask).astype(np.uint8)]
    for warp in steps:
        soft = renormalise(warp(soft))
        if mode == "hard":
            soft = harden(soft)
        masks.append(to_full_resolution(soft, height, width))
    return np.stack(masks)


def _embed_all(model: RPMNet, frames: Tensor, config: PropagationConfig) -> Tensor:
    """``(T, 3, H, W)`` network inputs -> ``(T, 32, h, w)`` embeddings, ``batch_frames`` at a time."""
    device = torch.device(config.device)
    use_bf16 = config.precision == "bfloat16" and device.type == "cuda"
    chunks = []
    for start in range(0, len(frames), config.batch_frames):
        batch = frames[start:start + config.batch_frames].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            chunks.append(model.embed(batch).float())
    return torch.cat(chunks)


@torch.no_grad()
def propagate_sequence(model: RPMNet, frames: np.ndarray, first_mask: np.ndarray,
                       config: PropagationConfig | None = None,
                       return_sampling: bool = False) -> PropagationOutput:
    """Propagate ``first_mask (H, W)`` through ``frames (T, H, W, 3)`` uint8 RGB with RPM-Net."""
    config = config or PropagationConfig()
    config.validate()
    height, width = first_mask.shape
    inputs = to_network_input(torch.from_numpy(frames).permute(0, 3, 1, 2), config.colour_space)
    if config.scale != 1:
        size = (round(height * config.scale), round(width * config.scale))
        inputs = F.interpolate(inputs, size=size, mode="bilinear", align_corners=False)
    features = _embed_all(model, inputs, config)
    sampling: list[list[Tensor]] = []

    def make_step(t: int) -> Callable[[Tensor], Tensor]:
        def step(soft: Tensor) -> Tensor:
            out = model.match(features[t:t + 1], features[t - 1:t], soft.to(features.device),
                              return_sampling=return_sampling)
            if return_sampling:
                sampling.append([s.cpu() for s in out.sampling])
            return out.warped.float().cpu()
        return step

    masks = propagate_with_flows(first_mask, (make_step(t) for t in range(1, len(frames))),
                                 tuple(features.shape[-2:]), config.mode)
    if not return_sampling:
        return PropagationOutput(masks)
    return PropagationOutput(masks, sampling, [f.cpu() for f in features])


def propagate_dataset(model: RPMNet, davis_root: str | os.PathLike[str], split: str,
                      results_dir: str | os.PathLike[str], config: PropagationConfig | None = None,
                      progress: bool = True) -> PropagationStats:
    """Propagate every sequence of ``split`` and write ``<results_dir>/<seq>/<frame>.png``."""
    config = config or PropagationConfig()
    config.validate()
    model = model.to(config.device).eval()
    dataset = DavisDataset(davis_root, split)
    frames_done, seconds = 0, 0.0
    for sequence in tqdm(dataset.sequences, desc="propagate", unit="seq", disable=not progress):
        frames = dataset.read_frames(sequence)
        first = dataset.read_first_mask(sequence)
        start = time.perf_counter()
        masks = propagate_sequence(model, frames, first, config).masks
        seconds += time.perf_counter() - start
        frames_done += len(frames) - 1
        names = [path.stem for path in dataset.frame_paths(sequence)]
        write_sequence_predictions(results_dir, sequence, masks, names)
    return PropagationStats(frames_done, seconds)


def feature_size(height: int, width: int, scale: float = 1.0) -> tuple[int, int]:
    """The H/4 feature size RPM-Net works at for a frame of ``height x width``."""
    return math.ceil(round(height * scale) / 4), math.ceil(round(width * scale) / 4)


__all__ = ["PropagationConfig", "PropagationOutput", "PropagationStats", "propagate_dataset",
           "propagate_sequence", "propagate_with_flows"]
