"""``bench loader``: a preset's training data loader, in pairs/s per CPU worker, from 480p JPEGs."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rpmbench.bench.timing import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_HELP

HELP = "a preset's data loader: (reference, target) crop pairs/s per CPU worker from 480p JPEGs"
DESCRIPTION = """\
Times the training data loader of a grid preset (default: paper): its crops (train.crop_size),
frame resizing (train.short_side), frame gaps, flips and batch size, read from JPEG frames by the
training loop's own DataLoader (rpmbench.training.frames.PairBatches) with each --workers count.
Reports pairs/s and pairs/s per worker (0 workers: the main process, counted as one), after the
first --warmup batches (worker start-up excluded). Frames: --data-root folders (DAVIS or
YouTube-VOS layout, e.g. DAVIS-2017's 480p JPEGs), else synthetic 480x854 JPEGs written to a
temporary folder (smooth colour fields at quality 90: about a natural frame's size on disk).
Writes <output-dir>/loader-cpu.json. Whether a GPU run is fed: its steps/s times the batch must
stay below the pairs/s of its workers.

examples:
  python -m rpmbench bench loader --workers 1 2 4 8                      # paper preset, synthetic 480p
  python -m rpmbench bench loader --data-root ~/data/DAVIS --workers 8   # the real frames
  python -m rpmbench bench loader --preset gpu --batches 20
"""

#: The synthetic frames: DAVIS-2017 480p's size.
FRAME_SIZE = (480, 854)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="paper", help="grid preset whose train section sets the crops (default: paper)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset field, e.g. --set train.batch_size=4")
    parser.add_argument("--data-root", action="append", default=[], metavar="PATH", dest="data_roots",
                        help="JPEG frames to read (repeatable; default: synthetic 480p JPEGs)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], metavar="N",
                        help="DataLoader worker counts to time (default: 0 1 2)")
    parser.add_argument("--batches", type=int, default=10, help="timed batches per worker count (default: 10)")
    parser.add_argument("--warmup", type=int, default=2, help="batches before the clock starts (default: 2)")
    parser.add_argument("--sequences", type=int, default=4, help="synthetic sequences (default: 4)")
    parser.add_argument("--frames", type=int, default=12, help="frames per synthetic sequence (default: 12)")
    parser.add_argument("--size", type=int, nargs=2, default=list(FRAME_SIZE), metavar=("H", "W"),
                        help="synthetic frame size (default: 480 854)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=OUTPUT_DIR_HELP)


def write_synthetic_frames(root: Path, sequences: int, frames: int, size: tuple[int, int], seed: int = 0) -> Path:
    """``root/JPEGImages/<video>/<t>.jpg``: ``sequences`` x ``frames`` smooth colour fields of
    ``size (H, W)`` drifting a few pixels per frame (JPEG quality 90); returns ``root``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    height, width = size
    for video in range(sequences):
        coarse = rng.integers(0, 256, (height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8)
        field = np.asarray(Image.fromarray(coarse).resize(((width // 16 + 2) * 16, (height // 16 + 2) * 16),
                                                          Image.BICUBIC))
        folder = root / "JPEGImages" / f"video{video:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for t in range(frames):
            frame = field[t % 16:t % 16 + height, 2 * t % 16:2 * t % 16 + width]
            Image.fromarray(np.ascontiguousarray(frame)).save(folder / f"{t:05d}.jpg", quality=90)
    return root


def loader_rate(batches_dataset: Any, workers: int, batches: int, warmup: int) -> dict[str, float]:
    """Pairs/s of a DataLoader over ``batches_dataset`` with ``workers`` processes: the time of
    ``batches`` batches after ``warmup`` (start-up and the first batches excluded)."""
    import torch

    loader = torch.utils.data.DataLoader(batches_dataset, batch_size=None, sampler=range(warmup + batches),
                                         num_workers=workers, prefetch_factor=2 if workers else None)
    iterator = iter(loader)
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    pairs = sum(len(next(iterator)[0]) for _ in range(batches))
    seconds = time.perf_counter() - start
    del iterator
    rate = pairs / seconds
    return {"workers": workers, "pairs": pairs, "seconds": seconds, "pairs_per_s": rate,
            "pairs_per_s_per_worker": rate / max(workers, 1)}


def run(args: argparse.Namespace) -> int:
    from rpmbench.bench.timing import write_benchmark
    from rpmbench.experiments.overrides import parse_assignment
    from rpmbench.experiments.presets import load_grid_config
    from rpmbench.training.frames import PairBatches, discover_sequences

    train = load_grid_config(args.preset, overrides=dict(map(parse_assignment, args.set))).train
    steps = args.warmup + args.batches
    with tempfile.TemporaryDirectory(prefix="rpmbench-loader-") as scratch:
        roots = args.data_roots or [str(write_synthetic_frames(Path(scratch), args.sequences, args.frames,
                                                               tuple(args.size)))]
        sequences = discover_sequences(roots, train.davis_splits, train.short_side)
        dataset = PairBatches(sequences, train.batch_size, train.crop_size, tuple(train.frame_gap), train.hflip,
                              train.seed, train.short_side, steps)
        results = []
        for workers in args.workers:
            row = loader_rate(dataset, workers, args.batches, args.warmup)
            print(f"{workers:3d} workers {row['pairs_per_s']:8.1f} pairs/s "
                  f"({row['pairs_per_s_per_worker']:.1f} per worker)", file=sys.stderr)
            results.append(row)
    payload = {"preset": args.preset, "overrides": list(args.set), "batch_size": train.batch_size,
               "crop_size": train.crop_size, "short_side": train.short_side, "frame_gap": list(train.frame_gap),
               "frames": "data roots" if args.data_roots else f"synthetic {args.size[0]}x{args.size[1]} JPEGs "
               f"({args.sequences} sequences x {args.frames})", "results": results}
    print(f"wrote {write_benchmark('loader', 'cpu', payload, args.output_dir)}")
    return 0
