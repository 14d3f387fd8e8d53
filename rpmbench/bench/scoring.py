"""``bench scoring``: rpmbench's J/F scorer beside vos-benchmark on the same data and workers."""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rpmbench.bench.timing import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_HELP
from rpmbench.errors import BackendUnavailableError

HELP = "time rpmbench's J/F scorer against vos-benchmark and PNG decoding alone"
DESCRIPTION = """\
Scores the same predictions of the built-in 'davis'-size data set (30 val sequences x 50 frames
at 480x854; generated into the cache on first use, predictions = the ground truth moved by a few
pixels with some objects dropped) three ways, in one run and with the same number of worker
processes: rpmbench's scorer, vos-benchmark, and only decoding the PNGs both read. Checks that the
two scorers agree per object (where their definitions agree: objects present from the first scored
frame) and writes <output-dir>/scoring-cpu.json with times and ratios.

examples:
  python -m rpmbench bench scoring --workers 2
  python -m rpmbench bench scoring --workers 8
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=2, help="processes for every contender")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=OUTPUT_DIR_HELP)


def _fake_predictions(root: Path, out: Path) -> Path:
    """Ground truth of every val sequence shifted by (seq-dependent) pixels, one object dropped in
    every third sequence: realistic, imperfect predictions."""
    import numpy as np

    from rpmbench.data.davis import write_sequence_predictions
    from rpmbench.data.layouts import open_split

    if out.is_dir():
        return out
    dataset = open_split(root, "val")
    for index, sequence in enumerate(dataset.sequences):
        gt = dataset.read_annotations(sequence)
        pred = np.roll(gt, (index % 5 - 2, index % 7 - 3), axis=(1, 2))
        if index % 3 == 0:
            pred[pred == pred[0].max()] = 0
        names = [p.stem for p in dataset.annotation_paths(sequence)]
        write_sequence_predictions(out, sequence, pred, names)
    return out


def _decode(path: Path) -> int:
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return int(np.asarray(image).shape[0])


def run(args: argparse.Namespace) -> int:
    import tempfile

    import numpy as np

    try:
        from vos_benchmark.benchmark import benchmark
    except ModuleNotFoundError:
        raise BackendUnavailableError(
            "bench scoring compares with vos-benchmark, which is not installed; install it with "
            "`python -m pip install --no-deps vos-benchmark` (--no-deps keeps one OpenCV wheel).") from None
    from rpmbench.bench.timing import write_benchmark
    from rpmbench.data.builtin import cache_dir, ensure_builtin_dataset
    from rpmbench.data.layouts import open_split
    from rpmbench.data.palette import read_palette_png
    from rpmbench.evaluation import evaluate_results

    root = ensure_builtin_dataset("davis", seed=0)
    predictions = _fake_predictions(root, cache_dir() / "bench-scoring-predictions-davis-seed0")
    dataset = open_split(root, "val")
    pngs = [p for s in dataset.sequences for p in dataset.annotation_paths(s)]
    pngs += [predictions / s / p.name for s in dataset.sequences for p in dataset.annotation_paths(s)]

    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        ours = evaluate_results(root, predictions, "val", args.workers, output_dir=scratch, progress=False)
        ours_s = time.perf_counter() - start
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(_decode, pngs, chunksize=32))
    decode_s = time.perf_counter() - start
    start = time.perf_counter()
    *_, objects = benchmark([str(root / "Annotations" / "480p")], [str(predictions)], strict=False,
                            num_processes=args.workers, verbose=False)
    vos_s = time.perf_counter() - start
    (predictions / "results.csv").unlink(missing_ok=True)  # vos-benchmark writes this beside the masks

    per_object = ours.per_object.set_index("Sequence")
    compared, max_diff = 0, 0.0
    for sequence in dataset.sequences:
        first_scored = read_palette_png(dataset.annotation_paths(sequence)[1])
        iou, boundary = objects[0][sequence]
        for obj in iou:
            if not (first_scored == obj).any():
                continue  # vos-benchmark starts this object later: definitions differ
            row = per_object.loc[f"{sequence}_{obj}"]
            max_diff = max(max_diff, abs(row["J-Mean"] * 100 - iou[obj]), abs(row["F-Mean"] * 100 - boundary[obj]))
            compared += 1
    agree = bool(max_diff < 1e-9)
    payload = {
        "data": {"sequences": len(dataset.sequences), "frames": len(pngs) // 2,
                 "size": list(np.asarray(dataset.read_first_mask(dataset.sequences[0])).shape)},
        "workers": args.workers,
        "seconds": {"rpmbench": ours_s, "vos_benchmark": vos_s, "decode_only": decode_s},
        "ratios": {"vos_benchmark_over_rpmbench": vos_s / ours_s, "rpmbench_over_decode_only": ours_s / decode_s},
        "agreement": {"objects_compared": compared, "max_abs_diff_percent": max_diff, "agree": agree},
        "global": ours.global_metrics,
    }
    print(f"rpmbench {ours_s:.1f} s, vos-benchmark {vos_s:.1f} s ({vos_s / ours_s:.2f}x), "
          f"decode only {decode_s:.1f} s (rpmbench/decode {ours_s / decode_s:.2f}x); "
          f"{compared} objects agree to {max_diff:.1e}")
    print(f"wrote {write_benchmark('scoring', 'cpu', payload, args.output_dir)}")
    return 0 if agree else 1
