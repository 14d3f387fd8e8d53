"""Flow error against ground truth: how well a method's flow follows the true motion.

The built-in sets store the exact backward flow t -> t-1 of every frame with a validity mask
(:mod:`rpmbench.data.flow`). A method's flow (RPM-Net's layer-108 output plus any base flow,
upsampled x4 to the frame as the frame-size warp does; DIS optical flow; zero flow for
copy-previous) is compared with it on the **valid object pixels** of frame t (labelled in frame
t's ground-truth mask, valid in ``FlowValid``). Reported per result:

- the mean end-point error (EPE) in image pixels and in feature pixels (image / 4: the H/4 grid
  the matching module works on), and the share of pixels within 1 feature pixel of the truth;
- the same, binned by the true motion in feature pixels: ``< 1``, ``1-3``, ``3-6``, ``6-12``,
  ``> 12`` (the reach question: a plain 3x3 stack of three layers sees +-3 feature pixels);
- per sequence, the EPE in feature pixels and its pixel count (for paired comparisons).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np

from rpmbench.data.davis import VOID_ID
from rpmbench.data.flow import FEATURE_STRIDE, FLOW_DIR, read_sequence_flow
from rpmbench.data.layouts import open_split
from rpmbench.registry import DEFAULT_LAYOUT

#: Bin edges of the true motion, in feature pixels (lower edge inclusive).
MOTION_BINS: tuple[float, ...] = (0.0, 1.0, 3.0, 6.0, 12.0, math.inf)


def bin_label(low: float, high: float) -> str:
    """``"<1"``, ``"1-3"``, ..., ``">12"``."""
    if low == 0:
        return f"<{high:g}"
    return f">{low:g}" if math.isinf(high) else f"{low:g}-{high:g}"


def has_ground_truth_flow(root: str | os.PathLike[str]) -> bool:
    """Whether the DAVIS-layout set at ``root`` stores ground-truth flow (the built-in sets do)."""
    return os.path.isdir(os.path.join(root, FLOW_DIR))


def object_errors(predicted: np.ndarray, truth: np.ndarray, valid: np.ndarray, masks: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """End-point errors and true motion magnitudes (image pixels) on the valid object pixels.

    Args:
        predicted: a method's backward flow of frames 1..T-1, ``(T-1, H, W, 2)`` (dx, dy) image px.
        truth: the ground-truth backward flow, same shape.
        valid: ``(T-1, H, W)`` bool, where the truth is known.
        masks: ground-truth ids of frames 1..T-1, ``(T-1, H, W)`` (0 background, 255 void).

    Returns:
        ``(errors, magnitudes)``, each ``(N,)`` float64 over the N valid object pixels.
    """
    if predicted.shape != truth.shape or truth.shape[:3] != valid.shape or valid.shape != masks.shape:
        raise ValueError(f"flow shapes disagree: predicted {predicted.shape}, truth {truth.shape}, "
                         f"valid {valid.shape}, masks {masks.shape}")
    return endpoint_errors(predicted, truth, valid & (masks != 0) & (masks != VOID_ID))


def endpoint_errors(predicted: np.ndarray, truth: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(errors, magnitudes)`` (image pixels, float64, ``(N,)``) of the flows ``(..., H, W, 2)``
    at the N pixels where ``keep (..., H, W)`` is true: ``|predicted - truth|`` and ``|truth|``."""
    difference = predicted[keep].astype(np.float64) - truth[keep].astype(np.float64)
    return np.linalg.norm(difference, axis=-1), np.linalg.norm(truth[keep].astype(np.float64), axis=-1)


def summarise_errors(errors: np.ndarray, magnitudes: np.ndarray) -> dict[str, object]:
    """EPE overall and per motion bin (image and feature pixels) and the share within 1 feature px.

    Bins with no pixel have ``pixels: 0`` and NaN errors (JSON ``NaN``).
    """
    def summary(selected: np.ndarray) -> dict[str, float]:
        count = int(selected.size)
        mean = float(selected.mean()) if count else math.nan
        return {"pixels": count, "epe_image_px": mean, "epe_feature_px": mean / FEATURE_STRIDE,
                "within_1_feature_px": float((selected <= FEATURE_STRIDE).mean()) if count else math.nan}

    motion = magnitudes / FEATURE_STRIDE
    bins = {bin_label(low, high): summary(errors[(motion >= low) & (motion < high)])
            for low, high in zip(MOTION_BINS[:-1], MOTION_BINS[1:])}
    return {**summary(errors), "by_true_motion_feature_px": bins}


def score_flow(root: str | os.PathLike[str], split: str,
               predict: Callable[[np.ndarray], np.ndarray], layout: str = DEFAULT_LAYOUT) -> dict[str, object]:
    """Flow metrics of ``predict(frames (T, H, W, 3) uint8) -> (T-1, H, W, 2)`` backward flows
    (dx, dy, image pixels, frame t -> t-1) over every sequence of ``split`` (read as ``layout``; the
    ground truth lies under ``root``'s ``Flow``/``FlowValid`` folders)."""
    dataset = open_split(root, split, layout)
    errors, magnitudes, per_sequence = [], [], {}
    for sequence in dataset.sequences:
        frames, masks = dataset.read_frames(sequence), dataset.read_annotations(sequence)
        truth, valid = read_sequence_flow(root, sequence)
        error, magnitude = object_errors(predict(frames), truth, valid, masks[1:])
        errors.append(error)
        magnitudes.append(magnitude)
        per_sequence[sequence] = {"pixels": int(error.size),
                                  "epe_feature_px": float(error.mean()) / FEATURE_STRIDE if error.size else math.nan}
    return {**summarise_errors(np.concatenate(errors), np.concatenate(magnitudes)), "per_sequence": per_sequence}
