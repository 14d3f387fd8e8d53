"""``bench deform``: forward+backward time of each deformable-conv backend at the model's shapes."""

from __future__ import annotations

import argparse
from pathlib import Path

from rpmbench.bench.timing import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_HELP

HELP = "time forward+backward of every available deform-conv backend"
DESCRIPTION = """\
Times forward+backward of each importable backend (reference, torchvision, mmcv) on the same
random inputs at the matching module's shape (batch 8, 64 -> 32 channels at 64x64, i.e. a 256x256
crop at H/4, 3x3 kernel, padding 1), after a warm-up, as the median of repeats. Also reports each
backend's largest deviation from the reference (forward and every gradient), and writes
<output-dir>/deform-<cpu|cuda>.json.

examples:
  python -m rpmbench bench deform
  python -m rpmbench bench deform --device cuda --batch 16 --repeats 20
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=8, help="batch size (default: 8)")
    parser.add_argument("--in-channels", type=int, default=64, help="input channels (default: 64)")
    parser.add_argument("--out-channels", type=int, default=32, help="output channels (default: 32)")
    parser.add_argument("--size", type=int, default=64, help="feature map height = width (default: 64)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default: 5)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=OUTPUT_DIR_HELP)


def run(args: argparse.Namespace) -> int:
    import torch

    from rpmbench.bench.timing import median_seconds, write_benchmark
    from rpmbench.ops import available_backends, deform_conv2d

    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    generator = torch.Generator().manual_seed(0)
    shape = (args.batch, args.in_channels, args.size, args.size)
    tensors = {
        "input": torch.randn(shape, generator=generator),
        "offset": 2 * torch.randn(args.batch, 18, args.size, args.size, generator=generator),
        "weight": 0.05 * torch.randn(args.out_channels, args.in_channels, 3, 3, generator=generator),
        "bias": torch.randn(args.out_channels, generator=generator),
    }
    tensors = {name: t.to(device, dtype) for name, t in tensors.items()}
    grad_output = torch.randn(args.batch, args.out_channels, args.size, args.size,
                              generator=generator).to(device, dtype)
    synchronize = torch.cuda.synchronize if device.type == "cuda" else None

    def step(backend: str) -> dict[str, torch.Tensor]:
        leaves = {name: t.detach().requires_grad_() for name, t in tensors.items()}
        output = deform_conv2d(leaves["input"], leaves["offset"], leaves["weight"], leaves["bias"],
                               padding=1, backend=backend)
        output.backward(grad_output)
        return {"output": output.detach(), **{f"grad_{n}": t.grad for n, t in leaves.items()}}

    backends = [b for b in available_backends() if not (b == "mmcv" and dtype == torch.bfloat16)]
    reference = step("reference")
    results = {}
    for backend in backends:
        timing = median_seconds(lambda: step(backend), repeats=args.repeats, synchronize=synchronize)
        outputs = step(backend)
        deviation = {name: float((outputs[name].float() - reference[name].float()).abs().max())
                     for name in reference}
        results[backend] = {**timing, "max_abs_diff_vs_reference": deviation}
        print(f"{backend:12s} median {timing['median_s'] * 1e3:8.1f} ms  "
              f"max |diff| vs reference {max(deviation.values()):.2e}")
    payload = {
        "shape": {"batch": args.batch, "in_channels": args.in_channels,
                  "out_channels": args.out_channels, "size": args.size, "kernel": 3, "dtype": args.dtype},
        "backends": results,
    }
    if "torchvision" in results:
        ratio = results["reference"]["median_s"] / results["torchvision"]["median_s"]
        payload["reference_over_torchvision"] = ratio
        print(f"reference / torchvision = {ratio:.2f}x")
    path = write_benchmark("deform", args.device, payload, args.output_dir)
    print(f"wrote {path}")
    return 0
