"""What Figure 2 shows, in numbers: deformable offsets and layer 109's correspondence error.

The models are cell specs through the spine (:func:`rpmbench.experiments.studies.curves.plan_curves`:
one training run per matching variant and seed, seen at several steps as snapshots), loaded by
:func:`~rpmbench.experiments.cell.trained_model`; each spec's val J&F is its published cell result
(:func:`~rpmbench.experiments.cell.run_job`). Per model, over every frame pair (t-1, t) of the
split, at native resolution (the analysis's geometry is the frame's):

- per deformable matching layer 106.., the magnitude of the learned offset of every kernel tap of
  every feature pixel (the distance from the tap's regular 3x3 grid position to where it samples;
  standard and dilated convolutions have none, so they get no row);
- for layer 109, the distance between where it samples frame t-1 for a feature pixel ``p`` of
  object ``k`` in frame t (``p + flow(p)``) and ``p``'s true correspondence, taken from the
  ground-truth masks' motion: ``p - (c_t - c_{t-1})`` with ``c`` the object's mask centroid. That is
  exact for translation and approximate under rotation, scaling or non-rigid motion, and it breaks
  under occlusion or when the object leaves the frame, so pairs whose mask area changes by more than
  ``area_tolerance`` are skipped. The same distance for zero flow (copy-previous) is reported beside
  it: the learned flow helps where its error is the smaller.

Where the set stores ground-truth flow (the built-in sets), each model also gets layer 109's exact
end-point error from its published cell result (``flow_metrics``: mean over valid object pixels),
which supersedes the centroid estimate.

All distances are in image pixels (4 per feature pixel). Rows are cached per spec under
``run_dir/offsets/``, so a rerun neither retrains nor remeasures; :mod:`rpmbench.viz.offsets`
renders the table.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rpmbench import registry
from rpmbench.atomic import atomic_path, atomic_write_json
from rpmbench.data.flow import FEATURE_STRIDE
from rpmbench.experiments.presets import GridConfig
from rpmbench.experiments.spec import CellSpec, Paths, Work, config_hash
from rpmbench.ops import DeformConv2dPack, sampling_locations

#: The first matching layer's number in Table 1 (106, 107, 108 for three layers; 109 warps).
FIRST_LAYER = 106
JF_MEASURE = "val J&F (percent)"
EPE_MEASURE = "end-point error against the ground-truth flow"


def offset_magnitudes(sampling: Tensor) -> Tensor:
    """``(1, 9, h, w, 2)`` sampling locations of a 3x3 layer with dilation 1 -> ``(9 * h * w,)``
    distances (feature pixels) from each tap's regular grid position."""
    _, taps, h, w, _ = sampling.shape
    regular = sampling_locations(sampling.new_zeros(1, 2 * taps, h, w), 3, 1, 1, 1)[:, 0]
    return (sampling - regular).norm(dim=-1).flatten()


def centroid_motion(previous: np.ndarray, current: np.ndarray, area_tolerance: float) -> np.ndarray | None:
    """``(dy, dx)`` motion (image pixels) of the centroid of boolean mask ``previous`` -> ``current``,
    or ``None`` when either is empty or the area changes by more than ``area_tolerance`` (relative)."""
    a, b = previous.sum(), current.sum()
    if a == 0 or b == 0 or abs(b - a) > area_tolerance * a:
        return None
    return np.argwhere(current).mean(axis=0) - np.argwhere(previous).mean(axis=0)


def object_feature_pixels(mask: np.ndarray) -> np.ndarray:
    """``(N, 2)`` feature pixels whose 4x4 image block is mostly inside boolean ``mask (H, W)``."""
    height, width = mask.shape
    h, w = -(-height // FEATURE_STRIDE), -(-width // FEATURE_STRIDE)
    padded = np.zeros((h * FEATURE_STRIDE, w * FEATURE_STRIDE), bool)
    padded[:height, :width] = mask
    return np.argwhere(padded.reshape(h, FEATURE_STRIDE, w, FEATURE_STRIDE).mean(axis=(1, 3)) >= 0.5)


def correspondence_errors(warp: Tensor, previous: np.ndarray, current: np.ndarray,
                          area_tolerance: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Layer 109's and zero flow's distances (image pixels) to the true correspondence.

    Args:
        warp: layer 109's sampling locations ``(1, 1, h, w, 2)`` for frame t.
        previous, current: ``(H, W)`` ground-truth ids of frames t-1 and t (void = 255 ignored).

    Returns:
        Two ``(N,)`` arrays over the object feature pixels of frame t (all objects whose motion
        :func:`centroid_motion` accepts): learned and zero-flow distances.
    """
    learned, zero = [], []
    for object_id in np.unique(current):
        if object_id in (0, 255):
            continue
        motion = centroid_motion(previous == object_id, current == object_id, area_tolerance)
        if motion is None:
            continue
        pixels = object_feature_pixels(current == object_id)
        if len(pixels) == 0:
            continue
        sampled = warp[0, 0, pixels[:, 0], pixels[:, 1]].double().numpy()  # (N, 2) feature coords
        truth = pixels - motion / FEATURE_STRIDE
        learned.append(np.linalg.norm(sampled - truth, axis=1) * FEATURE_STRIDE)
        zero.append(np.full(len(pixels), np.linalg.norm(motion)))
    if not learned:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(learned), np.concatenate(zero)


def measure_model(model: Any, propagation: Any, root: str | Path, split: str,
                  area_tolerance: float = 0.2, layout: str = registry.DEFAULT_LAYOUT) -> list[dict[str, object]]:
    """Rows ``{layer, measure, mean_px, p90_px, count}`` of ``model`` over ``split`` of ``root``:
    each deformable layer's offset magnitudes, then layer 109's and zero flow's distances to the
    true correspondence (sampling locations from :func:`rpmbench.inference.flows.model_sampling`)."""
    from rpmbench.data.layouts import open_split
    from rpmbench.inference.flows import model_sampling

    dataset = open_split(root, split, layout)
    deformable = [index for index, conv in enumerate(model.matching.convs) if isinstance(conv, DeformConv2dPack)]
    offsets: dict[int, list[Tensor]] = {index: [] for index in deformable}
    learned, zero = [], []
    for sequence in dataset.sequences:
        frames, annotations = dataset.read_frames(sequence), dataset.read_annotations(sequence)
        for t, layers in enumerate(model_sampling(model, frames, propagation), start=1):
            *matching, warp = layers
            for index in deformable:
                offsets[index].append(offset_magnitudes(matching[index]) * FEATURE_STRIDE)
            errors = correspondence_errors(warp, annotations[t - 1], annotations[t], area_tolerance)
            learned.append(errors[0])
            zero.append(errors[1])
    rows = [_summary(f"{FIRST_LAYER + index}", "offset magnitude", torch.cat(values).double().numpy())
            for index, values in offsets.items()]
    rows.append(_summary("109", "distance to true correspondence", np.concatenate(learned)))
    rows.append(_summary("109", "distance to true correspondence, zero flow", np.concatenate(zero)))
    return rows


def _summary(layer: str, measure: str, values: np.ndarray) -> dict[str, object]:
    return {"layer": layer, "measure": measure, "mean_px": float(values.mean()),
            "p90_px": float(np.quantile(values, 0.9)), "count": int(values.size)}


def _measure_spec(spec: CellSpec, paths: Paths, work: Work, area_tolerance: float) -> list[dict[str, object]]:
    """:func:`measure_model` of ``spec``'s trained model, propagated in its own colour space at scale 1."""
    from rpmbench.experiments.cell import trained_model

    model, trained_config, _ = trained_model(spec, paths, work)
    colour_space = spec.propagation.colour_space or trained_config.colour_space
    propagation = dataclasses.replace(spec.propagation, colour_space=colour_space, scale=1.0)
    return measure_model(model.eval(), propagation, paths.davis_root, spec.data.split, area_tolerance,
                         spec.data.layout)


def _cached(path: Path, measure: Callable[[], list[dict[str, object]]]) -> list[dict[str, object]]:
    """The rows stored at ``path``, or measured and stored there."""
    if path.is_file():
        return json.loads(path.read_text())["rows"]
    rows = measure()
    atomic_write_json(path, {"rows": rows})
    return rows


def offsets_table(grid: GridConfig, variants: list[str], seeds: list[int], steps: list[int], run_dir: Path,
                  area_tolerance: float = 0.2, progress: bool = True) -> pd.DataFrame:
    """One block of rows per (variant, seed, step) of ``grid``'s first backbone, data and recipe
    (``max(steps)`` training steps, the others snapshots): the spec's published val J&F, then
    :func:`measure_model`'s rows; columns ``variant, layer, measure, mean_px, p90_px, count,
    matching, layers, backbone, steps, seed``."""
    from rpmbench.experiments.cell import RunContext, group_jobs, run_job
    from rpmbench.experiments.plan import grid_work
    from rpmbench.experiments.runner import grid_paths
    from rpmbench.experiments.store import RunStore
    from rpmbench.experiments.studies.curves import plan_curves

    specs = [spec for spec in plan_curves(grid, variants, seeds, steps) if spec.train is not None]
    store = RunStore(run_dir)
    paths = grid_paths(grid, store.work, progress)
    work = grid_work(grid, progress=progress)
    snapshots = tuple(sorted({spec.snapshot for spec in specs if spec.snapshot}))
    work = dataclasses.replace(work, training=dataclasses.replace(work.training, keep_checkpoints_at=snapshots))
    context = RunContext(store.root, paths.davis_root, paths.train_roots, f"offsets:{grid.name}", work,
                         grid.keep_work)
    key = config_hash({"area_tolerance": area_tolerance, "scale": 1.0})
    frames = []
    for job in group_jobs(specs):  # measured first: run_job removes the training run once published
        measured = [_cached(run_dir / "offsets" / f"{spec.stem}-{key}.json",
                            lambda spec=spec: _measure_spec(spec, paths, work, area_tolerance)) for spec in job.specs]
        for spec, rows, result in zip(job.specs, measured, run_job(job, context)):
            model = spec.train.model
            score = {"layer": "-", "measure": JF_MEASURE, "mean_px": 100 * float(result["metrics"]["J&F-Mean"]),
                     "p90_px": float("nan"), "count": len(set(result["per_frame"]["sequence"]))}
            if "flow_metrics" in result:
                flow = result["flow_metrics"]
                rows = [*rows, {"layer": "109", "measure": EPE_MEASURE, "mean_px": float(flow["epe_image_px"]),
                                "p90_px": float("nan"), "count": int(flow["pixels"])}]
            block = pd.DataFrame([score, *rows]).assign(
                matching=model.matching, layers=model.layers, backbone=model.backbone,
                steps=spec.snapshot if spec.snapshot is not None else spec.train.steps, seed=spec.seed)
            block.insert(0, "variant", spec.method.split("-", 1)[1])
            frames.append(block)
            if progress:
                print(f"offsets: {spec.method} seed {spec.seed} step {block['steps'].iloc[0]} measured", flush=True)
    store.clean_staging()
    return pd.concat(frames, ignore_index=True)


def offsets_study(grid: GridConfig, variants: list[str], seeds: list[int], steps: list[int], run_dir: Path,
                  output: Path, area_tolerance: float = 0.2, progress: bool = True) -> pd.DataFrame:
    """:func:`offsets_table` written as ``output.csv`` and ``output.md``; returns the table."""
    from rpmbench.viz.offsets import to_markdown

    table = offsets_table(grid, variants, seeds, steps, run_dir, area_tolerance, progress)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output.with_suffix(".csv")) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(output.with_suffix(".md")) as tmp:
        tmp.write_text(to_markdown(table))
    return table
