"""Semi-supervised mask propagation through DAVIS sequences (Table 2's inference protocol).

For every sequence the first frame's ground truth (K objects; void counted as background)
becomes a (K+1)-channel one-hot map, area-averaged to the feature resolution H/4. Each frame is
embedded once. ``PropagationConfig.protocol`` says how the mask reaches frame t:

- ``flow`` (default, **the paper's protocol**): the matching module predicts the flow between the
  embeddings of frames t and t-1 and layer 109 warps the t-1 **soft** mask to frame t. Probability
  mass that left the image is given to the background, so each pixel's channels sum to 1.
  ``warp_resolution="frame"`` (beyond the paper) upsamples the flow to the frame size (x4, values
  scaled alike) and warps a frame-size soft mask instead.
- ``memory`` (beyond the paper; the protocol of CRW / DINO / MAST): the target's embedding is
  matched against frame 0 and the last ``context`` propagated frames within a window
  (:mod:`rpmbench.inference.memory`).
- ``fusion`` (beyond the paper): ``fusion_weight`` x memory read-out + (1 - ``fusion_weight``) x
  the layer-109-warped t-1 mask. This is *one interpretation of the paper's online update*
  (the paper's "online updating module" is not described anywhere we can read), not the
  paper's method.

The soft mask is bilinearly upsampled to the frame size and its argmax written as a palette PNG;
frame 0 is the ground truth itself. ``mode="hard"`` instead re-one-hots the argmax after every
step (no blur accumulates, but sub-pixel evidence is lost).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from rpmbench import registry
from rpmbench.data.colour import to_network_input
from rpmbench.data.davis import write_sequence_predictions
from rpmbench.data.layouts import open_split
from rpmbench.errors import ConfigError
from rpmbench.inference.memory import MemoryConfig
from rpmbench.inference.protocols import SequenceInputs
from rpmbench.models import RPMNet

WARP_RESOLUTIONS: tuple[str, ...] = ("feature", "frame")


@dataclass
class PropagationConfig:
    """How masks are propagated.

    Attributes:
        device: ``cpu`` or ``cuda[:i]``.
        precision: ``float32`` or ``bfloat16`` (autocast of the embedding, on any device; matching
            and warping stay float32).
        colour_space: must match the training colour space (``infer`` reads it from the checkpoint).
        mode: ``soft`` (propagate probabilities) or ``hard`` (re-one-hot every step).
        scale: frames are resized by this factor before embedding (1 = native resolution).
        batch_frames: frames embedded per forward pass.
        protocol: ``flow`` (the paper's t-1 warp), ``memory`` or ``fusion`` (both beyond the paper;
            see the module docstring).
        context, topk, radius, temperature, affinity, neighbourhood, long_term, recent, offsets,
            whole_long_term, output_norm: memory propagation
            (:class:`rpmbench.inference.memory.MemoryConfig`; defaults follow DINO's protocol,
            except its window size; each peer's own setting is a registered protocol).
        fusion_weight: weight of the memory read-out in ``fusion`` (the warp gets ``1 - w``).
        warp_resolution: ``feature`` (H/4, the paper's layer 109) or ``frame`` (flow upsampled to
            the frame size, the mask warped there; ``flow`` protocol only; beyond the paper).
    """

    device: str = "cpu"
    precision: str = "float32"
    colour_space: str = "lab"
    mode: str = "soft"
    scale: float = 1.0
    batch_frames: int = 8
    protocol: str = "flow"
    context: int = MemoryConfig.context
    topk: int = MemoryConfig.topk
    radius: int = MemoryConfig.radius
    temperature: float = MemoryConfig.temperature
    affinity: str = MemoryConfig.affinity
    neighbourhood: str = MemoryConfig.neighbourhood
    long_term: tuple[int, ...] = MemoryConfig.long_term
    recent: str = MemoryConfig.recent
    offsets: tuple[int, ...] = MemoryConfig.offsets
    whole_long_term: bool = MemoryConfig.whole_long_term
    output_norm: str = MemoryConfig.output_norm
    fusion_weight: float = 0.5
    warp_resolution: str = "feature"

    def memory(self) -> MemoryConfig:
        """The memory-propagation parameters of this config."""
        return MemoryConfig(self.context, self.topk, self.radius, self.temperature, self.affinity,
                            self.neighbourhood, tuple(self.long_term), self.recent, tuple(self.offsets),
                            self.whole_long_term, self.output_norm)

    def validate(self) -> None:
        if self.precision not in ("float32", "bfloat16"):
            raise ConfigError(f"propagation precision must be float32 or bfloat16, got {self.precision!r}")
        if self.mode not in ("soft", "hard"):
            raise ConfigError(f"propagation mode must be soft or hard, got {self.mode!r}")
        if not 0 < self.scale <= 4:
            raise ConfigError(f"propagation scale must be in (0, 4], got {self.scale}")
        if self.batch_frames < 1:
            raise ConfigError(f"propagation batch_frames must be >= 1, got {self.batch_frames}")
        registry.protocol(self.protocol)  # ConfigError naming the registered ones
        self.memory().validate()
        if not 0 <= self.fusion_weight <= 1:
            raise ConfigError(f"propagation fusion_weight must be in [0, 1], got {self.fusion_weight}")
        if self.warp_resolution not in WARP_RESOLUTIONS:
            raise ConfigError(f"propagation warp_resolution must be one of {WARP_RESOLUTIONS}, "
                              f"got {self.warp_resolution!r}")
        if self.warp_resolution == "frame" and not registry.warps_by_flow(self.protocol):
            raise ConfigError("propagation warp_resolution=frame applies to protocols that warp by the "
                              f"flow alone (flow, flow-frame); got protocol={self.protocol!r}")


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


def upsample_flow(flow: Tensor, size: tuple[int, int]) -> Tensor:
    """Flow ``(1, 2, h, w)`` in feature pixels -> ``(1, 2, H, W)`` in pixels of ``size``
    (bilinear, each component scaled by the size ratio along its axis: x4 at H/4)."""
    ratio = torch.tensor([size[0] / flow.shape[-2], size[1] / flow.shape[-1]], dtype=flow.dtype)
    full = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)
    return full * ratio.to(flow.device).view(1, 2, 1, 1)


def _embed_all(model: RPMNet, frames: Tensor, config: PropagationConfig) -> Tensor:
    """``(T, 3, H, W)`` network inputs -> ``(T, 32, h, w)`` embeddings, ``batch_frames`` at a time."""
    device = torch.device(config.device)
    use_bf16 = config.precision == "bfloat16"  # CPU autocast included (opt-in: float32 is the default)
    chunks = []
    for start in range(0, len(frames), config.batch_frames):
        batch = frames[start:start + config.batch_frames].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            chunks.append(model.embed(batch).float())
    return torch.cat(chunks)


@torch.no_grad()
def embed_frames(model: RPMNet, frames: np.ndarray, config: PropagationConfig) -> Tensor:
    """``frames (T, H, W, 3)`` uint8 RGB, resized by ``config.scale`` -> embeddings ``(T, 32, h, w)``
    on ``config.device``."""
    height, width = frames.shape[1:3]
    inputs = to_network_input(torch.from_numpy(frames).permute(0, 3, 1, 2), config.colour_space)
    if config.scale != 1:
        size = (round(height * config.scale), round(width * config.scale))
        inputs = F.interpolate(inputs, size=size, mode="bilinear", align_corners=False)
    return _embed_all(model, inputs, config)


@torch.no_grad()
def propagate_sequence(model: RPMNet, frames: np.ndarray, first_mask: np.ndarray,
                       config: PropagationConfig | None = None,
                       return_sampling: bool = False) -> PropagationOutput:
    """Propagate ``first_mask (H, W)`` through ``frames (T, H, W, 3)`` uint8 RGB with RPM-Net
    under ``config.protocol``."""
    config = config or PropagationConfig()
    config.validate()
    if return_sampling and not registry.warps_by_flow(config.protocol):
        raise ConfigError("return_sampling needs protocol=flow (memory propagation has no flow)")
    height, width = first_mask.shape
    features = embed_frames(model, frames, config)
    size = tuple(features.shape[-2:])
    sampling: list[list[Tensor]] = []

    def flow_step(t: int, soft: Tensor) -> Tensor:
        """Layer 109 moves ``soft`` from frame t-1 to frame t (at the feature or frame size)."""
        if config.warp_resolution == "frame":
            flow = model.matching.flow(features[t:t + 1], features[t - 1:t])[0].float()
            return model.matching.warp(soft.to(flow.device), upsample_flow(flow, (height, width))).cpu()
        out = model.match(features[t:t + 1], features[t - 1:t], soft.to(features.device),
                          return_sampling=return_sampling)
        if return_sampling:
            sampling.append([s.cpu() for s in out.sampling])
        return out.warped.float().cpu()

    warp_size = (height, width) if config.warp_resolution == "frame" else size
    propagate = registry.resolve(registry.protocol(config.protocol).builder)
    masks = propagate(SequenceInputs(first_mask, features, flow_step, warp_size, config))
    if not return_sampling:
        return PropagationOutput(masks)
    return PropagationOutput(masks, sampling, [f.cpu() for f in features])


def propagate_split(davis_root: str | os.PathLike[str], split: str, results_dir: str | os.PathLike[str],
                    predict: Callable[[np.ndarray, np.ndarray, str], np.ndarray], desc: str,
                    progress: bool = True, layout: str = registry.DEFAULT_LAYOUT) -> PropagationStats:
    """Run ``predict(frames (T, H, W, 3), first_mask (H, W), sequence name) -> masks (T, H, W)`` on
    every sequence of ``split`` (read as the registered ``layout``), write
    ``<results_dir>/<seq>/<frame>.png`` and time it (reading and writing excluded).

    The one loop every propagating method (RPM-Net under any protocol, every baseline) goes through.
    """
    dataset = open_split(davis_root, split, layout, first_frame_only=True)  # frame 0 is all it reads
    frames_done, seconds = 0, 0.0
    for sequence in tqdm(dataset.sequences, desc=desc, unit="seq", disable=not progress):
        frames = dataset.read_frames(sequence)
        first = dataset.read_first_mask(sequence)
        start = time.perf_counter()
        masks = predict(frames, first, sequence)
        seconds += time.perf_counter() - start
        frames_done += len(frames) - 1
        names = [path.stem for path in dataset.frame_paths(sequence)]
        write_sequence_predictions(results_dir, sequence, masks, names)
    return PropagationStats(frames_done, seconds)


def propagate_dataset(model: RPMNet, davis_root: str | os.PathLike[str], split: str,
                      results_dir: str | os.PathLike[str], config: PropagationConfig | None = None,
                      progress: bool = True, layout: str = registry.DEFAULT_LAYOUT) -> PropagationStats:
    """Propagate every sequence of ``split`` (of the registered ``layout``) under ``config.protocol``
    and write ``<results_dir>/<seq>/<frame>.png``."""
    config = config or PropagationConfig()
    config.validate()
    model = model.to(config.device).eval()
    return propagate_split(davis_root, split, results_dir,
                           lambda frames, first, _: propagate_sequence(model, frames, first, config).masks,
                           desc="propagate", progress=progress, layout=layout)


def feature_size(height: int, width: int, scale: float = 1.0) -> tuple[int, int]:
    """The H/4 feature size RPM-Net works at for a frame of ``height x width``."""
    return math.ceil(round(height * scale) / 4), math.ceil(round(width * scale) / 4)


__all__ = ["PropagationConfig", "PropagationOutput", "PropagationStats", "propagate_dataset",
           "propagate_sequence", "propagate_split"]
