"""``python -m rpmbench infer``: propagate first-frame masks with a trained checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "propagate the first-frame masks of a DAVIS split with a trained RPM-Net"
DESCRIPTION = """\
Semi-supervised video object segmentation: for every sequence of the split, the first frame's
ground-truth masks are propagated frame by frame and each frame's argmax is written as a DAVIS
palette PNG under <out>/<sequence>/<frame>.png, the layout the official evaluation reads
(see rpmbench/inference/propagate.py). Only the first frame's annotation is read, so sets that annotate
the first frame only work (DAVIS test-dev; YouTube-VOS valid in the DAVIS layout, where objects
that first appear later are not propagated); --evaluate needs every frame annotated.
--protocol chooses how a mask reaches frame t:
  flow     the paper's protocol (default): the matching module's flow between frames t-1 and t
           warps the t-1 soft mask (layer 109)
  memory   beyond the paper, the protocol of CRW / DINO / MAST: the target's embedding is matched
           against frame 0 and the last --context frames within --radius feature pixels, the
           --topk best candidates softmax-weighted (defaults: DINO's first + 7 recent, top-5,
           neighbourhood 12, cosine, temperature 0.1; see rpmbench/inference/memory.py)
  fusion   beyond the paper, one interpretation of the paper's online update (which the paper
           does not describe): --fusion-weight x memory read-out + the rest x the flow warp
--evaluate scores the result; its CSVs go to --scores-dir (default: <out>-scores beside the
predictions, so the official evaluation_method.py run on <out> computes instead of printing
stale CSVs). --overlay DIR writes per sequence a contact sheet (PNG) and an animation (GIF) of
the predicted masks over the frames.

examples:
  python -m rpmbench infer --checkpoint runs/r18/checkpoint.pt --out runs/r18/val --evaluate
  python -m rpmbench infer --checkpoint C --out R --protocol memory --context 20 --topk 10 --temperature 0.05
  python -m rpmbench infer --checkpoint C --out R --protocol fusion --fusion-weight 0.5 --overlay R-overlays
  python -m rpmbench infer --checkpoint C --davis-root ~/data/DAVIS --out R --device cuda --precision bfloat16
  python -m rpmbench infer --checkpoint C --davis-root ~/data/DAVIS --split test-dev --out R
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench.inference.memory import AFFINITIES, MemoryConfig
    from rpmbench.registry import PROTOCOLS

    parser.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint.pt written by train")
    parser.add_argument("--davis-root", type=Path, default=None,
                        help="DAVIS-2017-layout root (default: the built-in data set)")
    parser.add_argument("--split", default="val", help="split file in ImageSets/2017 (default: val)")
    parser.add_argument("--out", type=Path, required=True, help="results folder to write")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i] (default: cpu)")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                        help="bfloat16 autocast of the embedding network, on any device (default: float32)")
    parser.add_argument("--mode", default="soft", choices=["soft", "hard"],
                        help="propagate probabilities or re-one-hot every step (default: soft)")
    parser.add_argument("--scale", type=float, default=1.0, help="resize frames by this factor first (default: 1)")
    parser.add_argument("--batch-frames", type=int, default=8,
                        help="frames of a sequence embedded per forward pass (default: 8; more on a GPU)")
    protocol = parser.add_argument_group("protocol (memory and fusion are beyond the paper)")
    protocol.add_argument("--protocol", default="flow", choices=list(PROTOCOLS),
                          help="a registered protocol: how masks reach the next frame (default: flow, "
                               "the paper's); the settings a registered protocol fixes win over the "
                               "flags below")
    defaults = MemoryConfig()
    protocol.add_argument("--context", type=int, default=defaults.context,
                          help=f"recent frames in memory besides frame 0 (default: {defaults.context})")
    protocol.add_argument("--topk", type=int, default=defaults.topk,
                          help=f"candidates kept per pixel (default: {defaults.topk})")
    protocol.add_argument("--radius", type=int, default=defaults.radius,
                          help=f"search window half-size in feature pixels (default: {defaults.radius})")
    protocol.add_argument("--temperature", type=float, default=defaults.temperature,
                          help=f"softmax temperature (default: {defaults.temperature})")
    protocol.add_argument("--affinity", default=defaults.affinity, choices=list(AFFINITIES),
                          help=f"negative squared distance or cosine (default: {defaults.affinity})")
    protocol.add_argument("--fusion-weight", type=float, default=0.5,
                          help="weight of the memory read-out in fusion (default: 0.5)")
    protocol.add_argument("--warp-resolution", default="feature", choices=["feature", "frame"],
                          help="flow protocol: warp at H/4 (the paper) or upsample the flow x4 and "
                               "warp at the frame size (default: feature)")
    output = parser.add_argument_group("output")
    output.add_argument("--evaluate", action="store_true", help="score with DAVIS J/F afterwards")
    output.add_argument("--scores-dir", type=Path, default=None,
                        help="where --evaluate writes its CSVs (default: <out>-scores, beside --out)")
    output.add_argument("--overlay", type=Path, default=None, metavar="DIR",
                        help="write <DIR>/<sequence>.png (contact sheet) and .gif of the predictions")


def run(args: argparse.Namespace) -> int:
    from rpmbench.data.builtin import ensure_builtin_dataset
    from rpmbench.data.layouts import open_split
    from rpmbench.inference.propagate import PropagationConfig, propagate_dataset
    from rpmbench.registry import protocol
    from rpmbench.training import load_checkpoint_model
    from rpmbench.writable import check_writable

    fields = dict(device=args.device, precision=args.precision, mode=args.mode, scale=args.scale,
                  batch_frames=args.batch_frames, context=args.context, topk=args.topk, radius=args.radius,
                  temperature=args.temperature, affinity=args.affinity, fusion_weight=args.fusion_weight,
                  warp_resolution=args.warp_resolution)
    config = PropagationConfig(**{**fields, **protocol(args.protocol).config_fields()})
    config.validate()  # before the checkpoint and the data are read
    check_writable(args.out, "the results folder", "pass another --out")
    root = args.davis_root or ensure_builtin_dataset()
    open_split(root, args.split, first_frame_only=not args.evaluate)  # layout errors before any work
    model, train_config = load_checkpoint_model(args.checkpoint, args.device)
    config.colour_space = train_config.colour_space
    stats = propagate_dataset(model, root, args.split, args.out, config)
    print(f"propagated {stats.frames} frames at {stats.fps:.1f} frames/s into {args.out} "
          f"(protocol {config.protocol})")
    if args.overlay is not None:
        from rpmbench.viz.overlay import write_overlays

        write_overlays(root, args.split, args.out, args.overlay)
        print(f"overlays (contact sheet PNG + GIF per sequence) in {args.overlay}")
    if args.evaluate:
        from rpmbench.evaluation import evaluate_results

        scores_dir = args.scores_dir or args.out.with_name(args.out.name + "-scores")
        result = evaluate_results(root, args.out, args.split, output_dir=scores_dir)
        print(result.global_metrics)
        print(f"scores in {scores_dir}")
    return 0
