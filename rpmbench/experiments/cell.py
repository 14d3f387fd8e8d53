"""The spine: :func:`run_cell` turns one :class:`~rpmbench.experiments.spec.CellSpec` into one result.

Model cells train (or resume, or reuse the finished training run of a spec that differs only in
its propagation protocol: train once, propagate N ways), propagate the split's first-frame masks
and score them; baselines propagate and score. ``run-grid`` (through :func:`run_job`) and
``train --evidence-seeds`` both call it.

Every step keeps its state under ``paths.scratch``, so a job killed at any moment resumes where it
stopped: training from its last checkpoint; the predictions folder only appears once complete;
scoring is recomputed. The result JSON is published last, atomically.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rpmbench.atomic import atomic_directory, atomic_write_json
from rpmbench.experiments.spec import CellSpec, Paths, Work
from rpmbench.experiments.store import RunStore
from rpmbench.provenance import run_metadata, sha256_file

SCHEMA_VERSION = 2


def run_cell(spec: CellSpec, paths: Paths, work: Work) -> dict[str, Any]:
    """Compute ``spec``'s result payload (J/F, speed, provenance, the spec itself)."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(work.threads or previous_threads)
    try:
        if spec.train is None:
            return _run_baseline(spec, paths, work)
        return _run_model(spec, paths, work)
    finally:
        torch.set_num_threads(previous_threads)


def trained_model(spec: CellSpec, paths: Paths, work: Work) -> tuple[Any, Any, Any]:
    """(model, its TrainConfig, the TrainResult) of ``spec``: the training run's last checkpoint,
    or its ``snapshot`` (0: the seeded initial model)."""
    from rpmbench.errors import DataError
    from rpmbench.training import TrainResult, load_checkpoint_model, train
    from rpmbench.training.checkpoint import read_checkpoint
    from rpmbench.training.loop import build_training, kept_checkpoint_path

    config = spec.train
    execution = work.training
    if spec.snapshot:  # a snapshot spec also keeps its step's checkpoint
        execution = dataclasses.replace(execution, keep_checkpoints_at=tuple(
            sorted({*execution.keep_checkpoints_at, spec.snapshot})))
    run_dir = paths.scratch / str(spec.training_stem) / "train"
    trained = train(config, run_dir, paths.train_roots, execution, resume=True, progress=work.progress,
                    layouts={paths.davis_root: spec.data.layout})
    if spec.snapshot is None:
        return (*load_checkpoint_model(trained.checkpoint), trained)
    if spec.snapshot == 0:
        return build_training(config)[0], config, TrainResult(trained.checkpoint, 0, 0.0, math.nan)
    path = kept_checkpoint_path(run_dir, spec.snapshot)
    if not path.is_file():
        raise DataError(f"{path}: the training run finished without keeping its step-{spec.snapshot} "
                        f"snapshot; delete {run_dir} and rerun to train it again with the snapshot kept")
    state = read_checkpoint(path)
    return (*load_checkpoint_model(path), TrainResult(path, spec.snapshot, state["seconds"], state["loss"]))


def _run_model(spec: CellSpec, paths: Paths, work: Work) -> dict[str, Any]:
    from rpmbench.inference.propagate import propagate_dataset
    from rpmbench.models import count_parameters

    phase(spec, work, "train")
    model, trained_config, trained = trained_model(spec, paths, work)
    propagation = spec.propagation
    if propagation.colour_space is None:  # the model's own colour space, from its checkpoint
        propagation = dataclasses.replace(propagation, colour_space=trained_config.colour_space)
    phase(spec, work, "propagate")
    stats = _propagate_once(paths.scratch / spec.stem, lambda out: propagate_dataset(
        model, paths.davis_root, spec.data.split, out, propagation, progress=work.progress, layout=spec.data.layout))
    _write_overlays(spec, paths, work)
    phase(spec, work, "score")
    scores = _score(spec, paths)
    height, width = _frame_size(paths.davis_root, spec.data.split, propagation.scale, spec.data.layout)
    checkpoint = None if spec.snapshot == 0 else trained.checkpoint  # snapshot 0: built from the seed
    return {
        **_common(spec, scores, stats, checkpoint),
        **_model_flow_metrics(spec, paths, model, propagation),
        **{key: getattr(spec.train.model, key) for key in ("backbone", "matching", "layers", "dilation")},
        "parameters": count_parameters(model),
        "flops_per_frame": flops_per_frame(model, height, width),
        "flops_size": [height, width],
        "train_steps": trained.steps,
        **({"snapshot": spec.snapshot} if spec.snapshot is not None else {}),
        "train_seconds": trained.seconds,
        "final_loss": trained.final_loss,
    }


def _run_baseline(spec: CellSpec, paths: Paths, work: Work) -> dict[str, Any]:
    from rpmbench.inference.baselines import run_baseline

    phase(spec, work, "propagate")
    stats = _propagate_once(paths.scratch / spec.stem, lambda out: run_baseline(
        spec.method.partition("@")[0], paths.davis_root, spec.data.split, out, spec.propagation,
        progress=work.progress, layout=spec.data.layout))
    _write_overlays(spec, paths, work)
    phase(spec, work, "score")
    return {**_common(spec, _score(spec, paths), stats), **_baseline_flow_metrics(spec, paths)}


def _model_flow_metrics(spec: CellSpec, paths: Paths, model: Any, propagation: Any) -> dict[str, Any]:
    """``flow_metrics`` (and a ``corr`` model's ``base_flow_metrics``) against the set's ground-truth
    flow, and the training loss of the learned, true and zero flows on val (``photometric_loss``),
    for a protocol that moves masks by the flow alone; nothing where the set has no truth."""
    from rpmbench import registry
    from rpmbench.evaluation.flow import has_ground_truth_flow, score_flow
    from rpmbench.inference.flows import model_flows

    if not (has_ground_truth_flow(paths.davis_root) and registry.warps_by_flow(spec.protocol)):
        return {}
    layout = spec.data.layout
    metrics: dict[str, Any] = {"flow_metrics": score_flow(paths.davis_root, spec.data.split,
                                                          lambda frames: model_flows(model, frames, propagation), layout)}
    if propagation.scale == 1:
        from rpmbench.experiments.objective import photometric_losses

        metrics["photometric_loss"] = photometric_losses(model, spec.train, paths.davis_root, spec.data.split,
                                                         propagation, layout)
    if model.matching.has_base_flow:
        metrics["base_flow_metrics"] = score_flow(
            paths.davis_root, spec.data.split, lambda frames: model_flows(model, frames, propagation, base_only=True),
            layout)
    return metrics


def _baseline_flow_metrics(spec: CellSpec, paths: Paths) -> dict[str, Any]:
    """``flow_metrics`` of a baseline that moves masks by a flow (its registry entry's ``flows``)."""
    from rpmbench import registry
    from rpmbench.evaluation.flow import has_ground_truth_flow, score_flow

    entry = registry.baseline(spec.method.partition("@")[0])
    if entry.flows is None or not has_ground_truth_flow(paths.davis_root):
        return {}
    flows = registry.resolve(entry.flows)
    return {"flow_metrics": score_flow(paths.davis_root, spec.data.split, lambda frames: flows(frames, spec.propagation),
                                       spec.data.layout)}


def phase(spec: CellSpec, work: Work, name: str) -> None:
    """With ``work.progress``, one stderr line as a result enters a phase (``train``, ``propagate``,
    ``score``, ``published``): ``[<stem>] <name>``."""
    if work.progress:
        from tqdm import tqdm

        tqdm.write(f"[{spec.stem}] {name}", file=sys.stderr)  # above any progress bar, on a line of its own


def _write_overlays(spec: CellSpec, paths: Paths, work: Work) -> None:
    """With ``work.overlays``: a contact sheet and a GIF per sequence of ``spec``'s predictions."""
    if work.overlays is None:
        return
    from rpmbench.viz.overlay import write_overlays

    write_overlays(paths.davis_root, spec.data.split, paths.scratch / spec.stem / "predictions",
                   Path(work.overlays) / spec.method, layout=spec.data.layout)


def _propagate_once(work: Path, propagate: Callable[[Path], Any]) -> dict[str, float]:
    """Predictions under ``work/predictions`` (complete or absent) and their speed stats."""
    predictions = work / "predictions"
    stats_file = predictions / "propagation.json"
    if not stats_file.is_file():
        with atomic_directory(predictions) as tmp:
            stats = propagate(tmp)
            atomic_write_json(tmp / "propagation.json", {
                "frames": int(stats.frames), "seconds": float(stats.seconds), "fps": float(stats.fps)})
    return json.loads(stats_file.read_text())


def _score(spec: CellSpec, paths: Paths) -> Any:
    from rpmbench.evaluation import evaluate_results

    work = paths.scratch / spec.stem
    return evaluate_results(paths.davis_root, work / "predictions", split=spec.data.split,
                            workers=1, output_dir=work / "scores", progress=False, layout=spec.data.layout)


def result_provenance(spec: CellSpec, checkpoint: Path | None = None) -> dict[str, Any]:
    """Command line, commit, versions, CPU threads and the devices that made ``spec``'s numbers
    (training and propagation can run on different ones; ``device`` names where the masks were
    propagated), and ``checkpoint_sha256``, the sha256 of the ``checkpoint`` file whose weights
    propagated them (model cells; none for the untrained snapshot 0).

    Fields were added over time (``command``, ``cpu``, ``checkpoint_sha256``: schema 2 results
    committed before them lack them); readers use ``.get``."""
    devices = {"propagation": spec.propagation.device}
    if spec.train is not None:
        devices["train"] = spec.train.device
    provenance = {**run_metadata(spec.propagation.device), "devices": devices,
                  "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if checkpoint is not None:
        provenance["checkpoint_sha256"] = sha256_file(checkpoint)
    return provenance


def _common(spec: CellSpec, scores: Any, stats: dict[str, float], checkpoint: Path | None = None) -> dict[str, Any]:
    """Fields shared by model cells and baselines (``checkpoint``: the weights a model cell used)."""
    return {
        "schema": SCHEMA_VERSION,
        "cell": spec.method,
        "kind": spec.kind,
        "protocol": spec.protocol,
        "seed": spec.seed,
        "config_hash": spec.hash,
        "metrics": {key: float(value) for key, value in scores.global_metrics.items()},
        "per_sequence": [
            {"sequence": str(line["Sequence"]), "J": round(float(line["J-Mean"]), 6),
             "F": round(float(line["F-Mean"]), 6)}
            for _, line in scores.per_object.iterrows()
        ],
        "per_frame": per_frame_columns(scores.per_frame),
        "inference_fps": stats["fps"],
        "inference_frames": stats["frames"],
        "config": spec.to_dict(),
        "provenance": result_provenance(spec, checkpoint),
    }


def per_frame_columns(per_frame: Any) -> dict[str, list[Any]]:
    """Every scored object-frame's J and F as column lists (``sequence``, ``object``, ``frame``,
    ``J``, ``F``; scores rounded to 6 digits), for J-over-time plots (:mod:`rpmbench.viz.over_time`)."""
    return {
        "sequence": [str(value) for value in per_frame["sequence"]],
        "object": [int(value) for value in per_frame["object"]],
        "frame": [str(value) for value in per_frame["frame"]],
        "J": [round(float(value), 6) for value in per_frame["J"]],
        "F": [round(float(value), 6) for value in per_frame["F"]],
    }


def _frame_size(davis_root: Path, split: str, scale: float, layout: str) -> tuple[int, int]:
    """(H, W) the network sees: the first frame of ``split`` (read as ``layout``) resized by the
    propagation scale."""
    from PIL import Image

    from rpmbench.data.layouts import open_split

    dataset = open_split(davis_root, split, layout)
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


# --- run-grid: a job is the specs that share one training run -----------------------------------


@dataclass(frozen=True)
class CellJob:
    """Specs computed together: one trained model's protocols, or one baseline (picklable)."""

    specs: tuple[CellSpec, ...]

    @property
    def label(self) -> str:
        """What a progress bar shows: the first spec's method."""
        return self.specs[0].method


@dataclass(frozen=True)
class RunContext:
    """What every job of one run shares (picklable: sent to worker processes and Slurm jobs)."""

    run_dir: Path
    davis_root: Path
    train_roots: tuple[str, ...]
    preset: str
    work: Work = Work()
    keep_work: bool = False


def run_job(job: CellJob, context: RunContext) -> list[dict[str, Any]]:
    """The payloads of ``job``'s specs, computing and publishing those not yet published.

    The shared training run and each spec's predictions are removed once all are published
    (unless ``keep_work``).
    """
    store = RunStore(context.run_dir)
    paths = Paths(context.davis_root, context.train_roots, store.work)
    payloads = []
    for spec in job.specs:
        payload = store.read_result(spec.stem)
        if payload is None:
            payload = {**run_cell(spec, paths, context.work), "preset": context.preset}
            store.publish_json(store.result_path(spec.stem), payload)
            phase(spec, context.work, "published")
        payloads.append(payload)
    if not context.keep_work:
        for name in {*(spec.stem for spec in job.specs), *(s.training_stem for s in job.specs if s.train)}:
            shutil.rmtree(store.work / name, ignore_errors=True)
    return payloads


def group_jobs(specs: Sequence[CellSpec]) -> list[CellJob]:
    """Specs sharing a training run in one job, in the order of their first spec."""
    groups: dict[str, list[CellSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.training_stem or spec.stem, []).append(spec)
    return [CellJob(tuple(group)) for group in groups.values()]
