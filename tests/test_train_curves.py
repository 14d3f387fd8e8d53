"""Learning curves: snapshots of one run per variant and seed, scored beside the baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from davis_fixtures import moving_ellipses, write_davis
from rpmbench import registry
from rpmbench.errors import ConfigError
from rpmbench.models import RPMNetConfig
from rpmbench.training import TrainConfig
from rpmbench.experiments.studies.curves import curve_point, learning_curves, variant_model_fields


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(1)
    root = write_davis(tmp_path_factory.mktemp("davis"),
                       {f"s{i}": moving_ellipses(rng, 5, 40, 48, 2) for i in range(3)})
    (root / "ImageSets" / "2017" / "train.txt").write_text("s0\ns1\n")
    return root


def test_variant_names() -> None:
    assert variant_model_fields("dilated-d6-l3") == {"matching": "dilated", "layers": 3, "dilation": 6}
    assert variant_model_fields("corr-l3") == {"matching": "corr", "layers": 3, "dilation": 1}
    for bad in ("dilated-l3", "standard-d2-l3", "deformable"):
        with pytest.raises(ConfigError, match="unknown matching variant"):
            variant_model_fields(bad)


@pytest.mark.slow
def test_curves_table_summary_plot_and_reuse(root: Path, tmp_path: Path) -> None:
    base = TrainConfig(model=RPMNetConfig("resnet18", backend="reference"), data_roots=[str(root)],
                       short_side=None, crop_size=32, batch_size=2)
    output = tmp_path / "out" / "curves.csv"
    variants = ["deformable-l3", "standard-l1"]
    first = learning_curves(base, variants, [0], [0, 1, 2], tmp_path / "work", output, root=root, progress=False)
    table = pd.read_csv(output)
    learned = table[table["seed"].notna()]
    assert learned[["method", "step"]].values.tolist() == [[v, s] for v in variants for s in (0, 1, 2)]
    assert table[table["seed"].isna()]["method"].tolist() == list(registry.BASELINES)
    # step 0 is the untrained model: the flow layer starts at zero, so both variants propagate the
    # same masks; step 1 comes from the kept snapshot, step 2 from the final checkpoint
    assert learned[learned["step"] == 0]["J&F-Mean"].nunique() == 1
    final = tmp_path / "work" / "deformable-l3" / "s0" / "checkpoint.pt"
    assert (final.parent / "checkpoint-step1.pt").is_file()
    summary = json.loads(output.with_suffix(".json").read_text())
    assert {(p["method"], p["step"], p["seeds"]) for p in summary["jf_by_variant_and_step"]} == {
        (v, s, 1) for v in variants for s in (0, 1, 2)}
    assert output.with_suffix(".png").stat().st_size > 1000
    # a second call reuses every run and score
    stamp = final.stat().st_mtime_ns
    again = learning_curves(base, variants, [0], [0, 1, 2], tmp_path / "work", tmp_path / "again.csv",
                            root=root, progress=False)
    assert final.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(again, first)
    # --no-train: runs that are not finished are listed, not trained
    partial = learning_curves(base, variants, [0, 5], [0, 1, 2], tmp_path / "work", tmp_path / "partial.csv",
                              root=root, progress=False, train_missing=False)
    assert set(partial[partial["seed"].notna()]["seed"]) == {0}
    assert not (tmp_path / "work" / "deformable-l3" / "s5").exists()
    assert json.loads((tmp_path / "partial.json").read_text())["missing_runs"] == [
        "deformable-l3 seed 5", "standard-l1 seed 5"]
    # a run folder made with another recipe is refused, not silently scored
    other = TrainConfig(**{**vars(base), "lr": 5e-4, "steps": 2,
                           "model": RPMNetConfig("resnet18", "deformable", backend="reference")})
    with pytest.raises(ConfigError, match="another config"):
        curve_point(other, final.parent, 2, root, tmp_path / "fresh-eval")


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
