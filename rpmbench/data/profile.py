"""The difficulty profile of a DAVIS-layout set: motion, object area change, absences, baselines.

- Motion: OpenCV DIS optical flow (preset MEDIUM, greyscale) from every frame t to frame t+1 at
  the stored resolution; percentiles p50 / p90 / p99 of the magnitudes over the pixels of the
  objects of frame t (``inside``) and over all pixels, in three units (``motion``): image pixels at
  the set's own size, feature pixels (image pixels / 4: the H/4 grid the matching module works on
  at propagation scale 1) and pixels scaled to a 480-pixel frame height (``motion_inside`` and
  ``motion_all`` keep that last unit). Where the set stores ground-truth flow (the built-in sets,
  :mod:`rpmbench.data.flow`), the same percentiles of the exact backward flow on its valid pixels,
  the valid fraction, and the end-point error of DIS's backward flow against it (in image pixels).
- Object area change: per object, the largest over the smallest non-zero area over the sequence;
  and per pair of consecutive frames where it is visible, ``|log(area_t+1 / area_t)|``.
- Objects absent: the fraction of (object, frame) pairs of frames 1.. with no pixel of the object.
- Baselines (filled in by ``profile-data``, which scores them through the grid's spine on the
  whole split): the J&F-Mean of the no-learning baselines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from rpmbench.data.davis import VOID_ID, DavisDataset
from rpmbench.data.flow import FEATURE_STRIDE, FLOW_DIR, read_sequence_flow
from rpmbench.errors import ConfigError
from rpmbench.provenance import portable_path

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
    motion: dict[str, dict] = field(default_factory=dict)
    baselines: dict[str, float] = field(default_factory=dict)


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan")}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"p50": round(float(p50), 3), "p90": round(float(p90), 3), "p99": round(float(p99), 3)}


def _objects(mask: np.ndarray) -> np.ndarray:
    return (mask > 0) & (mask != VOID_ID)


def flow_magnitudes(frames: np.ndarray, masks: np.ndarray, scaled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """DIS flow magnitudes frame t -> t+1, in image pixels scaled to a 480-pixel height (or at the
    frames' own size when not ``scaled``): ``(inside, all)`` 1-D float32 arrays (inside = pixels of
    any object in frame t)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]
    scale = REFERENCE_HEIGHT / frames.shape[1] if scaled else 1.0
    inside, every = [], []
    for t in range(len(frames) - 1):
        flow = dis.calc(grey[t], grey[t + 1], None)
        magnitude = np.hypot(flow[..., 0], flow[..., 1]) * scale
        inside.append(magnitude[_objects(masks[t])])
        every.append(magnitude.ravel())
    return np.concatenate(inside), np.concatenate(every)


def ground_truth_motion(frames: np.ndarray, masks: np.ndarray, flow: np.ndarray, valid: np.ndarray
                        ) -> dict[str, np.ndarray]:
    """Of one sequence with ground-truth backward ``flow (T-1, H, W, 2)`` and ``valid (T-1, H, W)``
    of frames 1..T-1: magnitudes (image px) on valid object pixels (``inside``) and on all valid
    pixels (``all``), the object pixels' valid flags (``inside_valid``) and the end-point errors of
    DIS's backward flow on valid object pixels (``dis_error``), all 1-D."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]
    out: dict[str, list[np.ndarray]] = {"inside": [], "all": [], "inside_valid": [], "dis_error": []}
    for t in range(1, len(frames)):
        truth, known, objects = flow[t - 1], valid[t - 1], _objects(masks[t])
        magnitude = np.hypot(truth[..., 0], truth[..., 1])
        estimate = dis.calc(grey[t], grey[t - 1], None)
        out["inside"].append(magnitude[known & objects])
        out["all"].append(magnitude[known])
        out["inside_valid"].append(known[objects])
        out["dis_error"].append(np.hypot(*(estimate - truth)[known & objects].T))
    return {key: np.concatenate(values) for key, values in out.items()}


def _units(inside: np.ndarray, every: np.ndarray, height: int) -> dict[str, dict[str, dict[str, float]]]:
    """Percentiles of image-pixel magnitudes in image px, feature px and px at a 480-pixel height."""
    return {unit: {"inside": _percentiles(inside * factor), "all": _percentiles(every * factor)}
            for unit, factor in (("image_px", 1.0), ("feature_px", 1 / FEATURE_STRIDE),
                                 ("px_at_480", REFERENCE_HEIGHT / height))}


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


def profile_dataset(davis_root: str | os.PathLike[str], split: str = "val", progress: bool = True,
                    max_sequences: int | None = None) -> Profile:
    """Measure the difficulty profile of ``split`` of the DAVIS-layout set at ``davis_root``
    (only its first ``max_sequences`` sequences when given)."""
    dataset = DavisDataset(davis_root, split)
    if max_sequences is not None:
        if max_sequences < 1:
            raise ConfigError(f"max_sequences must be >= 1, got {max_sequences}")
        dataset.sequences = dataset.sequences[:max_sequences]
    inside, every, ratios, steps = [], [], [], []
    truth: dict[str, list[np.ndarray]] = {}
    has_truth = (Path(davis_root) / FLOW_DIR).is_dir()
    absent = pairs = frames = objects = 0
    frame_size = (0, 0)
    for sequence in tqdm(dataset.sequences, desc="motion", unit="seq", disable=not progress):
        video, masks = dataset.read_frames(sequence), dataset.read_annotations(sequence)
        frame_size = video.shape[1:3]
        a, b = flow_magnitudes(video, masks, scaled=False)
        inside.append(a)
        every.append(b)
        if has_truth:
            for key, values in ground_truth_motion(video, masks, *read_sequence_flow(davis_root, sequence)).items():
                truth.setdefault(key, []).append(values)
        r, s, n_absent, n_pairs = area_statistics(masks)
        ratios += r
        steps += s
        absent, pairs, frames, objects = absent + n_absent, pairs + n_pairs, frames + len(video), objects + len(r)
    inside, every = np.concatenate(inside), np.concatenate(every)
    motion = {"dis": _units(inside, every, frame_size[0])}
    if has_truth:
        gt = {key: np.concatenate(values) for key, values in truth.items()}
        motion["ground_truth"] = {**_units(gt["inside"], gt["all"], frame_size[0]),
                                  "inside_valid_fraction": round(float(gt["inside_valid"].mean()), 4),
                                  "dis_endpoint_error_inside_image_px": _percentiles(gt["dis_error"])}
    scale = REFERENCE_HEIGHT / frame_size[0]
    profile = Profile(
        root=portable_path(davis_root), split=split, sequences=len(dataset.sequences), frames=frames,
        frame_size=tuple(int(v) for v in frame_size), objects=objects,
        motion_inside=_percentiles(inside * scale), motion_all=_percentiles(every * scale), motion=motion,
        area_ratio=_percentiles(np.asarray(ratios)), area_change_per_frame=_percentiles(np.asarray(steps)),
        objects_absent=round(absent / max(pairs, 1), 4),
    )
    return profile


def format_profile(profile: Profile) -> str:
    """A few human-readable lines."""
    def triple(d: dict[str, float]) -> str:
        return " / ".join(f"{d[k]:.1f}" for k in ("p50", "p90", "p99"))

    lines = [
        f"{profile.root} [{profile.split}]: {profile.sequences} sequences, {profile.frames} frames "
        f"{profile.frame_size[1]}x{profile.frame_size[0]}, {profile.objects} objects",
        "  motion p50/p90/p99         inside objects      all pixels",
    ]
    for source, units in profile.motion.items():
        for unit in ("image_px", "feature_px", "px_at_480"):
            lines.append(f"    {source + ' ' + unit:<24}{triple(units[unit]['inside']):<20}{triple(units[unit]['all'])}")
    truth = profile.motion.get("ground_truth")
    if truth:
        lines.append(f"    ground truth valid on {100 * truth['inside_valid_fraction']:.1f}% of object pixels; "
                     f"DIS end-point error there (image px) p50/p90/p99 "
                     f"{triple(truth['dis_endpoint_error_inside_image_px'])}")
    lines += [
        f"  object area max/min   p50/p90/p99: {triple(profile.area_ratio)}",
        "  |log area change| per frame p50/p90/p99: " + " / ".join(
            f"{profile.area_change_per_frame[k]:.3f}" for k in ("p50", "p90", "p99")),
        f"  objects absent: {100 * profile.objects_absent:.1f}% of object-frames",
    ]
    lines += [f"  J&F {name}: {value:.3f}" for name, value in profile.baselines.items()]
    return "\n".join(lines)
