"""End-to-end grid runs on the smoke preset: skip/--force/--only, executors, Slurm path, bad configs.

Runs share one module-scoped reference run of a few cells (local executor) and compare the other
executors' tables with it byte for byte.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rpmbench.cli import main
from rpmbench.errors import ConfigError, DataError
from rpmbench.experiments.executors import ExecutorOptions, SlurmOptions
from rpmbench.experiments.presets import load_grid_config
from rpmbench.experiments.runner import run_grid

# Two learned cells (two matching types, the smallest backbone) and one baseline.
SMOKE = {"rows": ["deformable-l3", "standard-l1"], "backbones": ["resnet18"],
         "baselines": ["copy-previous"], "beyond": []}


def _grid(**overrides: object):
    return load_grid_config("smoke", overrides={**SMOKE, **overrides})


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted local run of the small selection; returns its run dir."""
    results = tmp_path_factory.mktemp("reference")
    # One torch thread, like each of the two pool workers below: same reduction order.
    outcome = run_grid(_grid(), results, ExecutorOptions("local", threads=1), progress=False)
    assert outcome.ran == 3
    return outcome.run_dir


def _tables(run_dir: Path) -> tuple[str, str]:
    return (run_dir / "table2.csv").read_text(), (run_dir / "table2.md").read_text()


def test_reference_run_outputs(reference: Path) -> None:
    cells = sorted(path.name for path in (reference / "cells").iterdir())
    assert len(cells) == 3
    assert cells[0].startswith("copy-previous-") and cells[1].startswith("resnet18-deformable-l3-s0-")
    payload = json.loads((reference / "cells" / cells[1]).read_text())
    for key in ("metrics", "per_sequence", "parameters", "flops_per_frame", "train_seconds",
                "inference_fps", "config", "provenance", "seed", "config_hash"):
        assert key in payload, key
    assert {"J&F-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"} <= set(payload["metrics"])
    assert payload["provenance"]["git_commit"] and payload["provenance"]["versions"]["torch"]
    assert payload["parameters"] > 0 and payload["flops_per_frame"] > 0
    assert not (reference / "work").exists() or not any((reference / "work").glob("resnet*"))
    markdown = (reference / "table2.md").read_text()
    assert "rpmbench built-in" in markdown and "Baseline: copy-previous" in markdown


def test_per_frame_scores_give_the_per_sequence_means_and_plot(reference: Path) -> None:
    """Each result stores every scored object-frame; their means are the per-object J/F it reports."""
    import pandas as pd

    from rpmbench.viz.over_time import load_per_frame, plot_j_over_time

    payload = json.loads(next((reference / "cells").glob("resnet18-deformable-l3-s0-*.json")).read_text())
    frames = pd.DataFrame(payload["per_frame"])
    means = frames.groupby(["sequence", "object"], sort=False)[["J", "F"]].mean()
    for line in payload["per_sequence"]:
        sequence, obj = line["sequence"].rsplit("_", 1)
        assert means.loc[(sequence, int(obj)), "J"] == pytest.approx(line["J"], abs=2e-6)
        assert means.loc[(sequence, int(obj)), "F"] == pytest.approx(line["F"], abs=2e-6)
    both = load_per_frame(reference / "cells", ["resnet18-deformable-l3", "copy-previous"])
    assert set(both["method"]) == {"resnet18-deformable-l3", "copy-previous"}
    figure = plot_j_over_time(both)
    assert len([axis for axis in figure.axes if axis.get_visible()]) == frames["sequence"].nunique()
    with pytest.raises(ConfigError, match="no result with per-frame scores for 'optical-flow'"):
        load_per_frame(reference / "cells", ["optical-flow"])


def test_overlays_of_chosen_results(tmp_path: Path) -> None:
    """run-grid --overlays draws each computed result's masks (contact sheet + GIF)."""
    overlays = tmp_path / "overlays"
    assert main(["run-grid", "--preset", "smoke", "--set", "beyond=[]", "--results-dir", str(tmp_path / "r"),
                 "--only", "copy-previous", "--overlays", str(overlays), "--no-progress"]) == 0
    written = sorted(path.name for path in (overlays / "copy-previous").iterdir())
    assert written and {name.rsplit(".", 1)[1] for name in written} == {"png", "gif"}
    assert [path.name.startswith("copy-previous-") for path in (tmp_path / "r" / "smoke" / "cells").iterdir()] == [True]


def test_rerun_skips_force_recomputes_only_filters(reference: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / reference.name
    shutil.copytree(reference, run_dir)
    outcome = run_grid(_grid(), tmp_path, ExecutorOptions("local"), progress=False)
    assert (outcome.ran, outcome.skipped) == (0, 3)
    before = {p.name: p.stat().st_mtime_ns for p in (run_dir / "cells").iterdir()}
    outcome = run_grid(_grid(), tmp_path, ExecutorOptions("local", threads=1), only=["copy-*"], force=True,
                       progress=False)  # the reference's thread count: the same environment
    assert (outcome.ran, outcome.skipped) == (1, 0)
    after = {p.name: p.stat().st_mtime_ns for p in (run_dir / "cells").iterdir()}
    changed = [name for name in before if before[name] != after[name]]
    assert len(changed) == 1 and changed[0].startswith("copy-previous-")
    assert _tables(run_dir) == _tables(reference)


def test_changed_setting_is_a_new_result(reference: Path, tmp_path: Path) -> None:
    shutil.copytree(reference, tmp_path / reference.name)
    grid = _grid(**{"train.steps": _grid().train.steps + 1})
    outcome = run_grid(grid, tmp_path, ExecutorOptions("local"), only=["resnet18-deformable-*"],
                       progress=False)
    assert outcome.ran == 1
    assert len(list((tmp_path / reference.name / "cells").glob("resnet18-deformable-l3-*"))) == 2


def test_processes_executor_gives_the_same_table(reference: Path, tmp_path: Path) -> None:
    outcome = run_grid(_grid(), tmp_path, ExecutorOptions("processes", workers=2, threads=1),
                       progress=False)
    assert _tables(outcome.run_dir) == _tables(reference)


@pytest.mark.parametrize("cluster", ["debug", "local"])
def test_submitit_path_gives_the_same_table(reference: Path, tmp_path: Path, cluster: str) -> None:
    pytest.importorskip("submitit")
    shutil.copytree(reference, tmp_path / reference.name)
    for path in (tmp_path / reference.name / "cells").glob("resnet18-standard*"):
        path.unlink()  # one cell really runs through submitit, the others are skipped
    options = ExecutorOptions("slurm", threads=1, slurm=SlurmOptions(
        folder=str(tmp_path / "slurm" / "%j"), cluster=cluster, timeout_min=10))
    outcome = run_grid(_grid(), tmp_path, options, progress=False)
    assert outcome.ran == 1
    assert _tables(outcome.run_dir) == _tables(reference)


def test_checkpoint_requeues_the_same_job() -> None:
    pytest.importorskip("submitit")
    from rpmbench.experiments.executors import CellTask

    delayed = CellTask().checkpoint("job", "context")
    assert isinstance(delayed.function, CellTask) and delayed.args == ("job", "context")


@pytest.mark.parametrize("overrides, error, message", [
    ({"backbones": ["resnet18", "resnet152"]}, ConfigError, "unknown backbone 'resnet152'"),
    ({"rows": ["dilated-d0-l3"]}, ConfigError, "unknown matching variant"),
    ({"train.model.dcn": "v3"}, ConfigError, "unknown dcn"),
    ({"rows": ["standard-l0"]}, ConfigError, "unknown matching variant"),
    ({"data.source": "davis", "data.davis_root": "/nonexistent/DAVIS"}, DataError, "/nonexistent"),
    ({"data.source": "davis"}, ConfigError, "davis_root"),
    ({"train.stepz": 3}, ConfigError, "unknown setting 'train.stepz'"),
])
def test_bad_configs_fail_before_any_work(tmp_path: Path, overrides: dict, error: type,
                                          message: str) -> None:
    with pytest.raises(error, match=message):
        run_grid(_grid(**overrides), tmp_path, ExecutorOptions("local"), progress=False)
    assert not (tmp_path / "smoke").exists()


def test_cli_reports_bad_config_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = main(["run-grid", "--preset", "smoke", "--results-dir", str(tmp_path),
                   "--set", "backbones=[resnet19]"])
    assert status == 2
    assert "error: unknown backbone 'resnet19'" in capsys.readouterr().err
    status = main(["run-grid", "--preset", "smoke", "--results-dir", str(tmp_path),
                   "--only", "nothing-*"])
    assert status == 2
    assert not any(tmp_path.iterdir())


def test_dry_run_lists_jobs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run-grid", "--preset", "smoke", "--results-dir", str(tmp_path), "--dry-run",
                 "--seeds", "2"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("pending")]
    from rpmbench import registry

    cells = len(registry.TABLE2_ROWS) + len(registry.BEYOND_DEFAULT)
    assert len(lines) == cells * 4 * 2 + len(registry.DEFAULT_BASELINES)
    assert not any(tmp_path.iterdir())
