"""``python -m rpmbench figure2``: Figure 2 drawn from a trained checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Figure 2: a target pixel's sampling locations along val sequences, from a trained checkpoint"
DESCRIPTION = """\
Draws the paper's Figure 2 from a trained checkpoint: for each sequence and each frame t of
--columns, frames t-1 and t overlaid, their embeddings (joint PCA to RGB), frame t with the 3x3
taps of the matching layers 106-108 for a target pixel, and frame t-1 with the point layer 109
samples for it. The target starts at the object pixel nearest the first mask's centroid and is
carried along the sequence with the model's own flow (no ground truth); the command prints, per
sequence, in which frames it stays on the object.

examples:
  python -m rpmbench figure2 --checkpoint runs/r18/checkpoint.pt --out runs/figures/figure2.png
  python -m rpmbench figure2 --checkpoint runs/r18/checkpoint.pt --sequences val-00 val-01 --columns 3 10 \\
      --out runs/figures/figure2-two.png
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="checkpoint.pt of a trained run")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--root", help="data root (default: the built-in small set)")
    parser.add_argument("--sequences", nargs="+", help="val sequences (default: the first three)")
    parser.add_argument("--columns", nargs="+", type=int, default=[2, 6, 10, 15], help="frames t shown")
    parser.add_argument("--dpi", type=int, default=80)


def run(args: argparse.Namespace) -> int:
    import torch

    from rpmbench.data.builtin import ensure_builtin_dataset
    from rpmbench.data.layouts import open_split
    from rpmbench.experiments.studies.figure2 import model_panels
    from rpmbench.inference.propagate import PropagationConfig
    from rpmbench.training import load_checkpoint_model
    from rpmbench.training.checkpoint import read_checkpoint
    from rpmbench.viz.figure2 import plot_figure2

    torch.use_deterministic_algorithms(True)
    model, config = load_checkpoint_model(args.checkpoint)
    step = read_checkpoint(args.checkpoint).get("step")  # absent from a weights-only checkpoint
    root = Path(args.root) if args.root else ensure_builtin_dataset(progress=False)
    sequences = args.sequences or open_split(root, "val").sequences[:3]
    panels = model_panels(model, PropagationConfig(colour_space=config.colour_space), root, sequences, args.columns)
    for panel in panels:
        flags = panel.on_object
        print(f"{panel.name}: carried target on the object in {sum(flags)} of {len(flags)} frames "
              f"({''.join('1' if flag else '.' for flag in flags)})")
    figure = plot_figure2(panels)
    at_step = "" if step is None else f", step {int(step)}"
    figure.suptitle(f"Figure 2 from checkpoint: {args.checkpoint} ({config.model.backbone}, {config.model.matching} "
                    f"matching{at_step}; target pixel carried with the model's own flow)", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.3 / figure.get_figheight()))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=args.dpi)
    print(f"wrote {args.out}")
    return 0
