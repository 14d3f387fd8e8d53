"""The spine: run_cell trains once and propagates several ways; the seams an earlier review found closed
(baselines at the propagation scale, devices recorded, one default training data); the paper and
gpu presets run end to end at toy size; committed runs are references, not a cache."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import rpmbench
from rpmbench import registry
from rpmbench.cli import main
from rpmbench.data.davis import DavisDataset
from rpmbench.data.palette import read_palette_png
from rpmbench.experiments.cell import CellJob, RunContext, result_provenance, run_cell, run_job
from rpmbench.experiments.plan import plan_grid
from rpmbench.experiments.presets import load_grid_config
from rpmbench.experiments.reference import environment_notes, reference_comparison
from rpmbench.experiments.runner import grid_paths
from rpmbench.experiments.spec import CellSpec, DataChoice, Paths, Work
from rpmbench.inference.propagate import PropagationConfig
from rpmbench.models.matching import KERNEL_SIZE

TOY = ["--set", "backbones=[resnet18]", "--set", "rows=[deformable-l3]", "--set", "baselines=[copy-previous]",
       "--set", "train.steps=1", "--set", "train.batch_size=1", "--set", "train.crop_size=32",
       "--set", "train.short_side=64", "--set", "train.warmup_steps=0", "--set", "execution.num_workers=0",
       "--set", "execution.checkpoint_every=1", "--set", "propagation.scale=0.25", "--no-progress"]
ON_CPU = ["--set", "train.device=cpu", "--set", "train.amp=false", "--set", "train.channels_last=false",
          "--set", "propagation.device=cpu"]


def _zero_flow_reference(first: np.ndarray, frames: int, scale: float) -> np.ndarray:
    """copy-previous by hand in float64: the one-hot mask area-averaged to the H/4 grid of the
    frame resized by ``scale``, bilinearly upsampled back and argmaxed, for every later frame."""
    height, width = first.shape
    one_hot = F.one_hot(torch.from_numpy(first.astype(np.int64))).permute(2, 0, 1)[None].double()
    size = (-(-round(height * scale) // 4), -(-round(width * scale) // 4))
    soft = F.interpolate(one_hot, size=size, mode="area")
    up = F.interpolate(soft, size=(height, width), mode="bilinear", align_corners=False)[0].argmax(0).numpy()
    return np.stack([first] + [up] * (frames - 1)).astype(np.uint8)


def test_baselines_honour_propagation_scale(root: Path, tmp_path: Path) -> None:
    """Baselines honour propagation.scale as model cells do."""
    dataset = DavisDataset(root, "val")
    first = dataset.read_first_mask("s0")
    for scale in (0.5, 1.0):
        spec = CellSpec("copy-previous", DataChoice(source="davis"), PropagationConfig(scale=scale))
        run_cell(spec, Paths(root, (str(root),), tmp_path), Work(progress=False))
        predicted = np.stack([read_palette_png(path) for path in
                              sorted((tmp_path / spec.stem / "predictions" / "s0").glob("*.png"))])
        assert np.array_equal(predicted, _zero_flow_reference(first, len(predicted), scale)), scale
    halves = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(halves) == 2  # two specs, two hashes: the scale is part of a baseline's spec


def test_result_records_where_each_step_ran() -> None:
    """A cell's JSON records where it was trained and where it was propagated."""
    spec = plan_grid(load_grid_config("smoke", overrides={"propagation.device": "cuda:1"}),
                     only=["resnet18-standard-l1"])[0]
    provenance = result_provenance(spec)
    assert provenance["devices"] == {"train": "cpu", "propagation": "cuda:1"}
    assert provenance["device"] == "cuda:1"
    assert result_provenance(CellSpec("copy-first", DataChoice(), PropagationConfig()))["devices"] == {
        "propagation": "cpu"}


def test_train_and_run_grid_share_the_default_training_data() -> None:
    """`train` and `run-grid` train on the same default data (the built-in clips and train split)."""
    from rpmbench.commands.train import default_data_roots, load_train_config
    from rpmbench.experiments.presets import GridConfig

    config = load_train_config([], [])
    grid = GridConfig()
    assert default_data_roots(config.davis_splits) == list(grid_paths(grid, Path(".")).train_roots)
    assert any(root.endswith(".mp4") for root in default_data_roots(config.davis_splits))
    # a preset that opts out says so in the table header's data line
    smoke = load_grid_config("smoke")
    assert not smoke.data.builtin_clips and "clips" not in smoke.data.choice().describe()


@pytest.mark.slow
def test_one_training_run_serves_every_protocol(root: Path, tmp_path: Path, register,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Train once, propagate N ways: a registered protocol reuses the cell's trained model."""
    from rpmbench.training import loop

    register(registry.Protocol("hard", "rpmbench.inference.protocols:flow", {"mode": "hard"}, paper=False))
    grid = load_grid_config("smoke", overrides={
        "backbones": ["resnet18"], "rows": ["standard-l1"], "beyond": ["standard-l1@hard"], "baselines": [],
        "train.model.backend": "reference", "train.short_side": None})
    specs = plan_grid(grid)
    steps = []
    original = loop.training_step
    monkeypatch.setattr(loop, "training_step", lambda *a: steps.append(1) or original(*a))
    context = RunContext(tmp_path / "run", root, (str(root),), "smoke", Work(progress=False))
    soft, hard = run_job(CellJob(tuple(specs)), context)
    assert len(steps) == grid.train.steps  # one training run for both results
    assert (soft["cell"], hard["cell"]) == ("resnet18-standard-l1", "resnet18-standard-l1@hard")
    assert hard["protocol"] == "hard" and hard["config"]["propagation"]["mode"] == "hard"
    assert soft["parameters"] == hard["parameters"] and soft["config_hash"] != hard["config_hash"]
    assert not any((tmp_path / "run" / "work").glob("resnet18*"))  # scratch removed once published


@pytest.mark.slow
def test_learning_evidence_runs_the_grid_cell(root: Path, tmp_path: Path) -> None:
    """`train --evidence-seeds` computes through run_cell: its numbers are the grid's."""
    from rpmbench.experiments.studies.evidence import learning_evidence
    from rpmbench.models import RPMNetConfig
    from rpmbench.training import TrainConfig

    config = TrainConfig(model=RPMNetConfig("resnet18", backend="reference"),
                         short_side=None, crop_size=32, batch_size=2, steps=2)
    output = tmp_path / "results" / "evidence.json"
    summary = learning_evidence(config, [0, 1], tmp_path / "work", output, progress=False, root=root)
    table = pd.read_csv(output.with_suffix(".csv"))
    assert table["method"].tolist() == [*registry.DEFAULT_BASELINES, "rpmnet", "rpmnet"]
    learned = table[table["method"] == "rpmnet"]
    assert learned["seed"].tolist() == [0, 1] and (learned["train_seconds"] > 0).all()
    assert "data_roots" not in summary["config"]  # paths are not part of the recorded spec
    # the grid's spec, computed from scratch in a fresh work folder (trained and propagated again),
    # gives exactly the evidence's numbers for that seed
    seed0 = CellSpec("resnet18-deformable-l3", DataChoice(source="davis"), PropagationConfig(colour_space=None),
                     dataclasses.replace(config, seed=0))
    again = run_cell(seed0, Paths(root, (str(root),), tmp_path / "fresh"), Work(progress=False))
    evidence = next(row for row in summary["rows"] if row["method"] == "rpmnet" and row["seed"] == 0)
    assert again["metrics"]["J&F-Mean"] == evidence["J&F-Mean"]
    assert summary["beats_copy_previous_every_seed"] == bool((learned["J&F-Mean"] > summary["copy_previous_jf"]).all())


def _toy_davis_and_youtube(tmp_path: Path) -> tuple[Path, Path]:
    """The built-in small set as DAVIS-2017, and its train split as a YouTube-VOS train folder."""
    from rpmbench.data.builtin import ensure_builtin_dataset

    davis = Path(ensure_builtin_dataset("small", 0, progress=False))
    youtube = tmp_path / "youtube-vos" / "train"
    for sequence in DavisDataset(davis, "train").sequences:
        (youtube / "JPEGImages").mkdir(parents=True, exist_ok=True)
        (youtube / "JPEGImages" / sequence).symlink_to(davis / "JPEGImages" / "480p" / sequence)
    return davis, youtube


@pytest.mark.slow
def test_paper_preset_end_to_end_at_toy_size(tmp_path: Path) -> None:
    """The paper preset's path (DAVIS root + YouTube-VOS layout, beyond-the-paper protocols sharing
    the deformable cell's training run) on CPU at toy size."""
    davis, youtube = _toy_davis_and_youtube(tmp_path)
    results = tmp_path / "results"
    assert main(["run-grid", "--preset", "paper", "--results-dir", str(results), *TOY, *ON_CPU,
                 "--set", f"data.davis_root={davis}", "--set", f"data.train_roots=[{youtube}]",
                 "--set", f"beyond=[{', '.join(registry.BEYOND_DEFAULT)}]"]) == 0
    markdown = (results / "paper-grid" / "table2.md").read_text()
    assert "DAVIS-2017 val" in markdown and "not a reproduction error" in markdown
    beyond = markdown.split("## Beyond the paper")[1].split("## Against")[0]
    for name in registry.BEYOND_DEFAULT:
        variant, protocol = registry.parse_entry(name)
        label = variant.matching.capitalize() + ("" if protocol.paper else f" @{protocol.name}")
        assert f"| {label} | {KERNEL_SIZE}/{variant.dilation} | {variant.layers} |" in beyond
    assert "not run" not in markdown
    cell, = (results / "paper-grid" / "cells").glob("resnet18-deformable-l3-s0-*.json")
    payload = json.loads(cell.read_text())
    assert payload["config"]["train"]["crop_size"] == 32 and payload["config"]["data"]["source"] == "davis"
    assert str(youtube) not in cell.read_text()  # paths never enter the result's spec


@pytest.mark.slow
def test_gpu_preset_end_to_end_at_toy_size_on_cpu(tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert main(["run-grid", "--preset", "gpu", "--results-dir", str(results), *TOY, *ON_CPU,
                 "--set", "data.builtin_size=small", "--set", "data.builtin_clips=false",
                 "--set", "beyond=[]"]) == 0
    assert len(list((results / "gpu" / "cells").glob("*.json"))) == 2  # beyond=[]: one cell, one baseline


def test_paper_preset_without_paths_names_the_setting(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The paper preset without a DAVIS copy stops at once, naming the setting to fix."""
    assert main(["run-grid", "--preset", "paper", "--results-dir", str(tmp_path), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "DAVIS root not found" in error and "--set data.davis_root=" in error
    assert not any(tmp_path.iterdir())


def _payload(torch_version: str, config_hash: str, device: str = "AMD EPYC (2 cores, 2 torch threads)",
             jf: float = 0.3) -> dict:
    return {"cell": f"cell-{config_hash}", "config_hash": config_hash, "metrics": {"J&F-Mean": jf},
            "provenance": {"versions": {"torch": torch_version, "numpy": "2.4.6"}, "device_name": device}}


def test_environment_notes_name_a_differing_reference() -> None:
    """A run whose environment (versions, processor, thread count) differs from the committed
    reference's says so, and compares every result of equal settings with it."""
    ours = [_payload("2.14.1", "a"), _payload("2.14.1", "b")]
    notes = environment_notes(ours, [_payload("2.15.0", "a")], "quick")
    assert notes[0] == "Environment: torch 2.14.1, numpy 2.4.6, on AMD EPYC (2 cores, 2 torch threads)"
    assert "**another environment** (torch 2.15.0, numpy 2.4.6, on AMD EPYC" in notes[1]
    assert "differs in torch)" in notes[1] and "1 of its 1 results have this run's exact settings" in notes[1]
    other_cpu = environment_notes(ours, [_payload("2.14.1", "a", "Intel Xeon (2 cores, 1 torch threads)")], "quick")
    assert "differs in device" in other_cpu[1]
    same = environment_notes(ours, [_payload("2.14.1", "c")], "quick")
    assert "same library versions and device; 0 of its 1" in same[1]
    rows = reference_comparison([_payload("2.14.1", "a", jf=0.3761), _payload("2.14.1", "b")],
                                [_payload("2.14.1", "a", jf=0.3607), _payload("2.14.1", "c")])
    assert rows[2:] == ["| cell-a | 37.61 | 36.07 | +1.54 |"]
    assert reference_comparison(ours, ours)[2:] == ["| cell-a | 30.00 | 30.00 | identical |",
                                                     "| cell-b | 30.00 | 30.00 | identical |"]
    assert "No committed reference" in environment_notes(ours, [], "quick")[1]
    mixed = environment_notes([*ours, _payload("2.15.0", "c")], [], "quick")
    assert "several environments" in mixed[0]


def test_committed_runs_are_not_the_default_run_folder() -> None:
    """A fresh clone's run-grid computes instead of reprinting committed results."""
    from rpmbench.cli import build_parser

    args = build_parser().parse_args(["run-grid"])
    assert Path(args.results_dir) == Path("results/runs") and Path(args.reference_dir) == Path("results")
    ignored = (Path(rpmbench.__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert "/results/runs/" in ignored
