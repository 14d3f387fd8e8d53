"""Fixtures shared by the test suite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from davis_fixtures import moving_ellipses, write_davis
from rpmbench import registry


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """``register(entry)`` adds a registry entry for this test only (removed afterwards)."""
    def add(entry: Any) -> Any:
        entries = registry._KINDS[type(entry)]
        if entry.name in entries:
            raise ValueError(f"registry entry {entry.name!r} registered twice")
        monkeypatch.setitem(entries, entry.name, entry)
        return entry
    return add


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A DAVIS-layout root with two short sequences and an untrained ResNet-18 checkpoint."""
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    root = write_davis(folder / "d", {"a": moving_ellipses(rng, 4, 32, 48, 2),
                                      "b": moving_ellipses(rng, 3, 32, 48, 1)})
    from rpmbench.models import RPMNetConfig, build_rpmnet
    from rpmbench.training.checkpoint import save_checkpoint
    from rpmbench.training.config import TrainConfig

    torch.manual_seed(0)
    config = TrainConfig(model=RPMNetConfig("resnet18", backend="reference"))
    model = build_rpmnet("resnet18", backend="reference")
    save_checkpoint(folder / "checkpoint.pt", {"config": config.to_dict(), "model": model.state_dict()})
    return root, folder / "checkpoint.pt"


@pytest.fixture(scope="session")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAVIS-layout root of three 6-frame sequences (40x56): s0 and s1 in train, all three in val."""
    rng = np.random.default_rng(0)
    folder = write_davis(tmp_path_factory.mktemp("davis"), {f"s{i}": moving_ellipses(rng, 6, 40, 56, 2) for i in range(3)})
    (folder / "ImageSets" / "2017" / "train.txt").write_text("s0\ns1\n")
    return folder


@pytest.fixture
def moving_model() -> Any:
    """An untrained ResNet-18 RPM-Net (reference backend, eval mode) whose matching layers are
    perturbed (seed 0), so its offsets and flow are non-zero."""
    from rpmbench.models import build_rpmnet

    torch.manual_seed(0)
    model = build_rpmnet("resnet18", backend="reference").eval()
    with torch.no_grad():
        for parameter in model.matching.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model

