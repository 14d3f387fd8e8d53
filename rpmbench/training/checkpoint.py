"""Checkpoints: everything needed to continue a run exactly, written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from rpmbench.atomic import atomic_path
from rpmbench.errors import DataError
from rpmbench.models import RPMNet
from rpmbench.training.config import TrainConfig

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (model, optimiser, scheduler, step, RNG, config, commit) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: checkpoint not found; train first with `python -m rpmbench train`.")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a damaged file
        raise DataError(f"{path}: cannot read checkpoint ({error}); it may be damaged.") from None


def load_checkpoint_model(path: str | os.PathLike[str], device: str = "cpu") -> tuple[RPMNet, TrainConfig]:
    """The trained model (in eval mode, on ``device``) and the config it was trained with."""
    state = read_checkpoint(path)
    config = TrainConfig.from_dict(state["config"])
    model = RPMNet(config.model)  # the model is built from the config its checkpoint carries
    model.load_state_dict(state["model"])
    return model.to(device).eval(), config
