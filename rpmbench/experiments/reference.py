"""Committed runs are references to compare with, never a cache a new run reuses.

``run-grid`` writes under ``results/runs/<run>/`` (gitignored); a run committed to the repository
lives under ``results/<run>/``. The table of a new run says which library versions, CPU or GPU and
torch thread count made its results, whether the committed reference of the same name was made in
another environment (where equal settings need not give equal numbers: float reductions and
kernels differ between releases, thread counts and processors; on CPU, results are bit-identical
only for the same versions, processor model and thread count), and compares every result that
has the reference's exact settings with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Libraries whose version is named in the table header (all are recorded in every result).
HEADLINE_LIBRARIES: tuple[str, ...] = ("torch", "torchvision", "numpy", "opencv-python-headless", "python")


def read_results(run_dir: Path) -> list[dict[str, Any]]:
    """Every result JSON under ``run_dir/cells`` (none if the folder does not exist)."""
    return [json.loads(path.read_text()) for path in sorted((run_dir / "cells").glob("*.json"))]


def _environments(results: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for result in results:
        provenance = result.get("provenance", {})
        versions = provenance.get("versions", {})
        headline = {name: versions[name] for name in HEADLINE_LIBRARIES if name in versions}
        if "device_name" in provenance:
            headline["device"] = provenance["device_name"]
        if headline not in found:
            found.append(headline)
    return found


def _describe(environment: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {version}" if name != "device" else f"on {version}"
                     for name, version in environment.items()) or "versions not recorded"


def reference_comparison(results: Sequence[Mapping[str, Any]], reference: Sequence[Mapping[str, Any]]
                         ) -> list[str]:
    """Markdown rows comparing each result with the reference result of the same spec (J&F in
    percent, unrounded difference to 2 decimals); empty when none share a spec."""
    theirs = {r["config_hash"]: r for r in reference}
    rows = []
    for result in results:
        other = theirs.get(result["config_hash"])
        if other is None:
            continue
        ours_jf, their_jf = 100 * result["metrics"]["J&F-Mean"], 100 * other["metrics"]["J&F-Mean"]
        same = "identical" if ours_jf == their_jf else f"{ours_jf - their_jf:+.2f}"
        rows.append(f"| {result['cell']} | {ours_jf:.2f} | {their_jf:.2f} | {same} |")
    if not rows:
        return []
    return ["| result | J&F, this run | J&F, reference | difference |", "|:--|:-:|:-:|:-:|", *rows]


def environment_notes(results: Sequence[Mapping[str, Any]], reference: Sequence[Mapping[str, Any]],
                      reference_name: str) -> list[str]:
    """Header lines: the environment(s) of ``results`` and how the committed reference's compares."""
    if not results:
        return []
    ours = _environments(results)
    if len(ours) == 1:
        notes = [f"Environment: {_describe(ours[0])}"]
    else:
        notes = ["Environment: **this run's results come from several environments** ("
                 + "; ".join(_describe(env) for env in ours) + "); they are not directly comparable"]
    if not reference:
        return [*notes, f"No committed reference run `{reference_name}` to compare with"]
    theirs = _environments(reference)
    same_hashes = len({r["config_hash"] for r in results} & {r["config_hash"] for r in reference})
    compared = f"{same_hashes} of its {len(reference)} results have this run's exact settings"
    if theirs == ours:
        return [*notes, f"Committed reference `{reference_name}`: same library versions and device; {compared}"]
    differing = sorted({name for env in theirs + ours for name in env
                        if {e.get(name) for e in theirs} != {e.get(name) for e in ours}})
    return [*notes, f"Committed reference `{reference_name}` was made in **another environment** ("
            + "; ".join(_describe(env) for env in theirs) + f"; differs in {', '.join(differing)}): "
            f"equal settings need not give equal numbers; {compared}"]
