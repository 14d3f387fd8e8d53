"""Paired differences against the reference row with bootstrap intervals."""

from __future__ import annotations

import numpy as np

from rpmbench.experiments.ranking import bootstrap, epe_differences, jf_differences, ordering_lines, ranking_lines


def _result(cell: str, seed: int, objects: dict[str, float], epe: dict[str, float] | None = None) -> dict:
    payload = {"cell": cell, "seed": seed,
               "per_sequence": [{"sequence": name, "J": value, "F": value} for name, value in objects.items()]}
    if epe is not None:
        payload["flow_metrics"] = {"per_sequence": {q: {"epe_feature_px": v, "pixels": 10} for q, v in epe.items()}}
    return payload


def test_paired_differences_by_hand() -> None:
    results = [_result("r-a", 0, {"q1_1": 0.5, "q1_2": 0.3, "q2_1": 0.4}, {"q1": 2.0, "q2": 1.0}),
               _result("r-b", 0, {"q1_1": 0.6, "q1_2": 0.3, "q2_1": 0.2}, {"q1": 1.5, "q2": 1.0}),
               _result("r-a", 1, {"q1_1": 0.1, "q1_2": 0.1, "q2_1": 0.1}),
               _result("r-b", 1, {"q1_1": 0.2, "q1_2": 0.2, "q2_1": 0.2}),
               _result("r-b", 2, {"q1_1": 0.9, "q1_2": 0.9, "q2_1": 0.9})]  # no partner: left out
    differences, groups = jf_differences(results, "r-a", "r-b")
    np.testing.assert_allclose(differences, [[10, 0, -20], [10, 10, 10]])
    assert groups.tolist() == ["q1", "q1", "q2"]
    epe, sequences = epe_differences(results, "r-a", "r-b")
    np.testing.assert_allclose(epe, [[-0.5, 0.0]])
    assert sequences.tolist() == ["q1", "q2"]
    assert jf_differences(results, "r-a", "r-c") is None


def test_a_constant_difference_has_a_zero_width_interval() -> None:
    result = bootstrap(np.full((3, 5), 2.0), np.arange(5))
    assert (result.mean, result.low, result.high, result.detectable) == (2.0, 2.0, 2.0, 0.0)
    assert result.resolved and (result.seeds, result.units) == (3, 5)


def test_the_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    """Simulated seeds x sequences with a seed effect and noise: coverage near 95%, not 50% or 100%."""
    rng = np.random.default_rng(1)
    covered = 0
    trials = 60
    for trial in range(trials):
        data = 1.0 + rng.normal(0, 1, (5, 1)) + rng.normal(0, 2, (1, 30)) + rng.normal(0, 1, (5, 30))
        result = bootstrap(data, np.arange(30), draws=500, seed=trial)
        covered += result.low <= 1.0 <= result.high
    assert 0.8 <= covered / trials <= 1.0


def test_ranking_lines_need_two_seeds_and_state_a_verdict() -> None:
    one = [_result("resnet18-deformable-l3", 0, {"q_1": 0.5}), _result("resnet18-standard-l3", 0, {"q_1": 0.4})]
    assert ranking_lines(one, ["deformable-l3", "standard-l3"], ["resnet18"]) == []
    objects = {f"q{i}_1": 0.5 for i in range(10)}
    worse = {name: value - 0.1 for name, value in objects.items()}
    many = [_result(f"resnet18-{row}", seed, values) for seed in range(3)
            for row, values in (("deformable-l3", objects), ("standard-l3", worse), ("standard-l1", objects))]
    lines = ranking_lines(many, ["deformable-l3", "standard-l3", "standard-l1"], ["resnet18"])
    assert len(lines) == 4
    assert lines[2].startswith("| resnet18 | standard-l3 | -10.00 [-10.00, -10.00]")
    assert lines[2].endswith("| deformable-l3 is better |") and "| - |" in lines[2]  # no flow metrics
    assert "cannot resolve deformable-l3 against standard-l1" in lines[3]


def test_one_seed_gives_no_verdict() -> None:
    objects = {f"q{i}_1": 0.5 for i in range(10)}
    worse = {name: value - 0.1 for name, value in objects.items()}
    results = [_result("resnet18-deformable-l3", 0, objects), _result("resnet18-standard-l3", 0, worse),
               _result("resnet18-deformable-l3", 1, objects)]
    (line,) = ranking_lines(results, ["deformable-l3", "standard-l3"], ["resnet18"])[2:]
    assert "n = 1 x 10" in line and line.endswith("| no verdict: one seed (its interval resamples sequences only, "
                                                  "not the seed spread) |")


def test_orderings_say_which_hold_which_are_reversed_and_which_cannot_be_resolved() -> None:
    objects = {f"q{i}_1": 0.5 for i in range(10)}
    rng = np.random.default_rng(0)

    def shifted(by: float, noise: float = 0.0) -> dict[str, float]:
        return {name: value + by + noise * rng.normal() for name, value in objects.items()}

    rows = {"deformable-l3": shifted(0.0), "standard-l3": shifted(0.0, noise=0.05),  # unresolved
            "dilated-d3-l3": shifted(-0.1), "standard-l1": shifted(0.05)}  # d3 below standard-l1: reversed
    results = [_result(f"resnet18-{row}", seed, values) for seed in range(2) for row, values in rows.items()]
    lines = ordering_lines(results, ["resnet18"])
    verdicts = {line.split(" | ")[1]: line.rsplit(" | ", 1)[1] for line in lines if line.startswith("| resnet18")}
    assert verdicts["deformable-l3 > standard-l3"] == "cannot resolve (the interval includes 0) |"
    assert verdicts["standard-l3 > dilated-d3-l3"] == "holds |"
    assert verdicts["dilated-d3-l3 > standard-l1"] == "**reversed** |"
    assert "standard-l3 > standard-l5" not in verdicts  # not run: left out
    assert ordering_lines(results[:4], ["resnet18"]) == []  # one seed: no verdict

