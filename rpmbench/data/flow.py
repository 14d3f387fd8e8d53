"""Ground-truth optical flow of the built-in sets: storage, reading, warping, affine motion.

Convention: the flow of frame ``t`` (``t >= 1``) is *backward*, ``t -> t-1``: at pixel ``(y, x)``
of frame ``t`` it holds ``(u, v) = (dx, dy)`` in image pixels such that the same scene point is at
``(y + v, x + u)`` in frame ``t-1``. Pixel centres are at integer coordinates. A 0/1 validity map
says where the flow is exact (the point is visible in both frames and its motion is known).

Storage, beside the DAVIS layout (``<res>`` is the JPEGImages resolution folder)::

    Flow/<res>/<seq>/00001.flo ...       Middlebury .flo, float32 (u, v), cv2.readOpticalFlow reads it
    FlowValid/<res>/<seq>/00001.png ...  8-bit greyscale, 1 where the flow is exact, 0 elsewhere
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from rpmbench.errors import DataError

#: Image pixels per feature pixel: the matching module works on the H/4 grid, so motion in
#: feature pixels (image px / 4) is what a 3x3 layer's reach is measured in.
FEATURE_STRIDE = 4
FLOW_DIR = "Flow"
VALID_DIR = "FlowValid"


def write_flow(path: str | os.PathLike[str], flow: np.ndarray) -> None:
    """Write ``flow (H, W, 2)`` (u, v) as a Middlebury ``.flo`` file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.writeOpticalFlow(str(path), np.ascontiguousarray(flow, np.float32)):
        raise DataError(f"{path}: cannot write the flow file.")


def read_flow(path: str | os.PathLike[str]) -> np.ndarray:
    """``(H, W, 2)`` float32 (u, v) of a Middlebury ``.flo`` file."""
    flow = cv2.readOpticalFlow(str(path))
    if flow is None:
        raise DataError(f"{path}: not a readable .flo file.")
    return flow


def write_valid(path: str | os.PathLike[str], valid: np.ndarray) -> None:
    """Write ``valid (H, W)`` bool as a 0/1 greyscale PNG."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(valid.astype(np.uint8)).save(path)


def read_valid(path: str | os.PathLike[str]) -> np.ndarray:
    """``(H, W)`` bool of a 0/1 validity PNG."""
    return np.asarray(Image.open(path)) > 0


def write_sequence_flow(root: Path, resolution: str, name: str, flow: np.ndarray, valid: np.ndarray) -> None:
    """Write ``flow (T, H, W, 2)`` and ``valid (T, H, W)`` of frames 1..T-1 (frame 0 has none)."""
    for t in range(1, len(flow)):
        write_flow(root / FLOW_DIR / resolution / name / f"{t:05d}.flo", flow[t])
        write_valid(root / VALID_DIR / resolution / name / f"{t:05d}.png", valid[t])


def read_sequence_flow(root: str | os.PathLike[str], sequence: str, resolution: str = "480p"
                       ) -> tuple[np.ndarray, np.ndarray]:
    """``flow (T-1, H, W, 2)`` and ``valid (T-1, H, W)`` of frames 1..T-1 of a stored sequence."""
    folder = Path(root) / FLOW_DIR / resolution / sequence
    paths = sorted(folder.glob("*.flo"))
    if not paths:
        raise DataError(f"{folder}: no ground-truth flow (.flo files) found.")
    valid_dir = Path(root) / VALID_DIR / resolution / sequence
    return (np.stack([read_flow(p) for p in paths]),
            np.stack([read_valid(valid_dir / f"{p.stem}.png") for p in paths]))


def warp_previous(previous: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Frame ``t`` predicted from ``previous (H, W, C)`` (frame t-1) by the backward ``flow (H, W, 2)``:
    bilinear samples of ``previous`` at ``(y + v, x + u)``, float32."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(previous.astype(np.float32), xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def pixel_grid(height: int, width: int) -> np.ndarray:
    """``(H, W, 2)`` float64 (y, x) coordinates of every pixel centre."""
    return np.stack(np.mgrid[0:height, 0:width].astype(np.float64), axis=-1)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points (..., 2)`` (y, x) mapped by the OpenCV ``2x3`` matrix (which acts on (x, y))."""
    x = matrix[0, 0] * points[..., 1] + matrix[0, 1] * points[..., 0] + matrix[0, 2]
    y = matrix[1, 0] * points[..., 1] + matrix[1, 1] * points[..., 0] + matrix[1, 2]
    return np.stack([y, x], axis=-1)


def affine_backward(current: np.ndarray, previous: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Where the points ``(..., 2)`` (y, x) of frame t were in frame t-1 for content placed by the
    2x3 source-to-frame matrices ``current`` (frame t) and ``previous`` (frame t-1)."""
    return apply_affine(previous, apply_affine(cv2.invertAffineTransform(current), points))


def lookup(labels: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``labels (H, W)`` at the nearest pixel of ``points (..., 2)`` (y, x), and whether the point
    lies inside the frame (outside points read 0)."""
    h, w = labels.shape
    iy, ix = np.floor(points[..., 0] + 0.5).astype(np.int64), np.floor(points[..., 1] + 0.5).astype(np.int64)
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    out = np.zeros(points.shape[:-1], labels.dtype)
    out[inside] = labels[iy[inside], ix[inside]]
    return out, inside


def to_flow(points_before: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``(H, W, 2)`` float32 (u, v) = (dx, dy) from the previous positions ``(H, W, 2)`` (y, x)."""
    delta = points_before - grid
    return np.stack([delta[..., 1], delta[..., 0]], axis=-1).astype(np.float32)
