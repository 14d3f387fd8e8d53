"""Frame pairs with known motion at chosen magnitudes, for the reach sweep.

Each pair is two views of one real photograph that training never sees (the val-split photos of
:mod:`rpmbench.data.sources`), the second moved by a known smooth field: a translation plus a little
rotation, scale and smooth deformation, rescaled so that the mean motion is the requested magnitude
in *feature pixels* (image pixels / 4, the grid the matching module works on). The backward flow of
the second frame (where each of its pixels was in the first, (dx, dy) in image pixels) is exact by
construction: frame 1 samples the photo at ``p + origin + flow(p)``, frame 0 at ``p + origin``. It
is valid where that point lies inside frame 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from rpmbench.data.figures import photo
from rpmbench.data.flow import FEATURE_STRIDE
from rpmbench.data.sources import sources

#: The sweep's motion magnitudes, in feature pixels.
MAGNITUDES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


@dataclass(frozen=True)
class MotionPairsConfig:
    """The pairs of one sweep (hashed into every reach result).

    ``photos``: source names (default: every val-split photo); ``fields_per_photo`` random fields
    per photo and magnitude; ``rotation_scale`` and ``deformation``: the weights of the linear and
    the smooth non-linear part relative to the translation (0 and 0: a pure translation).
    """

    magnitudes: tuple[float, ...] = MAGNITUDES
    height: int = 128
    width: int = 224
    photos: tuple[str, ...] = ()
    fields_per_photo: int = 2
    rotation_scale: float = 0.15
    deformation: float = 0.15
    seed: int = 0

    def resolved_photos(self) -> tuple[str, ...]:
        return self.photos or sources("val", "background")

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "magnitudes": list(self.magnitudes),
                "photos": list(self.resolved_photos())}


@dataclass(frozen=True)
class MotionPair:
    """Two frames ``(2, H, W, 3)`` uint8, the exact backward flow of frame 1 ``(H, W, 2)`` (dx, dy)
    image px, its validity ``(H, W)`` bool, and the pair's photo and nominal magnitude (feature px)."""

    frames: np.ndarray
    flow: np.ndarray
    valid: np.ndarray
    photo: str
    magnitude: float

    def true_motion(self) -> float:
        """Mean true motion over the valid pixels, in feature pixels."""
        return float(np.linalg.norm(self.flow[self.valid], axis=-1).mean()) / FEATURE_STRIDE


def smooth_field(rng: np.random.Generator, height: int, width: int, rotation_scale: float,
                 deformation: float) -> np.ndarray:
    """``(H, W, 2)`` (dx, dy) of unit mean length before rescaling: a random unit translation plus
    ``rotation_scale`` x a random rotation/scale about the centre and ``deformation`` x a smooth
    random field (both of unit root-mean-square)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    half_diagonal = np.hypot(height, width) / 2
    y, x = (ys - (height - 1) / 2) / half_diagonal, (xs - (width - 1) / 2) / half_diagonal
    angle = rng.uniform(0, 2 * np.pi)
    field = np.stack([np.full_like(x, np.cos(angle)), np.full_like(y, np.sin(angle))], axis=-1)
    rotation, scale = rng.uniform(-1, 1, size=2)
    linear = np.stack([scale * x - rotation * y, rotation * x + scale * y], axis=-1)
    field += rotation_scale * linear / max(_rms(linear), 1e-12)
    coarse = rng.normal(size=(3, 4, 2))  # a few control points, bicubically upsampled: smooth
    bumps = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    field += deformation * bumps / _rms(bumps)
    return field


def _rms(field: np.ndarray) -> float:
    return float(np.sqrt((field ** 2).sum(-1).mean()))


def _sample(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    return cv2.remap(image, xs.astype(np.float32), ys.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


def _canvas(name: str, height: int, width: int, margin: float) -> np.ndarray:
    """The photo, enlarged (bicubic) only if it cannot hold the frame plus ``margin`` on each side."""
    image = photo(name)
    need = max((height + 2 * margin) / image.shape[0], (width + 2 * margin) / image.shape[1], 1.0)
    if need > 1:
        size = (int(np.ceil(image.shape[1] * need)), int(np.ceil(image.shape[0] * need)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    return image


def make_pair(rng: np.random.Generator, name: str, magnitude: float, config: MotionPairsConfig) -> MotionPair:
    """One pair of ``name`` whose mean motion over the frame is ``magnitude`` feature pixels."""
    height, width = config.height, config.width
    field = smooth_field(rng, height, width, config.rotation_scale, config.deformation)
    flow = field * (magnitude * FEATURE_STRIDE / np.linalg.norm(field, axis=-1).mean())
    margin = float(np.abs(flow).max()) + 2
    canvas = _canvas(name, height, width, margin)
    top = rng.uniform(margin, canvas.shape[0] - height - margin)
    left = rng.uniform(margin, canvas.shape[1] - width - margin)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    first = _sample(canvas, xs + left, ys + top)
    second = _sample(canvas, xs + left + flow[..., 0], ys + top + flow[..., 1])
    before_x, before_y = xs + flow[..., 0], ys + flow[..., 1]
    valid = (before_x >= 0) & (before_x <= width - 1) & (before_y >= 0) & (before_y <= height - 1)
    return MotionPair(np.stack([first, second]), flow.astype(np.float32), valid, name, magnitude)


def make_pairs(config: MotionPairsConfig) -> list[MotionPair]:
    """Every pair of the sweep: for each magnitude, ``fields_per_photo`` fields per photo
    (deterministic in ``config.seed``)."""
    rng = np.random.default_rng(config.seed)
    return [make_pair(rng, name, magnitude, config)
            for magnitude in config.magnitudes
            for name in config.resolved_photos()
            for _ in range(config.fields_per_photo)]
