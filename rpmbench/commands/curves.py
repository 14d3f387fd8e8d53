"""``python -m rpmbench curves``: J&F against training steps, per matching variant and seed."""

from __future__ import annotations

import argparse
from pathlib import Path

#: The 1000-step CPU recipe of results/learning (FCN-ResNet18, 128 px crops, batch 4).
RECIPE: tuple[str, ...] = ("steps=1000", "crop_size=128", "batch_size=4", "short_side=128",
                           "model.backbone=resnet18", "model.backend=reference", "checkpoint_every=250")
DEFAULT_VARIANTS = ("deformable-l3", "standard-l3", "standard-l1", "dilated-d6-l3")

HELP = "learning curves: val J&F of training snapshots per matching variant and seed (CSV + plot)"
DESCRIPTION = f"""\
Trains each variant once per seed to the largest of --steps (one cosine schedule), keeping
snapshots at the other steps (step 0 = the untrained seeded model), propagates the val split's
first-frame masks with every snapshot (the paper's protocol) and scores them beside the baselines.
Writes <out> (CSV), <out>.json (mean +- std per variant and step, config, versions) and <out>.png.
Runs and scores are kept in --work, so an interrupted command resumes and a finished point is not
recomputed. The recipe defaults to results/learning's 1000-step one ({' '.join(RECIPE)});
--set overrides any TrainConfig field (the training steps come from --steps).

examples:
  python -m rpmbench curves                                    # runs/curves/r18-curves.csv
  python -m rpmbench curves --variants deformable-l3 corr-l3 --steps 300 \\
      --out runs/recipes/corr-300.csv                          # a 300-step recipe comparison
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/curves/r18-curves.csv"),
                        help="output CSV (default: runs/curves/r18-curves.csv; the committed curves are "
                             "under results/curves/)")
    parser.add_argument("--work", type=Path, default=Path("runs/curves"), help="runs and per-point scores")
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS),
                        help="Table 2 rows (deformable-l3, standard-l1, dilated-d6-l3, ...) or corr-l3")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 100, 300, 1000],
                        help="points of the curve; the largest is the training length")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a TrainConfig field of the recipe, e.g. --set loss=l1")
    parser.add_argument("--no-train", action="store_true",
                        help="score only runs already in --work; leave out (and list) the others")
    parser.add_argument("--no-progress", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from rpmbench.commands.train import load_train_config
    from rpmbench.training.curves import learning_curves

    base = load_train_config([], [*RECIPE, *args.set])
    table = learning_curves(base, args.variants, args.seeds, args.steps, args.work, args.out,
                            progress=not args.no_progress, train_missing=not args.no_train)
    stats = table[table["method"].isin(args.variants)].groupby(["method", "step"], sort=False)["J&F-Mean"]
    for (method, step), values in stats:
        spread = values.std() if len(values) > 1 else 0.0
        print(f"{method:>16} step {step:>5}: J&F {values.mean():.3f} +- {spread:.3f} (n={len(values)})")
    print(f"wrote {args.out} and its .json/.png")
    return 0
