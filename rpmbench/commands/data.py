"""``python -m rpmbench data``: fetch DAVIS-2017 and prepare YouTube-VOS for training."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "download and check DAVIS-2017, prepare YouTube-VOS frames (real data)"
DESCRIPTION = """\
fetch davis2017: downloads DAVIS-2017 trainval (480p, or --full-resolution) with a progress bar,
resuming an interrupted transfer on rerun; checks every zip member's CRC; extracts into a staging
folder; runs the DAVIS layout check on the train and val splits; records the archive's URL, size
and SHA-256 in <root>/rpmbench-manifest.json; then renames the staging folder to --root. A bad
archive is deleted with a one-line error and nothing extracted is kept. --root then serves as
--davis-root (evaluate, infer) and as a training root (train --data-root, run-grid data.train_roots).

prepare youtube-vos: YouTube-VOS needs a registration, so download and extract its train archive
yourself; this resizes every frame to a short side of 480 pixels (the peers' convention; never
upscaled) into <root>/JPEGImages/<video>/<frame>.jpg, the layout training reads. Each video is
written to a staging folder and renamed when whole; a rerun skips finished videos.

examples:
  python -m rpmbench data fetch davis2017 --root data/DAVIS
  python -m rpmbench data fetch davis2017 --root data/DAVIS-full --full-resolution
  python -m rpmbench data fetch davis2017 --root data/DAVIS --url https://mirror.example.org/DAVIS-2017-trainval-480p.zip
  python -m rpmbench data prepare youtube-vos --src ~/Downloads/youtube-vos/train --root data/ytvos-480 --workers 2
  python -m rpmbench train --out runs/r18 --data-root data/DAVIS --data-root data/ytvos-480
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="<action>", required=True)
    fetch = actions.add_parser("fetch", help="download, check and lay out a data set")
    fetch.add_argument("dataset", choices=["davis2017"])
    fetch.add_argument("--root", type=Path, required=True,
                       help="the DAVIS root to create (an empty or new folder)")
    fetch.add_argument("--full-resolution", action="store_true",
                       help="the Full-Resolution archive instead of 480p (into its own --root)")
    fetch.add_argument("--url", default=None, help="a mirror of the archive (default: the DAVIS site)")
    fetch.add_argument("--keep-archive", action="store_true",
                       help="keep the zip in .<root name>.fetch/ beside --root")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    prepare = actions.add_parser("prepare", help="resize a downloaded data set for training")
    prepare.add_argument("dataset", choices=["youtube-vos"])
    prepare.add_argument("--src", type=Path, required=True,
                         help="the extracted train/ folder (JPEGImages/<video>/*.jpg)")
    prepare.add_argument("--root", type=Path, required=True, help="the folder to write (resumable)")
    prepare.add_argument("--short-side", type=int, default=480, help="pixels (default: 480)")
    prepare.add_argument("--workers", type=int, default=1, help="videos prepared at once (default: 1)")
    prepare.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        from rpmbench.data.fetch import fetch_davis

        resolution = "Full-Resolution" if args.full_resolution else "480p"
        result = fetch_davis(args.root, resolution, args.url, args.keep_archive, not args.no_progress)
        counts = ", ".join(f"{n} {split}" for split, n in result.manifest["sequences"].items())
        state = "already there" if result.already_there else "fetched and checked"
        print(f"DAVIS-2017 {resolution} {state}: {result.root} ({counts} sequences, "
              f"sha256 {result.manifest['sha256'][:16]}...)")
        return 0
    from rpmbench.data.youtube_vos import prepare_youtube_vos

    result = prepare_youtube_vos(args.src, args.root, args.short_side, args.workers, not args.no_progress)
    print(f"YouTube-VOS: {result.videos} videos ({result.frames} frames) in {result.root}; "
          f"{result.written} prepared now, {result.videos - result.written} were already done")
    return 0
