"""``python -m rpmbench reach``: how large a motion each trained matching module's flow follows."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "reach sweep: flow error of every trained model against known motion of 0.25-16 feature px (CSV + plot)"
DESCRIPTION = """\
Moves real photos that training never sees (the val-split photos) by known smooth fields
(translation plus a little rotation, scale and deformation) at magnitudes of 0.25 to 16 feature
pixels (image pixels / 4), and scores the flow of every trained model of a grid preset against
the truth, beside zero flow and DIS optical flow. A variant's reach is the largest magnitude at
which, and at every smaller one, its mean end-point error is below half the motion.

The models are the preset's cell specs (the grid's spine): a finished training run under --run-dir
is reused (run run-grid with --set keep_work=true into the same folder first, or let this command
train the missing ones there). Scores are cached per training run under <run-dir>/reach/, so an
interrupted sweep resumes. --snapshot STEP scores the models at an earlier step of their runs
(kept when the grid ran with --set 'execution.keep_checkpoints_at=[STEP]'). Writes <out> (CSV), <out>.json (EPE by magnitude and reach per variant,
mean +- std over seeds) and <out>.png.

examples:
  python -m rpmbench run-grid --preset ranking --seeds 3 --set keep_work=true
  python -m rpmbench reach --preset ranking --seeds 3 --out runs/reach/reach.csv
  python -m rpmbench reach --preset ranking --seeds 3 --snapshot 300 --out runs/reach/reach-step300.csv
  python -m rpmbench reach --preset smoke --only 'resnet18-deformable-l3' --run-dir runs/smoke
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench.commands.grid_options import add_grid_options

    add_grid_options(parser, gives="the models (rows, seeds, recipe, data)", default="ranking")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per variant (default: the preset's)")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="only these models (glob on the cell name, e.g. 'resnet18-deformable-*')")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="the grid's run folder holding its training runs (default: results/runs/<preset>)")
    parser.add_argument("--snapshot", type=int, default=None, metavar="STEP",
                        help="score each run's model at this training step (a snapshot the run kept) instead of its end")
    parser.add_argument("--out", type=Path, default=Path("runs/reach/reach.csv"), help="output CSV")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: every usable core)")
    parser.add_argument("--no-progress", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from rpmbench.commands.grid_options import grid_from_options
    from rpmbench.experiments.studies.reach import reach_sweep, summarise_reach

    grid = grid_from_options(args, **({"seeds": args.seeds} if args.seeds is not None else {}))
    run_dir = args.run_dir or Path("results/runs") / grid.run
    table = reach_sweep(grid, run_dir, args.out, args.only, threads=args.threads,
                        progress=not args.no_progress, snapshot=args.snapshot)
    for line in summarise_reach(table)["reach"]:
        print(f"{line['method']:>16}: reach {line['reach_feature_px']:.2f} +- {line['reach_std_over_seeds']:.2f} "
              f"feature px (n={line['seeds']}; per seed {line['per_seed']})")
    print(f"wrote {args.out} and its .json/.png")
    return 0
