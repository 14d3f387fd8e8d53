"""Run a whole grid: plan, check everything up front, execute pending jobs, render Table 2."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rpmbench.experiments.cell import RunContext, group_jobs
from rpmbench.experiments.executors import ExecutorOptions, execute
from rpmbench.experiments.plan import grid_work, plan_grid
from rpmbench.experiments.presets import GridConfig
from rpmbench.experiments.ranking import ordering_lines, ranking_lines
from rpmbench.experiments.reference import environment_notes, read_results, reference_comparison
from rpmbench.experiments.spec import CellSpec, Paths, resolve_paths
from rpmbench.experiments.store import RunStore
from rpmbench.experiments.table import TableContext, summarise, to_csv, to_markdown
from rpmbench.paper import paper_table2
from rpmbench.writable import check_writable


@dataclass(frozen=True)
class GridOutcome:
    """What a finished run produced."""

    run_dir: Path
    table: pd.DataFrame
    markdown: str
    ran: int
    skipped: int
    seconds: float


def grid_paths(grid: GridConfig, scratch: Path, progress: bool = True) -> Paths:
    """This machine's data for ``grid`` (DataError naming the setting to fix if unusable)."""
    return resolve_paths(grid.data.choice(), grid.data.davis_root, tuple(grid.data.train_roots),
                         grid.train.davis_splits, scratch, progress)


def run_settings(grid: GridConfig) -> str:
    """The resolved settings that decide a cell's numbers, in one line (the preset's description
    no longer holds once --set or --config changed them)."""
    train, propagation = grid.train, grid.propagation
    frames = f"short side {train.short_side}" if train.short_side else "native size"
    return (f"{train.steps} steps x {train.batch_size} crops of {train.crop_size}x{train.crop_size} "
            f"(frames at {frames}, gap {train.frame_gap[0]}-{train.frame_gap[1]}), {train.colour_space} "
            f"{train.loss}, Adam lr {train.lr:g} {train.schedule}, trained on {train.device}"
            f"{' bf16' if train.amp else ''}; {propagation.mode} propagation at {propagation.scale:g}x "
            f"resolution on {propagation.device}")


def table_context(grid: GridConfig, notes: Sequence[str] = (), comparison: Sequence[str] = (),
                  ranking: Sequence[str] = ()) -> TableContext:
    """Header facts of ``table2.md`` for ``grid``."""
    return TableContext(
        preset=grid.name, description=grid.description, settings=run_settings(grid),
        data=grid.data.choice().describe(), seeds=list(range(grid.first_seed, grid.first_seed + grid.seeds)),
        rows=grid.rows, backbones=grid.backbones, baselines=grid.baselines, beyond=grid.beyond,
        paper_data=grid.data.source == "davis", notes=tuple(notes), comparison=tuple(comparison),
        ranking=tuple(ranking),
    )


def run_grid(grid: GridConfig, results_dir: Path, executor: ExecutorOptions,
             only: Sequence[str] = (), force: bool = False, progress: bool = True,
             reference_dir: Path | None = None,
             lock: Callable[[Path], AbstractContextManager[object]] | None = None,
             overlays: Path | None = None) -> GridOutcome:
    """Run the pending results of ``grid`` under ``results_dir/<run>`` and write Table 2.

    Every check (config, cells, executor, data) happens before the first job starts and before
    ``lock(run_dir)`` (e.g. :func:`rpmbench.runlock.run_lock`) is taken, so a refused config leaves
    no folder behind. The header compares the run's environment with the committed reference
    ``reference_dir/<run>`` if given. With ``overlays``, every result computed now also gets its
    predicted masks drawn over the frames under ``overlays/<result id>/`` (contact sheet + GIF).
    """
    start = time.perf_counter()
    executor.validate()
    all_specs = plan_grid(grid)
    specs = plan_grid(grid, only) if only else all_specs
    store = RunStore(results_dir / grid.run)
    check_writable(store.root, "the run folder", "pass --results-dir DIR")
    paths = grid_paths(grid, store.work, progress)
    with lock(store.root) if lock is not None else contextlib.nullcontext():
        return _run_locked(grid, store, paths, all_specs, specs, executor, force, progress,
                           reference_dir, start, overlays)


def _run_locked(grid: GridConfig, store: RunStore, paths: Paths, all_specs: Sequence[CellSpec],
                specs: Sequence[CellSpec], executor: ExecutorOptions, force: bool, progress: bool,
                reference_dir: Path | None, start: float, overlays: Path | None) -> GridOutcome:
    store.clean_staging()
    if force:
        _forget(store, specs)
    pending = [spec for spec in specs if not store.result_path(spec.stem).is_file()]
    jobs = group_jobs(pending)
    if progress:
        print(f"run-grid: {grid.run}: {len(specs)} result(s), {len(specs) - len(pending)} already done, "
              f"{len(pending)} to compute in {len(jobs)} job(s) ({executor.name} executor) -> {store.root}")
    work = grid_work(grid, progress=progress, overlays=str(overlays) if overlays else None)
    context = RunContext(run_dir=store.root, davis_root=paths.davis_root, train_roots=paths.train_roots,
                         preset=grid.name, work=work, keep_work=grid.keep_work)
    execute(jobs, context, executor)
    results = [r for r in (store.read_result(spec.stem) for spec in all_specs) if r is not None]
    reference = read_results(reference_dir / grid.run) if reference_dir is not None else []
    variants = [*grid.rows, *(entry for entry in grid.beyond if "@" not in entry)]
    context_table = table_context(grid, environment_notes(results, reference, grid.run),
                                  reference_comparison(results, reference),
                                  [*ranking_lines(results, variants, grid.backbones),
                                   *ordering_lines(results, grid.backbones)])
    table = summarise(results, context_table, paper_table2())
    markdown = to_markdown(table, context_table)
    store.publish_text(store.root / "table2.csv", to_csv(table))
    store.publish_text(store.root / "table2.md", markdown)
    store.clean_staging()  # a finished run leaves no empty work/staging/
    return GridOutcome(store.root, table, markdown, len(pending), len(specs) - len(pending),
                       time.perf_counter() - start)


def _forget(store: RunStore, specs: Sequence[CellSpec]) -> None:
    """--force: drop the results and work dirs of ``specs`` so they are recomputed from scratch."""
    for spec in specs:
        store.result_path(spec.stem).unlink(missing_ok=True)
        for name in (spec.stem, spec.training_stem):
            if name:
                shutil.rmtree(store.work_dir(name), ignore_errors=True)
