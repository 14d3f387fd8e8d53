"""``python -m rpmbench profile-data``: the difficulty profile of a DAVIS-layout data set."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "difficulty profile of a DAVIS-layout set (motion, area change, absences, baseline J&F)"
DESCRIPTION = """\
Measures how hard a DAVIS-layout set is for mask propagation, prints it and writes it as JSON:
  - motion: OpenCV DIS optical flow between consecutive frames, p50/p90/p99 of the magnitude inside
    the objects and over all pixels, in image pixels at the set's size, in feature pixels (/4: the
    H/4 grid of the matching module) and in pixels scaled to a 480-pixel height; on sets that store
    ground-truth flow (the built-in ones) the same from the exact flow, its valid fraction and
    DIS's end-point error against it;
  - object area change (largest / smallest visible area per object; |log area ratio| per frame);
  - objects absent (fraction of object-frames without a pixel of the object);
  - J&F-Mean of the no-learning baselines copy-first, copy-previous, optical-flow and pixels, each
    a result of the grid's spine on the whole split (--max-sequences limits the motion statistics
    only), kept under --run-dir so a rerun reuses it.

examples:
  python -m rpmbench profile-data --davis-root ~/data/DAVIS --out profile.json
  python -m rpmbench profile-data --builtin calibrated2 --size small --out runs/calibrated2-small-seed0.json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench.data.builtin import GENERATORS

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--davis-root", type=Path, help="DAVIS-2017-layout root")
    source.add_argument("--builtin", choices=list(GENERATORS),
                        help="profile a built-in set (generated into the cache if needed)")
    parser.add_argument("--size", default="small", choices=["small", "davis"], help="built-in size")
    parser.add_argument("--seed", type=int, default=0, help="built-in seed")
    parser.add_argument("--split", default="val")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    parser.add_argument("--baselines", default="copy-first,copy-previous,optical-flow,pixels",
                        help="comma-separated baselines to score ('' for none)")
    parser.add_argument("--max-sequences", type=int, default=None,
                        help="measure motion and areas on the split's first N sequences only (default: all)")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/profiles"),
                        help="where the baselines' result files are kept (default: runs/profiles)")
    parser.add_argument("--contact-sheet", type=Path, default=None,
                        help="also write a PNG of the split's first 8 sequences (7 frames each) with mask overlays")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from rpmbench.atomic import atomic_path
    from rpmbench.data.profile import format_profile, profile_dataset
    from rpmbench.errors import ConfigError
    from rpmbench.registry import BASELINES

    names = [name for name in args.baselines.split(",") if name]
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise ConfigError(f"--baselines: unknown {unknown}; choose from {', '.join(BASELINES)}")
    if args.max_sequences is not None and args.max_sequences < 1:
        raise ConfigError(f"--max-sequences must be >= 1, got {args.max_sequences}")
    if args.davis_root is not None:
        root = args.davis_root
    else:
        from rpmbench.data.builtin import ensure_builtin_dataset

        root = ensure_builtin_dataset(args.size, args.seed, generator=args.builtin)
    if args.contact_sheet is not None:
        from rpmbench.data.contact import contact_sheet

        args.contact_sheet.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet(root, args.contact_sheet, args.split, sequences=8, columns=7)
        print(f"wrote {args.contact_sheet}")
    profile = profile_dataset(root, args.split, max_sequences=args.max_sequences)
    if names:
        from rpmbench.experiments.spec import DataChoice
        from rpmbench.experiments.studies.baselines import profile_run_dir, score_baselines

        data = (DataChoice(source="davis", split=args.split) if args.davis_root is not None else
                DataChoice(builtin_size=args.size, builtin_seed=args.seed, split=args.split,
                           builtin_generator=args.builtin))
        profile.baselines = score_baselines(Path(root), data, names, profile_run_dir(args.run_dir, Path(root)))
    print(format_profile(profile))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(dataclasses.asdict(profile), indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0
