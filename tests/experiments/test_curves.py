"""Learning curves: snapshots of one run per variant and seed, scored beside the baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rpmbench.errors import ConfigError
from rpmbench.experiments.plan import plan_grid
from rpmbench.experiments.presets import load_grid_config
from rpmbench.experiments.studies.curves import learning_curves, plan_curves


def _grid(root: Path, **overrides: object):
    return load_grid_config("smoke", overrides={
        "backbones": ["resnet18"], "baselines": ["copy-previous", "copy-first"], "data.source": "davis",
        "data.davis_root": str(root), "propagation.scale": 1.0, "train.short_side": None,
        "train.model.backend": "reference", "train.batch_size": 2, **overrides})


def test_a_curve_is_snapshots_of_one_run_ending_at_the_grid_cell(root: Path) -> None:
    grid = _grid(root)
    specs = plan_curves(grid, ["deformable-l3", "standard-l1"], [0, 1], [0, 1, 2])
    models = [spec for spec in specs if spec.train is not None]
    assert [(s.method, s.seed, s.snapshot) for s in models[:3]] == [
        ("resnet18-deformable-l3", 0, 0), ("resnet18-deformable-l3", 0, 1), ("resnet18-deformable-l3", 0, None)]
    assert len(models) == 2 * 2 * 3 and len({s.training_stem for s in models}) == 4
    assert len({s.stem for s in specs}) == len(specs)
    # the last point is the grid's own cell (same spec, same result file)
    cell = plan_grid(_grid(root, rows=["deformable-l3"], beyond=[], baselines=[], **{"train.steps": 2}))[0]
    assert models[2].stem == cell.stem and "snapshot" not in cell.to_dict()
    assert [spec.method for spec in specs if spec.train is None] == ["copy-previous", "copy-first"]
    with pytest.raises(ConfigError, match="--steps"):
        plan_curves(grid, ["deformable-l3"], [0], [0])


@pytest.mark.slow
def test_curves_table_summary_plot_and_reuse(root: Path, tmp_path: Path) -> None:
    grid = _grid(root)
    output = tmp_path / "out" / "curves.csv"
    variants = ["deformable-l3", "standard-l1"]
    first = learning_curves(grid, variants, [0], [0, 1, 2], tmp_path / "run", output, progress=False)
    table = pd.read_csv(output)
    learned = table[table["seed"].notna()]
    assert learned[["method", "step"]].values.tolist() == [[v, s] for v in variants for s in (0, 1, 2)]
    assert table[table["seed"].isna()]["method"].tolist() == ["copy-previous", "copy-first"]
    # step 0 is the untrained model: the flow layer starts at zero, so both variants propagate the
    # masks copy-previous does
    copy_previous = table[table["method"] == "copy-previous"]["J&F-Mean"].iloc[0]
    assert (learned[learned["step"] == 0]["J&F-Mean"] == copy_previous).all()
    assert not (learned[learned["step"] == 2]["J&F-Mean"] == copy_previous).all()
    summary = json.loads(output.with_suffix(".json").read_text())
    assert {(p["method"], p["step"], p["seeds"]) for p in summary["jf_by_variant_and_step"]} == {
        (v, s, 1) for v in variants for s in (0, 1, 2)}
    assert output.with_suffix(".png").stat().st_size > 1000
    results = sorted((tmp_path / "run" / "cells").glob("*.json"))
    assert len(results) == 2 * 3 + 2 and not (tmp_path / "run" / "work").exists()  # scratch removed
    # a second call reuses every result
    stamps = [path.stat().st_mtime_ns for path in results]
    again = learning_curves(grid, variants, [0], [0, 1, 2], tmp_path / "run", tmp_path / "again.csv",
                            progress=False)
    assert [path.stat().st_mtime_ns for path in results] == stamps
    pd.testing.assert_frame_equal(again, first)
    # --no-train: runs without results are listed, not trained
    partial = learning_curves(grid, variants, [0, 5], [0, 1, 2], tmp_path / "run", tmp_path / "partial.csv",
                              progress=False, train_missing=False)
    assert set(partial[partial["seed"].notna()]["seed"]) == {0}
    assert json.loads((tmp_path / "partial.json").read_text())["missing_runs"] == [
        "resnet18-deformable-l3", "resnet18-standard-l1"]


def test_evidence_results_are_named_by_the_registered_variant() -> None:
    """standard-l1 and standard-l3 evidence runs get distinct result ids (they used to share one)."""
    from rpmbench.experiments.studies.evidence import model_id
    from rpmbench.models import RPMNetConfig
    from rpmbench.training import TrainConfig

    ids = [model_id(TrainConfig(model=RPMNetConfig("resnet18", matching, layers, dilation)))
           for matching, layers, dilation in [("standard", 1, 1), ("standard", 3, 1), ("dilated", 3, 6),
                                              ("standard", 2, 1)]]
    assert ids == ["resnet18-standard-l1", "resnet18-standard-l3", "resnet18-dilated-d6-l3",
                   "resnet18-standard-l2"]
