"""``python -m rpmbench bench``: speed measurements written to ``runs/benchmarks/`` (``--output-dir``)."""

from __future__ import annotations

import argparse
import importlib

HELP = "measure speed (deform conv, scoring, training, inference, evaluate start-up, data loader, threads) into runs/benchmarks/"
DESCRIPTION = """\
Time one part of the pipeline with warm-up and the median of repeats, side by side with a peer
where one exists, and write a JSON file (device, library versions, timings, ratios) under
--output-dir (default runs/benchmarks/, gitignored; the committed measurements are in
results/benchmarks/, which a run rewrites only when --output-dir names it). Timings are
never asserted in tests; they are recorded here.

examples:
  python -m rpmbench bench deform                 # each deform-conv backend, forward+backward
  python -m rpmbench bench scoring --workers 2    # rpmbench J/F vs vos-benchmark, same inputs
  python -m rpmbench bench train --backbones resnet18
  python -m rpmbench bench infer --backbones resnet101 --device cuda
  python -m rpmbench bench evaluate-startup       # evaluate's start-up: no torch import
  python -m rpmbench bench loader --workers 1 2   # the paper preset's crop pairs/s per CPU worker
  python -m rpmbench bench threads                # step time per thread count, alone and beside another job
"""

# Benchmark name -> module with HELP, DESCRIPTION, add_arguments(parser) and run(args).
BENCHMARKS: dict[str, str] = {
    "deform": "rpmbench.bench.deform",
    "scoring": "rpmbench.bench.scoring",
    "train": "rpmbench.bench.train",
    "infer": "rpmbench.bench.infer",
    "evaluate-startup": "rpmbench.bench.startup",
    "loader": "rpmbench.bench.loader",
    "threads": "rpmbench.bench.threads",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register one sub-subcommand per benchmark module that exists."""
    subparsers = parser.add_subparsers(dest="benchmark", metavar="<benchmark>", required=True)
    for name, module_name in BENCHMARKS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_benchmark_run=module.run)


def run(args: argparse.Namespace) -> int:
    """Run the chosen benchmark."""
    return int(args._benchmark_run(args) or 0)
