"""Baselines in the same protocol and format as RPM-Net's propagation.

The first three move the first frame's soft mask with the same machinery as RPM-Net
(:func:`rpmbench.inference.masks.propagate_with_flows`: H/4 soft masks, layer 109's bilinear warp,
renormalisation, bilinear upsampling and argmax), so only the flow differs:

- ``copy-first``: the first-frame mask written unchanged for every frame (no resolution round trip);
- ``copy-previous``: zero flow, i.e. what RPM-Net would give if its matching module predicted no
  motion. It differs from copy-first only by the H/4 round trip of the soft mask;
- ``optical-flow``: OpenCV's DIS optical flow (preset MEDIUM) from frame t to frame t-1 on
  greyscale frames, area-averaged to H/4 and scaled by 1/4, chained frame to frame
  (``warp_resolution="frame"``, beyond the paper: the flow kept at the frame size and a
  frame-size soft mask warped).

One has no flow and no network (beyond the paper):

- ``pixels``: memory propagation (:mod:`rpmbench.inference.memory`) on raw Lab pixels
  area-averaged to H/4. Alone, under its own registered protocol ``pixels``: memory frame 0 + the
  last 7 propagated frames, ``-||f_t - f_m||^2 / 0.01``, radius 12 feature pixels, top-10. As
  ``pixels@<protocol>`` (``pixels@crw``, ``pixels@dino``, ...), under that memory protocol's
  settings, so colour and a trained embedding are compared at equal settings. It asks whether a
  learned embedding carries anything colour does not.

Like RPM-Net's propagation, every baseline honours ``PropagationConfig.scale`` (the H/4 grid is
that of the frame resized by it; predictions are written at the frame size); the flow baselines
also honour ``mode`` and, for ``optical-flow``, ``warp_resolution``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rpmbench import registry
from rpmbench.data.davis import VOID_ID
from rpmbench.data.flow import FLOW_DIR, read_sequence_flow
from rpmbench.errors import ConfigError
from rpmbench.inference.masks import first_soft_mask, masks_from_soft, propagate_with_flows
from rpmbench.inference.memory import pixel_features, propagate_with_memory
from rpmbench.inference.propagate import (
    WARP_RESOLUTIONS,
    PropagationConfig,
    PropagationStats,
    feature_size,
    propagate_split,
)
from rpmbench.models.matching import FlowWarp


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


def _warp_size(first_mask: np.ndarray, config: PropagationConfig) -> tuple[int, int]:
    """Where a flow baseline warps: H/4 of the (scaled) frame, or the frame size itself."""
    height, width = first_mask.shape
    return (height, width) if config.warp_resolution == "frame" else feature_size(height, width, config.scale)


def copy_first(frames: np.ndarray, first_mask: np.ndarray, config: PropagationConfig) -> np.ndarray:
    """The first-frame mask, unchanged, for every frame (no resolution round trip)."""
    first = np.where(first_mask == VOID_ID, 0, first_mask).astype(np.uint8)
    return np.repeat(first[None], len(frames), axis=0)


def copy_previous(frames: np.ndarray, first_mask: np.ndarray, config: PropagationConfig) -> np.ndarray:
    """Zero flow through RPM-Net's soft-mask machinery."""
    size = _warp_size(first_mask, config)
    zero = torch.zeros(1, 2, *size)
    return propagate_with_flows(first_mask, (_warp_by(zero) for _ in frames[1:]), size, config.mode)


def optical_flow(frames: np.ndarray, first_mask: np.ndarray, config: PropagationConfig) -> np.ndarray:
    """DIS flow from frame t to t-1, chained (on the frames resized by ``config.scale``)."""
    size = _warp_size(first_mask, config)
    if config.scale != 1:  # the frames the flow sees are the ones a network would see
        height, width = first_mask.shape
        scaled = (round(width * config.scale), round(height * config.scale))
        frames = np.stack([cv2.resize(frame, scaled, interpolation=cv2.INTER_AREA) for frame in frames])
    steps = (_warp_by(dis_flow(frames[t], frames[t - 1], size)) for t in range(1, len(frames)))
    return propagate_with_flows(first_mask, steps, size, config.mode)


def pixels(frames: np.ndarray, first_mask: np.ndarray, config: PropagationConfig) -> np.ndarray:
    """Memory propagation on raw Lab pixels at H/4: under ``config``'s memory settings when its
    protocol is a memory protocol (``pixels@crw``, ``pixels@dino``, ...), else under the ``pixels``
    protocol's own setting (``MEMORY_PRESETS["pixels"]``)."""
    config = pixels_config(config)
    size = _warp_size(first_mask, config)
    softs = propagate_with_memory(first_soft_mask(first_mask, size), pixel_features(frames, size),
                                  config.memory(), hard=config.mode == "hard")
    return masks_from_soft(first_mask, softs)


def pixels_config(config: PropagationConfig) -> PropagationConfig:
    """The settings ``pixels`` runs under: ``config`` itself under a memory protocol, the ``pixels``
    protocol's settings under the default (``flow``); ConfigError under any other protocol."""
    builder = registry.protocol(config.protocol).builder
    if builder == registry.protocol("pixels").builder:
        return config
    if config.protocol != registry.PAPER_PROTOCOL:
        raise ConfigError(f"pixels runs under a memory protocol (pixels, {', '.join(registry.PEER_PROTOCOLS)}, "
                          f"memory), not {config.protocol!r}: it has no flow")
    return dataclasses.replace(config, **registry.protocol("pixels").config_fields())


def truth_on_grid(flow: np.ndarray, valid: np.ndarray, size: tuple[int, int]) -> Tensor:
    """Ground-truth backward flow ``(H, W, 2)`` (dx, dy) image px with its validity ``(H, W)`` ->
    ``(1, 2, h, w)`` (dy, dx) in pixels of the ``size`` grid: each cell's mean over its valid pixels
    (area-weighted), 0 where a cell has none (unknown motion is taken as none)."""
    weights = torch.from_numpy(valid.astype(np.float32))[None, None]
    values = torch.from_numpy(flow).permute(2, 0, 1)[None].flip(1) * weights  # (dy, dx)
    total = F.interpolate(weights, size=size, mode="area")
    mean = F.interpolate(values, size=size, mode="area") / total.clamp_min(1e-12)
    scale = torch.tensor([size[0] / flow.shape[0], size[1] / flow.shape[1]]).view(1, 2, 1, 1)
    return torch.where(total > 0, mean, torch.zeros_like(mean)) * scale


def oracle_flow(frames: np.ndarray, first_mask: np.ndarray, config: PropagationConfig,
                truth: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """The paper's t-1 protocol moved by the ground-truth flow (``truth()`` -> flow ``(T-1, H, W, 2)``,
    valid ``(T-1, H, W)``): the ceiling of the protocol on data that has it."""
    if truth is None:
        raise ConfigError("oracle-flow needs a data set with ground-truth flow (the built-in sets store it)")
    flow, valid = truth()
    size = _warp_size(first_mask, config)
    steps = (_warp_by(truth_on_grid(flow[t - 1], valid[t - 1], size)) for t in range(1, len(frames)))
    return propagate_with_flows(first_mask, steps, size, config.mode)


#: Baselines that move the mask by a flow and so may warp it at the frame size.
_FRAME_WARP_BUILDERS: tuple[str, ...] = (f"{__name__}:optical_flow", f"{__name__}:oracle_flow")


def _check(name: str, config: PropagationConfig) -> registry.Baseline:
    """The registry entry of ``name``; ConfigError for an unknown name or an impossible setting."""
    entry = registry.baseline(name)
    if config.warp_resolution not in WARP_RESOLUTIONS:
        raise ConfigError(f"warp_resolution must be one of {WARP_RESOLUTIONS}, got {config.warp_resolution!r}")
    if config.warp_resolution == "frame" and entry.builder not in _FRAME_WARP_BUILDERS:
        raise ConfigError(f"warp_resolution=frame applies to the flow baselines only (optical-flow, "
                          f"oracle-flow), not {name!r}")
    return entry


def baseline_masks(name: str, frames: np.ndarray, first_mask: np.ndarray,
                   config: PropagationConfig | None = None) -> np.ndarray:
    """``(T, H, W)`` uint8 predictions of baseline ``name`` for one sequence.

    ``config`` gives the scale, the mode and, for optical-flow, ``warp_resolution="frame"``
    (beyond the paper): DIS flow kept at the frame size, a frame-size soft mask warped there.
    """
    config = config or PropagationConfig()
    predict = registry.resolve(_check(name, config).builder)
    return predict(frames, first_mask, config)


def run_baseline(name: str, davis_root: str | os.PathLike[str], split: str,
                 results_dir: str | os.PathLike[str], config: PropagationConfig | None = None,
                 progress: bool = True, layout: str = registry.DEFAULT_LAYOUT) -> PropagationStats:
    """Write baseline ``name``'s predictions for ``split`` (read as the registered ``layout``) in the
    official results layout
    (``name`` is a registered baseline; a grid's ``baseline@protocol`` entry arrives here as the
    baseline's name with the protocol's settings already in ``config``)."""
    config = config or PropagationConfig()
    entry = _check(name, config)
    predict = registry.resolve(entry.builder)
    if entry.needs_truth:
        if not os.path.isdir(os.path.join(davis_root, FLOW_DIR)):
            raise ConfigError(f"{davis_root}: baseline {name!r} needs ground-truth flow ({FLOW_DIR}/), "
                              "which only the built-in data sets store")
        return propagate_split(davis_root, split, results_dir, lambda frames, first, sequence: predict(
            frames, first, config, truth=lambda: read_sequence_flow(davis_root, sequence)), desc=name,
            progress=progress, layout=layout)
    return propagate_split(davis_root, split, results_dir, lambda frames, first, _: predict(frames, first, config),
                           desc=name, progress=progress, layout=layout)
