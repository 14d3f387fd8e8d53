"""Score a results folder against a DAVIS-2017-layout root, like the official evaluation.

Protocol (semi-supervised): sequences in split-file order; frames = the sorted annotation PNGs,
of which the first and the last are not scored; objects 1..K with K the largest id of the first
ground-truth frame after void removal; void (255) counts as background; ground-truth ids above K
count as background; a prediction's missing objects are empty masks; a predicted id above K is an
error. Per object: Mean, Recall, Decay (:func:`rpmbench.evaluation.metrics.statistics`); globally,
each statistic averaged over all objects with equal weight.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from rpmbench import registry
from rpmbench.atomic import atomic_path
from rpmbench.data.davis import VOID_ID, read_mask_frames, read_sequence_predictions
from rpmbench.data.layouts import open_split
from rpmbench.errors import DataError
from rpmbench.evaluation.metrics import label_scores, statistics
from rpmbench.writable import check_writable

GLOBAL_COLUMNS = ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]


@dataclass
class EvaluationResult:
    """Scores of one results folder.

    Attributes:
        global_metrics: :data:`GLOBAL_COLUMNS` -> value (fractions, not percent).
        per_object: one row per object ``<seq>_<k>``: Sequence, J-Mean, J-Recall, J-Decay,
            F-Mean, F-Recall, F-Decay.
        per_frame: one row per object and scored frame: sequence, object, frame, J, F.
    """

    global_metrics: dict[str, float]
    per_object: pd.DataFrame
    per_frame: pd.DataFrame


def score_sequence(sequence: str, gt: Sequence[np.ndarray], pred: Sequence[np.ndarray],
                   frame_names: list[str], pred_paths: list[Path] | None = None) -> pd.DataFrame:
    """Per-object, per-frame J and F of one sequence.

    Args:
        gt: the ``T`` ground-truth ``(H, W)`` uint8 id maps of all annotated frames (void = 255),
            as a list or a ``(T, H, W)`` array.
        pred: the ``T - 2`` predicted ``(H, W)`` uint8 id maps of frames 1..T-2.
        frame_names: the ``T - 2`` scored frame names.
        pred_paths: the prediction files, only to name the culprit in an error.

    Returns:
        Columns sequence, object, frame, J, F (float64).
    """
    first = gt[0]
    num_objects = int(first[first != VOID_ID].max(initial=0))
    if num_objects == 0:
        raise DataError(f"sequence '{sequence}': its first ground-truth frame holds no object, so "
                        "it cannot be scored; remove it from the split file or fix its annotations.")
    for index, mask in enumerate(pred):
        if mask.size and int(mask.max()) > num_objects:
            where = pred_paths[index] if pred_paths else f"{sequence} frame {frame_names[index]}"
            objects = f"{num_objects} object{'s' if num_objects > 1 else ''}"
            raise DataError(f"{where}: predicted object id {int(mask.max())} but the first "
                            f"ground-truth frame of '{sequence}' has only {objects}.")
    # void and ids above K never equal an object id 1..K, so they count as background
    j_scores, f_scores = label_scores(pred, gt[1:-1], num_objects)
    rows = [pd.DataFrame({"sequence": sequence, "object": obj, "frame": frame_names,
                          "J": j_scores[obj - 1], "F": f_scores[obj - 1]})
            for obj in range(1, num_objects + 1)]
    columns = ["sequence", "object", "frame", "J", "F"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def _score_one(task: tuple[list[Path], Path, str]) -> pd.DataFrame:
    paths, results_dir, sequence = task
    gt = read_mask_frames(paths)
    names = [path.stem for path in paths[1:-1]]
    pred = read_sequence_predictions(results_dir, sequence, names, gt[0].shape)
    return score_sequence(sequence, gt, pred, names, [results_dir / sequence / f"{n}.png" for n in names])


def summarise(per_frame: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    """Per-object statistics and global means from a per-frame table."""
    rows = []
    for (sequence, obj), group in per_frame.groupby(["sequence", "object"], sort=False):
        j_stats, f_stats = statistics(group["J"].to_numpy()), statistics(group["F"].to_numpy())
        rows.append({"Sequence": f"{sequence}_{obj}",
                     "J-Mean": j_stats[0], "J-Recall": j_stats[1], "J-Decay": j_stats[2],
                     "F-Mean": f_stats[0], "F-Recall": f_stats[1], "F-Decay": f_stats[2]})
    per_object = pd.DataFrame(rows)
    means = per_object.drop(columns="Sequence").mean()
    global_metrics = {"J&F-Mean": (means["J-Mean"] + means["F-Mean"]) / 2, **means.to_dict()}
    return {key: float(global_metrics[key]) for key in GLOBAL_COLUMNS}, per_object


def table_names(split: str) -> tuple[str, str, str]:
    """The CSVs :func:`write_tables` writes for ``split``: global, per-sequence, per-frame."""
    return (f"global_results-{split}.csv", f"per-sequence_results-{split}.csv",
            f"per-frame_results-{split}.csv")


def remove_tables(output_dir: Path, split: str) -> None:
    """Delete earlier CSVs of ``split`` before scoring, so a failed run leaves none behind that
    could be read as its result (the official tool's stale-CSV trap)."""
    for name in table_names(split):
        (Path(output_dir) / name).unlink(missing_ok=True)


def write_tables(result: EvaluationResult, output_dir: Path, split: str) -> None:
    """The official tool's two CSVs (``%.3f``) plus a full-precision per-frame CSV, atomically."""
    tables = zip(table_names(split), (
        (pd.DataFrame([result.global_metrics])[GLOBAL_COLUMNS], "%.3f"),
        (result.per_object[["Sequence", "J-Mean", "F-Mean"]], "%.3f"),
        (result.per_frame, None),
    ))
    for name, (table, float_format) in tables:
        with atomic_path(output_dir / name) as tmp:
            table.to_csv(tmp, index=False, float_format=float_format)


def evaluate_results(davis_root: str | os.PathLike[str], results_dir: str | os.PathLike[str],
                     split: str = "val", workers: int = 1, output_dir: str | os.PathLike[str] | None = None,
                     progress: bool = True, resolution: str = "480p",
                     layout: str = registry.DEFAULT_LAYOUT) -> EvaluationResult:
    """Score ``results_dir`` (``<seq>/<frame>.png``) on ``split`` of ``davis_root`` (read as the
    registered ``layout``).

    Always recomputes: earlier CSVs of ``split`` in ``output_dir`` (default: ``results_dir``) are
    deleted first, so a failure leaves none, and the new ones are written at the end; an
    ``output_dir`` that cannot be written is refused before that.
    ``workers > 1`` scores sequences in parallel. The progress bar is closed before an error
    propagates, so the caller's message starts on its own line.
    """
    results_dir = Path(results_dir)
    output_dir = Path(output_dir) if output_dir else results_dir
    if results_dir.exists() and not results_dir.is_dir():
        raise DataError(f"{results_dir}: is a file; expected the folder of predictions "
                        "(<sequence>/<frame>.png, e.g. the --out of infer). Pass that folder.")
    check_writable(output_dir, "the scores folder", "pass --output-dir DIR")  # before any scoring
    remove_tables(output_dir, split)
    dataset = open_split(davis_root, split, layout, resolution=resolution)
    if not results_dir.is_dir():
        raise DataError(f"{results_dir}: results folder not found.")
    for sequence in dataset.sequences:  # refuses object-less sequences before any scoring
        dataset.read_first_mask(sequence)
    tasks = [(dataset.annotation_paths(sequence), results_dir, sequence) for sequence in dataset.sequences]
    frames = []
    with contextlib.ExitStack() as stack:  # on an error: the pool shuts down, then the bar closes
        bar = stack.enter_context(tqdm(total=len(tasks), desc="scoring", unit="seq", disable=not progress))
        scores = map(_score_one, tasks)
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor  # only here: saves start-up time

            scores = stack.enter_context(ProcessPoolExecutor(workers)).map(_score_one, tasks)
        for frame in scores:
            frames.append(frame)
            bar.update()
    per_frame = pd.concat(frames, ignore_index=True)
    global_metrics, per_object = summarise(per_frame)
    result = EvaluationResult(global_metrics, per_object, per_frame)
    write_tables(result, output_dir, split)
    return result
