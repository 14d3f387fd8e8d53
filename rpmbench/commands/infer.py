"""``python -m rpmbench infer``: propagate first-frame masks with a trained checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "propagate the first-frame masks of a DAVIS split with a trained RPM-Net"
DESCRIPTION = """\
Semi-supervised video object segmentation: for every sequence of the split, the first frame's
ground-truth masks are propagated frame by frame (the matching module's flow between frames t-1
and t warps the soft masks; see rpmbench/propagation.py), and each frame's argmax is written as
a DAVIS palette PNG under <out>/<sequence>/<frame>.png, the layout the official evaluation reads.
Add --evaluate to score the result right away.

examples:
  python -m rpmbench infer --checkpoint runs/r18/checkpoint.pt --out runs/r18/val --evaluate
  python -m rpmbench infer --checkpoint C --davis-root ~/data/DAVIS --out R --device cuda --precision bfloat16
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--davis-root", type=Path, default=None,
                        help="DAVIS-2017-layout root (default: the built-in data set)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--out", type=Path, required=True, help="results folder to write")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--mode", default="soft", choices=["soft", "hard"], help="soft or hard propagation")
    parser.add_argument("--scale", type=float, default=1.0, help="resize frames by this factor first")
    parser.add_argument("--batch-frames", type=int, default=8,
                        help="frames of a sequence embedded per forward pass (default: 8; more on a GPU)")
    parser.add_argument("--evaluate", action="store_true", help="score with DAVIS J/F afterwards")


def run(args: argparse.Namespace) -> int:
    from rpmbench.data.builtin import ensure_builtin_dataset
    from rpmbench.propagation import PropagationConfig, propagate_dataset
    from rpmbench.training import load_checkpoint_model

    model, train_config = load_checkpoint_model(args.checkpoint, args.device)
    root = args.davis_root or ensure_builtin_dataset()
    config = PropagationConfig(device=args.device, precision=args.precision,
                               colour_space=train_config.colour_space, mode=args.mode, scale=args.scale,
                               batch_frames=args.batch_frames)
    stats = propagate_dataset(model, root, args.split, args.out, config)
    print(f"propagated {stats.frames} frames at {stats.fps:.1f} frames/s into {args.out}")
    if args.evaluate:
        from rpmbench.evaluation import evaluate_results

        print(evaluate_results(root, args.out, args.split).global_metrics)
    return 0
