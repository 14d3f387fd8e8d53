"""The reach rule: the largest magnitude followed, with every smaller one followed too."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rpmbench.evaluation.flow import endpoint_errors
from rpmbench.evaluation.reach import reach

MAGNITUDES = [0.5, 1.0, 2.0, 4.0, 8.0]


def test_reach_by_hand() -> None:
    # errors below half the motion up to 2, then above it
    assert reach(MAGNITUDES, [0.1, 0.2, 0.9, 2.5, 3.0], MAGNITUDES) == 2.0
    # a lucky large magnitude after a failure does not count
    assert reach(MAGNITUDES, [0.1, 0.6, 0.1, 0.1, 0.1], MAGNITUDES) == 0.5
    # exactly half the motion is not below it; zero flow (error = motion) never qualifies
    assert reach(MAGNITUDES, [0.25, 0.1, 0.1, 0.1, 0.1], MAGNITUDES) == 0.0
    assert reach(MAGNITUDES, MAGNITUDES, MAGNITUDES) == 0.0
    assert reach(MAGNITUDES, [0.0] * 5, MAGNITUDES) == 8.0
    # order of the inputs does not matter; NaN is not followed; the true motion is what counts
    assert reach(MAGNITUDES[::-1], [3.0, 2.5, 0.9, 0.2, 0.1], MAGNITUDES[::-1]) == 2.0
    assert reach(MAGNITUDES, [0.1, math.nan, 0.1, 0.1, 0.1], MAGNITUDES) == 0.5
    assert reach(MAGNITUDES, [0.1, 0.2, 0.9, 2.5, 4.5], [0.5, 1.0, 2.0, 6.0, 8.0]) == 4.0
    with pytest.raises(ValueError, match="one error and one motion"):
        reach(MAGNITUDES, [0.1], MAGNITUDES)


def test_endpoint_errors_match_a_float64_loop() -> None:
    rng = np.random.default_rng(0)
    predicted, truth = rng.normal(size=(2, 5, 6, 2)).astype(np.float32)
    keep = rng.random((5, 6)) > 0.4
    errors, magnitudes = endpoint_errors(predicted, truth, keep)
    expected = [math.hypot(float(predicted[y, x, 0]) - float(truth[y, x, 0]), float(predicted[y, x, 1]) - float(truth[y, x, 1]))
                for y in range(5) for x in range(6) if keep[y, x]]
    np.testing.assert_allclose(errors, expected, rtol=1e-12)
    np.testing.assert_allclose(magnitudes, [math.hypot(*map(float, truth[y, x])) for y in range(5) for x in range(6)
                                            if keep[y, x]], rtol=1e-12)
