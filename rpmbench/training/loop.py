"""The training loop: reconstruct the target frame by warping the reference (layer 109)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from rpmbench.atomic import atomic_write_json
from rpmbench.data.colour import to_network_input
from rpmbench.errors import ConfigError, TrainingDivergedError
from rpmbench.interrupts import DeferredInterrupts
from rpmbench.models import RPMNet
from rpmbench.provenance import git_commit
from rpmbench.training.checkpoint import CHECKPOINT_NAME, read_checkpoint, save_checkpoint
from rpmbench.training.config import TrainConfig, TrainExecution
from rpmbench.training.frames import PairBatches, discover_sequences

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter


@dataclass
class TrainResult:
    """Where the final checkpoint is and how the run went."""

    checkpoint: Path
    steps: int
    seconds: float
    final_loss: float


def reconstruction_loss(warped: Tensor, target: Tensor, kind: str) -> Tensor:
    """Mean distance between the warped reference ``(B, C, h, w)`` and the target ``(B, C, H, W)``.

    ``huber`` (delta 1) and ``l1`` compare at the warped size (the target is area-averaged to it if
    larger); ``mast`` upsamples the warped reference (bilinear) to the target's size and takes
    smooth L1 on both scaled by 20.
    """
    if kind == "mast":
        upsampled = F.interpolate(warped, size=target.shape[-2:], mode="bilinear", align_corners=False)
        return F.smooth_l1_loss(20 * upsampled, 20 * target, beta=1.0)
    if target.shape[-2:] != warped.shape[-2:]:
        target = F.interpolate(target, size=warped.shape[-2:], mode="area")
    if kind == "huber":
        return F.huber_loss(warped, target, delta=1.0)
    return F.l1_loss(warped, target)


def gaussian_blur(images: Tensor, sigma: float) -> Tensor:
    """Gaussian blur of ``(B, C, h, w)`` with std ``sigma`` pixels (kernel 2*ceil(3 sigma)+1, reflect)."""
    from torchvision.transforms.v2.functional import gaussian_blur as blur

    size = 2 * math.ceil(3 * sigma) + 1
    return blur(images, [size, size], [sigma, sigma])


def drop_channels(reference: Tensor, target: Tensor, probability: float) -> tuple[Tensor, Tensor]:
    """Zero one random channel of both ``(B, C, H, W)`` inputs of a pair, with ``probability`` per pair
    (draws from the torch RNG, which checkpoints save, so resumed runs stay exact)."""
    batch, channels = reference.shape[:2]
    dropped = torch.rand(batch, device=reference.device) < probability
    which = torch.randint(channels, (batch,), device=reference.device)
    keep = 1 - (F.one_hot(which, channels) * dropped[:, None]).to(reference.dtype)
    keep = keep[:, :, None, None]
    return reference * keep, target * keep


def _lr_factor(config: TrainConfig, step: int) -> float:
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    progress = (step - config.warmup_steps) / max(config.steps - config.warmup_steps, 1)
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def build_training(config: TrainConfig) -> tuple[RPMNet, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """The model (seeded by ``config.seed``), its Adam optimiser and the learning-rate schedule."""
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    model = RPMNet(config.model).to(device)  # built from the config every checkpoint carries
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _lr_factor(config, s))
    return model, optimiser, scheduler


def training_step(model: RPMNet, reference: Tensor, target: Tensor, config: TrainConfig) -> Tensor:
    """Loss of one batch of uint8 ``(B, 3, S, S)`` pairs."""
    device = torch.device(config.device)
    reference = to_network_input(reference.to(device), config.colour_space)
    target = to_network_input(target.to(device), config.colour_space)
    if config.channels_last:
        reference = reference.contiguous(memory_format=torch.channels_last)
        target = target.contiguous(memory_format=torch.channels_last)
    inputs = drop_channels(reference, target, config.channel_dropout) if config.channel_dropout else (reference, target)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.amp):  # CPU autocast too
        out = model(inputs[1], inputs[0], payload=reference)
    if config.loss == "mast":
        return reconstruction_loss(out.warped.float(), target, config.loss)
    target_small = model.downsample_payload(target)
    loss = reconstruction_loss(out.warped.float(), target_small, config.loss)
    if config.loss_blur_sigmas:
        reference_small = model.downsample_payload(reference)
        for sigma in config.loss_blur_sigmas:
            warped = model.matching.warp(gaussian_blur(reference_small, sigma), out.flow.float())
            loss = loss + reconstruction_loss(warped, gaussian_blur(target_small, sigma), config.loss)
        loss = loss / (1 + len(config.loss_blur_sigmas))
    return loss


def train(config: TrainConfig, run_dir: str | os.PathLike[str], data_roots: Sequence[str | os.PathLike[str]],
          execution: TrainExecution = TrainExecution(), resume: bool = False, progress: bool = True,
          layouts: Mapping[str | os.PathLike[str], str] | None = None) -> TrainResult:
    """Train ``config`` in ``run_dir`` (``checkpoint.pt``, ``log.jsonl``, ``config.json``) on the
    unlabelled video of ``data_roots``: labelled roots (frames of ``config.davis_splits``; read as
    their ``layouts`` entry, DAVIS-2017's when they have none), YouTube-VOS-style roots
    (``<root>/JPEGImages/<video>/*.jpg`` or ``<root>/<video>/*.jpg``) and video files (``.mp4`` ...).
    ``execution`` says how the run is fed and checkpointed.

    With ``resume`` and an existing checkpoint, training continues from it and reproduces the
    uninterrupted run exactly on CPU. A NaN or infinite loss raises
    :class:`TrainingDivergedError`; the last checkpoint written stays the last good one. Ctrl-C or
    SIGTERM ends the current step, writes a checkpoint and raises :class:`KeyboardInterrupt`
    (:class:`~rpmbench.interrupts.Terminated` for SIGTERM) saying so (:mod:`rpmbench.interrupts`).
    """
    config.validate()
    execution.validate(config.steps)
    if not data_roots:
        raise ConfigError("train: no training data roots given")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = run_dir / CHECKPOINT_NAME
    sequences = discover_sequences([str(root) for root in data_roots], config.davis_splits, config.short_side,
                                   layouts)

    model, optimiser, scheduler = build_training(config)
    start, seconds, loss_value = 0, 0.0, math.nan
    if resume and checkpoint_path.is_file():
        state = read_checkpoint(checkpoint_path)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        start, seconds, loss_value = state["step"], state["seconds"], state["loss"]
    step_fn = torch.compile(training_step) if config.compile else training_step

    commit = git_commit()
    atomic_write_json(run_dir / "config.json", {"git_commit": commit, "config": config.to_dict(),
                                                "execution": dataclasses.asdict(execution),
                                                "data_roots": [str(root) for root in data_roots]})
    if progress:  # the same facts are always in config.json
        print(f"rpmbench train: commit {commit}, {len(sequences)} sequences, steps {start}->{config.steps}, "
              f"run dir {run_dir}", file=sys.stderr)
    log_path = run_dir / "log.jsonl"
    _truncate_log(log_path, start)

    def checkpoint_state(step: int) -> dict:
        return {
            "model": model.state_dict(), "optimiser": optimiser.state_dict(),
            "scheduler": scheduler.state_dict(), "step": step, "seconds": seconds, "loss": loss_value,
            "rng": {"torch": torch.get_rng_state()}, "config": config.to_dict(), "git_commit": commit,
        }

    def checkpoint(step: int) -> None:
        save_checkpoint(checkpoint_path, checkpoint_state(step))

    batches = PairBatches(sequences, config.batch_size, config.crop_size, config.frame_gap,
                          config.hflip, config.seed, config.short_side, config.steps)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, sampler=range(start, config.steps),
                                         num_workers=execution.num_workers)
    model.train()
    bar = tqdm(loader, total=config.steps - start, initial=0, desc="train", unit="step",
               disable=not progress, dynamic_ncols=True)
    board_context = _open_tensorboard(run_dir, start) if execution.tensorboard else contextlib.nullcontext()
    with (log_path.open("a", buffering=1) as log,  # line-buffered: `tail -f` works
          board_context as board, DeferredInterrupts() as interrupts):
        for step, (reference, target) in zip(range(start, config.steps), bar):
            tick = time.perf_counter()
            loss = step_fn(model, reference, target, config)
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"training diverged at step {step} (loss {loss.item()}); the last good checkpoint "
                    f"is {checkpoint_path if checkpoint_path.is_file() else 'not written yet'}. "
                    "Lower train.lr or set train.grad_clip.")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            scheduler.step()
            elapsed = time.perf_counter() - tick
            seconds += elapsed
            loss_value = float(loss.detach())
            record = {"loss": loss_value, "lr": scheduler.get_last_lr()[0],
                      "samples_per_s": config.batch_size / elapsed}
            log.write(json.dumps({"step": step + 1, **record}) + "\n")
            if board is not None:
                for name, value in record.items():
                    board.add_scalar(f"train/{name}", value, step + 1)
            bar.set_postfix(loss=f"{loss_value:.4f}")
            if (step + 1) in execution.keep_checkpoints_at:
                save_checkpoint(kept_checkpoint_path(run_dir, step + 1), checkpoint_state(step + 1))
            if (step + 1) % execution.checkpoint_every == 0 or step + 1 == config.steps or interrupts.pending:
                checkpoint(step + 1)
                if board is not None:
                    board.flush()
            interrupts.raise_pending(f"checkpoint written at step {step + 1} of {config.steps}")
    return TrainResult(checkpoint_path, config.steps, seconds, loss_value)


def kept_checkpoint_path(run_dir: str | os.PathLike[str], step: int) -> Path:
    """Where ``keep_checkpoints_at`` keeps the snapshot of ``step``."""
    return Path(run_dir) / f"checkpoint-step{step}.pt"


def _open_tensorboard(run_dir: Path, start: int) -> SummaryWriter:
    """A SummaryWriter on ``<run_dir>/tensorboard``; on resume, events past ``start`` are purged."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(run_dir / "tensorboard"), purge_step=start + 1 if start else None)


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (written after the checkpoint a resumed run starts from)."""
    if not path.is_file():
        return
    lines = [line for line in path.read_text().splitlines()
             if line.strip() and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in lines))
