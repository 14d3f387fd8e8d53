"""Learning curves: val J&F of snapshots of one training run per (matching variant, seed).

Each run trains the final step count once, keeping snapshots at the intermediate steps
(``keep_checkpoints_at``), so the curve of a seed is one cosine schedule seen at several points;
step 0 is the untrained, seeded model. Every point is scored with the paper's propagation (soft
masks, layer 109) on the val split, beside the baselines on the same data.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd

from rpmbench.atomic import atomic_path, atomic_write_json
from rpmbench.errors import ConfigError
from rpmbench.experiments.spec import EXECUTION_FIELDS
from rpmbench.provenance import portable_path, run_metadata
from rpmbench.training.config import TrainConfig

#: Config fields that change no number (a run made with other values can be reused).
UNCOMPARED_FIELDS: tuple[str, ...] = EXECUTION_FIELDS


def variant_model_fields(name: str) -> dict[str, Any]:
    """``dilated-d6-l3`` -> the RPMNetConfig fields it fixes (any :mod:`rpmbench.registry` variant)."""
    from rpmbench.registry import variant

    return variant(name).model_fields()


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with defaults for fields added after it was saved, less :data:`UNCOMPARED_FIELDS`."""
    full = TrainConfig.from_dict(config).to_dict()
    return {key: value for key, value in full.items() if key not in UNCOMPARED_FIELDS}


def _score(model: Any, root: Path, out_dir: Path, colour_space: str) -> dict[str, float]:
    from rpmbench.evaluation import evaluate_results
    from rpmbench.inference.propagate import PropagationConfig, propagate_dataset

    propagate_dataset(model, root, "val", out_dir, PropagationConfig(colour_space=colour_space), progress=False)
    return evaluate_results(root, out_dir, progress=False).global_metrics


def curve_point(config: TrainConfig, run_dir: Path, step: int, root: Path, eval_dir: Path) -> dict[str, Any]:
    """J&F of ``run_dir``'s snapshot at ``step`` (0: the untrained seeded model), cached in ``eval_dir``."""
    from rpmbench.training.checkpoint import load_checkpoint_model, read_checkpoint
    from rpmbench.training.loop import build_training, kept_checkpoint_path

    cache = eval_dir / f"step{step}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    seconds = 0.0
    if step == 0:
        model = build_training(config)[0].eval()
    else:
        path = run_dir / "checkpoint.pt" if step == config.steps else kept_checkpoint_path(run_dir, step)
        state = read_checkpoint(path)
        if state["step"] != step or _comparable(state["config"]) != _comparable(config.to_dict()):
            raise ConfigError(f"{path}: holds step {state['step']} of another config; expected step {step} "
                              f"of {_comparable(config.to_dict())}. Use another --work folder.")
        model, _ = load_checkpoint_model(path)
        seconds = state["seconds"]
    metrics = _score(model, root, eval_dir / f"step{step}", config.colour_space)
    point = {"step": step, "train_seconds": seconds, **metrics}
    atomic_write_json(cache, point)
    return point


def _finished(run_dir: Path, steps: int) -> bool:
    """Whether ``run_dir`` holds the final checkpoint of a ``steps``-step run."""
    from rpmbench.training.checkpoint import read_checkpoint

    path = run_dir / "checkpoint.pt"
    return path.is_file() and read_checkpoint(path)["step"] == steps


def curve_config(base: TrainConfig, variant: str, seed: int, steps: list[int]) -> TrainConfig:
    """The run of ``variant`` and ``seed``: ``max(steps)`` steps, snapshots at the other positive steps."""
    final = max(steps)
    config = dataclasses.replace(base, seed=seed, steps=max(final, 1),
                                 keep_checkpoints_at=[s for s in sorted(set(steps)) if 0 < s < final],
                                 model=dataclasses.replace(base.model, **variant_model_fields(variant)))
    config.validate()
    return config


def learning_curves(base: TrainConfig, variants: list[str], seeds: list[int], steps: list[int],
                    work_dir: Path, output: Path, root: Path | None = None,
                    progress: bool = True, train_missing: bool = True) -> pd.DataFrame:
    """Train (or resume) ``<work_dir>/<variant>/s<seed>`` to ``max(steps)``, score every step, and
    write ``output`` (CSV: one row per variant, seed and step, then the baselines), a JSON summary
    (config, provenance, mean and std per variant and step) and a plot (PNG) beside it.
    With ``train_missing=False``, runs without a checkpoint are left out (listed as ``missing``).
    """
    from rpmbench.inference.baselines import run_baseline
    from rpmbench.registry import BASELINES
    from rpmbench.data.builtin import ensure_builtin_dataset
    from rpmbench.evaluation import evaluate_results
    from rpmbench.training.loop import train

    steps = sorted(set(steps))
    if not steps or steps[0] < 0:
        raise ConfigError(f"--steps must be non-negative step counts, got {steps}")
    final = steps[-1]
    for variant in variants:  # all names checked before any work
        variant_model_fields(variant)
    root = Path(root or ensure_builtin_dataset(progress=progress))
    rows, missing = [], []
    for variant in variants:
        for seed in seeds:
            config = curve_config(base, variant, seed, steps)
            run_dir = work_dir / variant / f"s{seed}"
            if final > 0 and not train_missing:
                if not _finished(run_dir, final):
                    missing.append(f"{variant} seed {seed}")
                    continue
            elif final > 0:
                train(config, run_dir, resume=True, progress=progress)
            for step in steps:
                point = curve_point(config, run_dir, step, root, work_dir / "eval" / variant / f"s{seed}")
                rows.append({"method": variant, "seed": seed, **point})
                if progress:
                    print(f"{variant} seed {seed} step {step}: J&F {point['J&F-Mean']:.3f}")
    for name in BASELINES:
        cache = work_dir / "baselines" / f"{name}.json"
        if not cache.is_file():
            run_baseline(name, root, "val", work_dir / "baselines" / name, progress=False)
            metrics = evaluate_results(root, work_dir / "baselines" / name, progress=False).global_metrics
            atomic_write_json(cache, metrics)
        rows.append({"method": name, "seed": None, "step": None, **json.loads(cache.read_text())})
    table = pd.DataFrame(rows)
    # cached points come back key-sorted: fix the column order
    first = ["method", "seed", "step", "train_seconds", "J&F-Mean", "J-Mean", "F-Mean"]
    table = table[first + sorted(column for column in table if column not in first)]
    for column in ("seed", "step"):
        table[column] = table[column].astype("Int64")
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    learned = table[table["method"].isin(variants)]
    stats = learned.groupby(["method", "step"], sort=False)["J&F-Mean"].agg(["mean", "std", "count"])
    atomic_write_json(output.with_suffix(".json"), {
        "data": f"val split of {portable_path(root)}", "config": base.to_dict(), "variants": variants, "seeds": seeds,
        "steps": steps, "missing_runs": missing,
        "protocol": "paper propagation (soft masks through layer 109), DAVIS J&F",
        "jf_by_variant_and_step": [{"method": m, "step": int(s), "mean": r["mean"],
                                    "std": r["std"] if r["count"] > 1 else 0.0, "seeds": int(r["count"])}
                                   for (m, s), r in stats.iterrows()],
        "baselines_jf": {name: float(table[table["method"] == name]["J&F-Mean"].iloc[0]) for name in BASELINES},
        "provenance": run_metadata(base.device),
    })
    plot_curves(table, variants, output.with_suffix(".png"))
    return table


def plot_curves(table: pd.DataFrame, variants: list[str], path: Path) -> None:
    """Mean +- std J&F against steps per variant (seeds as dots), baselines as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for index, variant in enumerate(variants):
        rows = table[table["method"] == variant]
        stats = rows.groupby("step")["J&F-Mean"].agg(["mean", "std"]).fillna(0.0)
        steps = stats.index.to_numpy(dtype=float)
        colour = f"C{index}"
        axis.plot(steps, stats["mean"], "-o", color=colour, label=f"{variant} (n={rows['seed'].nunique()})")
        axis.fill_between(steps, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=colour, alpha=0.2)
        axis.scatter(rows["step"].to_numpy(dtype=float), rows["J&F-Mean"], color=colour, s=8, alpha=0.6)
    for style, name in zip(("--", ":", "-."), ("copy-previous", "copy-first", "optical-flow")):
        value = table[table["method"] == name]["J&F-Mean"]
        if len(value):
            axis.axhline(float(value.iloc[0]), color="grey", linestyle=style, label=name)
    axis.set_xscale("symlog", linthresh=100)
    axis.set_xlabel("training steps (one cosine schedule per run, snapshots)")
    axis.set_ylabel("val J&F (mean +- std over seeds)")
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format="png")
    plt.close(figure)
