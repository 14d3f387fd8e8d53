"""Each method's own flow between consecutive frames, at the frame size, for flow metrics
(:mod:`rpmbench.evaluation.flow`).

Every function maps ``frames (T, H, W, 3)`` uint8 RGB to the backward flows of frames 1..T-1,
``(T-1, H, W, 2)`` float32 (dx, dy) in image pixels: where each pixel of frame t was in frame
t-1, the flow the method warps its mask with, brought to the frame size the way the frame-size
warp does (:func:`rpmbench.inference.propagate.upsample_flow`). :func:`model_sampling` gives the
matching module's sampling locations behind that flow instead (for the offsets study and
Figure 2).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rpmbench.inference.baselines import dis_flow
from rpmbench.inference.propagate import PropagationConfig, embed_frames, feature_size, upsample_flow
from rpmbench.models import RPMNet


def _to_image(flows: list[Tensor], size: tuple[int, int]) -> np.ndarray:
    """Flows ``(1, 2, h, w)`` (dy, dx) in pixels of their grid -> ``(T-1, H, W, 2)`` (dx, dy) image px."""
    return np.stack([upsample_flow(flow.float().cpu(), size)[0].flip(0).permute(1, 2, 0).numpy()
                     for flow in flows]).astype(np.float32)


@torch.no_grad()
def model_flows(model: RPMNet, frames: np.ndarray, config: PropagationConfig, base_only: bool = False) -> np.ndarray:
    """The matching module's flow (layer 108 plus any base flow; with ``base_only`` the base flow
    alone, for a kind that has one, e.g. ``corr``'s cost volume)."""
    features = embed_frames(model.eval(), frames, config)
    flows = []
    for t in range(1, len(frames)):
        if base_only:
            flows.append(model.matching.base_flow(features[t:t + 1], features[t - 1:t]))
        else:
            flows.append(model.matching.flow(features[t:t + 1], features[t - 1:t])[0])
    return _to_image(flows, frames.shape[1:3])


@torch.no_grad()
def model_sampling(model: RPMNet, frames: np.ndarray, config: PropagationConfig) -> list[list[Tensor]]:
    """Per frame t >= 1, where every matching layer samples when the paper's protocol propagates
    frame t-1 to t: layers 106.., then 109, each ``(1, k*k, h, w, 2)`` absolute (y, x) locations on
    the feature grid (CPU); the payload does not change them, so none is propagated."""
    model = model.eval()
    return feature_sampling(model, embed_frames(model, frames, config))


@torch.no_grad()
def feature_sampling(model: RPMNet, features: Tensor) -> list[list[Tensor]]:
    """:func:`model_sampling` from the frames' embeddings ``(T, 32, h, w)`` (already computed)."""
    payload = features.new_zeros(1, 1, *features.shape[-2:])
    return [[layer.cpu() for layer in model.match(features[t:t + 1], features[t - 1:t], payload,
                                                  return_sampling=True).sampling]
            for t in range(1, len(features))]


def zero_flows(frames: np.ndarray, config: PropagationConfig) -> np.ndarray:
    """copy-previous: no motion."""
    return np.zeros((len(frames) - 1, *frames.shape[1:3], 2), np.float32)


def dis_flows(frames: np.ndarray, config: PropagationConfig) -> np.ndarray:
    """optical-flow: DIS at the grid it warps on (H/4 of the scaled frame, or the frame size)."""
    height, width = frames.shape[1:3]
    size = (height, width) if config.warp_resolution == "frame" else feature_size(height, width, config.scale)
    if config.scale != 1:
        import cv2

        scaled = (round(width * config.scale), round(height * config.scale))
        frames = np.stack([cv2.resize(frame, scaled, interpolation=cv2.INTER_AREA) for frame in frames])
    return _to_image([dis_flow(frames[t], frames[t - 1], size) for t in range(1, len(frames))], (height, width))
