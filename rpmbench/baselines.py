"""Baselines in the same protocol and format as RPM-Net's propagation.

The first three move the first frame's soft mask with the same machinery as RPM-Net
(:func:`rpmbench.propagation.propagate_with_flows`: H/4 soft masks, layer 109's bilinear warp,
renormalisation, bilinear upsampling and argmax), so only the flow differs:

- ``copy-first``: the first-frame mask written unchanged for every frame (no resolution round trip);
- ``copy-previous``: zero flow, i.e. what RPM-Net would give if its matching module predicted no
  motion. It differs from copy-first only by the H/4 round trip of the soft mask;
- ``optical-flow``: OpenCV's DIS optical flow (preset MEDIUM) from frame t to frame t-1 on
  greyscale frames, area-averaged to H/4 and scaled by 1/4, chained frame to frame
  (``warp_resolution="frame"``, beyond the paper: the flow kept at the frame size and a
  frame-size soft mask warped).

One has no flow and no network (beyond the paper; issue 12):

- ``pixels``: memory propagation (:mod:`rpmbench.memory`, preset ``pixels``) on raw Lab pixels
  area-averaged to H/4: memory frame 0 + the last 7 propagated frames, ``-||f_t - f_m||^2 / 0.01``,
  radius 12 feature pixels, top-10. It asks whether a learned embedding carries anything colour
  does not, under the memory protocol of RPM-Net's peers.

Like RPM-Net's propagation, every baseline honours ``PropagationConfig.scale`` (the H/4 grid is
that of the frame resized by it; predictions are written at the frame size); the flow baselines
also honour ``mode`` and, for ``optical-flow``, ``warp_resolution``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rpmbench.data.davis import VOID_ID
from rpmbench.errors import ConfigError
from rpmbench.memory import MEMORY_PRESETS, pixel_features, propagate_with_memory
from rpmbench.models.matching import FlowWarp
from rpmbench.propagation import (WARP_RESOLUTIONS, PropagationConfig, PropagationStats, feature_size,
                                  first_soft_mask, masks_from_soft, propagate_split,
                                  propagate_with_flows)
from rpmbench.registry import BASELINES


def _warp_by(flow: Tensor) -> Callable[[Tensor], Tensor]:
    warp = FlowWarp(backend="reference")
    return lambda soft: warp(soft, flow)


def dis_flow(target: np.ndarray, reference: np.ndarray, size: tuple[int, int]) -> Tensor:
    """Backward flow (dy, dx) from ``target`` to ``reference`` frames ``(H, W, 3)`` at ``size``
    in feature pixels: ``(1, 2, h, w)``."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(cv2.cvtColor(target, cv2.COLOR_RGB2GRAY), cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY), None)
    flow = torch.from_numpy(flow).permute(2, 0, 1)[None].flip(1)  # (dx, dy) -> (dy, dx)
    scale = torch.tensor([size[0] / flow.shape[-2], size[1] / flow.shape[-1]]).view(1, 2, 1, 1)
    return F.interpolate(flow, size=size, mode="area") * scale


def baseline_masks(name: str, frames: np.ndarray, first_mask: np.ndarray,
                   config: PropagationConfig | None = None) -> np.ndarray:
    """``(T, H, W)`` uint8 predictions of baseline ``name`` for one sequence.

    ``config`` gives the scale, the mode and, for optical-flow, ``warp_resolution="frame"``
    (beyond the paper): DIS flow kept at the frame size, a frame-size soft mask warped there.
    """
    config = config or PropagationConfig()
    warp_resolution = config.warp_resolution
    if warp_resolution not in WARP_RESOLUTIONS:
        raise ConfigError(f"warp_resolution must be one of {WARP_RESOLUTIONS}, got {warp_resolution!r}")
    if warp_resolution == "frame" and name != "optical-flow":
        raise ConfigError(f"warp_resolution=frame applies to the optical-flow baseline only, not {name!r}")
    height, width = first_mask.shape
    size = (height, width) if warp_resolution == "frame" else feature_size(height, width, config.scale)
    if name == "copy-first":
        first = np.where(first_mask == VOID_ID, 0, first_mask).astype(np.uint8)
        return np.repeat(first[None], len(frames), axis=0)
    if name == "copy-previous":
        zero = torch.zeros(1, 2, *size)
        return propagate_with_flows(first_mask, (_warp_by(zero) for _ in frames[1:]), size, config.mode)
    if name == "optical-flow":
        if config.scale != 1:  # the frames the flow sees are the ones a network would see
            scaled = (round(width * config.scale), round(height * config.scale))
            frames = np.stack([cv2.resize(frame, scaled, interpolation=cv2.INTER_AREA) for frame in frames])
        steps = (_warp_by(dis_flow(frames[t], frames[t - 1], size)) for t in range(1, len(frames)))
        return propagate_with_flows(first_mask, steps, size, config.mode)
    if name == "pixels":
        softs = propagate_with_memory(first_soft_mask(first_mask, size), pixel_features(frames, size),
                                      MEMORY_PRESETS["pixels"])
        return masks_from_soft(first_mask, softs)
    raise ConfigError(f"unknown baseline {name!r}; choose one of {BASELINES}")


def run_baseline(name: str, davis_root: str | os.PathLike[str], split: str,
                 results_dir: str | os.PathLike[str], config: PropagationConfig | None = None,
                 progress: bool = True) -> PropagationStats:
    """Write baseline ``name``'s predictions for ``split`` in the official results layout."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose one of {BASELINES}")
    config = config or PropagationConfig()
    if config.warp_resolution == "frame" and name != "optical-flow":
        raise ConfigError(f"warp_resolution={config.warp_resolution!r}: 'frame' applies to the optical-flow "
                          "baseline only")
    return propagate_split(davis_root, split, results_dir,
                           lambda frames, first: baseline_masks(name, frames, first, config),
                           desc=name, progress=progress)
