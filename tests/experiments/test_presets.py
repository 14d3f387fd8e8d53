"""Shipped presets load and plan; YAML files and --set override any field; hashes follow settings."""

import dataclasses
from pathlib import Path

import pytest

import rpmbench
from rpmbench import registry
from rpmbench.data.builtin import DEFAULT_GENERATOR
from rpmbench.errors import ConfigError
from rpmbench.experiments.plan import plan_grid
from rpmbench.experiments.presets import PRESETS, load_grid_config, preset_path


@pytest.mark.parametrize("name", [name for name in PRESETS if name not in ("quick", "ranking", "protocols")])
def test_presets_ship_with_the_package_and_plan_the_full_grid(name: str) -> None:
    assert preset_path(name).is_file()
    grid = load_grid_config(name)
    assert grid.name == name
    specs = plan_grid(grid)
    assert len(specs) == 4 * (7 + len(grid.beyond)) + len(grid.baselines)
    paper = [s for s in specs if s.train is not None and registry.is_paper(s.method.split("-", 1)[1])]
    assert len(paper) == 28
    assert len({spec.stem for spec in specs}) == len(specs)


def test_quick_preset_is_the_resnet18_column_on_the_calibrated_set() -> None:
    """The default is the budget-feasible design: four ResNet-18 rows that learn on CPU."""
    grid = load_grid_config("quick")
    specs = plan_grid(grid)
    paper = [s.method for s in specs if s.train is not None and registry.is_paper(s.method.split("-", 1)[1])]
    assert paper == [f"resnet18-{row}" for row in ("deformable-l3", "standard-l1", "standard-l3", "dilated-d6-l3")]
    assert len(specs) == len(paper) + len(grid.beyond) + len(grid.baselines)
    assert grid.data.builtin_generator == DEFAULT_GENERATOR == "calibrated2" and grid.train.steps == 1000


def test_ranking_preset_is_every_row_over_five_seeds_at_the_quick_recipe() -> None:
    """ranking: seven Table 2 rows + corr-l3 x 5 seeds at the quick recipe, on version 1 of the
    calibrated set (its committed results were made there); on the quick grid's data its seed-0
    results are the quick grid's."""
    config = load_grid_config("ranking")
    ranking = plan_grid(config)
    models = [spec for spec in ranking if spec.train is not None]
    assert len(models) == 8 * 5 and {spec.seed for spec in models} == set(range(5))
    assert {spec.method for spec in models} == {f"resnet18-{row}" for row in (*registry.TABLE2_ROWS, "corr-l3")}
    assert config.data.builtin_generator == "calibrated"
    quick = load_grid_config("quick")
    same_data = plan_grid(dataclasses.replace(config, data=quick.data))
    assert {spec.stem for spec in plan_grid(quick) if "@" not in spec.method} <= {spec.stem for spec in same_data}


@pytest.mark.parametrize(("folder", "overrides"), [("quick", {}),
                                                   ("quick-calibrated1", {"data.builtin_generator": "calibrated"})])
def test_quick_plan_is_the_committed_reference_cell_for_cell(folder: str, overrides: dict) -> None:
    """Every result of the default grid has the spec (hash) of its committed reference file, so the
    committed `results/quick/` is what `run-grid` computes (same torch and thread count); the former
    default on version 1 of the calibrated set stays one `--set` away."""
    cells = Path(rpmbench.__file__).resolve().parents[1] / "results" / folder / "cells"
    committed = sorted(path.stem for path in cells.glob("*.json"))
    planned = sorted(spec.stem for spec in plan_grid(load_grid_config("quick", overrides=overrides)))
    assert committed and planned == committed


def test_paper_preset_is_a_gpu_davis_run() -> None:
    grid = load_grid_config("paper")
    assert grid.data.source == "davis" and grid.train.crop_size == 256
    assert grid.train.device.startswith("cuda") and grid.data.train_roots
    assert grid.run != "paper"


def test_gpu_preset_trains_on_the_davis_size_builtin_set_with_amp() -> None:
    grid = load_grid_config("gpu")
    assert (grid.data.source, grid.data.builtin_size) == ("builtin", "davis")
    assert grid.train.device == "cuda" and grid.train.amp and grid.train.crop_size == 256
    assert grid.propagation.device == "cuda" and grid.propagation.scale == 1.0


def test_config_file_then_set_then_seeds(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("train:\n  steps: 7\n  model: {dcn: v2}\npropagation: {mode: hard}\n")
    grid = load_grid_config("smoke", [extra], {"train.steps": 9, "seeds": 2})
    assert (grid.train.steps, grid.train.model.dcn, grid.propagation.mode, grid.seeds) == (9, "v2", "hard", 2)
    specs = plan_grid(grid, only=["resnet18-deformable-l3"])
    assert [spec.seed for spec in specs] == [0, 1]
    assert specs[0].train.model.backbone == "resnet18"
    assert specs[0].train.steps == 9


def test_hash_changes_with_settings_only() -> None:
    def stem(**overrides: object) -> str:
        return plan_grid(load_grid_config("smoke", overrides=overrides), only=["resnet34-standard-l3"])[0].hash

    base = stem()
    assert stem() == base
    assert stem(run_name="elsewhere", keep_work=True) == base  # where results go is not a setting
    for change in ({"train.lr": 0.002}, {"propagation.scale": 0.5}, {"first_seed": 1},
                   {"data.builtin_seed": 1}, {"train.model.dcn": "v2"}):
        assert stem(**change) != base, change
    # logging, checkpoint frequency and loader workers do not change the numbers
    assert stem(**{"execution.tensorboard": True, "execution.num_workers": 2, "execution.checkpoint_every": 5,
                   "execution.keep_checkpoints_at": [1]}) == base


def test_paths_are_not_hashed() -> None:
    """Where data lies (data.davis_root, data.train_roots) is not hashed: moving DAVIS recomputes nothing."""
    def stems(**overrides: object) -> list[str]:
        grid = load_grid_config("paper", overrides={"backbones": ["resnet18"], **overrides})
        return [spec.stem for spec in plan_grid(grid)]

    base = stems()
    assert stems(**{"data.davis_root": "/mnt/other-disk/DAVIS"}) == base
    assert stems(**{"data.train_roots": ["/elsewhere/youtube-vos/train", "/more/video.mp4"]}) == base
    assert stems(**{"data.split": "train"}) != base


def test_the_recipe_has_no_paths_or_execution_settings() -> None:
    """Paths and execution are other types than the hashed recipe, from the command line on."""
    from rpmbench.training import TrainConfig

    for name in ("data_roots", "num_workers", "tensorboard", "checkpoint_every", "keep_checkpoints_at"):
        assert name not in {field.name for field in dataclasses.fields(TrainConfig)}
    with pytest.raises(ConfigError, match="TrainConfig has no field 'num_workers'"):
        load_grid_config("smoke", overrides={"train.num_workers": 2})


def test_table_header_states_the_settings_as_run() -> None:
    from rpmbench.experiments.runner import run_settings

    quick = run_settings(load_grid_config("quick"))
    assert quick.startswith("1000 steps x 4 crops of 128x128") and quick.endswith("at 1x resolution on cpu")
    changed = run_settings(load_grid_config("quick", overrides={"train.steps": 16, "propagation.scale": 0.5}))
    assert changed.startswith("16 steps") and changed.endswith("at 0.5x resolution on cpu")


def test_propagation_colour_space_is_never_silently_overwritten() -> None:
    """propagation.colour_space must be the training one (or unset)."""
    with pytest.raises(ConfigError, match="propagation.colour_space='rgb' but the cells are trained in"):
        load_grid_config("smoke", overrides={"propagation.colour_space": "rgb"})
    follows = load_grid_config("smoke", overrides={"train.colour_space": "rgb"})
    assert plan_grid(follows)[0].propagation.colour_space is None  # the checkpoint's, at run time
    both = load_grid_config("smoke", overrides={"train.colour_space": "rgb", "propagation.colour_space": "rgb"})
    assert plan_grid(both)[0].propagation.colour_space == "rgb"


@pytest.mark.parametrize("overrides, message", [
    ({"run_name": "paper"}, "reserved"),
    ({"seeds": 0}, "at least one seed"),
    ({"baselines": ["copy-last"]}, "unknown baseline"),
    ({"data.source": "youtube"}, "data.source"),
    ({"train.crop_size": 8}, "crop_size"),
    ({"propagation.scale": 0}, "scale"),
])
def test_invalid_settings(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_grid(load_grid_config("smoke", overrides=overrides))


def test_unknown_preset_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown preset 'fast'"):
        load_grid_config("fast")
    with pytest.raises(ConfigError, match="does not exist"):
        load_grid_config("smoke", [tmp_path / "nope.yaml"])
