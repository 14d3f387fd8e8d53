"""``bench evaluate-startup``: how long ``python -m rpmbench evaluate`` takes before it scores.

Scoring PNGs needs numpy, pandas, OpenCV and PIL, never torch; importing torch alone costs about
a second and a half on a small CPU. This benchmark runs the real CLI in fresh processes on a
one-sequence, three-frame data set (so scoring itself takes milliseconds and the wall time is the
start-up), beside a bare ``python -c pass``, and records which heavy libraries the run imported
and the import time of each top-level module (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rpmbench.bench.timing import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_HELP

HELP = "time the start-up of 'evaluate' (no torch on the scoring path) in fresh processes"
DESCRIPTION = """\
Runs 'python -m rpmbench evaluate' on a one-sequence, three-frame DAVIS-layout folder in fresh
processes (warm-up, then the median of --repeats), beside 'python -c pass', and writes
<output-dir>/evaluate-startup-cpu.json: wall times, the libraries the run imported, the
top-level import times, library versions. --compare-with DIR times the same command with
PYTHONPATH=DIR (another checkout, e.g. the commit before a change), side by side.

examples:
  python -m rpmbench bench evaluate-startup
  python -m rpmbench bench evaluate-startup --repeats 9 --compare-with ../rpmbench-old
"""

HEAVY = ("torch", "torchvision", "cv2", "pandas", "numpy", "PIL", "scipy", "matplotlib", "skimage", "yaml")
# Printed by a run of the CLI: the heavy top-level libraries it imported.
PROBE = ("import json, sys; from rpmbench.cli import main; status = main(sys.argv[1:]); "
         f"print(json.dumps({{'status': status, 'imported': [m for m in {HEAVY!r} if m in sys.modules]}}))")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each command (default: 7)")
    parser.add_argument("--compare-with", type=Path, metavar="DIR",
                        help="also time the command with PYTHONPATH=DIR (another rpmbench checkout)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=OUTPUT_DIR_HELP)


def _tiny_davis(root: Path) -> tuple[Path, Path]:
    """One sequence of three 48x64 frames with one object; predictions equal to the ground truth."""
    import numpy as np
    from PIL import Image

    from rpmbench.data.davis import write_sequence_predictions
    from rpmbench.data.palette import write_palette_png

    masks = np.zeros((3, 48, 64), np.uint8)
    for t in range(3):
        masks[t, 10:30, 10 + 4 * t:40 + 4 * t] = 1
    frames = root / "davis" / "JPEGImages" / "480p" / "blob"
    frames.mkdir(parents=True)
    for t, mask in enumerate(masks):
        Image.fromarray(np.repeat(mask[..., None] * 200, 3, axis=2)).save(frames / f"{t:05d}.jpg")
        write_palette_png(root / "davis" / "Annotations" / "480p" / "blob" / f"{t:05d}.png", mask)
    (root / "davis" / "ImageSets" / "2017").mkdir(parents=True)
    (root / "davis" / "ImageSets" / "2017" / "val.txt").write_text("blob\n")
    return root / "davis", write_sequence_predictions(root / "results", "blob", masks).parent


def _wall(command: list[str], env: dict[str, str], repeats: int, cwd: Path | None = None) -> dict[str, Any]:
    """Median wall time of ``command`` in fresh processes, after one warm-up run."""
    times = []
    for index in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
        if index:  # the first run warms the file cache
            times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeats": repeats}


def _profile(args: list[str], env: dict[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """Heavy libraries imported by one CLI run, and its top-level import times in seconds."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", PROBE, *args], env=env, cwd=cwd,
                          check=True, capture_output=True, text=True)
    import json

    top = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and not line.split("|")[2].startswith("  "):
            _, cumulative, name = (part.strip() for part in line.split("|"))
            if cumulative.isdigit():
                top[name] = int(cumulative) / 1e6
    slowest = dict(sorted(top.items(), key=lambda item: -item[1])[:8])
    return {**json.loads(done.stdout.splitlines()[-1]), "top_level_imports_s": slowest}


def run(args: argparse.Namespace) -> int:
    from importlib import metadata

    from rpmbench.bench.timing import write_benchmark

    with tempfile.TemporaryDirectory() as scratch:
        root, results = _tiny_davis(Path(scratch))
        cli = ["evaluate", "--davis-root", str(root), "--results", str(results),
               "--output-dir", str(Path(scratch) / "scores")]
        env = dict(os.environ)
        contenders: dict[str, tuple[dict[str, str], Path | None]] = {"this_checkout": (env, None)}
        if args.compare_with:  # run there too: `python -m` puts the working directory first
            other = args.compare_with.resolve()
            contenders["compare_with"] = ({**env, "PYTHONPATH": str(other)}, other)
        seconds = {"python_bare": _wall([sys.executable, "-c", "pass"], env, args.repeats)}
        profiles = {}
        for name, (contender_env, cwd) in contenders.items():
            seconds[name] = _wall([sys.executable, "-m", "rpmbench", *cli], contender_env, args.repeats, cwd)
            profiles[name] = _profile(cli, contender_env, cwd)
    ours = seconds["this_checkout"]["median_s"]
    payload = {
        "command": "python -m rpmbench evaluate (1 sequence, 3 frames, 48x64: scoring takes ms)",
        "compare_with": str(args.compare_with) if args.compare_with else None,
        "seconds": seconds,
        "startup_over_bare_python_s": ours - seconds["python_bare"]["median_s"],
        "profiles": profiles,
        "scoring_versions": {name: metadata.version(name) for name in ("pandas", "numpy", "opencv-python-headless", "pillow", "tqdm")},
        "target_s": 0.5,
        "meets_target": ours < 0.5,
    }
    line = f"evaluate start-up {ours:.2f} s (bare python {seconds['python_bare']['median_s']:.2f} s)"
    if args.compare_with:
        theirs = seconds["compare_with"]["median_s"]
        line += f"; {args.compare_with}: {theirs:.2f} s ({theirs / ours:.1f}x)"
    print(f"{line}; imported: {', '.join(profiles['this_checkout']['imported'])}")
    print(f"wrote {write_benchmark('evaluate-startup', 'cpu', payload, args.output_dir)}")
    return 0
