"""What Figure 2 shows, in numbers: deformable offsets and layer 109's correspondence error.

Per trained checkpoint, over every frame pair (t-1, t) of the val split:

- per matching layer 106..108, the magnitude of the learned offset of every kernel tap of every
  feature pixel (the distance from the tap's regular 3x3 grid position to where it samples; zero
  by construction for standard and dilated convolutions);
- for layer 109, the distance between where it samples frame t-1 for a feature pixel ``p`` of
  object ``k`` in frame t (``p + flow(p)``) and ``p``'s true correspondence, taken from the
  ground-truth masks' motion: ``p - (c_t - c_{t-1})`` with ``c`` the object's mask centroid. That is
  exact for translation and approximate under rotation, scaling or non-rigid motion, and it breaks
  under occlusion or when the object leaves the frame, so pairs whose mask area changes by more than
  ``area_tolerance`` are skipped. The same distance for zero flow (copy-previous) is reported beside
  it: the learned flow helps where its error is the smaller.

All distances are in image pixels (4 per feature pixel). The checkpoint's val J&F (percent, the
paper's propagation) is reported beside them.

Command (the committed ``results/figures/offsets.{csv,md}``)::

    python -m rpmbench.viz.offsets --checkpoint deformable-l3=PATH --checkpoint standard-l3=PATH \\
        --out results/figures/offsets
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rpmbench.data.flow import FEATURE_STRIDE
from rpmbench.errors import ConfigError
from rpmbench.ops import sampling_locations
from rpmbench.viz.figure2 import load_model


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


def measure_checkpoint(checkpoint: str | Path, root: str | Path, split: str = "val",
                       area_tolerance: float = 0.2) -> list[dict[str, object]]:
    """Rows ``{layer, measure, mean_px, p90_px, count}`` for one checkpoint over ``split`` of ``root``."""
    from rpmbench.data.davis import DavisDataset, write_sequence_predictions
    from rpmbench.evaluation import evaluate_results
    from rpmbench.inference.propagate import PropagationConfig, propagate_sequence

    trained = load_model(checkpoint)
    with tempfile.TemporaryDirectory() as predictions:
        dataset = DavisDataset(root, split)
        offsets: dict[int, list[Tensor]] = {}
        learned, zero = [], []
        for sequence in dataset.sequences:
            frames, annotations = dataset.read_frames(sequence), dataset.read_annotations(sequence)
            out = propagate_sequence(trained.model, frames, annotations[0],
                                     PropagationConfig(colour_space=trained.colour_space), return_sampling=True)
            write_sequence_predictions(predictions, sequence, out.masks,
                                       [path.stem for path in dataset.frame_paths(sequence)])
            for t, layers in enumerate(out.sampling, start=1):
                *matching, warp = layers
                for index, layer in enumerate(matching):
                    offsets.setdefault(106 + index, []).append(offset_magnitudes(layer) * FEATURE_STRIDE)
                errors = correspondence_errors(warp, annotations[t - 1], annotations[t], area_tolerance)
                learned.append(errors[0])
                zero.append(errors[1])
        scores = evaluate_results(root, predictions, split, progress=False).global_metrics
    rows = [{"layer": "-", "measure": "val J&F (percent)", "mean_px": 100 * float(scores["J&F-Mean"]),
             "p90_px": float("nan"), "count": len(dataset.sequences)}]
    if trained.matching == "deformable":
        for layer, values in offsets.items():
            rows.append(_summary(f"{layer}", "offset magnitude", torch.cat(values).double().numpy()))
    rows.append(_summary("109", "distance to true correspondence", np.concatenate(learned)))
    rows.append(_summary("109", "distance to true correspondence, zero flow", np.concatenate(zero)))
    for row in rows:
        row.update(matching=trained.matching, layers=trained.layers, backbone=trained.backbone,
                   steps=trained.step, seed=trained.seed)
    return rows


def _summary(layer: str, measure: str, values: np.ndarray) -> dict[str, object]:
    return {"layer": layer, "measure": measure, "mean_px": float(values.mean()),
            "p90_px": float(np.quantile(values, 0.9)), "count": int(values.size)}


def offsets_table(checkpoints: Sequence[tuple[str, str | Path]], root: str | Path, split: str = "val",
                  area_tolerance: float = 0.2) -> pd.DataFrame:
    """One block of rows per ``(name, path)`` checkpoint (``variant`` column = its name; a name may
    repeat, e.g. for several seeds or steps of one variant)."""
    frames = []
    for name, path in checkpoints:
        rows = pd.DataFrame(measure_checkpoint(path, root, split, area_tolerance))
        rows.insert(0, "variant", name)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def to_markdown(table: pd.DataFrame) -> str:
    """One line per variant and seed: val J&F, mean / p90 per deformable layer, then layer 109 vs zero
    flow (distances in image pixels)."""
    lines = ["| variant | seed | steps | val J&F | layer 106 offset | layer 107 offset | layer 108 offset "
             "| layer 109 to true correspondence | zero flow to true correspondence |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (variant, seed, steps), part in table.groupby(["variant", "seed", "steps"], sort=False):
        def cell(layer: str, measure: str) -> str:
            hit = part[(part["layer"] == layer) & (part["measure"] == measure)]
            return "-" if hit.empty else f"{hit['mean_px'].iloc[0]:.2f} / {hit['p90_px'].iloc[0]:.2f}"
        offsets = [cell(str(layer), "offset magnitude") for layer in (106, 107, 108)]
        score = part[part["measure"] == "val J&F (percent)"]["mean_px"]
        jf = "-" if score.empty else f"{score.iloc[0]:.1f}"
        lines.append(f"| {variant} | {seed} | {steps} | {jf} | " + " | ".join(offsets)
                     + f" | {cell('109', 'distance to true correspondence')}"
                     + f" | {cell('109', 'distance to true correspondence, zero flow')} |")
    return "\n".join(lines) + "\n"


def _named_checkpoint(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise ConfigError(f"--checkpoint {text!r}: write NAME=PATH, e.g. deformable-l3=runs/x/checkpoint.pt")
    if not Path(path).is_file():
        raise ConfigError(f"--checkpoint {text!r}: {path} is not a file; train one with `python -m rpmbench train`")
    return name, path


def main(argv: Sequence[str] | None = None) -> None:
    """Measure offsets and layer 109's correspondence error for named checkpoints."""
    from rpmbench.data.builtin import ensure_builtin_dataset

    parser = argparse.ArgumentParser(prog="python -m rpmbench.viz.offsets", description=main.__doc__)
    parser.add_argument("--checkpoint", action="append", required=True, type=_named_checkpoint,
                        help="NAME=PATH (repeatable)")
    parser.add_argument("--out", required=True, help="output stem: writes STEM.csv and STEM.md")
    parser.add_argument("--root", help="DAVIS-layout data root (default: the built-in small set)")
    parser.add_argument("--area-tolerance", type=float, default=0.2)
    args = parser.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    root = Path(args.root) if args.root else ensure_builtin_dataset(progress=False)
    table = offsets_table(args.checkpoint, root, area_tolerance=args.area_tolerance)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv"), index=False, float_format="%.4f")
    out.with_suffix(".md").write_text(to_markdown(table))
    print(to_markdown(table))


if __name__ == "__main__":
    main()
