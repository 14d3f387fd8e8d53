"""Foreground objects for the built-in data set: real photos from scikit-image with exact mattes.

Each sprite is an RGB crop of a real photograph (shipped inside scikit-image, no download) and a
binary matte. The mattes are ours (ellipses around the subject, or scikit-image's horse
silhouette), so the object masks of the data set are exact by construction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sprite:
    name: str
    rgb: np.ndarray  # (h, w, 3) uint8
    matte: np.ndarray  # (h, w) bool


def _ellipse_sprite(name: str, image: np.ndarray, centre: tuple[int, int], radii: tuple[int, int]) -> Sprite:
    (cy, cx), (ry, rx) = centre, radii
    top, left = max(cy - ry, 0), max(cx - rx, 0)
    crop = image[top:cy + ry + 1, left:cx + rx + 1]
    ys, xs = np.mgrid[0:crop.shape[0], 0:crop.shape[1]]
    matte = ((ys + top - cy) / ry) ** 2 + ((xs + left - cx) / rx) ** 2 <= 1
    return Sprite(name, np.ascontiguousarray(crop), matte)


@functools.cache
def sprites() -> tuple[Sprite, ...]:
    """The sprite library (loaded once per process)."""
    from skimage import data

    cat = data.chelsea()
    horse = ~data.horse()  # the silhouette is False on a True background
    texture = np.resize(cat, (*horse.shape, 3)) if cat.shape[0] < horse.shape[0] else cat[: horse.shape[0], : horse.shape[1]]
    return (
        _ellipse_sprite("astronaut", data.astronaut(), (110, 230), (95, 75)),
        _ellipse_sprite("cat", cat, (160, 225), (115, 145)),
        _ellipse_sprite("coffee-cup", data.coffee(), (230, 245), (165, 215)),
        Sprite("horse", np.ascontiguousarray(texture), horse),
    )
