"""``python -m rpmbench describe``: Table 1 read off the built model, with parameter counts."""

from __future__ import annotations

import argparse

HELP = "print Table 1 (layer-by-layer architecture) read off a built model"
DESCRIPTION = """\
Builds the chosen RPM-Net variant, runs it once on a dummy input with forward hooks and prints
Table 1: layer numbers (counted as the paper does), layer descriptions and output tensor
dimensions written like the paper, e.g. (256, H/8, W/8). Then the parameter counts of the encoder,
the FCN decoder, the matching module and the whole model.

examples:
  python -m rpmbench describe --backbone resnet101 --matching deformable
  python -m rpmbench describe --backbone resnet18 --matching dilated --dilation 6 --format csv
  python -m rpmbench describe --backbone resnet50 --matching standard --layers 5 --format md
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Every command's parser is built at each start, so no torch here (`evaluate` must not import
    # it): the names come from the torch-free registry.
    from rpmbench.registry import BACKBONES, MATCHING_KINDS

    parser.add_argument("--backbone", default="resnet101", choices=BACKBONES)
    parser.add_argument("--matching", default="deformable", choices=tuple(MATCHING_KINDS))
    parser.add_argument("--layers", type=int, default=3, help="flow layers before layer 109 (1, 3 or 5)")
    parser.add_argument("--dilation", type=int, default=1, help="dilation of 'dilated' matching (3, 6, 9)")
    parser.add_argument("--dcn", default="v1", choices=("v1", "v2"), help="deformable conv version")
    parser.add_argument("--format", default="md", choices=["md", "csv"], help="output format")
    parser.add_argument("--input-size", type=int, nargs=2, default=(256, 256), metavar=("H", "W"),
                        help="dummy input size, multiples of 64 (default: 256 256)")


def run(args: argparse.Namespace) -> int:
    from rpmbench.models import RPMNet, RPMNetConfig
    from rpmbench.models.describe import describe_model, parameter_summary
    from rpmbench.paper import PAPER_HEADLINE

    config = RPMNetConfig(args.backbone, args.matching, args.layers, args.dilation, args.dcn,
                          backend="reference")
    config.validate()
    model = RPMNet(config)
    table = describe_model(model, tuple(args.input_size))
    if args.format == "csv":
        print(table.to_csv(index=False), end="")
    else:
        print(table.to_markdown(index=False))
    counts = parameter_summary(model)
    print()
    for name, value in counts.items():
        print(f"parameters {name:9s} {value / 1e6:8.2f} M")
    if args.backbone == "resnet101" and args.format == "md":
        print(f"(main paper: {PAPER_HEADLINE['parameters'] / 1e6:.0f} M for RPM-Net ResNet-101; the "
              "encoder alone is within 1.2% of it, see the README's reproduction notes)")
    return 0
