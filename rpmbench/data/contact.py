"""Contact sheets: a few frames of several sequences with their masks overlaid, for eyeballing."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from rpmbench.atomic import atomic_path
from rpmbench.data.davis import DavisDataset
from rpmbench.data.palette import davis_palette


def overlay(frame: np.ndarray, mask: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """``frame (H, W, 3)`` uint8 with object ids of ``mask (H, W)`` tinted in DAVIS palette colours
    and their outlines drawn opaque."""
    colours = np.asarray(davis_palette(), np.float32).reshape(256, 3)[mask]
    objects = (mask > 0)[..., None]
    out = np.where(objects, frame * (1 - opacity) + colours * opacity, frame.astype(np.float32))
    edge = np.zeros(mask.shape, bool)
    vertical, horizontal = mask[:-1] != mask[1:], mask[:, :-1] != mask[:, 1:]
    edge[:-1] |= vertical
    edge[1:] |= vertical
    edge[:, :-1] |= horizontal
    edge[:, 1:] |= horizontal
    edge &= mask > 0
    out[edge] = colours[edge]
    return out.astype(np.uint8)


def contact_sheet(davis_root: str | os.PathLike[str], out: str | os.PathLike[str], split: str = "val",
                  sequences: int = 6, columns: int = 6, height: int = 128) -> None:
    """Write a PNG: one row per sequence (the first ``sequences``), ``columns`` evenly spaced frames
    each, shown at ``height`` pixels with mask overlays."""
    dataset = DavisDataset(davis_root, split)
    rows = []
    for sequence in dataset.sequences[:sequences]:
        frames, masks = dataset.read_frames(sequence), dataset.read_annotations(sequence)
        picks = np.linspace(0, len(frames) - 1, columns).round().astype(int)
        tiles = []
        for t in picks:
            tile = Image.fromarray(overlay(frames[t], masks[t]))
            width = round(tile.width * height / tile.height)
            tiles.append(np.asarray(tile.resize((width, height), Image.Resampling.LANCZOS)))
            tiles.append(np.full((height, 2, 3), 255, np.uint8))
        rows.append(np.concatenate(tiles, axis=1))
        rows.append(np.full((2, rows[-1].shape[1], 3), 255, np.uint8))
    with atomic_path(out) as tmp:
        Image.fromarray(np.concatenate(rows)).save(tmp, format="PNG")
