"""``python -m rpmbench protocols-evidence``: every protocol on the same checkpoints, over seeds."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HELP = "score the flow / memory / fusion protocols of trained checkpoints beside the baselines"
DESCRIPTION = """\
Propagates the val split with each checkpoint (one per seed) under every protocol variant
(flow = the paper's; flow-frame = flow warped at the frame size; memory and fusion: beyond the
paper, see rpmbench/memory.py), scores each, scores the baselines (copy-first, copy-previous,
optical-flow at H/4 and at frame size, pixels) once, and writes <out>/protocols.csv and
<out>/protocols.json (J&F mean +- std over seeds per method, settings, versions, this command).

examples:
  python -m rpmbench protocols-evidence --out runs/protocols \\
      --checkpoints ck/s0/checkpoint.pt ck/s1/checkpoint.pt ck/s2/checkpoint.pt --seeds 0 1 2
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench.protocol_evidence import VARIANTS

    parser.add_argument("--checkpoints", type=Path, nargs="+", required=True, help="one checkpoint.pt per seed")
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="the seed of each checkpoint")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                        help=f"protocol variants (default: all, {' '.join(VARIANTS)})")
    parser.add_argument("--davis-root", type=Path, default=None,
                        help="DAVIS-2017-layout root (default: the built-in data set)")
    parser.add_argument("--split", default="val", help="split file in ImageSets/2017 (default: val)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/rpmbench-protocols"),
                        help="where predictions are written (default: /tmp/rpmbench-protocols)")
    parser.add_argument("--out", type=Path, required=True, help="folder for protocols.csv and protocols.json")


def run(args: argparse.Namespace) -> int:
    from rpmbench.protocol_evidence import protocol_evidence

    # the exact command line, stored with the results (empty when called from Python)
    command = "python -m rpmbench " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["protocols-evidence"] else ""
    payload = protocol_evidence(args.checkpoints, args.seeds, args.work_dir, args.out, args.variants,
                                args.davis_root, args.split, command)
    for method, row in payload["summary"].items():
        std = "" if row["jf_std"] is None else f" +- {row['jf_std']:.3f}"
        print(f"{method:22s} J&F {row['jf_mean']:.3f}{std}  ({row['seeds']} run(s))")
    print(f"wrote {args.out / 'protocols.csv'} and {args.out / 'protocols.json'}")
    return 0
