"""Run one grid job: train -> propagate val -> score -> one result JSON (or a baseline).

Each step keeps its state in the job's work dir, so a job killed at any moment resumes where it
stopped: training from its last checkpoint, propagation is redone from the trained weights (its
predictions folder only appears once complete), scoring is recomputed. The result JSON is the
last thing written, atomically; the work dir is removed afterwards unless ``keep_work``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rpmbench.atomic import atomic_directory, atomic_write_json
from rpmbench.grid.plan import CellJob
from rpmbench.grid.store import RunStore
from rpmbench.provenance import run_metadata

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunContext:
    """What every job of one run shares (picklable: sent to worker processes and Slurm jobs)."""

    run_dir: Path
    davis_root: Path
    train_roots: tuple[str, ...]
    preset: str
    keep_work: bool = False
    progress: bool = True
    threads: int | None = None  # torch threads while the job runs; None: leave as is


def run_job(job: CellJob, context: RunContext) -> dict[str, Any]:
    """The job's result payload, computing and publishing it unless it already exists."""
    store = RunStore(context.run_dir)
    existing = store.read_result(job.stem)
    if existing is not None:
        return existing
    work = store.work_dir(job.stem)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(context.threads or previous_threads)
    try:
        if job.kind == "baseline":
            payload = _run_baseline(job, context, work)
        else:
            payload = _run_model(job, context, work)
    finally:
        torch.set_num_threads(previous_threads)
    store.publish_json(store.result_path(job.stem), payload)
    if not context.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return payload


def _run_model(job: CellJob, context: RunContext, work: Path) -> dict[str, Any]:
    from rpmbench.models import count_parameters
    from rpmbench.propagation import PropagationConfig, propagate_dataset
    from rpmbench.training import TrainConfig, load_checkpoint_model, train

    config = TrainConfig.from_dict(job.config["train"])
    # The machine's data paths are filled in here; they are not part of the config hash.
    config = dataclasses.replace(config, data_roots=list(context.train_roots))
    train_dir = work / "train"
    trained = train(config, train_dir, resume=True, progress=context.progress)
    model, _ = load_checkpoint_model(trained.checkpoint)
    propagation = PropagationConfig(**job.config["propagation"])
    stats = _propagate_once(
        work, lambda out: propagate_dataset(model, context.davis_root, job.config["data"]["split"],
                                            out, propagation, progress=context.progress))
    scores = _score(job, context, work)
    height, width = _frame_size(context.davis_root, job.config["data"]["split"], propagation.scale)
    return {
        **_common(job, context, scores, stats, config.device),
        **_model_fields(job),
        "parameters": count_parameters(model),
        "flops_per_frame": flops_per_frame(model, height, width),
        "flops_size": [height, width],
        "train_steps": trained.steps,
        "train_seconds": trained.seconds,
        "final_loss": trained.final_loss,
    }


def _run_baseline(job: CellJob, context: RunContext, work: Path) -> dict[str, Any]:
    from rpmbench.baselines import run_baseline

    stats = _propagate_once(
        work, lambda out: run_baseline(job.cell_id, context.davis_root,
                                       job.config["data"]["split"], out, progress=context.progress))
    return _common(job, context, _score(job, context, work), stats, "cpu")


def _propagate_once(work: Path, propagate: Any) -> dict[str, float]:
    """Predictions under ``work/predictions`` (complete or absent) and their speed stats."""
    predictions = work / "predictions"
    stats_file = predictions / "propagation.json"
    if not stats_file.is_file():
        with atomic_directory(predictions) as tmp:
            stats = propagate(tmp)
            atomic_write_json(tmp / "propagation.json", {
                "frames": int(stats.frames), "seconds": float(stats.seconds), "fps": float(stats.fps)})
    return json.loads(stats_file.read_text())


def _score(job: CellJob, context: RunContext, work: Path) -> Any:
    from rpmbench.evaluation import evaluate_results

    return evaluate_results(context.davis_root, work / "predictions", split=job.config["data"]["split"],
                            workers=1, output_dir=work / "scores", progress=False)


def _common(job: CellJob, context: RunContext, scores: Any, stats: dict[str, float],
            device: str) -> dict[str, Any]:
    """Fields shared by model cells and baselines."""
    per_sequence = scores.per_object
    return {
        "schema": SCHEMA_VERSION,
        "cell": job.cell_id,
        "kind": job.kind,
        "seed": job.seed,
        "config_hash": job.hash,
        "preset": context.preset,
        "metrics": {key: float(value) for key, value in scores.global_metrics.items()},
        "per_sequence": [
            {"sequence": str(line["Sequence"]), "J": round(float(line["J-Mean"]), 6),
             "F": round(float(line["F-Mean"]), 6)}
            for _, line in per_sequence.iterrows()
        ],
        "inference_fps": stats["fps"],
        "inference_frames": stats["frames"],
        "config": job.config,
        "provenance": {**run_metadata(device), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                           time.gmtime())},
    }


def _model_fields(job: CellJob) -> dict[str, Any]:
    model = job.config["train"]["model"]
    return {key: model[key] for key in ("backbone", "matching", "layers", "dilation")}


def _frame_size(davis_root: Path, split: str, scale: float) -> tuple[int, int]:
    """(H, W) the network sees: the first frame of ``split`` resized by the propagation scale."""
    from PIL import Image

    from rpmbench.data.davis import DavisDataset

    dataset = DavisDataset(davis_root, split=split)
    with Image.open(dataset.frame_paths(dataset.sequences[0])[0]) as image:
        width, height = image.size
    return round(height * scale), round(width * scale)


def flops_per_frame(model: torch.nn.Module, height: int, width: int) -> int:
    """FLOPs of propagating one frame: one embedding pass and one matching pass (2 channels).

    Counted by ``torch.utils.flop_counter.FlopCounterMode``; operators it has no formula for
    (e.g. the bilinear sampling inside deformable convolution) count as zero.
    """
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    frame = torch.zeros(1, 3, height, width, device=device)
    with torch.no_grad():
        features = model.embed(frame)
        payload = torch.zeros(1, 2, *features.shape[-2:], device=device)
        counter = FlopCounterMode(display=False)
        with counter:
            target = model.embed(frame)
            model.match(target, features, payload)
    return int(counter.get_total_flops())
