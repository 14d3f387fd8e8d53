"""``python -m rpmbench run-grid``: Table 2's ablation grid, resumable, local or on Slurm."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from rpmbench import registry

HELP = "train, propagate and score cells of Table 2 (+ baselines) and render the table (default: the quick preset)"
_WHAT = textwrap.fill(
    f"Run cells of Table 2's grid (the paper and gpu presets: all of it): matching module {{{', '.join(registry.TABLE2_ROWS)}}} x embedding "
    f"{{{', '.join(registry.BACKBONES)}}}, plus the baselines ({', '.join(registry.DEFAULT_BASELINES)}) and the "
    f"\"beyond the paper\" entries ({', '.join(registry.BEYOND_DEFAULT)}; none in the paper preset).", 98)
DESCRIPTION = _WHAT + """
Each cell is trained, propagates the val set and is scored; its result is
one JSON under results/runs/<run>/cells/ named <cell>-s<seed>-<config hash>.json. A rerun skips
cells whose result exists for the same config hash and resumes interrupted cells from their last
checkpoint. The run ends by writing results/runs/<run>/table2.csv and table2.md and printing the
table, whose header names the run's library versions, processor and torch thread count, compares
them with the committed reference results/<run>/ and compares every result of equal settings with
the reference's (committed runs are references, never reused as a cache; on CPU, numbers are
bit-identical only for the same versions, processor model and thread count). A trained model is propagated under every
protocol the grid lists ("beyond the paper" entries such as deformable-l3@memory) without retraining.

Presets (rpmbench/presets/*.yaml): smoke (seconds per cell, for tests), quick (default: four rows
of the ResNet-18 column, one seed, on the built-in calibrated2 set, 2 CPU cores; results/quick/README.md
gives its time), protocols (one cell under every protocol, 3 seeds), gpu (one GPU, the built-in data
set at DAVIS size, 3000 steps x 16 crops of 256x256 per cell), paper (GPU, DAVIS-2017 +
YouTube-VOS, 256x256 crops). Any field can be changed with --config FILE.yaml or --set KEY=VALUE
(dotted keys, YAML values); --dry-run prints the resolved config and the jobs.

examples:
  python -m rpmbench run-grid                                  # quick preset -> results/runs/quick/
  python -m rpmbench run-grid --preset smoke --only 'resnet18-*'
  python -m rpmbench run-grid --set train.steps=200 --seeds 3 --run-name quick-200
  python -m rpmbench run-grid --executor processes --workers 2
  python -m rpmbench run-grid --preset paper --set data.davis_root=/data/DAVIS \\
      --executor slurm --partition gpu --gpus-per-node 1 --timeout-min 600 \\
      --slurm-folder results/slurm/%j
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register run-grid's options."""
    from rpmbench.experiments.presets import DEFAULT_PRESET, PRESETS

    config = parser.add_argument_group("configuration")
    config.add_argument("--preset", choices=PRESETS, default=DEFAULT_PRESET,
                        help=f"shipped preset to start from (default: {DEFAULT_PRESET})")
    config.add_argument("--config", action="append", default=[], metavar="FILE",
                        help="YAML file of settings applied over the preset (repeatable)")
    config.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="one setting, dotted key and YAML value, e.g. train.steps=40 (repeatable)")
    config.add_argument("--seeds", type=int, help="seeds per cell (table shows mean and std)")
    config.add_argument("--run-name", help="results folder name (default: the preset name)")

    selection = parser.add_argument_group("what to run")
    selection.add_argument("--results-dir", default="results/runs",
                           help="parent of the run folder (default: results/runs, gitignored)")
    selection.add_argument("--reference-dir", default="results",
                           help="where committed reference runs live; the table compares with "
                           "<reference-dir>/<run> (default: results)")
    selection.add_argument("--only", action="append", default=[], metavar="PATTERN",
                           help="glob on cell ids, e.g. 'resnet18-*' or '*-dilated-*' (repeatable)")
    selection.add_argument("--force", action="store_true",
                           help="recompute the selected cells even if their results exist")
    selection.add_argument("--dry-run", action="store_true",
                           help="print the resolved config and the jobs with their status; run nothing")
    selection.add_argument("--no-progress", action="store_true", help="no progress bars")

    execution = parser.add_argument_group("execution")
    execution.add_argument("--executor", choices=("local", "processes", "slurm"), default="local",
                           help="local: sequential; processes: --workers at once; slurm: submitit")
    execution.add_argument("--overlays", type=Path, default=None, metavar="DIR",
                           help="also draw each result computed now over its frames: DIR/<result id>/"
                                "<sequence>.png (contact sheet) and .gif; pick results with --only "
                                "(and --force for finished ones)")
    execution.add_argument("--workers", type=int, default=2, help="processes executor: pool size")
    execution.add_argument("--threads", type=int,
                           help="torch threads per job (default: the CPUs this process may use, from its affinity "
                           "and cgroup quota, divided among workers); "
                           "CPU numbers are bit-identical only at equal thread counts")

    slurm = parser.add_argument_group("slurm (with --executor slurm)")
    slurm.add_argument("--partition", help="Slurm partition")
    slurm.add_argument("--gpus-per-node", type=int, default=1)
    slurm.add_argument("--cpus-per-task", type=int, default=8)
    slurm.add_argument("--mem-gb", type=int, default=32)
    slurm.add_argument("--timeout-min", type=int, default=240,
                       help="per job; a timed-out job is requeued and resumes from its checkpoint")
    slurm.add_argument("--array-parallelism", type=int, default=32,
                       help="how many array tasks run at once")
    slurm.add_argument("--slurm-folder", default="results/slurm/%j",
                       help="submitit logs and pickles; %%j becomes the job id")
    slurm.add_argument("--slurm-cluster", choices=("slurm", "local", "debug"), default="slurm",
                       help="'local'/'debug' run the submitit code path without Slurm (testing)")


def run(args: argparse.Namespace) -> int:
    """Resolve the config, run the grid, print Table 2."""
    import yaml

    from rpmbench.experiments.executors import ExecutorOptions, SlurmOptions
    from rpmbench.experiments.overrides import parse_assignment
    from rpmbench.experiments.plan import plan_grid
    from rpmbench.experiments.presets import config_dict, load_grid_config
    from rpmbench.experiments.runner import run_grid
    from rpmbench.experiments.store import RunStore
    from rpmbench.runlock import run_lock

    overrides = dict(parse_assignment(text) for text in args.overrides)
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    if args.run_name:
        overrides["run_name"] = args.run_name
    grid = load_grid_config(args.preset, args.config, overrides)
    executor = ExecutorOptions(
        name=args.executor, workers=args.workers, threads=args.threads,
        slurm=SlurmOptions(
            folder=args.slurm_folder, partition=args.partition, gpus_per_node=args.gpus_per_node,
            cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb, timeout_min=args.timeout_min,
            array_parallelism=args.array_parallelism,
            cluster=None if args.slurm_cluster == "slurm" else args.slurm_cluster,
        ),
    )
    if args.dry_run:
        executor.validate()
        store = RunStore(Path(args.results_dir) / grid.run)
        print(yaml.safe_dump(config_dict(grid), sort_keys=False).rstrip())
        for spec in plan_grid(grid, args.only):
            status = "done" if store.result_path(spec.stem).is_file() else "pending"
            print(f"{status:8s} {store.result_path(spec.stem)}")
        return 0
    outcome = run_grid(grid, Path(args.results_dir), executor, only=args.only, force=args.force,
                       progress=not args.no_progress, reference_dir=Path(args.reference_dir),
                       overlays=args.overlays,
                       lock=run_lock)  # one run per folder (rpmbench/runlock.py)
    print()
    print(outcome.markdown)
    print(f"run-grid: {outcome.ran} result(s) computed, {outcome.skipped} already done, "
          f"{outcome.seconds / 60:.1f} min; wrote {outcome.run_dir}/table2.md and table2.csv")
    return 0
