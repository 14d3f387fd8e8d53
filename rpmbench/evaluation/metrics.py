"""DAVIS region (J) and boundary (F) measures and their per-object statistics.

Definitions follow the official DAVIS-2017 evaluation (semi-supervised task) exactly:

- J = |P ∩ G| / |P ∪ G|, and 1 when the union is empty.
- Boundary map of a binary mask: pixels that differ from their right, lower or lower-right
  neighbour, where only neighbours inside the image count (the last row compares with the right
  neighbour only, the last column with the lower one, the corner never is a boundary).
- F: both boundary maps are dilated with a disk of radius d = ceil(0.008 * sqrt(H² + W²)) (the
  set x² + y² <= d²); precision = |B_P ∩ dil(B_G)| / |B_P|, recall = |B_G ∩ dil(B_P)| / |B_G|.
  Both boundaries empty: F = 1; exactly one empty: F = 0; else F = 2PR / (P + R) (0 if P + R = 0).

The work is restricted to the bounding box of both boundaries grown by d, so small objects in
large frames cost little; counts are integers.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

BOUNDARY_THRESHOLD = 0.008


def boundary_tolerance(height: int, width: int) -> int:
    """The dilation radius d in pixels (8 at 480x854)."""
    return int(math.ceil(BOUNDARY_THRESHOLD * math.hypot(height, width)))


def disk(radius: int) -> np.ndarray:
    """``(2r+1, 2r+1)`` uint8 structuring element of the pixels with x² + y² <= r²."""
    offsets = np.arange(-radius, radius + 1)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).astype(np.uint8)


def boundary_maps(masks: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` bool masks -> ``(..., H, W)`` bool boundary maps (see module docstring)."""
    masks = np.asarray(masks, dtype=bool)
    boundary = np.zeros_like(masks)
    core = masks[..., :-1, :-1]
    boundary[..., :-1, :-1] = (
        (core ^ masks[..., :-1, 1:]) | (core ^ masks[..., 1:, :-1]) | (core ^ masks[..., 1:, 1:])
    )
    boundary[..., -1, :-1] = masks[..., -1, :-1] ^ masks[..., -1, 1:]
    boundary[..., :-1, -1] = masks[..., :-1, -1] ^ masks[..., 1:, -1]
    return boundary


def jaccard(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame J of ``(T, H, W)`` bool stacks -> ``(T,)`` float64."""
    inter = np.count_nonzero(pred & gt, axis=(-2, -1))
    union = np.count_nonzero(pred | gt, axis=(-2, -1))
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def _f_from_counts(pred_count: int, gt_count: int, pred_matched: int, gt_matched: int) -> float:
    if pred_count == 0 and gt_count == 0:
        return 1.0
    if pred_count == 0 or gt_count == 0:
        return 0.0
    precision = pred_matched / pred_count
    recall = gt_matched / gt_count
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def boundary_f(pred: np.ndarray, gt: np.ndarray, radius: int | None = None) -> np.ndarray:
    """Per-frame F of ``(T, H, W)`` bool stacks -> ``(T,)`` float64."""
    height, width = gt.shape[-2:]
    radius = boundary_tolerance(height, width) if radius is None else radius
    kernel = disk(radius)
    pred_boundary = boundary_maps(pred)
    gt_boundary = boundary_maps(gt)
    scores = np.empty(len(gt))
    for index, (bp, bg) in enumerate(zip(pred_boundary, gt_boundary)):
        either = bp | bg
        rows = np.flatnonzero(either.any(axis=1))
        if rows.size == 0:
            scores[index] = 1.0
            continue
        cols = np.flatnonzero(either.any(axis=0))
        top, bottom = max(rows[0] - radius, 0), min(rows[-1] + radius + 1, height)
        left, right = max(cols[0] - radius, 0), min(cols[-1] + radius + 1, width)
        bp = bp[top:bottom, left:right]
        bg = bg[top:bottom, left:right]
        pred_dilated = cv2.dilate(np.ascontiguousarray(bp).view(np.uint8), kernel).view(bool)
        gt_dilated = cv2.dilate(np.ascontiguousarray(bg).view(np.uint8), kernel).view(bool)
        scores[index] = _f_from_counts(
            np.count_nonzero(bp), np.count_nonzero(bg),
            np.count_nonzero(bp & gt_dilated), np.count_nonzero(bg & pred_dilated),
        )
    return scores


def decay_bins(n_frames: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) frame indices of the 4 Decay bins of an ``n_frames`` sequence.

    Edges are ``round(linspace(1, n, 5) + 1e-10) - 1``; neighbouring bins share their edge frame.
    The official code casts the edges to uint8, which wraps for n >= 256 (an edge of 256 becomes
    0); we reproduce it exactly for n < 256 and use the true edges beyond (no DAVIS-2017 val
    sequence is that long, the longest has 104 frames).
    """
    edges = np.round(np.linspace(1, n_frames, 5) + 1e-10) - 1
    edges = edges.astype(np.uint8) if n_frames < 256 else edges.astype(np.int64)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(4)]


def statistics(per_frame: np.ndarray) -> tuple[float, float, float]:
    """(Mean, Recall, Decay) of one object's per-frame values, as the official ``db_statistics``."""
    values = np.asarray(per_frame, dtype=np.float64)
    if values.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.nanmean(values))
    recall = float(np.nanmean(values > 0.5))
    bins = [values[first:last + 1] for first, last in decay_bins(len(values))]
    decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return mean, recall, decay
