"""``python -m rpmbench offsets``: deformable offsets and layer 109's correspondence error per model."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Figure 2 in numbers: deformable offsets and layer 109's distance to the true correspondence"
DESCRIPTION = """\
For each matching variant and seed of a grid preset's recipe (its first backbone and its data),
measures over every frame pair of the val split the learned offset of every deformable layer's
taps and the distance from where layer 109 samples to the true correspondence (from the masks'
centroid motion), beside zero flow's, with the model's val J&F from its cell result and, on a set
with ground-truth flow (the built-in sets), layer 109's exact end-point error from it. The models
are cell specs through the grid's spine: one training run per variant and seed to the largest of
--steps, the other steps its snapshots. Results and measurements are cached under --run-dir, so a
rerun neither retrains nor remeasures. Writes <out>.csv and <out>.md (distances in image pixels).

examples:
  python -m rpmbench offsets --variants deformable-l3 standard-l3 --out runs/offsets/offsets
  python -m rpmbench offsets --variants deformable-l3 --steps 100 300 1000 --out runs/offsets/snapshots
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench.commands.grid_options import add_grid_options

    add_grid_options(parser, gives="data and recipe")
    parser.add_argument("--variants", nargs="+", default=["deformable-l3", "standard-l3"],
                        help="registered matching variants (default: deformable-l3 standard-l3)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, nargs="+", default=None,
                        help="training steps measured; the largest is the training length (default: the preset's)")
    parser.add_argument("--area-tolerance", type=float, default=0.2,
                        help="skip object pairs whose mask area changes by more than this share")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/offsets"),
                        help="where results, resumable work and measurements live (default: runs/offsets)")
    parser.add_argument("--out", type=Path, default=Path("runs/offsets/offsets"),
                        help="output stem: writes STEM.csv and STEM.md")
    parser.add_argument("--no-progress", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    import torch

    from rpmbench.commands.grid_options import grid_from_options
    from rpmbench.experiments.studies.offsets import offsets_study
    from rpmbench.viz.offsets import to_markdown

    torch.use_deterministic_algorithms(True)
    grid = grid_from_options(args)
    table = offsets_study(grid, args.variants, args.seeds, args.steps or [grid.train.steps], args.run_dir,
                          args.out, args.area_tolerance, progress=not args.no_progress)
    print(to_markdown(table), end="")
    print(f"wrote {args.out.with_suffix('.csv')} and {args.out.with_suffix('.md')}")
    return 0
