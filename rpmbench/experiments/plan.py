"""From a resolved :class:`GridConfig` to one :class:`~rpmbench.experiments.spec.CellSpec` per result.

The grid's results, in table order: every Table 2 row x backbone x seed (the paper's protocol),
every "beyond the paper" entry (another matching variant, or a Table 2 row under another
propagation protocol) x backbone x seed, then the baselines. A result file is named by its spec's
readable id and hash, so a rerun with the same settings finds (and skips) finished results and a
changed setting never reuses a stale one. Paths and execution settings are not in the spec.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence

from rpmbench import registry
from rpmbench.errors import ConfigError
from rpmbench.experiments.presets import GridConfig
from rpmbench.experiments.spec import CellSpec, DataChoice, Work


def _cell_spec(grid: GridConfig, entry: str, backbone: str, seed: int) -> CellSpec:
    variant, protocol = registry.parse_entry(entry)
    train = grid.train
    model = dataclasses.replace(train.model, backbone=backbone, **variant.model_fields())
    train = dataclasses.replace(train, model=model, seed=seed)
    try:
        train.validate()
    except ConfigError as error:
        raise ConfigError(f"grid cell {backbone}-{entry}: {error}") from error
    propagation = dataclasses.replace(grid.propagation, **protocol.config_fields())
    return CellSpec(f"{backbone}-{registry.entry_name(variant.name, protocol.name)}",
                    grid.data.choice(), propagation, train)


def baseline_spec(grid: GridConfig, entry: str, data: DataChoice | None = None) -> CellSpec:
    """A baseline, or ``baseline@protocol``: the baseline under that protocol's settings, on
    ``data`` (default: the grid's)."""
    _, protocol = registry.parse_baseline(entry)
    fields = protocol.config_fields() if protocol is not None else {}
    propagation = dataclasses.replace(grid.propagation, **fields)
    propagation.validate()
    return CellSpec(entry, data or grid.data.choice(), propagation)


def plan_grid(grid: GridConfig, only: Sequence[str] = ()) -> list[CellSpec]:
    """All result specs of ``grid`` in table order, restricted to ids matching any ``only`` glob.

    Every cell's TrainConfig (with its RPMNetConfig) and the PropagationConfig are validated here,
    so a bad setting is a ConfigError before any work starts.
    """
    grid.propagation.validate()
    seeds = range(grid.first_seed, grid.first_seed + grid.seeds)
    specs = [_cell_spec(grid, entry, backbone, seed)
             for entry in (*grid.rows, *grid.beyond) for backbone in grid.backbones for seed in seeds]
    specs += [baseline_spec(grid, entry) for entry in grid.baselines]
    if only:
        specs = [spec for spec in specs if any(fnmatch.fnmatchcase(spec.method, p) for p in only)]
        if not specs:
            raise ConfigError(f"--only {' '.join(only)} matches no cell id; ids look like "
                              "resnet50-dilated-d6-l3 or copy-first (use --dry-run to list them)")
    return specs


def grid_work(grid: GridConfig, threads: int | None = None, progress: bool = True,
              overlays: str | None = None) -> Work:
    """How the grid's work is carried out: its ``execution`` section (not part of any spec), plus
    where to draw the computed results' masks over their frames (``overlays``; None: nowhere)."""
    return Work(threads=threads, training=grid.execution, progress=progress, overlays=overlays)
