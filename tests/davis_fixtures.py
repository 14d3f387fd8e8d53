"""Tiny DAVIS-layout data sets made on the fly for the data and scoring tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rpmbench.data.palette import write_palette_png


def moving_ellipses(rng: np.random.Generator, frames: int, height: int, width: int,
                    objects: int, void: bool = False) -> np.ndarray:
    """``(T, H, W)`` uint8 ids: ``objects`` ellipses drifting and overlapping (later ids on top)."""
    ys, xs = np.mgrid[0:height, 0:width]
    masks = np.zeros((frames, height, width), np.uint8)
    for obj in range(1, objects + 1):
        cy, cx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
        vy, vx = rng.normal(0, height / 40), rng.normal(0, width / 40)
        ry, rx = rng.uniform(0.08, 0.3) * height, rng.uniform(0.08, 0.3) * width
        for t in range(frames):
            inside = ((ys - cy - vy * t) / ry) ** 2 + ((xs - cx - vx * t) / rx) ** 2 <= 1
            masks[t][inside] = obj
    if void:  # a thin void band along object edges, as in DAVIS
        edge = masks != np.roll(masks, 1, axis=-1)
        masks[edge & (rng.random(masks.shape) < 0.5)] = 255
    return masks


def perturb(rng: np.random.Generator, masks: np.ndarray, max_id: int) -> np.ndarray:
    """A plausible prediction: ids shifted by a few pixels, some pixels relabelled."""
    pred = np.where(masks == 255, 0, masks)
    pred = np.roll(pred, (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), axis=(-2, -1))
    noise = rng.random(pred.shape) < 0.01
    pred[noise] = rng.integers(0, max_id + 1, noise.sum())
    return pred.astype(np.uint8)


def write_davis(root: Path, sequences: dict[str, np.ndarray], split: str = "val",
                resolution: str = "480p") -> Path:
    """Write ``{name: (T, H, W) ids}`` as a DAVIS layout (JPEGs are noise tinted by the mask)."""
    rng = np.random.default_rng(0)
    for name, masks in sequences.items():
        frame_dir = root / "JPEGImages" / resolution / name
        frame_dir.mkdir(parents=True, exist_ok=True)
        for t, mask in enumerate(masks):
            image = rng.integers(0, 255, (*mask.shape, 3), dtype=np.uint8) // 2 + (mask[..., None] % 7) * 15
            Image.fromarray(image.astype(np.uint8)).save(frame_dir / f"{t:05d}.jpg", quality=90)
            write_palette_png(root / "Annotations" / resolution / name / f"{t:05d}.png", mask)
    split_dir = root / "ImageSets" / "2017"
    split_dir.mkdir(parents=True, exist_ok=True)
    (split_dir / f"{split}.txt").write_text("".join(f"{name}\n" for name in sequences))
    return root


def write_predictions(results: Path, sequences: dict[str, np.ndarray]) -> Path:
    for name, masks in sequences.items():
        for t, mask in enumerate(masks):
            write_palette_png(results / name / f"{t:05d}.png", mask)
    return results


def write_binary_davis(root: Path, sequences: dict[str, np.ndarray], grey: bool) -> Path:
    """A DAVIS-2016-style layout: ``{name: (T, H, W) bool}`` masks stored as 0/255, in grey (``L``)
    PNGs if ``grey``, else in palette PNGs (the form several public DAVIS-2016 copies ship)."""
    write_davis(root, {name: masks.astype(np.uint8) * 255 for name, masks in sequences.items()})
    if grey:
        for name, masks in sequences.items():
            for t, mask in enumerate(masks):
                path = root / "Annotations" / "480p" / name / f"{t:05d}.png"
                Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(path)
    return root
