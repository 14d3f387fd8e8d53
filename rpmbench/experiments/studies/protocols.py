"""Every propagation protocol on the same trained checkpoints, beside the baselines, over seeds.

The same checkpoint serves all protocols (train once, propagate several ways). For each
checkpoint (one per seed) and each variant of :data:`VARIANTS` the val split is propagated and
scored; the baselines of :data:`rpmbench.inference.baselines.BASELINES` (and optical flow warped at the
frame size) are scored once, as they have no seed. Writes ``<out>/protocols.csv`` (one line per
method and seed) and ``<out>/protocols.json`` (those rows, mean and std over seeds per method,
the settings, the data, library versions and the git commit).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from pathlib import Path
from typing import Any

#: Name -> PropagationConfig fields for one way of propagating with a trained RPM-Net.
VARIANTS: dict[str, dict[str, Any]] = {
    "flow": {},  # the paper's protocol
    "flow-frame": {"warp_resolution": "frame"},
    "memory": {"protocol": "memory"},
    "fusion": {"protocol": "fusion"},
}

#: Baseline rows: (row name, baseline name, warp resolution).
BASELINE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("copy-first", "copy-first", "feature"), ("copy-previous", "copy-previous", "feature"),
    ("optical-flow", "optical-flow", "feature"), ("optical-flow-frame", "optical-flow", "frame"),
    ("pixels", "pixels", "feature"),
)


def protocol_evidence(checkpoints: list[Path], seeds: list[int], work_dir: Path, out_dir: Path,
                      variants: list[str], root: str | os.PathLike[str] | None = None,
                      split: str = "val", command: str = "", progress: bool = False) -> dict[str, Any]:
    """Score ``variants`` of every checkpoint and the baselines; write CSV + JSON into ``out_dir``."""
    import pandas as pd

    from rpmbench.atomic import atomic_path, atomic_write_json
    from rpmbench.inference.baselines import run_baseline
    from rpmbench.data.builtin import ensure_builtin_dataset
    from rpmbench.errors import ConfigError
    from rpmbench.evaluation import evaluate_results
    from rpmbench.inference.propagate import PropagationConfig, propagate_dataset
    from rpmbench.provenance import portable_path, run_metadata
    from rpmbench.training import load_checkpoint_model

    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or len(checkpoints) != len(seeds):
        raise ConfigError(f"protocol evidence: unknown variants {unknown} (choose from {list(VARIANTS)}) "
                          f"or {len(checkpoints)} checkpoints for {len(seeds)} seeds")
    configs = {name: PropagationConfig(**VARIANTS[name]) for name in variants}
    for config in configs.values():
        config.validate()
    root = root or ensure_builtin_dataset(progress=progress)

    def score(folder: Path) -> dict[str, float]:
        return evaluate_results(root, folder, split, output_dir=folder.with_name(folder.name + "-scores"),
                                progress=False).global_metrics

    rows = []
    for row_name, baseline, resolution in BASELINE_ROWS:
        stats = run_baseline(baseline, root, split, work_dir / row_name,
                             PropagationConfig(warp_resolution=resolution), progress)
        rows.append({"method": row_name, "seed": None, "frames_per_s": stats.fps,
                     **score(work_dir / row_name)})
    for checkpoint, seed in zip(checkpoints, seeds):
        model, trained = load_checkpoint_model(checkpoint)
        for name, config in configs.items():
            folder = work_dir / f"s{seed}" / name
            config = dataclasses.replace(config, colour_space=trained.colour_space)
            stats = propagate_dataset(model, root, split, folder, config, progress)
            rows.append({"method": f"rpmnet-{name}", "seed": seed, "frames_per_s": stats.fps,
                         **score(folder)})
    table = pd.DataFrame(rows)
    table["seed"] = table["seed"].astype("Int64")
    summary = {}
    for method, group in table.groupby("method", sort=False):
        values = group["J&F-Mean"].tolist()
        summary[method] = {"jf_mean": statistics.mean(values),
                           "jf_std": statistics.stdev(values) if len(values) > 1 else None,
                           "j_mean": float(group["J-Mean"].mean()), "f_mean": float(group["F-Mean"].mean()),
                           "seeds": len(values)}
    payload = {
        "command": command,
        "data": f"{split} split of {portable_path(root)}",
        "checkpoints": [portable_path(path) for path in checkpoints],
        "seeds": seeds,
        "variants": {name: dataclasses.asdict(configs[name]) for name in variants},
        "summary": summary,
        "rows": table.to_dict(orient="records"),
        **run_metadata("cpu"),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "protocols.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    atomic_write_json(out_dir / "protocols.json", payload)
    return payload
