"""The reach sweep: how large a motion each trained matching module's flow still follows.

Frame pairs of real photos that training never sees are moved by known smooth fields at
magnitudes from 0.25 to 16 feature pixels (:mod:`rpmbench.data.motion_pairs`). Every trained model
of a grid preset (its cell specs, through the spine's :func:`~rpmbench.experiments.cell.trained_model`:
a finished training run in ``run_dir`` is reused, a missing one is trained and kept) predicts the
flow of each pair; its end-point error against the truth, by magnitude, gives the variant's reach
(:func:`rpmbench.evaluation.reach.reach`), beside zero flow (copy-previous) and DIS optical flow.

One JSON per model and sweep lands in ``run_dir/reach/`` (named by the model's cell and the
sweep's hash), so an interrupted sweep resumes and a finished model is not scored twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rpmbench.atomic import atomic_path, atomic_write_json
from rpmbench.data.flow import FEATURE_STRIDE
from rpmbench.data.motion_pairs import MotionPair, MotionPairsConfig, make_pairs
from rpmbench.evaluation.flow import endpoint_errors
from rpmbench.evaluation.reach import REACH_RATIO, reach
from rpmbench.experiments.presets import GridConfig
from rpmbench.experiments.spec import CellSpec, config_hash
from rpmbench.provenance import run_metadata

#: The flows every sweep scores beside the trained models: registry baselines that warp by a flow.
BASELINES: tuple[str, ...] = ("copy-previous", "optical-flow")
COLUMNS = ["method", "seed", "pair", "photo", "magnitude_feature_px", "true_motion_feature_px", "epe_feature_px"]


def plan_reach(grid: GridConfig, only: Sequence[str] = (), snapshot: int | None = None) -> list[CellSpec]:
    """One model spec per training run of ``grid`` (optionally filtered like ``run-grid --only``)
    whose protocol moves masks by the flow (the flow is what the sweep measures); with
    ``snapshot``, the run's model at that step (kept by ``execution.keep_checkpoints_at``)."""
    from rpmbench import registry
    from rpmbench.experiments.plan import plan_grid

    runs: dict[str, CellSpec] = {}
    for spec in plan_grid(grid, list(only)):
        if spec.train is not None and registry.warps_by_flow(spec.protocol):
            runs.setdefault(str(spec.training_stem), spec)
    return [dataclasses.replace(spec, snapshot=snapshot) for spec in runs.values()]


def score_pairs(predict: Callable[[np.ndarray], np.ndarray], pairs: Sequence[MotionPair]) -> list[dict[str, Any]]:
    """One row per pair: its photo, nominal and true mean motion and the mean end-point error of
    ``predict(frames (2, H, W, 3)) -> (1, H, W, 2)`` over its valid pixels (feature pixels)."""
    rows = []
    for index, pair in enumerate(pairs):
        errors, _ = endpoint_errors(predict(pair.frames)[0], pair.flow, pair.valid)
        rows.append({"pair": index, "photo": pair.photo, "magnitude_feature_px": pair.magnitude,
                     "true_motion_feature_px": pair.true_motion(),
                     "epe_feature_px": float(errors.mean()) / FEATURE_STRIDE})
    return rows


def reach_sweep(grid: GridConfig, run_dir: Path, output: Path, only: Sequence[str] = (),
                pairs_config: MotionPairsConfig = MotionPairsConfig(), threads: int | None = None,
                progress: bool = True, snapshot: int | None = None) -> pd.DataFrame:
    """Score every model of :func:`plan_reach` and the baselines on the sweep's pairs; write
    ``output`` (CSV: one row per method, seed and pair), ``output.json`` (EPE by magnitude and
    reach per method, mean +- std over seeds) and ``output.png``; return the CSV's table."""
    import torch

    from rpmbench.experiments.plan import grid_work
    from rpmbench.experiments.runner import grid_paths
    from rpmbench.experiments.store import RunStore

    specs = plan_reach(grid, only, snapshot)
    store = RunStore(run_dir)
    paths = grid_paths(grid, store.work, progress)
    work = grid_work(grid, threads=threads, progress=progress)
    sweep_hash = config_hash(pairs_config.to_dict())
    pairs = make_pairs(pairs_config)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads or previous_threads)
    rows = []
    try:
        for name in BASELINES:
            rows += _cached(run_dir / "reach" / f"{name}-{sweep_hash}.json", name, None,
                            lambda: _baseline_predict(name, grid), pairs, pairs_config)
        for index, spec in enumerate(specs):
            if progress:
                print(f"reach: {spec.method} seed {spec.seed} ({index + 1}/{len(specs)})", flush=True)
            rows += _cached(run_dir / "reach" / f"{spec.stem}-{sweep_hash}.json",
                            spec.method.split("-", 1)[1], spec.seed,
                            lambda spec=spec: _model_predict(spec, paths, work), pairs, pairs_config)
    finally:
        torch.set_num_threads(previous_threads)
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["seed"] = table["seed"].astype("Int64")
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    atomic_write_json(output.with_suffix(".json"), {
        "preset": grid.name, "pairs": pairs_config.to_dict(), "sweep_hash": sweep_hash,
        "reach_rule": f"largest magnitude at which, and at every smaller one, the mean EPE is below "
                      f"{REACH_RATIO:g} x the mean true motion (feature pixels)",
        "training_runs": [spec.training_stem for spec in specs],
        "snapshot": snapshot, "steps": snapshot if snapshot is not None else grid.train.steps,
        **summarise_reach(table), "provenance": run_metadata(grid.train.device),
    })
    plot_reach(table, output.with_suffix(".png"))
    return table


def _cached(path: Path, method: str, seed: int | None, predictor: Callable[[], Callable[[np.ndarray], np.ndarray]],
            pairs: Sequence[MotionPair], pairs_config: MotionPairsConfig) -> list[dict[str, Any]]:
    """The rows of ``method`` (``seed``) on ``pairs``: read from ``path``, or scored and written."""
    import json

    if path.is_file():
        return json.loads(path.read_text())["rows"]
    rows = [{"method": method, "seed": seed, **row} for row in score_pairs(predictor(), pairs)]
    atomic_write_json(path, {"pairs": pairs_config.to_dict(), "rows": rows})
    return rows


def _baseline_predict(name: str, grid: GridConfig) -> Callable[[np.ndarray], np.ndarray]:
    from rpmbench import registry

    flows = registry.resolve(str(registry.baseline(name).flows))
    return lambda frames: flows(frames, grid.propagation)


def _model_predict(spec: CellSpec, paths: Any, work: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The trained model's flow, propagated in its own colour space (as its cell propagates)."""
    from rpmbench.experiments.cell import trained_model
    from rpmbench.inference.flows import model_flows

    model, trained_config, _ = trained_model(spec, paths, work)
    propagation = spec.propagation
    if propagation.colour_space is None:
        propagation = dataclasses.replace(propagation, colour_space=trained_config.colour_space)
    return lambda frames: model_flows(model, frames, propagation)


def seed_means(table: pd.DataFrame) -> pd.DataFrame:
    """One row per method, seed (-1 for a baseline) and magnitude: the mean EPE and true motion over
    its pairs, and the share of the motion followed, ``1 - EPE / motion`` (1: the exact flow, 0: no
    better than zero flow)."""
    means = (table.assign(seed=table["seed"].fillna(-1))
             .groupby(["method", "seed", "magnitude_feature_px"], sort=False)
             [["epe_feature_px", "true_motion_feature_px"]].mean().reset_index())
    return means.assign(followed_share=1 - means["epe_feature_px"] / means["true_motion_feature_px"])


def _std(values: pd.Series) -> float:
    return float(values.std()) if len(values) > 1 else 0.0


def summarise_reach(table: pd.DataFrame) -> dict[str, Any]:
    """Per method: the EPE and the share of motion followed at each magnitude (seed means, then
    mean +- std over seeds) and the reach of each seed with its mean +- std."""
    by_seed = seed_means(table)
    curves, reaches = [], []
    for method, rows in by_seed.groupby("method", sort=False):
        for magnitude, at in rows.groupby("magnitude_feature_px"):
            curves.append({"method": method, "magnitude_feature_px": float(magnitude),
                           "true_motion_feature_px": float(at["true_motion_feature_px"].mean()),
                           "epe_feature_px": float(at["epe_feature_px"].mean()),
                           "epe_std_over_seeds": _std(at["epe_feature_px"]),
                           "followed_share": float(at["followed_share"].mean()),
                           "followed_share_std_over_seeds": _std(at["followed_share"]),
                           "seeds": int(len(at))})
        per_seed = [reach(part["magnitude_feature_px"].tolist(), part["epe_feature_px"].tolist(),
                          part["true_motion_feature_px"].tolist())
                    for _, part in rows.groupby("seed", sort=True)]
        reaches.append({"method": method, "reach_feature_px": float(np.mean(per_seed)),
                        "reach_std_over_seeds": float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0,
                        "per_seed": per_seed, "seeds": len(per_seed)})
    return {"epe_by_magnitude": curves, "reach": reaches}


def plot_reach(table: pd.DataFrame, path: Path) -> None:
    """Two panels against the motion magnitude: the EPE (log-log; mean over seeds, the seeds' range
    shaded; the reach threshold dotted) and the share of the motion followed; zero flow and DIS as
    black reference lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_seed = seed_means(table)
    figure, (error_axis, share_axis) = plt.subplots(1, 2, figsize=(11.0, 4.4))
    learned = [m for m in by_seed["method"].unique() if m not in BASELINES]
    styles = {**{m: ("-o", f"C{i}") for i, m in enumerate(learned)},
              **{m: (s, "black") for s, m in zip(("--", "-."), BASELINES)}}
    for method, (style, colour) in styles.items():
        rows = by_seed[by_seed["method"] == method].groupby("magnitude_feature_px")
        seeds = int(rows.size().max()) if len(rows) else 0
        label = method if method in BASELINES else f"{method} (n={seeds})"
        for axis, column in ((error_axis, "epe_feature_px"), (share_axis, "followed_share")):
            stats = rows[column].agg(["mean", "min", "max"])
            magnitudes = stats.index.to_numpy(float)
            axis.plot(magnitudes, stats["mean"], style, ms=3, color=colour, label=label)
            if seeds > 1:
                axis.fill_between(magnitudes, stats["min"], stats["max"], color=colour, alpha=0.15)
    magnitudes = np.array(sorted(by_seed["magnitude_feature_px"].unique()))
    error_axis.plot(magnitudes, REACH_RATIO * magnitudes, ":", color="grey",
                    label=f"reach threshold ({REACH_RATIO:g} x motion)")
    error_axis.set_yscale("log", base=2)
    error_axis.set_ylabel("mean end-point error (feature pixels)")
    share_axis.axhline(REACH_RATIO, linestyle=":", color="grey")
    share_axis.set_ylim(max(-1.0, share_axis.get_ylim()[0]), 1.05)  # far below 0 only says "worse than zero flow"
    share_axis.set_ylabel("share of the motion followed (1 - EPE / motion; axis cut at -1)")
    for axis in (error_axis, share_axis):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("motion (feature pixels = image pixels / 4)")
        axis.grid(alpha=0.3, which="both")
    error_axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format="png")
    plt.close(figure)
