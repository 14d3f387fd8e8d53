"""Let the user look: predicted masks drawn over the frames, per sequence.

For each sequence of a results folder, :func:`write_overlays` writes

- ``<sequence>.png``: a contact sheet, frames in reading order (at most ``max_frames``, evenly
  spaced, first and last included), each labelled with its frame name;
- ``<sequence>.gif``: every frame, animated (Pillow's GIF writer, ``fps`` frames per second).

Masks are blended over the frame in the DAVIS palette colours (``alpha``) with a solid one-pixel
outline, so drift at the object boundary stays visible.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from rpmbench import registry
from rpmbench.data.davis import read_sequence_predictions
from rpmbench.data.layouts import open_split
from rpmbench.data.palette import davis_palette


def overlay_masks(frames: np.ndarray, masks: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """``frames (T, H, W, 3)`` uint8 and ``masks (T, H, W)`` ids -> ``(T, H, W, 3)`` uint8: each
    object blended in its palette colour, its outline (4-neighbour boundary) drawn solid."""
    colours = np.array(davis_palette(), np.float32).reshape(-1, 3)[masks]  # (T, H, W, 3)
    objects = (masks > 0)[..., None]
    blended = np.where(objects, (1 - alpha) * frames + alpha * colours, frames)
    edge = np.zeros(masks.shape, bool)
    vertical = masks[:, 1:] != masks[:, :-1]
    horizontal = masks[:, :, 1:] != masks[:, :, :-1]
    edge[:, 1:] |= vertical
    edge[:, :-1] |= vertical
    edge[:, :, 1:] |= horizontal
    edge[:, :, :-1] |= horizontal
    edge &= masks > 0
    blended[edge] = colours[edge]
    return blended.round().astype(np.uint8)


def contact_sheet(images: np.ndarray, labels: list[str], columns: int = 4) -> Image.Image:
    """``images (N, H, W, 3)`` uint8 -> one sheet with ``columns`` per row, each image labelled."""
    count, height, width, _ = images.shape
    rows = math.ceil(count / columns)
    gap = 4
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (image, label) in enumerate(zip(images, labels)):
        x = gap + (index % columns) * (width + gap)
        y = gap + (index // columns) * (height + gap)
        sheet.paste(Image.fromarray(image), (x, y))
        draw.rectangle((x, y, x + 6 * len(label) + 4, y + 12), fill="black")
        draw.text((x + 2, y), label, fill="white")
    return sheet


def sheet_indices(frames: int, max_frames: int) -> list[int]:
    """At most ``max_frames`` evenly spaced indices of ``frames`` frames, first and last included."""
    if frames <= max_frames:
        return list(range(frames))
    return sorted({round(i * (frames - 1) / (max_frames - 1)) for i in range(max_frames)})


def write_overlays(davis_root: str | os.PathLike[str], split: str, results_dir: str | os.PathLike[str],
                   overlay_dir: str | os.PathLike[str], max_frames: int = 12, fps: float = 8.0,
                   alpha: float = 0.5, layout: str = registry.DEFAULT_LAYOUT) -> list[Path]:
    """Write ``<overlay_dir>/<sequence>.png`` (contact sheet) and ``.gif`` (animation) for every
    sequence of ``split`` (read as the registered ``layout``) predicted in ``results_dir``; returns
    the written paths."""
    if max_frames < 1 or fps <= 0 or not 0 <= alpha <= 1:
        raise ValueError(f"write_overlays: need max_frames >= 1, fps > 0, 0 <= alpha <= 1; got "
                         f"{max_frames}, {fps}, {alpha}")
    dataset = open_split(davis_root, split, layout, first_frame_only=True)  # frames and predictions only
    overlay_dir = Path(overlay_dir)
    overlay_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for sequence in dataset.sequences:
        frames = dataset.read_frames(sequence)
        names = [path.stem for path in dataset.frame_paths(sequence)]
        masks = np.stack(read_sequence_predictions(results_dir, sequence, names, frames.shape[1:3]))
        drawn = overlay_masks(frames, masks, alpha)
        chosen = sheet_indices(len(drawn), max_frames)
        sheet_path = overlay_dir / f"{sequence}.png"
        contact_sheet(drawn[chosen], [names[i] for i in chosen]).save(sheet_path)
        gif_path = overlay_dir / f"{sequence}.gif"
        images = [Image.fromarray(image) for image in drawn]
        images[0].save(gif_path, save_all=True, append_images=images[1:], duration=round(1000 / fps),
                       loop=0)
        written += [sheet_path, gif_path]
    return written


__all__ = ["contact_sheet", "overlay_masks", "sheet_indices", "write_overlays"]
