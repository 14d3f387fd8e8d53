"""Checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint is a dict: ``model`` (state_dict), ``config`` (:meth:`TrainConfig.to_dict`), and for
resuming ``optimiser``, ``scheduler``, ``step``, ``seconds``, ``loss``, ``rng``; plus ``git_commit``.
Reading one that is not such a dict, or whose weights are not those of the model its config
describes, raises a one-line :class:`DataError` instead of torch's key listing.

:func:`publish_checkpoint` writes the finished run's *published* copy, as mmdetection's
``publish_model.py`` does: the weights and config without the training state, named
``<name>-<sha8>.pt`` by the first 8 hex digits of its own sha256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch

from rpmbench.atomic import atomic_path
from rpmbench.errors import DataError
from rpmbench.models import RPMNet, RPMNetConfig
from rpmbench.training.config import TrainConfig

CHECKPOINT_NAME = "checkpoint.pt"
REQUIRED_KEYS = ("model", "config")
RESUME_KEYS = ("optimiser", "scheduler", "step", "seconds", "loss", "rng")
#: What a published checkpoint keeps: enough to propagate and to say where it came from.
PUBLISHED_KEYS = ("model", "config", "step", "seconds", "loss", "git_commit")
WRITTEN_BY = "expected a checkpoint.pt written by `python -m rpmbench train` (its weights and config)"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (model, optimiser, scheduler, step, RNG, config, commit) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def publish_checkpoint(path: str | os.PathLike[str], name: str) -> Path:
    """Write the published copy of the checkpoint at ``path`` beside it and return its path:
    ``<name>-<sha8>.pt``, where ``sha8`` is the first 8 hex digits of the sha256 of the published
    file itself (``sha256sum`` of it starts with its name's suffix).

    It keeps :data:`PUBLISHED_KEYS` (weights, config, step, loss, commit) and drops the optimiser,
    scheduler and RNG state (a third of the size for Adam); ``infer --checkpoint`` and
    :func:`load_checkpoint_model` read it like ``checkpoint.pt``, ``train --resume`` cannot.
    """
    path = Path(path)
    state = read_checkpoint(path)
    buffer = io.BytesIO()
    torch.save({key: state[key] for key in PUBLISHED_KEYS if key in state}, buffer)
    data = buffer.getvalue()
    published = path.parent / f"{name}-{hashlib.sha256(data).hexdigest()[:8]}.pt"
    with atomic_path(published) as tmp:
        tmp.write_bytes(data)
    return published


def _contents(state: object) -> str:
    """What a loaded file holds, in words, when it is not an rpmbench checkpoint."""
    if not isinstance(state, dict):
        return f"a {type(state).__name__}, not a checkpoint dict"
    if state and all(isinstance(value, torch.Tensor) for value in state.values()):
        return f"a bare state_dict ({len(state)} tensors) without the config that says which model it fits"
    missing = [key for key in REQUIRED_KEYS if key not in state]
    return f"a dict without {' or '.join(map(repr, missing))} (keys: {', '.join(map(str, list(state)[:5]))})"


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoint dict at ``path``; :class:`DataError` if missing, damaged or not one."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: checkpoint not found; train first with `python -m rpmbench train`.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a damaged file
        raise DataError(f"{path}: cannot read checkpoint ({error}); it may be damaged.") from None
    if not isinstance(state, dict) or any(key not in state for key in REQUIRED_KEYS):
        raise DataError(f"{path}: holds {_contents(state)}; {WRITTEN_BY}. Pass the checkpoint.pt that train "
                        "wrote, not weights saved on their own.")
    return state


def checkpoint_config(path: Path, state: dict[str, Any]) -> TrainConfig:
    """The TrainConfig stored in ``state`` (read from ``path``); :class:`DataError` if unreadable."""
    try:
        return TrainConfig.from_dict(state["config"])
    except (TypeError, KeyError, AttributeError) as error:
        raise DataError(f"{path}: its config cannot be read ({error}); {WRITTEN_BY} by this rpmbench "
                        "version. Retrain with this version.") from None


def variant_name(model: RPMNetConfig) -> str:
    """``resnet18 deformable (3 layers, dilation 1, dcn v1)``: the settings that shape the weights."""
    return f"{model.backbone} {model.matching} ({model.layers} layers, dilation {model.dilation}, dcn {model.dcn})"


def _shape_settings(model: RPMNetConfig) -> dict[str, Any]:
    """The model settings that decide the weights (the deformable-conv backend does not)."""
    return {key: value for key, value in dataclasses.asdict(model).items() if key != "backend"}


def load_weights(model: RPMNet, weights: dict[str, torch.Tensor], path: Path, config: RPMNetConfig) -> None:
    """Load ``weights`` into ``model``; :class:`DataError` naming what differs if they do not fit."""
    expected = model.state_dict()
    missing = sorted(expected.keys() - weights.keys())
    unexpected = sorted(weights.keys() - expected.keys())
    reshaped = sorted(key for key in expected.keys() & weights.keys()
                      if tuple(expected[key].shape) != tuple(weights[key].shape))
    if missing or unexpected or reshaped:
        example = (missing or unexpected or reshaped)[0]
        raise DataError(
            f"{path}: its weights are not those of the {variant_name(config)} its config names "
            f"({len(missing)} missing, {len(unexpected)} unexpected, {len(reshaped)} of another shape, "
            f"e.g. {example}); {WRITTEN_BY}. Use the checkpoint.pt of the run that trained this model.")
    model.load_state_dict(weights)


def load_checkpoint_model(path: str | os.PathLike[str], device: str = "cpu") -> tuple[RPMNet, TrainConfig]:
    """The trained model (in eval mode, on ``device``) and the config it was trained with."""
    path = Path(path)
    state = read_checkpoint(path)
    config = checkpoint_config(path, state)
    model = RPMNet(config.model)  # the model is built from the config its checkpoint carries
    load_weights(model, state["model"], path, config.model)
    return model.to(device).eval(), config


def check_resumable(path: Path, config: TrainConfig) -> None:
    """Raise :class:`DataError` unless the checkpoint at ``path`` (if any) can resume ``config``:
    a full training state of the same model (checked before the run folder is touched)."""
    if not path.is_file():
        return
    state = read_checkpoint(path)
    trained = checkpoint_config(path, state)
    if _shape_settings(trained.model) != _shape_settings(config.model):
        raise DataError(f"{path}: this run trained a {variant_name(trained.model)}, but --resume was "
                        f"asked for a {variant_name(config.model)}; expected the run's own model "
                        f"settings (see {path.parent / 'config.json'}). Resume with those, or train "
                        "the new model into another --out folder.")
    missing = [key for key in RESUME_KEYS if key not in state]
    if missing:
        raise DataError(f"{path}: holds weights but no training state ({', '.join(missing)} missing); "
                        f"{WRITTEN_BY}. Train into another --out folder (it cannot be resumed).")
