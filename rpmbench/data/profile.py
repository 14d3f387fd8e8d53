"""The difficulty profile of a DAVIS-layout set: motion, object area change, absences, baselines.

- Motion: OpenCV DIS optical flow (preset MEDIUM, greyscale) from every frame t to frame t+1 at
  the stored resolution; magnitudes in pixels scaled to a 480-pixel frame height; percentiles
  p50 / p90 / p99 over the pixels of the objects of frame t (``inside``) and over all pixels.
- Object area change: per object, the largest over the smallest non-zero area over the sequence;
  and per pair of consecutive frames where it is visible, ``|log(area_t+1 / area_t)|``.
- Objects absent: the fraction of (object, frame) pairs of frames 1.. with no pixel of the object.
- Baselines: the J&F-Mean (official protocol, :mod:`rpmbench.evaluation`) of the no-learning
  baselines of :mod:`rpmbench.inference.baselines` on the split.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from rpmbench.data.davis import VOID_ID, DavisDataset
from rpmbench.errors import ConfigError

PROFILE_BASELINES: tuple[str, ...] = ("copy-first", "copy-previous", "optical-flow", "pixels")
REFERENCE_HEIGHT = 480


@dataclass
class Profile:
    """What :func:`profile_dataset` measures (JSON-ready)."""

    root: str
    split: str
    sequences: int
    frames: int
    frame_size: tuple[int, int]
    objects: int
    motion_inside: dict[str, float]
    motion_all: dict[str, float]
    area_ratio: dict[str, float]
    area_change_per_frame: dict[str, float]
    objects_absent: float
    baselines: dict[str, float] = field(default_factory=dict)


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan")}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"p50": round(float(p50), 3), "p90": round(float(p90), 3), "p99": round(float(p99), 3)}


def flow_magnitudes(frames: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DIS flow magnitudes frame t -> t+1 scaled to a 480-pixel height: ``(inside, all)`` 1-D
    float32 arrays (inside = pixels of any object in frame t)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]
    scale = REFERENCE_HEIGHT / frames.shape[1]
    inside, every = [], []
    for t in range(len(frames) - 1):
        flow = dis.calc(grey[t], grey[t + 1], None)
        magnitude = np.hypot(flow[..., 0], flow[..., 1]) * scale
        objects = (masks[t] > 0) & (masks[t] != VOID_ID)
        inside.append(magnitude[objects])
        every.append(magnitude.ravel())
    return np.concatenate(inside), np.concatenate(every)


def area_statistics(masks: np.ndarray) -> tuple[list[float], list[float], int, int]:
    """Of one sequence ``masks (T, H, W)``: per object max/min visible area, per-step
    ``|log area ratio|`` values, absent (object, frame) pairs and all pairs (frames 1..)."""
    first = masks[0]
    num_objects = int(first[first != VOID_ID].max(initial=0))
    ratios, steps, absent = [], [], 0
    for obj in range(1, num_objects + 1):
        area = (masks == obj).sum(axis=(1, 2)).astype(np.float64)
        visible = area[area > 0]
        ratios.append(float(visible.max() / visible.min()))
        both = (area[:-1] > 0) & (area[1:] > 0)
        steps.extend(np.abs(np.log(area[1:][both] / area[:-1][both])).tolist())
        absent += int((area[1:] == 0).sum())
    return ratios, steps, absent, num_objects * (len(masks) - 1)


def baseline_scores(dataset: DavisDataset, names: Sequence[str], progress: bool = True) -> dict[str, float]:
    """J&F-Mean of each baseline in ``names`` on ``dataset`` (predictions kept in memory)."""
    from rpmbench.inference.baselines import baseline_masks
    from rpmbench.evaluation.evaluate import score_sequence, summarise

    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in names}
    for sequence in tqdm(dataset.sequences, desc="baselines", unit="seq", disable=not progress):
        frames, gt = dataset.read_frames(sequence), dataset.read_annotations(sequence)
        frame_names = [p.stem for p in dataset.frame_paths(sequence)][1:-1]
        for name in names:
            pred = baseline_masks(name, frames, gt[0])[1:-1]
            tables[name].append(score_sequence(sequence, gt, pred, frame_names))
    return {name: round(summarise(pd.concat(t, ignore_index=True))[0]["J&F-Mean"], 4)
            for name, t in tables.items()}


def profile_dataset(davis_root: str | os.PathLike[str], split: str = "val",
                    baselines: Sequence[str] = PROFILE_BASELINES, progress: bool = True,
                    max_sequences: int | None = None) -> Profile:
    """Measure the difficulty profile of ``split`` of the DAVIS-layout set at ``davis_root``
    (only its first ``max_sequences`` sequences when given)."""
    dataset = DavisDataset(davis_root, split)
    if max_sequences is not None:
        if max_sequences < 1:
            raise ConfigError(f"max_sequences must be >= 1, got {max_sequences}")
        dataset.sequences = dataset.sequences[:max_sequences]
    inside, every, ratios, steps = [], [], [], []
    absent = pairs = frames = objects = 0
    frame_size = (0, 0)
    for sequence in tqdm(dataset.sequences, desc="motion", unit="seq", disable=not progress):
        video, masks = dataset.read_frames(sequence), dataset.read_annotations(sequence)
        frame_size = video.shape[1:3]
        a, b = flow_magnitudes(video, masks)
        inside.append(a)
        every.append(b)
        r, s, n_absent, n_pairs = area_statistics(masks)
        ratios += r
        steps += s
        absent, pairs, frames, objects = absent + n_absent, pairs + n_pairs, frames + len(video), objects + len(r)
    profile = Profile(
        root=str(davis_root), split=split, sequences=len(dataset.sequences), frames=frames,
        frame_size=tuple(int(v) for v in frame_size), objects=objects,
        motion_inside=_percentiles(np.concatenate(inside)), motion_all=_percentiles(np.concatenate(every)),
        area_ratio=_percentiles(np.asarray(ratios)), area_change_per_frame=_percentiles(np.asarray(steps)),
        objects_absent=round(absent / max(pairs, 1), 4),
    )
    if baselines:
        profile.baselines = baseline_scores(dataset, baselines, progress)
    return profile


def format_profile(profile: Profile) -> str:
    """A few human-readable lines."""
    def triple(d: dict[str, float]) -> str:
        return " / ".join(f"{d[k]:.1f}" for k in ("p50", "p90", "p99"))

    lines = [
        f"{profile.root} [{profile.split}]: {profile.sequences} sequences, {profile.frames} frames "
        f"{profile.frame_size[1]}x{profile.frame_size[0]}, {profile.objects} objects",
        f"  motion inside objects p50/p90/p99 (px @480): {triple(profile.motion_inside)}",
        f"  motion all pixels     p50/p90/p99 (px @480): {triple(profile.motion_all)}",
        f"  object area max/min   p50/p90/p99: {triple(profile.area_ratio)}",
        "  |log area change| per frame p50/p90/p99: " + " / ".join(
            f"{profile.area_change_per_frame[k]:.3f}" for k in ("p50", "p90", "p99")),
        f"  objects absent: {100 * profile.objects_absent:.1f}% of object-frames",
    ]
    lines += [f"  J&F {name}: {value:.3f}" for name, value in profile.baselines.items()]
    return "\n".join(lines)
