"""``python -m rpmbench curves``: J&F against training steps, per matching variant and seed."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_VARIANTS = ("deformable-l3", "standard-l3", "standard-l1", "dilated-d6-l3")

HELP = "learning curves: val J&F of training snapshots per matching variant and seed (CSV + plot)"
DESCRIPTION = """\
Trains each variant once per seed to the largest of --steps (one cosine schedule), keeping
snapshots at the other steps (step 0 = the untrained seeded model), propagates the val split's
first-frame masks with every snapshot (the paper's protocol) and scores them beside the preset's
baselines. Every point is a cell spec computed by the grid's spine: data, recipe and baselines are
a grid preset's (default: quick, the default grid's), changed with --config / --set as in run-grid
(the training length comes from --steps), and the last step of a curve is the grid's own cell.
Results are hash-named files under --run-dir, so an interrupted command resumes and a finished
point is not recomputed. Writes <out> (CSV), <out>.json (mean +- std per variant and step) and
<out>.png.

examples:
  python -m rpmbench curves                                    # the quick grid's four rows, 3 seeds
  python -m rpmbench curves --variants deformable-l3 corr-l3 --steps 0 300 --out runs/curves/corr-300.csv
  python -m rpmbench curves --preset protocols --set train.loss_blur_sigmas=[1.0] --steps 0 300
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench.commands.grid_options import add_grid_options

    add_grid_options(parser, gives="data, recipe and baselines")
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS),
                        help="registered matching variants (deformable-l3, standard-l1, corr-l3, ...)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 100, 300, 1000],
                        help="points of the curve; the largest is the training length")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/curves"),
                        help="where the points' result files and resumable work live (default: runs/curves)")
    parser.add_argument("--out", type=Path, default=Path("runs/curves/curves.csv"), help="output CSV")
    parser.add_argument("--no-train", action="store_true",
                        help="use only points already computed in --run-dir; list the missing runs")
    parser.add_argument("--no-progress", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from rpmbench.commands.grid_options import grid_from_options
    from rpmbench.experiments.studies.curves import learning_curves

    grid = grid_from_options(args)
    table = learning_curves(grid, args.variants, args.seeds, args.steps, args.run_dir, args.out,
                            progress=not args.no_progress, train_missing=not args.no_train)
    stats = table[table["method"].isin(args.variants)].groupby(["method", "step"], sort=False)["J&F-Mean"]
    for (method, step), values in stats:
        spread = values.std() if len(values) > 1 else 0.0
        print(f"{method:>16} step {step:>5}: J&F {values.mean():.3f} +- {spread:.3f} (n={len(values)})")
    print(f"wrote {args.out} and its .json/.png")
    return 0
