"""``python -m rpmbench evaluate``: DAVIS-2017 J/F of a results folder."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "score a results folder with DAVIS-2017 J/F (identical to the official evaluation)"
DESCRIPTION = """\
Scores predictions laid out as the official DAVIS evaluation expects (<results>/<seq>/<frame>.png,
palette PNGs with object ids) against a DAVIS-2017-layout root, with the semi-supervised protocol:
the first and last frames are not scored, objects 1..K come from the first annotation.

Writes into the results folder (or --output-dir), replacing any earlier files:
  global_results-<set>.csv        J&F-Mean, J-Mean, J-Recall, J-Decay, F-Mean, F-Recall, F-Decay
  per-sequence_results-<set>.csv  Sequence (<seq>_<object>), J-Mean, F-Mean
  per-frame_results-<set>.csv     sequence, object, frame, J, F at full precision
and prints the global table. Values are fractions (0.412), as in the official tool.

examples:
  python -m rpmbench evaluate --davis-root ~/data/DAVIS --results runs/r18/val --workers 2
  python -m rpmbench evaluate --davis-root D --results R --scorer official   # cross-check
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--davis-root", type=Path, required=True,
                        help="folder with JPEGImages/, Annotations/, ImageSets/")
    parser.add_argument("--results", type=Path, required=True, help="folder with <seq>/<frame>.png")
    parser.add_argument("--set", default="val", help="split file in ImageSets/2017 (default: val)")
    parser.add_argument("--resolution", default="480p", choices=["480p", "Full-Resolution"])
    parser.add_argument("--workers", type=int, default=1, help="processes scoring sequences in parallel")
    parser.add_argument("--output-dir", type=Path, default=None, help="where to write the CSVs (default: --results)")
    parser.add_argument("--scorer", default="rpmbench", choices=["rpmbench", "official"],
                        help="'official' runs the davis2017 package on the same inputs (if installed)")


def run(args: argparse.Namespace) -> int:
    from rpmbench.evaluation import GLOBAL_COLUMNS, evaluate_results

    if args.scorer == "official":
        from rpmbench.evaluation.official import evaluate_with_official

        result = evaluate_with_official(args.davis_root, args.results, args.set, args.output_dir)
    else:
        result = evaluate_results(args.davis_root, args.results, args.set, args.workers,
                                  args.output_dir, progress=True, resolution=args.resolution)
    print(f"--------------- Global results for {args.set} ({args.scorer} scorer) ---------------")
    print("  ".join(f"{name:>9s}" for name in GLOBAL_COLUMNS))
    print("  ".join(f"{result.global_metrics[name]:9.3f}" for name in GLOBAL_COLUMNS))
    return 0
