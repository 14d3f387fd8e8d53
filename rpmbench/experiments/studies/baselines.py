"""The no-network baselines of a data set, scored through the spine (for data profiles)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from rpmbench.experiments.spec import DataChoice


def score_baselines(root: Path, data: DataChoice, names: Sequence[str], run_dir: Path,
                    progress: bool = True) -> dict[str, float]:
    """J&F-Mean (rounded to 4 digits) of each baseline in ``names`` on ``data``'s split at ``root``,
    each one cell spec computed by :func:`rpmbench.experiments.cell.run_job` (the grid's code) and
    kept as a result file under ``run_dir``, so a rerun reuses it."""
    from rpmbench.experiments.cell import RunContext, group_jobs, run_job
    from rpmbench.experiments.plan import baseline_spec
    from rpmbench.experiments.presets import GridConfig
    from rpmbench.experiments.spec import Work
    from rpmbench.experiments.store import RunStore

    grid = GridConfig(name="profile", baselines=list(names))
    store = RunStore(run_dir)
    context = RunContext(store.root, Path(root), (), "profile", Work(progress=progress))
    scores = {}
    for job in group_jobs([baseline_spec(grid, name, data) for name in names]):
        (result,) = run_job(job, context)
        scores[result["cell"]] = round(result["metrics"]["J&F-Mean"], 4)
    store.clean_staging()
    return scores


def profile_run_dir(base: Path, root: Path) -> Path:
    """A results folder for one data root's baselines: ``base/<root name>-<8 hex of its path>``
    (a spec does not name where a DAVIS copy lies, so each root gets its own folder)."""
    resolved = Path(root).resolve()
    return Path(base) / f"{resolved.name}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"
