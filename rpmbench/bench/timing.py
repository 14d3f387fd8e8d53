"""Shared timing and output helpers for the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rpmbench.atomic import atomic_write_json
from rpmbench.provenance import run_metadata

#: Where a benchmark writes unless --output-dir says otherwise: gitignored, so a run never rewrites
#: the committed measurements under results/benchmarks/ unless asked to.
DEFAULT_OUTPUT_DIR = Path("runs/benchmarks")
OUTPUT_DIR_HELP = "folder of the JSON (default: runs/benchmarks; results/benchmarks holds the committed ones)"


def median_seconds(
    fn: Callable[[], Any],
    *,
    warmup: int = 2,
    repeats: int = 5,
    synchronize: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Time ``fn()`` ``repeats`` times after ``warmup`` calls.

    ``synchronize`` (e.g. ``torch.cuda.synchronize``) is called before each clock read so that
    asynchronous device work is counted. Returns ``{"median_s", "min_s", "max_s", "repeats"}``.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if synchronize:
            synchronize()
        start = time.perf_counter()
        fn()
        if synchronize:
            synchronize()
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": repeats,
    }


def matmul_tflops(device: str, dtype: str, size: int | None = None, repeats: int = 5) -> dict[str, Any]:
    """The device's measured dense matmul rate: ``2 n^3`` FLOPs per ``(n, n) @ (n, n)`` product.

    ``size`` defaults to 8192 on CUDA (large enough to saturate the tensor cores) and 1024 on CPU.
    Returns ``{"tflops", "size", "dtype", **timing}``; the median time is used.
    """
    import torch

    size = size or (8192 if device.startswith("cuda") else 1024)
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=generator).to(device, getattr(torch, dtype)) for _ in range(2))
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else None
    timing = median_seconds(lambda: a @ b, warmup=2, repeats=repeats, synchronize=synchronize)
    return {"tflops": 2 * size**3 / timing["median_s"] / 1e12, "size": size, "dtype": dtype, **timing}


def write_benchmark(name: str, device: str, payload: dict[str, Any], output_dir: Path) -> Path:
    """Write ``payload`` plus provenance to ``<output_dir>/<name>-<device kind>.json``; return it."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    path = Path(output_dir) / f"{name}-{kind}.json"
    atomic_write_json(path, {"benchmark": name, **run_metadata(device), **payload})
    return path
