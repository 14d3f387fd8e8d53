"""Learning curves: val J&F of snapshots of one training run per (matching variant, seed).

A curve is a list of cell specs through the spine (:func:`rpmbench.experiments.cell.run_cell`):
each (variant, seed) trains the final step count once, keeping snapshots at the intermediate
steps, so the curve of a seed is one cosine schedule seen at several points; step 0 is the
untrained, seeded model. Data, recipe and baselines come from a grid preset (default: the
``quick`` grid's), so a curve is measured on the data its grid runs on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from rpmbench.atomic import atomic_path, atomic_write_json
from rpmbench.errors import ConfigError
from rpmbench.experiments.presets import GridConfig
from rpmbench.experiments.spec import CellSpec
from rpmbench.provenance import run_metadata


def plan_curves(grid: GridConfig, variants: list[str], seeds: list[int], steps: list[int]) -> list[CellSpec]:
    """One spec per (variant, seed, step) on ``grid``'s first backbone, data and recipe trained for
    ``max(steps)`` steps (the other steps are snapshots of that run), then ``grid``'s baselines.
    The last step's spec is the grid's own cell, so a curve shares its end point with the grid."""
    from rpmbench.experiments.plan import plan_grid

    steps = sorted(set(steps))
    if not steps or steps[0] < 0 or steps[-1] < 1:
        raise ConfigError(f"--steps must be non-negative step counts with a positive largest, got {steps}")
    grid = dataclasses.replace(grid, rows=[], beyond=list(variants), backbones=grid.backbones[:1],
                               train=dataclasses.replace(grid.train, steps=steps[-1]), seeds=1)
    specs = []
    for seed in seeds:
        cells = plan_grid(dataclasses.replace(grid, first_seed=seed, baselines=[]))
        specs += [dataclasses.replace(cell, snapshot=step if step < steps[-1] else None)
                  for cell in cells for step in steps]
    return specs + [spec for spec in plan_grid(dataclasses.replace(grid, beyond=[])) if spec.train is None]


def learning_curves(grid: GridConfig, variants: list[str], seeds: list[int], steps: list[int],
                    run_dir: Path, output: Path, progress: bool = True,
                    train_missing: bool = True) -> pd.DataFrame:
    """Compute (or reuse) every point of :func:`plan_curves` through the spine into ``run_dir``
    (hash-named result files; one training run per variant and seed, resumable) and write
    ``output`` (CSV: one row per variant, seed and step, then the baselines), a JSON summary and a
    plot (PNG) beside it. With ``train_missing=False`` only points already computed are used; the
    runs they lack are listed as ``missing``.
    """
    from rpmbench.experiments.cell import RunContext, group_jobs, run_job
    from rpmbench.experiments.plan import grid_work
    from rpmbench.experiments.runner import grid_paths
    from rpmbench.experiments.store import RunStore

    specs = plan_curves(grid, variants, seeds, steps)
    store = RunStore(run_dir)
    paths = grid_paths(grid, store.work)
    work = grid_work(grid, progress=progress)
    snapshots = tuple(sorted({spec.snapshot for spec in specs if spec.snapshot}))
    work = dataclasses.replace(work, training=dataclasses.replace(work.training, keep_checkpoints_at=snapshots))
    context = RunContext(store.root, paths.davis_root, paths.train_roots, f"curves:{grid.name}", work,
                         grid.keep_work)
    rows, missing = [], []
    for job in group_jobs(specs):
        done = [store.read_result(spec.stem) for spec in job.specs]
        if not train_missing and not all(done):
            missing.append(job.label)
            continue
        for spec, result in zip(job.specs, done if all(done) else run_job(job, context)):
            step = None if spec.train is None else (spec.snapshot if spec.snapshot is not None else spec.train.steps)
            method = spec.method if spec.train is None else spec.method.split("-", 1)[1]
            rows.append({"method": method, "seed": spec.seed, "step": step,
                         "train_seconds": result.get("train_seconds"), **result["metrics"]})
            if progress and spec.train is not None:
                print(f"{method} seed {spec.seed} step {step}: J&F {result['metrics']['J&F-Mean']:.3f}")
    store.clean_staging()
    table = pd.DataFrame(rows)
    first = ["method", "seed", "step", "train_seconds", "J&F-Mean", "J-Mean", "F-Mean"]
    table = table[first + sorted(column for column in table if column not in first)]
    for column in ("seed", "step"):
        table[column] = table[column].astype("Int64")
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    learned = table[table["method"].isin(variants)]
    stats = learned.groupby(["method", "step"], sort=False)["J&F-Mean"].agg(["mean", "std", "count"])
    baselines = table[table["seed"].isna()]
    atomic_write_json(output.with_suffix(".json"), {
        "data": grid.data.choice().describe(), "preset": grid.name, "config": specs[0].to_dict()["train"],
        "variants": variants, "seeds": seeds, "steps": sorted(set(steps)), "missing_runs": missing,
        "protocol": "paper propagation (soft masks through layer 109), DAVIS J&F",
        "jf_by_variant_and_step": [{"method": m, "step": int(s), "mean": r["mean"],
                                    "std": r["std"] if r["count"] > 1 else 0.0, "seeds": int(r["count"])}
                                   for (m, s), r in stats.iterrows()],
        "baselines_jf": dict(zip(baselines["method"], baselines["J&F-Mean"].astype(float))),
        "provenance": run_metadata(grid.train.device),
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
