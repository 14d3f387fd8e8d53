"""DAVIS palette PNGs: object-id masks stored as 8-bit indexed images.

DAVIS annotations are ``P``-mode PNGs whose pixel values are object ids (0 background, 1..K
objects, 255 void) and whose palette only colours them for display. Reading returns the ids,
never the colours; an RGB (non-palette) mask is refused because its ids would be ambiguous.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from rpmbench.atomic import atomic_path
from rpmbench.errors import DataError


def davis_palette() -> list[int]:
    """The 256-entry DAVIS/PASCAL VOC palette as a flat ``[r0, g0, b0, r1, ...]`` list.

    Colour of id ``i``: bit ``b`` of ``i`` (from the least significant) sets bit ``7 - b // 3`` of
    the red, green or blue channel in turn, so id 1 is dark red (128, 0, 0), id 2 dark green.
    Id 255 is (224, 224, 192), the usual void colour.
    """
    palette = []
    for index in range(256):
        red = green = blue = 0
        value = index
        for shift in range(7, -1, -1):
            red |= (value & 1) << shift
            green |= ((value >> 1) & 1) << shift
            blue |= ((value >> 2) & 1) << shift
            value >>= 3
        palette.extend((red, green, blue))
    return palette


_PALETTE = davis_palette()


def read_palette_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Read the object ids of a palette PNG: ``(H, W)`` uint8.

    Raises :class:`DataError` naming the file when it is missing, unreadable, or not a
    palette (``P``) or greyscale (``L``) image.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode not in ("P", "L"):
                raise DataError(
                    f"{path}: mask is a {image.mode} image, not a palette PNG. Masks must store "
                    "object ids as pixel values (PIL mode 'P'); convert colours to ids first."
                )
            return np.array(image, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: mask file not found.") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataError(f"{path}: cannot read mask ({error}); the file may be corrupt.") from None


def write_palette_png(path: str | os.PathLike[str], mask: np.ndarray) -> None:
    """Write an ``(H, W)`` integer id mask (values 0..255) as a DAVIS palette PNG, atomically."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"mask ids must lie in 0..255, got {mask.min()}..{mask.max()}")
    image = Image.fromarray(mask.astype(np.uint8), mode="P")
    image.putpalette(_PALETTE)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
