"""``python -m rpmbench baseline``: the copy-first, copy-previous, optical-flow and pixels baselines."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write baseline predictions (copy-first, copy-previous, optical-flow, pixels) in the results layout"
DESCRIPTION = """\
Baselines that bound the learned cells from below, run through the same propagation machinery
as RPM-Net (see rpmbench/inference/baselines.py):
  copy-first      the first-frame masks for every frame
  copy-previous   zero flow (RPM-Net's pipeline with a matching module that sees no motion)
  optical-flow    OpenCV DIS optical flow chained frame to frame
  pixels          no network: raw Lab pixels at H/4 with a first + last-7 frame memory
                  (beyond the paper; the memory protocol of CRW / DINO, see rpmbench/inference/memory.py)

examples:
  python -m rpmbench baseline --name optical-flow --out runs/baselines/optical-flow --evaluate
  python -m rpmbench baseline --name copy-first --davis-root ~/data/DAVIS --out R
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench.registry import BASELINES

    parser.add_argument("--name", required=True, choices=list(BASELINES))
    parser.add_argument("--davis-root", type=Path, default=None,
                        help="DAVIS-2017-layout root (default: the built-in data set)")
    parser.add_argument("--split", default="val", help="split file in ImageSets/2017 (default: val)")
    parser.add_argument("--out", type=Path, required=True, help="results folder to write")
    parser.add_argument("--warp-resolution", default="feature", choices=["feature", "frame"],
                        help="optical-flow: warp at H/4 like RPM-Net, or keep the flow at the frame size "
                             "and warp there (beyond the paper; default: feature)")
    parser.add_argument("--evaluate", action="store_true", help="score with DAVIS J/F afterwards")
    parser.add_argument("--scores-dir", type=Path, default=None,
                        help="where --evaluate writes its CSVs (default: <out>-scores, beside --out)")


def run(args: argparse.Namespace) -> int:
    from rpmbench.data.builtin import ensure_builtin_dataset
    from rpmbench.data.layouts import open_split
    from rpmbench.inference.baselines import run_baseline
    from rpmbench.inference.propagate import PropagationConfig

    root = args.davis_root or ensure_builtin_dataset()
    open_split(root, args.split, first_frame_only=not args.evaluate)  # layout errors before any work
    stats = run_baseline(args.name, root, args.split, args.out,
                         PropagationConfig(warp_resolution=args.warp_resolution))
    print(f"{args.name}: {stats.frames} frames at {stats.fps:.1f} frames/s into {args.out}")
    if args.evaluate:
        from rpmbench.evaluation import evaluate_results

        scores_dir = args.scores_dir or args.out.with_name(args.out.name + "-scores")
        print(evaluate_results(root, args.out, args.split, output_dir=scores_dir).global_metrics)
        print(f"scores in {scores_dir}")
    return 0
