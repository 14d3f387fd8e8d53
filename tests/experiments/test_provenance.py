"""What every result records: the portable command line, CPU threads, and the checkpoint's sha256."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from rpmbench.experiments.cell import result_provenance, run_cell
from rpmbench.experiments.spec import CellSpec, DataChoice, Paths, Work
from rpmbench.inference.propagate import PropagationConfig
from rpmbench.models import RPMNetConfig
from rpmbench.provenance import (COMMAND_VARIABLE, command_line, portable_argument, recorded_command,
                                 run_metadata, sha256_file)
from rpmbench.training import TrainConfig


def test_command_line_makes_every_absolute_path_portable() -> None:
    argv = ["python", "-m", "rpmbench", "run-grid", "--set", "data.davis_root=/data/DAVIS",
            "--set", "data.train_roots=[/data/youtube-vos/train, /mnt/x/y/clips]", "--results-dir",
            "/scratch/u/results", "--only", "resnet18-deformable-l3"]
    assert command_line(argv) == (
        "python -m rpmbench run-grid --set data.davis_root=data/DAVIS --set "
        "'data.train_roots=[youtube-vos/train, y/clips]' --results-dir u/results --only resnet18-deformable-l3")
    assert portable_argument("a/b=c") == "a/b=c"  # relative paths and plain words stay as typed
    assert portable_argument(str(Path.cwd() / "runs" / "r18")) == "runs/r18"


def test_recorded_command_reaches_run_metadata_and_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(COMMAND_VARIABLE, raising=False)
    with recorded_command(["train", "--out", "/somewhere/runs/r18"]) as command:
        assert command == "python -m rpmbench train --out runs/r18"
        assert os.environ[COMMAND_VARIABLE] == command  # inherited by worker processes and Slurm jobs
        assert run_metadata()["command"] == command
    assert COMMAND_VARIABLE not in os.environ
    assert run_metadata()["command"].startswith("python ")  # outside a command: this process's argv


def test_run_metadata_records_processor_and_threads() -> None:
    cpu = run_metadata()["cpu"]
    assert cpu["torch_threads"] == torch.get_num_threads() and cpu["usable_cpus"] >= 1
    assert cpu["cores"] >= cpu["usable_cpus"] and cpu["processor"]


def test_baseline_provenance_has_no_checkpoint() -> None:
    provenance = result_provenance(CellSpec("copy-first", DataChoice(), PropagationConfig()))
    assert "checkpoint_sha256" not in provenance and "command" in provenance


def test_model_cell_records_the_sha256_of_its_checkpoint(root: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COMMAND_VARIABLE, "python -m rpmbench run-grid --preset smoke")
    config = TrainConfig(model=RPMNetConfig("resnet18", backend="reference"), short_side=None, crop_size=32,
                         batch_size=1, steps=1, warmup_steps=0)
    spec = CellSpec("resnet18-deformable-l3", DataChoice(source="davis"), PropagationConfig(colour_space=None,
                                                                                          scale=0.5), config)
    payload = run_cell(spec, Paths(root, (str(root),), tmp_path), Work(progress=False))
    checkpoint = tmp_path / str(spec.training_stem) / "train" / "checkpoint.pt"
    provenance = payload["provenance"]
    assert provenance["checkpoint_sha256"] == sha256_file(checkpoint)
    assert provenance["command"] == "python -m rpmbench run-grid --preset smoke"
    assert payload["config_hash"] == spec.hash and payload["seed"] == 0
