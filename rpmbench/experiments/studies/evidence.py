"""Evidence that training learns: trained RPM-Net vs the baselines, through the grid's spine.

Each seed and each baseline is one :class:`~rpmbench.experiments.spec.CellSpec` computed by
:func:`rpmbench.experiments.cell.run_cell`, the same code ``run-grid`` runs, so a result here equals the
grid's result for the same settings.
"""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from rpmbench.atomic import atomic_path, atomic_write_json
from rpmbench.provenance import portable_path
from rpmbench.training.config import TrainConfig, TrainExecution


def model_id(config: TrainConfig) -> str:
    """The result id of ``config``'s model, e.g. ``resnet18-standard-l3`` (the grid's cell id)."""
    from rpmbench.registry import variant_id

    model = config.model
    return f"{model.backbone}-{variant_id(model.matching, model.layers, model.dilation)}"


def learning_evidence(config: TrainConfig, seeds: list[int], work_dir: Path, output: Path,
                      progress: bool = True, root: Path | None = None, extra_roots: tuple[str, ...] = (),
                      execution: TrainExecution | None = None) -> dict[str, Any]:
    """Train ``config`` once per seed (on the data's own training video plus ``extra_roots``),
    propagate and score the val split of ``root`` (default: the built-in ``small`` data set), score
    every registered baseline on the same data, and write ``output`` (JSON) and a CSV beside it.

    Seeds whose run folder under ``work_dir`` holds a finished checkpoint are not trained again;
    ``train_seconds`` is the optimiser time stored in the checkpoint, so it is the full training
    time even for a resumed run.
    """
    from rpmbench.experiments.cell import run_cell
    from rpmbench.experiments.spec import CellSpec, DataChoice, Work, resolve_paths
    from rpmbench.inference.propagate import PropagationConfig
    from rpmbench.registry import DEFAULT_BASELINES

    data = DataChoice() if root is None else DataChoice(source="davis")
    paths = resolve_paths(data, None if root is None else str(root), extra_roots, config.davis_splits, work_dir,
                          progress)
    work = Work(progress=progress) if execution is None else Work(training=execution, progress=progress)
    propagation = PropagationConfig(colour_space=None)
    specs = [CellSpec(name, data, propagation) for name in DEFAULT_BASELINES]
    specs += [CellSpec(model_id(config), data, propagation, dataclasses.replace(config, seed=seed))
              for seed in seeds]
    rows = []
    for spec in specs:
        result = run_cell(spec, paths, work)
        method = "rpmnet" if spec.train is not None else spec.method
        extra = {"train_seconds": result["train_seconds"]} if spec.train is not None else {}
        rows.append({"method": method, "seed": spec.seed, **extra, **result["metrics"]})
    table = pd.DataFrame(rows)
    table["seed"] = table["seed"].astype("Int64")
    learned = table[table["method"] == "rpmnet"]["J&F-Mean"].tolist()
    copy_previous = float(table[table["method"] == "copy-previous"]["J&F-Mean"].iloc[0])
    summary = {
        "data": f"val split of {portable_path(paths.davis_root)}",
        "config": config.to_dict(),
        "seeds": seeds,
        "rpmnet_jf_mean": statistics.mean(learned),
        "rpmnet_jf_std": statistics.stdev(learned) if len(learned) > 1 else 0.0,
        "copy_previous_jf": copy_previous,
        "margin_over_copy_previous": statistics.mean(learned) - copy_previous,
        "beats_copy_previous_every_seed": all(value > copy_previous for value in learned),
        "rows": table.to_dict(orient="records"),
        "provenance": result["provenance"],
    }
    atomic_write_json(output, summary)
    with atomic_path(output.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    return summary
