"""``bench threads``: training step time per torch thread count, alone and beside competing jobs."""

from __future__ import annotations

import argparse
import multiprocessing
import os
from pathlib import Path
from typing import Any

from rpmbench.bench.timing import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_HELP

HELP = "training step time per torch thread count, alone and beside competing training jobs"
DESCRIPTION = """\
Times one training step (ResNet-18 deformable-l3, the quick recipe's 4 crops of 128x128, random
frames) at each --threads count (default: every usable CPU, the suite's default, and 1), first with
nothing else started by this command ("alone"; the machine's load average before each measurement
is recorded, so a busy machine shows), then beside --competitors processes that each run the same
training step in a loop at torch's default thread count (another job on a shared node). Reports the
median step time, and per thread count the slowdown beside the competitors. Writes
<output-dir>/threads-cpu.json.

examples:
  python -m rpmbench bench threads
  python -m rpmbench bench threads --threads 2 1 --competitors 1 --repeats 5
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="torch thread counts to time (default: every usable CPU, then 1)")
    parser.add_argument("--competitors", type=int, default=1,
                        help="competing training processes for the busy measurement (default: 1)")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=OUTPUT_DIR_HELP)


def _training_step(crop: int, batch: int) -> Any:
    """A closure running one training step of the quick recipe's model on fixed random frames."""
    import torch

    from rpmbench.models import RPMNetConfig
    from rpmbench.training import TrainConfig
    from rpmbench.training.loop import build_training, training_step

    config = TrainConfig(model=RPMNetConfig("resnet18", "deformable", backend="reference"),
                         batch_size=batch, crop_size=crop, short_side=None)
    model, optimiser, _ = build_training(config)
    generator = torch.Generator().manual_seed(0)
    reference, target = (torch.randint(0, 256, (batch, 3, crop, crop), generator=generator, dtype=torch.uint8)
                         for _ in range(2))

    def step() -> None:
        loss = training_step(model, reference, target, config)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return step


def _compete(crop: int, batch: int, ready: Any, stop: Any) -> None:
    """A competing job: training steps at torch's default thread count until ``stop`` is set."""
    step = _training_step(crop, batch)
    step()
    ready.set()
    while not stop.is_set():
        step()


def _measure(threads: int, crop: int, batch: int, repeats: int) -> dict[str, Any]:
    import torch

    from rpmbench.bench.timing import median_seconds

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        load = os.getloadavg()[0]
        timing = median_seconds(_training_step(crop, batch), warmup=2, repeats=repeats)
    finally:
        torch.set_num_threads(previous)
    return {"threads": threads, "load_average_before": load, "samples_per_s": batch / timing["median_s"], **timing}


def run(args: argparse.Namespace) -> int:
    from rpmbench.bench.timing import write_benchmark
    from rpmbench.cpus import available_cpus

    usable = available_cpus()
    counts = args.threads or list(dict.fromkeys([usable, 1]))
    rows = [{"load": "alone", **_measure(k, args.crop, args.batch, args.repeats)} for k in counts]
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    competitors = []
    for _ in range(args.competitors):
        ready = context.Event()
        process = context.Process(target=_compete, args=(args.crop, args.batch, ready, stop), daemon=True)
        process.start()
        competitors.append((process, ready))
    try:
        for _, ready in competitors:
            ready.wait()
        rows += [{"load": f"beside {args.competitors} competing job(s)",
                  **_measure(k, args.crop, args.batch, args.repeats)} for k in counts]
    finally:
        stop.set()
        for process, _ in competitors:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
    alone = {row["threads"]: row["median_s"] for row in rows if row["load"] == "alone"}
    for row in rows:
        row["slowdown_vs_alone"] = row["median_s"] / alone[row["threads"]]
        print(f"{row['load']:>28s}  threads {row['threads']}: {row['median_s']:.2f} s/step "
              f"(x{row['slowdown_vs_alone']:.2f} of alone; load average before {row['load_average_before']:.1f})")
    payload = {"usable_cpus": usable, "competitors": args.competitors, "crop": args.crop, "batch": args.batch,
               "model": "resnet18-deformable-l3 (reference backend)", "results": rows}
    print(f"wrote {write_benchmark('threads', 'cpu', payload, args.output_dir)}")
    return 0
