"""Run a whole grid: plan, check everything up front, execute pending jobs, render Table 2."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rpmbench.errors import DataError
from rpmbench.grid.cell import RunContext
from rpmbench.grid.executors import ExecutorOptions, execute
from rpmbench.grid.plan import CellJob, plan_grid
from rpmbench.grid.presets import GridConfig
from rpmbench.grid.store import RunStore
from rpmbench.grid.table import TableContext, summarise, to_csv, to_markdown
from rpmbench.paper import paper_table2


@dataclass(frozen=True)
class GridOutcome:
    """What a finished run produced."""

    run_dir: Path
    table: pd.DataFrame
    markdown: str
    ran: int
    skipped: int
    seconds: float


def resolve_data(grid: GridConfig) -> tuple[Path, tuple[str, ...]]:
    """The DAVIS-layout root to score on and the training roots; DataError if unusable.

    Training reads the root's ``train.davis_splits`` frames plus ``train.data_roots`` (and the
    built-in real video clips with ``data.builtin_clips``). The built-in data set is generated
    into the cache on first use (atomically).
    """
    from rpmbench.data.davis import DavisDataset

    extra = [str(Path(root).expanduser()) for root in grid.train.data_roots]
    if grid.data.source == "builtin":
        from rpmbench.data.builtin import builtin_clip_paths, ensure_builtin_dataset

        root = Path(ensure_builtin_dataset(grid.data.builtin_size, grid.data.builtin_seed))
        if grid.data.builtin_clips:
            extra += [str(path) for path in builtin_clip_paths()]
    else:
        root = Path(str(grid.data.davis_root)).expanduser()
    DavisDataset(root, split=grid.data.split)  # validates the layout, raises DataError
    for split in grid.train.davis_splits:
        DavisDataset(root, split=split)
    for path in extra:
        if not Path(path).exists():
            raise DataError(f"train.data_roots entry {path} does not exist; fix the path or "
                            "remove it from the preset")
    return root, (*extra, str(root))


def run_settings(grid: GridConfig) -> str:
    """The resolved settings that decide a cell's numbers, in one line (the preset's description
    no longer holds once --set or --config changed them)."""
    train, propagation = grid.train, grid.propagation
    frames = f"short side {train.short_side}" if train.short_side else "native size"
    return (f"{train.steps} steps x {train.batch_size} crops of {train.crop_size}x{train.crop_size} "
            f"(frames at {frames}, gap {train.frame_gap[0]}-{train.frame_gap[1]}), {train.colour_space} "
            f"{train.loss}, Adam lr {train.lr:g} {train.schedule}, {train.device}"
            f"{' bf16' if train.amp else ''}; {propagation.mode} propagation at {propagation.scale:g}x "
            f"resolution")


def table_context(grid: GridConfig) -> TableContext:
    """Header facts of ``table2.md`` for ``grid``."""
    return TableContext(
        preset=grid.name, description=grid.description, settings=run_settings(grid), data=grid.data.describe(),
        seeds=list(range(grid.first_seed, grid.first_seed + grid.seeds)),
        rows=grid.rows, backbones=grid.backbones, baselines=grid.baselines,
    )


def run_grid(grid: GridConfig, results_dir: Path, executor: ExecutorOptions,
             only: Sequence[str] = (), force: bool = False, progress: bool = True) -> GridOutcome:
    """Run the pending jobs of ``grid`` under ``results_dir/<run>`` and write Table 2.

    Every check (config, cells, executor, data) happens before the first job starts.
    """
    start = time.perf_counter()
    executor.validate()
    all_jobs = plan_grid(grid)
    jobs = plan_grid(grid, only) if only else all_jobs
    davis_root, train_roots = resolve_data(grid)
    store = RunStore(results_dir / grid.run)
    store.clean_staging()
    if force:
        _forget(store, jobs)
    pending = [job for job in jobs if not store.result_path(job.stem).is_file()]
    if progress:
        print(f"run-grid: {grid.run}: {len(jobs)} job(s), {len(jobs) - len(pending)} already done, "
              f"{len(pending)} to run ({executor.name} executor) -> {store.root}")
    context = RunContext(run_dir=store.root, davis_root=davis_root, train_roots=train_roots,
                         preset=grid.name, keep_work=grid.keep_work, progress=progress)
    execute(pending, context, executor)
    results = [r for r in (store.read_result(job.stem) for job in all_jobs) if r is not None]
    context_table = table_context(grid)
    table = summarise(results, context_table, paper_table2())
    markdown = to_markdown(table, context_table)
    store.publish_text(store.root / "table2.csv", to_csv(table))
    store.publish_text(store.root / "table2.md", markdown)
    store.clean_staging()  # a finished run leaves no empty work/staging/
    return GridOutcome(store.root, table, markdown, len(pending), len(jobs) - len(pending),
                       time.perf_counter() - start)


def _forget(store: RunStore, jobs: Sequence[CellJob]) -> None:
    """--force: drop the jobs' results and work dirs so they are recomputed from scratch."""
    for job in jobs:
        store.result_path(job.stem).unlink(missing_ok=True)
        shutil.rmtree(store.work_dir(job.stem), ignore_errors=True)
