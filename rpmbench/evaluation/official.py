"""Run the official ``davis2017`` package on the same inputs, as a cross-check users can run.

The package is not a dependency: install it from the official repository
(``pip install git+https://github.com/davisvideochallenge/davis2017-evaluation``) to use it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from rpmbench.errors import BackendUnavailableError
from rpmbench.evaluation.evaluate import GLOBAL_COLUMNS, EvaluationResult, remove_tables, write_tables


def evaluate_with_official(davis_root: str | os.PathLike[str], results_dir: str | os.PathLike[str],
                           split: str = "val", output_dir: str | os.PathLike[str] | None = None
                           ) -> EvaluationResult:
    """Score with ``davis2017.evaluation.DAVISEvaluation`` (semi-supervised); write the same CSVs
    (earlier ones deleted first, as in :func:`~rpmbench.evaluation.evaluate_results`).

    The official code reports no per-frame values, so ``per_frame`` is empty.
    """
    output_dir = Path(output_dir) if output_dir else Path(results_dir)
    remove_tables(output_dir, split)
    try:
        from davis2017.evaluation import DAVISEvaluation
    except ImportError:
        raise BackendUnavailableError(
            "the official scorer needs the davis2017 package: install it from the official "
            "repository (github.com/davisvideochallenge/davis2017-evaluation) with pip."
        ) from None
    metrics = DAVISEvaluation(str(davis_root), "semi-supervised", split).evaluate(str(results_dir))
    j, f = metrics["J"], metrics["F"]
    per_object = pd.DataFrame({
        "Sequence": list(j["M_per_object"]),
        "J-Mean": j["M"], "J-Recall": j["R"], "J-Decay": j["D"],
        "F-Mean": f["M"], "F-Recall": f["R"], "F-Decay": f["D"],
    })
    means = per_object.drop(columns="Sequence").mean()
    values = {"J&F-Mean": (means["J-Mean"] + means["F-Mean"]) / 2, **means.to_dict()}
    result = EvaluationResult({k: float(values[k]) for k in GLOBAL_COLUMNS}, per_object,
                              pd.DataFrame(columns=["sequence", "object", "frame", "J", "F"]))
    write_tables(result, output_dir, split)
    return result
