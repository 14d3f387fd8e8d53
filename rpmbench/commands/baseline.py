"""``python -m rpmbench baseline``: the copy-first, copy-previous and optical-flow baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write baseline predictions (copy-first, copy-previous, optical-flow, pixels) in the results layout"
DESCRIPTION = """\
Baselines that bound the learned cells from below, run through the same propagation machinery
as RPM-Net (see rpmbench/baselines.py):
  copy-first      the first-frame masks for every frame
  copy-previous   zero flow (RPM-Net's pipeline with a matching module that sees no motion)
  optical-flow    OpenCV DIS optical flow chained frame to frame
  pixels          no network: raw Lab pixels at H/4 with a first + last-7 frame memory
                  (beyond the paper; the memory protocol of CRW / DINO, see rpmbench/memory.py)

examples:
  python -m rpmbench baseline --name optical-flow --out runs/baselines/optical-flow --evaluate
  python -m rpmbench baseline --name copy-first --davis-root ~/data/DAVIS --out R
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, choices=["copy-first", "copy-previous", "optical-flow", "pixels"])
    parser.add_argument("--davis-root", type=Path, default=None,
                        help="DAVIS-2017-layout root (default: the built-in data set)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--evaluate", action="store_true", help="score with DAVIS J/F afterwards")


def run(args: argparse.Namespace) -> int:
    from rpmbench.baselines import run_baseline
    from rpmbench.data.builtin import ensure_builtin_dataset

    root = args.davis_root or ensure_builtin_dataset()
    stats = run_baseline(args.name, root, args.split, args.out)
    print(f"{args.name}: {stats.frames} frames at {stats.fps:.1f} frames/s into {args.out}")
    if args.evaluate:
        from rpmbench.evaluation import evaluate_results

        print(evaluate_results(root, args.out, args.split).global_metrics)
    return 0
