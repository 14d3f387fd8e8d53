"""``bench train``: training throughput (samples/s) and achieved FLOP rate per backbone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rpmbench.bench.timing import DEFAULT_OUTPUT_DIR, OUTPUT_DIR_HELP

HELP = "training samples/s (forward, backward, Adam step) per backbone"
DESCRIPTION = """\
Times full training steps (colour conversion, forward through embedding and matching module,
Huber loss, backward, Adam) on random uint8 frame pairs, after a warm-up, as the median of
repeats. Reports samples/s and the FLOP rate achieved (FLOPs counted once with
torch.utils.flop_counter; the bilinear sampling of deformable convs counts as zero), and the model
FLOPs utilisation (MFU) against a peak: --peak-tflops N, or --peak-tflops measure (the default),
which times an n x n matmul on the device in bf16 with --amp and float32 otherwise.
Writes <output-dir>/train-<cpu|cuda>.json.

examples:
  python -m rpmbench bench train --backbones resnet18 resnet101 --crop 128 --batch 4
  python -m rpmbench bench train --device cuda --amp --crop 256 --batch 32 --backbones resnet101
"""


def peak_argument(value: str) -> str | float:
    """``measure`` or a positive number of TFLOP/s."""
    if value == "measure":
        return value
    try:
        peak = float(value)
    except ValueError:
        peak = 0.0
    if peak <= 0:
        raise argparse.ArgumentTypeError(f"expected 'measure' or a positive TFLOP/s value, got {value!r}")
    return peak


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backbones", nargs="+", default=["resnet18", "resnet101"])
    parser.add_argument("--matching", default="deformable")
    parser.add_argument("--crop", type=int, default=128, help="square crop size (default: 128)")
    parser.add_argument("--batch", type=int, default=4, help="batch size (default: 4)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="auto", help="deformable-conv backend")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA or CPU)")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peak-tflops", type=peak_argument, default="measure", metavar="N|measure",
                        help="device peak (TFLOP/s) for MFU, or 'measure' to time a matmul (default)")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help=OUTPUT_DIR_HELP)


def run(args: argparse.Namespace) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from rpmbench.bench.timing import matmul_tflops, median_seconds, write_benchmark
    from rpmbench.models import RPMNetConfig
    from rpmbench.training import TrainConfig
    from rpmbench.training.loop import build_training, training_step

    synchronize = torch.cuda.synchronize if args.device.startswith("cuda") else None
    if args.peak_tflops == "measure":
        peak = matmul_tflops(args.device, "bfloat16" if args.amp else "float32")
    else:
        peak = {"tflops": args.peak_tflops, "source": "--peak-tflops"}
    print(f"peak for MFU: {peak['tflops']:.2f} TFLOP/s", file=sys.stderr)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for backbone in args.backbones:
        config = TrainConfig(model=RPMNetConfig(backbone, args.matching, backend=args.backend),
                             device=args.device, amp=args.amp, channels_last=args.channels_last,
                             batch_size=args.batch, crop_size=args.crop, short_side=None)
        model, optimiser, _ = build_training(config)
        shape = (args.batch, 3, args.crop, args.crop)
        reference = torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)
        target = torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)

        def step() -> None:
            loss = training_step(model, reference, target, config)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()

        counter = FlopCounterMode(display=False)
        with counter:
            step()
        flops = counter.get_total_flops()
        timing = median_seconds(step, warmup=2, repeats=args.repeats, synchronize=synchronize)
        row = {"backbone": backbone, "samples_per_s": args.batch / timing["median_s"],
               "flops_per_step": flops, "achieved_tflops": flops / timing["median_s"] / 1e12, **timing}
        row["mfu"] = row["achieved_tflops"] / peak["tflops"]
        rows.append(row)
        print(f"{backbone:10s} {row['samples_per_s']:8.2f} samples/s  {row['achieved_tflops']:.3f} TFLOP/s"
              f"  MFU {row['mfu']:.1%}")
    payload = {"matching": args.matching, "crop": args.crop, "batch": args.batch, "amp": args.amp,
               "backend": args.backend, "peak": peak, "results": rows}
    print(f"wrote {write_benchmark('train', args.device, payload, args.output_dir)}")
    return 0
