"""The reach sweep: every trained model of a preset scored on known motion, beside zero flow and DIS."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rpmbench.data.motion_pairs import MotionPairsConfig
from rpmbench.experiments.presets import load_grid_config
from rpmbench.experiments.studies.reach import plan_reach, reach_sweep

PAIRS = MotionPairsConfig(magnitudes=(0.5, 4.0), height=48, width=64, photos=("coins",), fields_per_photo=1)


def _grid(root: Path, **overrides: object):
    return load_grid_config("smoke", overrides={
        "backbones": ["resnet18"], "rows": ["deformable-l3", "standard-l1"], "beyond": ["deformable-l3@memory"],
        "baselines": [], "data.source": "davis", "data.davis_root": str(root), "propagation.scale": 1.0,
        "train.short_side": None, "train.model.backend": "reference", "train.batch_size": 2, "train.steps": 2,
        "seeds": 2, **overrides})


def test_one_model_per_training_run_whose_protocol_warps_by_flow(root: Path) -> None:
    specs = plan_reach(_grid(root))
    assert [(s.method, s.seed) for s in specs] == [
        ("resnet18-deformable-l3", 0), ("resnet18-deformable-l3", 1), ("resnet18-standard-l1", 0),
        ("resnet18-standard-l1", 1)]
    assert [s.method for s in plan_reach(_grid(root), ["resnet18-standard-*"])] == ["resnet18-standard-l1"] * 2
    early = plan_reach(_grid(root), snapshot=1)
    assert [s.snapshot for s in early] == [1] * 4 and [s.training_stem for s in early] == [s.training_stem for s in specs]
    assert not {s.stem for s in early} & {s.stem for s in specs}


@pytest.mark.slow
def test_sweep_table_summary_plot_and_reuse(root: Path, tmp_path: Path) -> None:
    grid = _grid(root, seeds=1)
    output = tmp_path / "out" / "reach.csv"
    first = reach_sweep(grid, tmp_path / "run", output, ["resnet18-deformable-l3"], PAIRS, threads=1, progress=False)
    table = pd.read_csv(output)
    assert table[["method", "magnitude_feature_px"]].values.tolist() == [
        [m, g] for m in ("copy-previous", "optical-flow", "deformable-l3") for g in (0.5, 4.0)]
    zero = table[table["method"] == "copy-previous"]
    # zero flow errs by exactly the motion: never followed
    assert (zero["epe_feature_px"] - zero["true_motion_feature_px"]).abs().max() < 1e-3
    summary = json.loads(output.with_suffix(".json").read_text())
    reaches = {line["method"]: line for line in summary["reach"]}
    assert reaches["copy-previous"]["reach_feature_px"] == 0.0 and reaches["deformable-l3"]["seeds"] == 1
    shares = {(c["method"], c["magnitude_feature_px"]): c["followed_share"] for c in summary["epe_by_magnitude"]}
    assert abs(shares["copy-previous", 0.5]) < 1e-3 and abs(shares["copy-previous", 4.0]) < 1e-3
    assert summary["pairs"]["photos"] == ["coins"] and summary["training_runs"] == [
        plan_reach(grid, ["resnet18-deformable-l3"])[0].training_stem]
    assert output.with_suffix(".png").stat().st_size > 1000
    # the training run is kept for the next sweep; scores are cached per run and sweep
    cached = sorted((tmp_path / "run" / "reach").glob("*.json"))
    assert len(cached) == 3 and any((tmp_path / "run" / "work").iterdir())
    stamps = [path.stat().st_mtime_ns for path in cached]
    again = reach_sweep(grid, tmp_path / "run", tmp_path / "again.csv", ["resnet18-deformable-l3"], PAIRS,
                        threads=1, progress=False)
    assert [path.stat().st_mtime_ns for path in cached] == stamps
    pd.testing.assert_frame_equal(again, first)
