"""DAVIS region (J) and boundary (F) measures and their per-object statistics.

Definitions follow the official DAVIS-2017 evaluation (semi-supervised task) exactly:

- J = |P ∩ G| / |P ∪ G|, and 1 when the union is empty.
- Boundary map of a binary mask: pixels that differ from their right, lower or lower-right
  neighbour, where only neighbours inside the image count (the last row compares with the right
  neighbour only, the last column with the lower one, the corner never is a boundary).
- F: both boundary maps are dilated with a disk of radius d = ceil(0.008 * sqrt(H² + W²)) (the
  set x² + y² <= d²); precision = |B_P ∩ dil(B_G)| / |B_P|, recall = |B_G ∩ dil(B_P)| / |B_G|.
  Both boundaries empty: F = 1; exactly one empty: F = 0; else F = 2PR / (P + R) (0 if P + R = 0).

Work is restricted to the box around each object (:func:`label_scores`), so small objects in
large frames cost little; counts are integers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def _box_around(mask: np.ndarray) -> tuple[slice, slice] | None:
    """Box of a 2-D array's non-zero pixels grown by one pixel (clipped to the image); None if none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return (slice(max(rows[0] - 1, 0), rows[-1] + 2), slice(max(cols[0] - 1, 0), cols[-1] + 2))


def _f_of_boundaries(pred_boundary: np.ndarray, gt_boundary: np.ndarray, kernel: np.ndarray) -> float:
    """F of one frame from its two boundary maps, given any crop that holds all their pixels
    (dilation ignores pixels outside the crop, and there are no boundary pixels there)."""
    pred_boundary = np.ascontiguousarray(pred_boundary)
    gt_boundary = np.ascontiguousarray(gt_boundary)
    pred_dilated = cv2.dilate(pred_boundary.view(np.uint8), kernel).view(bool)
    gt_dilated = cv2.dilate(gt_boundary.view(np.uint8), kernel).view(bool)
    return _f_from_counts(
        np.count_nonzero(pred_boundary), np.count_nonzero(gt_boundary),
        np.count_nonzero(pred_boundary & gt_dilated), np.count_nonzero(gt_boundary & pred_dilated),
    )


def boundary_f(pred: np.ndarray, gt: np.ndarray, radius: int | None = None) -> np.ndarray:
    """Per-frame F of ``(T, H, W)`` bool stacks -> ``(T,)`` float64."""
    height, width = gt.shape[-2:]
    kernel = disk(boundary_tolerance(height, width) if radius is None else radius)
    scores = np.ones(len(gt))
    for index, (bp, bg) in enumerate(zip(boundary_maps(pred), boundary_maps(gt))):
        box = _box_around(bp | bg)
        if box is not None:
            scores[index] = _f_of_boundaries(bp[box], bg[box], kernel)
    return scores


def label_scores(pred: Sequence[np.ndarray], gt: Sequence[np.ndarray], num_objects: int,
                 radius: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """J and F of objects 1..K in T ``(H, W)`` uint8 id maps (lists or ``(T, H, W)`` arrays) ->
    two ``(K, T)`` float64 arrays.

    The same values as :func:`jaccard` and :func:`boundary_f` of ``pred == k`` and ``gt == k``
    (every other id, void and ids above K included, is background for object k). Each frame is
    cropped to the box of its non-zero ids in either map and each object to the box of its own
    pixels, both grown by one pixel: a mask's boundary lies within one pixel of the mask, so the
    crop holds every boundary pixel and its boundary map equals the full frame's there.
    Object-frames where k is absent from both maps score J = F = 1 without any work.
    """
    if len(gt) == 0:
        return np.ones((num_objects, 0)), np.ones((num_objects, 0))
    height, width = gt[0].shape
    kernel = disk(boundary_tolerance(height, width) if radius is None else radius)
    j_scores = np.ones((num_objects, len(gt)))
    f_scores = np.ones((num_objects, len(gt)))
    for t in range(len(gt)):
        frame_box = _box_around(np.bitwise_or(pred[t], gt[t]))
        if frame_box is None:
            continue
        pred_ids, gt_ids = pred[t][frame_box], gt[t][frame_box]
        for obj in range(1, num_objects + 1):
            p, g = pred_ids == obj, gt_ids == obj
            either = p | g
            box = _box_around(either)
            if box is None:
                continue
            p, g = p[box], g[box]
            j_scores[obj - 1, t] = np.count_nonzero(p & g) / np.count_nonzero(either[box])
            f_scores[obj - 1, t] = _f_of_boundaries(boundary_maps(p), boundary_maps(g), kernel)
    return j_scores, f_scores


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
