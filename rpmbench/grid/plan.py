"""From a resolved :class:`GridConfig` to the list of jobs (cell x seed, plus baselines).

Every job carries the resolved configuration that decides its numbers and a short hash of it; the
result file name contains both the readable cell id and the hash, so a rerun with the same
settings finds (and skips) finished cells, and a changed setting never reuses a stale result.
Executor choices, worker counts and paths to caches are not part of the hash.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rpmbench.errors import ConfigError
from rpmbench.grid.cells import Cell, config_hash, grid_cells
from rpmbench.grid.presets import GridConfig, config_dict
from rpmbench.propagation import PropagationConfig
from rpmbench.training import TrainConfig


@dataclass(frozen=True)
class CellJob:
    """One unit of work: train+propagate+score a cell for one seed, or run one baseline."""

    cell_id: str
    kind: str  # "model" or "baseline"
    seed: int | None
    config: dict[str, Any]  # resolved and JSON-able; hashed
    hash: str

    @property
    def stem(self) -> str:
        """File stem of the result and work dir: ``resnet18-deformable-l3-s0-1a2b3c4d5e``."""
        seed = f"-s{self.seed}" if self.seed is not None else ""
        return f"{self.cell_id}{seed}-{self.hash}"


# Training fields that change how a run is logged, checkpointed or fed, not its numbers (batches are
# a function of the step index, whatever the loader's workers): left out of the job hash, so that
# turning on TensorBoard or more workers does not recompute finished cells.
UNHASHED_TRAIN_FIELDS: tuple[str, ...] = ("tensorboard", "num_workers", "checkpoint_every")


def job_hash(config: dict) -> str:
    """:func:`config_hash` of a model job's config without :data:`UNHASHED_TRAIN_FIELDS`."""
    train = {key: value for key, value in config["train"].items() if key not in UNHASHED_TRAIN_FIELDS}
    return config_hash({**config, "train": train})


def cell_train_config(grid: GridConfig, cell: Cell, seed: int) -> TrainConfig:
    """The grid's training template with this cell's model fields and seed filled in."""
    model = dataclasses.replace(grid.train.model, **cell.model_fields())
    return dataclasses.replace(grid.train, model=model, seed=seed)


def cell_propagation_config(grid: GridConfig) -> PropagationConfig:
    """The grid's propagation settings, in the colour space the cells are trained in."""
    return dataclasses.replace(grid.propagation, colour_space=grid.train.colour_space)


def plan_grid(grid: GridConfig, only: Sequence[str] = ()) -> list[CellJob]:
    """All jobs of ``grid`` in table order, restricted to cell ids matching any ``only`` glob.

    Every cell's TrainConfig (with its RPMNetConfig) and the PropagationConfig are validated here,
    so a bad backbone, dilation, layer count or training setting is a ConfigError before any
    work starts.
    """
    data = config_dict(grid.data)
    propagation = cell_propagation_config(grid)
    propagation.validate()
    jobs: list[CellJob] = []
    for cell in grid_cells(grid.rows, grid.backbones):
        try:
            cell_train_config(grid, cell, grid.first_seed).validate()
        except ConfigError as error:
            raise ConfigError(f"grid cell {cell.id}: {error}") from error
        for offset in range(grid.seeds):
            seed = grid.first_seed + offset
            config = {
                "cell": cell.id,
                "seed": seed,
                "data": data,
                "train": config_dict(cell_train_config(grid, cell, seed)),
                "propagation": config_dict(propagation),
            }
            jobs.append(CellJob(cell.id, "model", seed, config, job_hash(config)))
    for name in grid.baselines:
        config = {"cell": name, "data": data}
        jobs.append(CellJob(name, "baseline", None, config, config_hash(config)))
    if only:
        jobs = [job for job in jobs if any(fnmatch.fnmatchcase(job.cell_id, p) for p in only)]
        if not jobs:
            raise ConfigError(f"--only {' '.join(only)} matches no cell id; ids look like "
                              "resnet50-dilated-d6-l3 or copy-first (use --dry-run to list them)")
    return jobs
