"""The finished run's published checkpoint: ``<model id>-<sha8>.pt``, weights and config only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from rpmbench.cli import main
from rpmbench.provenance import sha256_file
from rpmbench.training.checkpoint import RESUME_KEYS, load_checkpoint_model, publish_checkpoint, read_checkpoint

TOY = ["--no-progress", "--set", "model.backbone=resnet18", "--set", "model.backend=reference",
       "--set", "model.matching=standard", "--set", "model.layers=1", "--set", "steps=1",
       "--set", "batch_size=1", "--set", "crop_size=32", "--set", "short_side=null", "--set", "warmup_steps=0"]


def test_train_publishes_its_checkpoint_named_by_its_sha256(root: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--data-root", str(root), *TOY]) == 0
    published, = run.glob("resnet18-standard-l1-*.pt")
    sha256 = sha256_file(published)
    assert re.fullmatch(r"resnet18-standard-l1-[0-9a-f]{8}\.pt", published.name)
    assert published.stem.endswith(sha256[:8]) and sha256 in capsys.readouterr().out
    state = read_checkpoint(published)
    assert not (set(RESUME_KEYS) - {"step", "seconds", "loss"}) & set(state)  # no optimiser, scheduler, RNG
    model, config = load_checkpoint_model(published)
    trained, _ = load_checkpoint_model(run / "checkpoint.pt")
    assert config.steps == 1 and all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                                       trained.state_dict().values()))
    assert publish_checkpoint(run / "checkpoint.pt", "resnet18-standard-l1") == published  # same bytes, same name
