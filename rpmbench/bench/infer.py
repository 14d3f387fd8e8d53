"""``bench infer``: propagation frames/s at 480p (one embedding pass + matching + warp per frame)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "propagation frames/s at 480p per backbone"
DESCRIPTION = """\
Times the per-frame work of propagation at DAVIS resolution (480x854 by default): one embedding
pass of the new frame, the matching module on (frame t, frame t-1) features and layer 109 warping
a (K+1)-channel soft mask, then bilinear upsampling and argmax. Median of repeats after a
warm-up. Writes results/benchmarks/infer-<cpu|cuda>.json.

examples:
  python -m rpmbench bench infer --backbones resnet18 resnet101
  python -m rpmbench bench infer --device cuda --precision bfloat16 --backbones resnet101
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backbones", nargs="+", default=["resnet18", "resnet101"])
    parser.add_argument("--matching", default="deformable")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 854), metavar=("H", "W"))
    parser.add_argument("--objects", type=int, default=3, help="K objects (K+1 mask channels)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="auto", help="deformable-conv backend")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output-dir", type=Path, default=Path("results/benchmarks"))


def run(args: argparse.Namespace) -> int:
    import torch
    import torch.nn.functional as F

    from rpmbench.bench.timing import median_seconds, write_benchmark
    from rpmbench.models import build_rpmnet

    device = torch.device(args.device)
    synchronize = torch.cuda.synchronize if device.type == "cuda" else None
    height, width = args.size
    rows = []
    for backbone in args.backbones:
        model = build_rpmnet(backbone, args.matching, backend=args.backend).to(device).eval()
        frame = torch.rand(1, 3, height, width, device=device)
        with torch.no_grad():
            previous = model.embed(frame)
        soft = torch.rand(1, args.objects + 1, *previous.shape[-2:], device=device).softmax(1)
        autocast = dict(device_type=device.type, dtype=torch.bfloat16,
                        enabled=args.precision == "bfloat16" and device.type == "cuda")

        @torch.no_grad()
        def step() -> None:
            with torch.autocast(**autocast):
                features = model.embed(frame)
                warped = model.match(features, previous, soft).warped
            F.interpolate(warped.float(), size=(height, width), mode="bilinear").argmax(1)

        timing = median_seconds(step, warmup=1, repeats=args.repeats, synchronize=synchronize)
        rows.append({"backbone": backbone, "frames_per_s": 1 / timing["median_s"], **timing})
        print(f"{backbone:10s} {rows[-1]['frames_per_s']:8.2f} frames/s at {height}x{width}")
    payload = {"matching": args.matching, "size": [height, width], "objects": args.objects,
               "precision": args.precision, "backend": args.backend, "results": rows}
    print(f"wrote {write_benchmark('infer', args.device, payload, args.output_dir)}")
    return 0
