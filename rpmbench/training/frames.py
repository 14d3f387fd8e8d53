"""Unlabelled video for training: frame sources and deterministic (reference, target) pairs.

Sources, found under each ``data_roots`` entry:

- a video file (``.mp4``, ...), decoded once with PyAV and kept in memory (resized), one sequence
  per shot: shot cuts (:func:`rpmbench.data.sources.detect_cuts`) split it, so no pair of frames
  spans a cut;
- a labelled root: the frames of the chosen splits, read as the root's entry in ``layouts`` (any
  registered data layout) or, without one, as DAVIS-2017 when ``ImageSets/2017`` is present;
- a YouTube-VOS-style root: ``<root>/JPEGImages/<video>/*.jpg`` or ``<root>/<video>/*.jpg``.

JPEG frames are read lazily. Sample ``i`` of step ``s`` depends only on ``(seed, s, i)``, so a
resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from rpmbench.data.davis import read_jpeg
from rpmbench.data.layouts import open_split
from rpmbench.data.sources import detect_cuts
from rpmbench.data.video import VIDEO_SUFFIXES, read_video
from rpmbench.errors import DataError
from rpmbench.registry import DEFAULT_LAYOUT


def _resize(frame: np.ndarray, short_side: int | None) -> np.ndarray:
    """Downscale ``(H, W, 3)`` so that min(H, W) <= short_side (never upscales)."""
    height, width = frame.shape[:2]
    if short_side is None or min(height, width) <= short_side:
        return frame
    scale = short_side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(frame).resize(size, Image.BILINEAR))


@dataclass
class FrameSequence:
    """One unlabelled video: either decoded frames in memory or a list of JPEG paths."""

    name: str
    paths: list[Path] | None = None
    frames: np.ndarray | None = None  # (T, H, W, 3) uint8, already resized

    def __len__(self) -> int:
        return len(self.paths) if self.paths is not None else len(self.frames)

    def frame(self, index: int, short_side: int | None) -> np.ndarray:
        if self.frames is not None:
            return self.frames[index]
        return _resize(read_jpeg(self.paths[index]), short_side)


def _jpeg_folders(root: Path) -> list[Path]:
    base = root / "JPEGImages" if (root / "JPEGImages").is_dir() else root
    return sorted(folder for folder in base.iterdir() if folder.is_dir() and any(folder.glob("*.jpg")))


def discover_sequences(roots: list[str | os.PathLike[str]], davis_splits: list[str], short_side: int | None,
                       layouts: Mapping[str | os.PathLike[str], str] | None = None) -> list[FrameSequence]:
    """All frame sequences under ``roots`` with at least two frames (see the module docstring);
    ``layouts`` maps a labelled root to the registered layout its ``davis_splits`` are read as."""
    layout_of = {Path(root): layout for root, layout in (layouts or {}).items()}
    sequences: list[FrameSequence] = []
    for entry in map(Path, roots):
        if entry.is_file() and entry.suffix.lower() in VIDEO_SUFFIXES:
            frames = np.stack([_resize(f, short_side) for f in read_video(entry)])
            bounds = [0, *detect_cuts(frames), len(frames)]
            sequences += [FrameSequence(f"{entry.stem}#shot{k}" if len(bounds) > 2 else entry.stem,
                                        frames=frames[start:end])
                          for k, (start, end) in enumerate(zip(bounds[:-1], bounds[1:]))]
        elif entry in layout_of or (entry / "ImageSets" / "2017").is_dir():
            for split in davis_splits:
                dataset = open_split(entry, split, layout_of.get(entry, DEFAULT_LAYOUT), first_frame_only=True)
                sequences += [FrameSequence(f"{entry.name}/{seq}", paths=dataset.frame_paths(seq))
                              for seq in dataset.sequences]
        elif entry.is_dir():
            found = _jpeg_folders(entry)
            if not found:
                raise DataError(f"{entry}: no video folders with .jpg frames (expected "
                                "<root>/JPEGImages/<video>/*.jpg or <root>/<video>/*.jpg).")
            sequences += [FrameSequence(f"{entry.name}/{f.name}", paths=sorted(f.glob("*.jpg")))
                          for f in found]
        else:
            raise DataError(f"{entry}: training data not found (give a DAVIS root, a folder of "
                            f"JPEG video folders, or a video file with one of {VIDEO_SUFFIXES}).")
    sequences = [s for s in sequences if len(s) >= 2]
    if not sequences:
        raise DataError(f"no training sequence with two or more frames under {list(map(str, roots))}")
    return sequences


class PairBatches(Dataset):
    """Item ``step`` = a batch of (reference, target) uint8 crops ``(B, 3, S, S)`` each.

    Frames smaller than the crop are zero-padded at the bottom/right. The reference is frame
    ``t - gap`` and the target frame ``t`` with ``gap`` uniform in ``frame_gap`` (clipped to the
    sequence length).
    """

    def __init__(self, sequences: list[FrameSequence], batch_size: int, crop_size: int,
                 frame_gap: tuple[int, int], hflip: bool, seed: int, short_side: int | None,
                 steps: int) -> None:
        self.sequences = sequences
        self.batch_size = batch_size
        self.crop_size = crop_size
        self.frame_gap = frame_gap
        self.hflip = hflip
        self.seed = seed
        self.short_side = short_side
        self.steps = steps

    def __len__(self) -> int:
        return self.steps

    def _crop(self, frame: np.ndarray, top: int, left: int) -> np.ndarray:
        size = self.crop_size
        out = np.zeros((size, size, 3), np.uint8)
        patch = frame[top:top + size, left:left + size]
        out[: patch.shape[0], : patch.shape[1]] = patch
        return out

    def sample(self, step: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """One pair ``(reference, target)``, each ``(S, S, 3)`` uint8."""
        rng = np.random.default_rng([self.seed, step, index])
        sequence = self.sequences[rng.integers(len(self.sequences))]
        gap = int(rng.integers(self.frame_gap[0], self.frame_gap[1] + 1))
        gap = min(gap, len(sequence) - 1)
        target_index = int(rng.integers(gap, len(sequence)))
        reference = sequence.frame(target_index - gap, self.short_side)
        target = sequence.frame(target_index, self.short_side)
        height, width = target.shape[:2]
        top = int(rng.integers(max(height - self.crop_size, 0) + 1))
        left = int(rng.integers(max(width - self.crop_size, 0) + 1))
        pair = [self._crop(frame, top, left) for frame in (reference, target)]
        if self.hflip and rng.random() < 0.5:
            pair = [frame[:, ::-1] for frame in pair]
        return pair[0], pair[1]

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [self.sample(step, index) for index in range(self.batch_size)]
        reference = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2)
        target = torch.from_numpy(np.stack([p[1] for p in pairs])).permute(0, 3, 1, 2)
        return reference.contiguous(), target.contiguous()
