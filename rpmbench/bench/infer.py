"""``bench infer``: propagation frames/s and peak memory at 480p, per protocol and backbone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rpmbench.bench.timing import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_HELP

HELP = "propagation frames/s (and peak memory) at 480p per protocol and backbone"
DESCRIPTION = """\
Times the per-frame work of propagation at DAVIS resolution (480x854 by default), median of
repeats after a warm-up, then bilinear upsampling and argmax of a (K+1)-channel soft mask:
  flow     one embedding pass of the new frame, the matching module on (frame t, frame t-1)
           features and layer 109 warping the soft mask (the paper's protocol)
  memory   one embedding pass and the memory read-out against 1 + --context memory frames
           (rpmbench/inference/memory.py with its defaults; beyond the paper)
  pixels   the pixels baseline: Lab conversion, area-averaging to H/4 and the memory read-out
           (first + last 7, top-10, radius 12); no network, so one row whatever --backbones
Each row runs in a fresh process; its peak memory is the increase of the process's maximum
resident set size (resource.getrusage ru_maxrss) from just before the first timed call to the
end, i.e. what the step needs beyond the model and its inputs.
Writes <output-dir>/infer-<cpu|cuda>.json (protocol flow only) or
infer-protocols-<cpu|cuda>.json.

examples:
  python -m rpmbench bench infer --backbones resnet18 resnet101
  python -m rpmbench bench infer --protocols memory pixels --backbones resnet18 --repeats 3
  python -m rpmbench bench infer --device cuda --precision bfloat16 --backbones resnet101
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocols", nargs="+", default=["flow"], choices=["flow", "memory", "pixels"],
                        help="what to time (default: flow)")
    parser.add_argument("--backbones", nargs="+", default=["resnet18", "resnet101"])
    parser.add_argument("--matching", default="deformable")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 854), metavar=("H", "W"))
    parser.add_argument("--objects", type=int, default=3, help="K objects (K+1 mask channels)")
    parser.add_argument("--context", type=int, default=7, help="memory: recent frames besides frame 0 (default: 7)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="auto", help="deformable-conv backend")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=OUTPUT_DIR_HELP)


def _measure(protocol: str, backbone: str, options: dict[str, Any]) -> dict[str, Any]:
    """Time one protocol's per-frame step in this (fresh) process; returns one result row."""
    import resource

    import torch
    import torch.nn.functional as F

    from rpmbench.bench.timing import median_seconds
    from rpmbench.inference.memory import MEMORY_PRESETS, MemoryConfig, memory_readout, pixel_features
    from rpmbench.models import build_rpmnet

    device = torch.device(options["device"])
    synchronize = torch.cuda.synchronize if device.type == "cuda" else None
    height, width = options["size"]
    generator = torch.Generator().manual_seed(0)
    frame = torch.rand(1, 3, height, width, generator=generator).to(device)
    size = (-(-height // 4), -(-width // 4))
    channels = options["objects"] + 1
    memory = 1 + options["context"]
    autocast = dict(device_type=device.type, dtype=torch.bfloat16,
                    enabled=options["precision"] == "bfloat16")  # as propagate: any device
    soft = torch.rand(1, channels, *size, generator=generator).softmax(1).to(device)
    values = torch.rand(memory, channels, *size, generator=generator).softmax(1).to(device)
    if protocol == "pixels":
        rgb = (torch.rand(1, height, width, 3, generator=generator) * 255).to(torch.uint8).numpy()
        keys = torch.randn(memory, 3, *size, generator=generator).to(device)
        config = MEMORY_PRESETS["pixels"]
    else:
        model = build_rpmnet(backbone, options["matching"], backend=options["backend"]).to(device).eval()
        with torch.no_grad():
            previous = model.embed(frame)
        keys = torch.randn(memory, previous.shape[1], *size, generator=generator).to(device)
        config = MemoryConfig(context=options["context"])

    @torch.no_grad()
    def step() -> None:
        with torch.autocast(**autocast):
            if protocol == "pixels":
                read = memory_readout(pixel_features(rgb, size)[0].to(device), keys, values, config)[None]
            elif protocol == "memory":
                read = memory_readout(model.embed(frame)[0].float(), keys, values, config)[None]
            else:
                read = model.match(model.embed(frame), previous, soft).warped
        F.interpolate(read.float(), size=(height, width), mode="bilinear").argmax(1)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timing = median_seconds(step, warmup=1, repeats=options["repeats"], synchronize=synchronize)
    peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # KiB on Linux
    return {"protocol": protocol, "backbone": None if protocol == "pixels" else backbone,
            "memory_frames": None if protocol == "flow" else memory,
            "frames_per_s": 1 / timing["median_s"], "peak_rss_increase_mib": peak_mib, **timing}


def run(args: argparse.Namespace) -> int:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from rpmbench.bench.timing import write_benchmark

    options = {"device": args.device, "size": tuple(args.size), "objects": args.objects,
               "context": args.context, "matching": args.matching, "backend": args.backend,
               "precision": args.precision, "repeats": args.repeats}
    jobs = [(protocol, backbone) for protocol in args.protocols
            for backbone in (args.backbones[:1] if protocol == "pixels" else args.backbones)]
    rows = []
    for protocol, backbone in jobs:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            row = pool.submit(_measure, protocol, backbone, options).result()
        rows.append(row)
        print(f"{protocol:7s} {row['backbone'] or '-':10s} {row['frames_per_s']:8.3f} frames/s "
              f"(+{row['peak_rss_increase_mib']:.0f} MiB peak RSS) at {args.size[0]}x{args.size[1]}")
    payload = {"matching": args.matching, "size": list(args.size), "objects": args.objects,
               "precision": args.precision, "backend": args.backend, "results": rows,
               "peak_memory": "increase of ru_maxrss from before the first timed call to the end, "
                              "in a fresh process per row"}
    name = "infer" if args.protocols == ["flow"] else "infer-protocols"
    print(f"wrote {write_benchmark(name, args.device, payload, args.output_dir)}")
    return 0
