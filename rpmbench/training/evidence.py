"""Evidence that training learns: trained RPM-Net vs the baselines on the built-in val split."""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from rpmbench.atomic import atomic_path, atomic_write_json
from rpmbench.provenance import run_metadata
from rpmbench.training.config import TrainConfig


def learning_evidence(config: TrainConfig, seeds: list[int], work_dir: Path, output: Path,
                      progress: bool = True, root: Path | None = None) -> dict[str, Any]:
    """Train ``config`` once per seed, propagate and score the val split of ``root`` (default: the
    built-in ``small`` data set), score the baselines on the same data, and write ``output`` (JSON)
    and a CSV beside it.

    Seeds whose run folder already holds a finished checkpoint are not trained again (runs resume);
    ``train_seconds`` is the optimiser time stored in the checkpoint, so it is the full training time
    even for a resumed run.
    """
    from rpmbench.baselines import BASELINES, run_baseline
    from rpmbench.data.builtin import ensure_builtin_dataset
    from rpmbench.evaluation import evaluate_results
    from rpmbench.propagation import PropagationConfig, propagate_dataset
    from rpmbench.training import load_checkpoint_model, train

    root = root or ensure_builtin_dataset(progress=progress)
    rows = []
    for name in BASELINES:
        run_baseline(name, root, "val", work_dir / name, progress=progress)
        metrics = evaluate_results(root, work_dir / name, progress=False).global_metrics
        rows.append({"method": name, "seed": None, **metrics})
    for seed in seeds:
        seeded = dataclasses.replace(config, seed=seed)
        result = train(seeded, work_dir / f"seed{seed}", resume=True, progress=progress)
        model, trained = load_checkpoint_model(result.checkpoint)
        propagate_dataset(model, root, "val", work_dir / f"seed{seed}" / "val",
                          PropagationConfig(colour_space=trained.colour_space), progress=progress)
        metrics = evaluate_results(root, work_dir / f"seed{seed}" / "val", progress=False).global_metrics
        rows.append({"method": "rpmnet", "seed": seed, "train_seconds": result.seconds, **metrics})
    table = pd.DataFrame(rows)
    table["seed"] = table["seed"].astype("Int64")
    learned = table[table["method"] == "rpmnet"]["J&F-Mean"].tolist()
    copy_previous = float(table[table["method"] == "copy-previous"]["J&F-Mean"].iloc[0])
    summary = {
        "data": f"val split of {root}",
        "config": config.to_dict(),
        "seeds": seeds,
        "rpmnet_jf_mean": statistics.mean(learned),
        "rpmnet_jf_std": statistics.stdev(learned) if len(learned) > 1 else 0.0,
        "copy_previous_jf": copy_previous,
        "margin_over_copy_previous": statistics.mean(learned) - copy_previous,
        "beats_copy_previous_every_seed": all(value > copy_previous for value in learned),
        "rows": table.to_dict(orient="records"),
        "provenance": run_metadata(config.device),
    }
    atomic_write_json(output, summary)
    with atomic_path(output.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    return summary
