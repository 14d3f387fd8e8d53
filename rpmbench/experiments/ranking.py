"""A ranking with the power to decide: every row against a reference row (Table 1's deformable
module), by paired differences over seeds and sequences, with bootstrap confidence intervals.

For rows A (reference) and B of one backbone, the paired difference of a seed s and an object o
of sequence q is ``JF_B(s, o) - JF_A(s, o)`` (J&F of the object, percent); for flow error the unit
is the sequence (EPE in feature pixels, B minus A, so negative is better). The point estimate is
the mean difference over every (seed, unit). Its 95% interval resamples seeds and sequences with
replacement, independently (a crossed bootstrap, so both sources of variance count), and takes
the 2.5th and 97.5th percentiles of the resampled means. The smallest difference the design can
detect is taken as 2.8 bootstrap standard errors (80% power at a two-sided 5% level). A verdict
needs at least two common seeds (with one, the interval leaves out the seed spread, which for a
trained cell is as large as the differences in question) and an interval that excludes zero;
otherwise the design cannot resolve the pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Table 2's orderings of the matching modules, (better, worse) as the paper's rows order them on
#: every backbone: deformable-3 > standard-3 > standard-5 and the dilated rows > standard-1.
PAPER_ORDERINGS: tuple[tuple[str, str], ...] = (
    ("deformable-l3", "standard-l3"), ("standard-l3", "standard-l5"), ("standard-l3", "dilated-d3-l3"),
    ("standard-l3", "dilated-d6-l3"), ("standard-l3", "dilated-d9-l3"), ("dilated-d3-l3", "standard-l1"),
    ("dilated-d6-l3", "standard-l1"), ("dilated-d9-l3", "standard-l1"))

#: Bootstrap draws and their seed (the intervals are deterministic).
DRAWS = 4000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class PairedDifference:
    """B minus A over ``seeds`` x ``units``: mean, 95% bootstrap interval, detectable difference."""

    mean: float
    low: float
    high: float
    detectable: float
    seeds: int
    units: int

    @property
    def resolved(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0


def bootstrap(differences: np.ndarray, groups: np.ndarray, draws: int = DRAWS,
              seed: int = BOOTSTRAP_SEED) -> PairedDifference:
    """``differences (S, U)`` over S seeds and U units (NaN where a unit has no value), ``groups (U,)``
    the sequence of each unit (units of one sequence are resampled together)."""
    rng = np.random.default_rng(seed)
    names = np.unique(groups)
    members = [np.flatnonzero(groups == name) for name in names]
    means = np.empty(draws)
    for draw in range(draws):
        seeds = rng.integers(0, differences.shape[0], differences.shape[0])
        units = np.concatenate([members[i] for i in rng.integers(0, len(names), len(names))])
        means[draw] = np.nanmean(differences[np.ix_(seeds, units)])
    low, high = np.percentile(means, [2.5, 97.5])
    return PairedDifference(float(np.nanmean(differences)), float(low), float(high),
                            float(2.8 * means.std(ddof=1)), differences.shape[0], differences.shape[1])


def _by_seed(results: Sequence[Mapping[str, Any]], cell: str) -> dict[int, Mapping[str, Any]]:
    return {int(r["seed"]): r for r in results if r["cell"] == cell}


def jf_differences(results: Sequence[Mapping[str, Any]], reference: str, other: str
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """Paired J&F differences (percent), ``(seeds, objects)``, and each object's sequence; None
    without a common seed."""
    ours, theirs = _by_seed(results, other), _by_seed(results, reference)
    seeds = sorted(ours.keys() & theirs.keys())
    if not seeds:
        return None

    def per_object(result: Mapping[str, Any]) -> dict[str, float]:
        return {line["sequence"]: 50 * (line["J"] + line["F"]) for line in result["per_sequence"]}

    objects = sorted(per_object(theirs[seeds[0]]))
    rows = [[per_object(ours[s])[o] - per_object(theirs[s])[o] for o in objects] for s in seeds]
    return np.array(rows), np.array([name.rsplit("_", 1)[0] for name in objects])


def epe_differences(results: Sequence[Mapping[str, Any]], reference: str, other: str
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """Paired per-sequence EPE differences (feature px), ``(seeds, sequences)``; None without flow
    metrics on a common seed."""
    ours, theirs = _by_seed(results, other), _by_seed(results, reference)
    seeds = [s for s in sorted(ours.keys() & theirs.keys())
             if "per_sequence" in ours[s].get("flow_metrics", {}) and "per_sequence" in theirs[s].get("flow_metrics", {})]
    if not seeds:
        return None
    sequences = sorted(theirs[seeds[0]]["flow_metrics"]["per_sequence"])

    def epe(result: Mapping[str, Any], sequence: str) -> float:
        return result["flow_metrics"]["per_sequence"][sequence]["epe_feature_px"]

    rows = [[epe(ours[s], q) - epe(theirs[s], q) for q in sequences] for s in seeds]
    return np.array(rows, dtype=float), np.array(sequences)


def _text(difference: PairedDifference | None, unit: str) -> str:
    if difference is None:
        return "-"
    return (f"{difference.mean:+.2f} [{difference.low:+.2f}, {difference.high:+.2f}] "
            f"(detectable {difference.detectable:.2f}{unit}; n = {difference.seeds} x {difference.units})")


def _verdict(jf: PairedDifference | None, reference: str, other: str) -> str:
    if jf is None:
        return "not measured"
    if jf.seeds < 2:
        return "no verdict: one seed (its interval resamples sequences only, not the seed spread)"
    if not jf.resolved:
        return f"cannot resolve {reference} against {other} (the interval includes 0)"
    better = reference if jf.mean < 0 else other
    return f"{better} is better"


def ranking_lines(results: Sequence[Mapping[str, Any]], rows: Sequence[str], backbones: Sequence[str],
                  reference: str = "deformable-l3") -> list[str]:
    """Markdown rows: each other row against ``reference`` per backbone, J&F and EPE differences
    with intervals, and a verdict in plain words; empty with fewer than two seeds anywhere."""
    if max((len(_by_seed(results, f"{b}-{reference}")) for b in backbones), default=0) < 2:
        return []
    lines = ["| backbone | row | J&F, row minus reference (%) [95% CI] | EPE, row minus reference "
             "(feature px) [95% CI] | verdict (J&F) |", "|:--|:--|:-:|:-:|:--|"]
    for backbone in backbones:
        for row in rows:
            if row == reference:
                continue
            cells = (f"{backbone}-{reference}", f"{backbone}-{row}")
            jf_data, epe_data = jf_differences(results, *cells), epe_differences(results, *cells)
            jf = bootstrap(*jf_data) if jf_data is not None else None
            epe = bootstrap(*epe_data) if epe_data is not None else None
            lines.append(f"| {backbone} | {row} | {_text(jf, ' points')} | {_text(epe, ' px')} | "
                         f"{_verdict(jf, reference, row)} |")
    return lines if len(lines) > 2 else []


def ordering_lines(results: Sequence[Mapping[str, Any]], backbones: Sequence[str],
                   orderings: Sequence[tuple[str, str]] = PAPER_ORDERINGS) -> list[str]:
    """Markdown: each of the paper's orderings ``better > worse`` whose two rows were run, per
    backbone, with the paired J&F difference worse minus better and whether it holds, is reversed
    or cannot be resolved; empty where no ordering has two common seeds."""
    lines = []
    for backbone in backbones:
        for better, worse in orderings:
            data = jf_differences(results, f"{backbone}-{better}", f"{backbone}-{worse}")
            if data is not None and data[0].shape[0] >= 2:
                jf = bootstrap(*data)
                lines.append(f"| {backbone} | {better} > {worse} | {_text(jf, ' points')} | {_ordering_verdict(jf)} |")
    if not lines:
        return []
    return ["", "The paper's orderings (Table 2), each by the same paired bootstrap: J&F of the second row "
            "minus the first; it holds where the interval lies below 0.", "",
            "| backbone | the paper's ordering | J&F, second minus first (%) [95% CI] | here |",
            "|:--|:--|:-:|:--|", *lines]


def _ordering_verdict(jf: PairedDifference) -> str:
    if not jf.resolved:
        return "cannot resolve (the interval includes 0)"
    return "holds" if jf.mean < 0 else "**reversed**"

