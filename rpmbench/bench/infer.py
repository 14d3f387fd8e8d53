"""``bench infer``: propagation frames/s and peak memory at 480p, per registered protocol and baseline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rpmbench.bench.timing import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_HELP

HELP = "propagation frames/s (and peak memory) at 480p per protocol, backbone and baseline"
DESCRIPTION = """\
Times propagation as the grid runs it, at DAVIS resolution (480x854 by default): one synthetic
sequence of --frames random frames with K rectangular objects in frame 0, propagated whole by
  --protocols  RPM-Net (each --backbones, untrained weights) under each registered protocol's
               settings (inference/propagate.py propagate_sequence: embedding, then the protocol:
               layer 109's warp for flow, the memory read-out for the peers' protocols, ...);
  --baselines  each registered baseline, or baseline@protocol (the baseline under that protocol's
               settings, as in a grid), through inference/baselines.py baseline_masks; no
               network, so one row whatever --backbones.
frames/s counts the propagated frames (all but frame 0), median of --repeats after a warm-up run.
The default --frames (9) fills a memory of frame 0 plus the last 7 (DINO's context); a peer
protocol with a longer context (crw, vfs, stt: 20) needs --frames 22 to reach its steady state.
Each row runs in a fresh process; its peak memory is the increase of the process's maximum
resident set size (resource.getrusage ru_maxrss) from just before the first timed call to the
end, i.e. what propagation needs beyond the model and its inputs.
Writes <output-dir>/infer-<cpu|cuda>.json (protocol flow only) or
infer-protocols-<cpu|cuda>.json.

examples:
  python -m rpmbench bench infer --backbones resnet18 resnet101
  python -m rpmbench bench infer --protocols memory crw --baselines pixels pixels@crw --backbones resnet18
  python -m rpmbench bench infer --device cuda --precision bfloat16 --backbones resnet101
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rpmbench import registry

    parser.add_argument("--protocols", nargs="*", default=["flow"], choices=list(registry.PROTOCOLS),
                        metavar="PROTOCOL", help=f"registered protocols to time RPM-Net under (default: flow; "
                                                 f"{', '.join(registry.PROTOCOLS)})")
    parser.add_argument("--baselines", nargs="*", default=[], metavar="BASELINE",
                        help="registered baselines, or BASELINE@PROTOCOL, to time (default: none)")
    parser.add_argument("--backbones", nargs="+", default=["resnet18", "resnet101"])
    parser.add_argument("--matching", default="deformable-l3", help="registered matching variant")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 854), metavar=("H", "W"))
    parser.add_argument("--frames", type=int, default=9, help="frames of the timed sequence (default: 9)")
    parser.add_argument("--objects", type=int, default=3, help="K objects in frame 0")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="auto", help="deformable-conv backend")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=OUTPUT_DIR_HELP)


def synthetic_sequence(frames: int, height: int, width: int, objects: int) -> tuple[Any, Any]:
    """``frames (T, H, W, 3)`` uint8 noise and ``first_mask (H, W)`` uint8 with ``objects``
    rectangles (ids 1..K) side by side in the middle third."""
    import numpy as np

    rng = np.random.default_rng(0)
    sequence = rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8)
    first = np.zeros((height, width), np.uint8)
    band = width // (objects + 1)
    for k in range(1, objects + 1):
        first[height // 3: 2 * height // 3, k * band - band // 3: k * band + band // 3] = k
    return sequence, first


def _measure(kind: str, name: str, backbone: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """Time one protocol (``kind`` "protocol", RPM-Net with ``backbone``) or baseline in this (fresh)
    process; returns one result row."""
    import dataclasses
    import resource

    import torch

    from rpmbench import registry
    from rpmbench.bench.timing import median_seconds
    from rpmbench.inference.baselines import baseline_masks
    from rpmbench.inference.propagate import PropagationConfig, propagate_sequence
    from rpmbench.models import build_rpmnet

    device = torch.device(options["device"])
    synchronize = torch.cuda.synchronize if device.type == "cuda" else None
    frames, first = synthetic_sequence(options["frames"], *options["size"], options["objects"])
    base = PropagationConfig(device=options["device"], precision=options["precision"])
    if kind == "protocol":
        config = dataclasses.replace(base, **registry.protocol(name).config_fields())
        variant = registry.variant(options["matching"])
        model = build_rpmnet(backbone, backend=options["backend"], **variant.model_fields()).to(device).eval()

        def step() -> None:
            propagate_sequence(model, frames, first, config)
    else:
        _, protocol = registry.parse_baseline(name)
        config = dataclasses.replace(base, **(protocol.config_fields() if protocol is not None else {}))
        method = name.partition("@")[0]

        def step() -> None:
            baseline_masks(method, frames, first, config)

    config.validate()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timing = median_seconds(step, warmup=1, repeats=options["repeats"], synchronize=synchronize)
    peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # KiB on Linux
    settings = name if kind == "protocol" else name.partition("@")[2] or None  # None: the baseline's own
    return {"kind": kind, "name": name, "backbone": backbone, "frames": options["frames"],
            "protocol_settings": settings, "frames_per_s": (options["frames"] - 1) / timing["median_s"], "peak_rss_increase_mib": peak_mib,
            **timing}


def run(args: argparse.Namespace) -> int:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from rpmbench import registry
    from rpmbench.bench.timing import write_benchmark
    from rpmbench.errors import ConfigError

    if args.frames < 2:
        raise ConfigError(f"bench infer: --frames must be at least 2 (frame 0 plus one to propagate), got {args.frames}")
    registry.variant(args.matching)  # ConfigError naming the registered ones
    for entry in args.baselines:
        registry.parse_baseline(entry)
    options = {"device": args.device, "size": tuple(args.size), "frames": args.frames, "objects": args.objects,
               "matching": args.matching, "backend": args.backend, "precision": args.precision,
               "repeats": args.repeats}
    jobs = [("protocol", name, backbone) for name in args.protocols for backbone in args.backbones]
    jobs += [("baseline", name, None) for name in args.baselines]
    rows = []
    for kind, name, backbone in jobs:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            row = pool.submit(_measure, kind, name, backbone, options).result()
        rows.append(row)
        print(f"{name:22s} {backbone or '-':10s} {row['frames_per_s']:8.3f} frames/s "
              f"(+{row['peak_rss_increase_mib']:.0f} MiB peak RSS) at {args.size[0]}x{args.size[1]}")
    payload = {"matching": args.matching, "size": list(args.size), "frames": args.frames, "objects": args.objects,
               "precision": args.precision, "backend": args.backend, "results": rows,
               "peak_memory": "increase of ru_maxrss from before the first timed call to the end, "
                              "in a fresh process per row"}
    name = "infer" if args.protocols == ["flow"] and not args.baselines else "infer-protocols"
    print(f"wrote {write_benchmark(name, args.device, payload, args.output_dir)}")
    return 0
