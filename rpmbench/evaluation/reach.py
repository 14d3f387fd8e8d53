"""A flow method's reach: the largest motion it still follows.

Given a method's mean end-point error at each magnitude of a sweep of known motions (feature
pixels, :mod:`rpmbench.data.motion_pairs`), its reach is the largest magnitude ``m`` such that at
``m`` *and every smaller magnitude of the sweep* the mean error is below ``REACH_RATIO`` times the
mean true motion. Zero flow errs by exactly the motion, so it never qualifies (reach 0); a method
that follows motion of up to about ``m`` feature pixels has reach ``m``. Requiring every smaller
magnitude to qualify too keeps one lucky large magnitude from counting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: A magnitude counts as followed when the mean error is below this share of the mean motion.
REACH_RATIO = 0.5


def reach(magnitudes: Sequence[float], epe: Sequence[float], motion: Sequence[float],
          ratio: float = REACH_RATIO) -> float:
    """The largest magnitude of the sweep whose error and every smaller one's is below ``ratio``
    x its true motion; 0.0 when even the smallest magnitude is not followed.

    Args:
        magnitudes: the sweep's nominal magnitudes (any order, distinct).
        epe: the mean end-point error at each magnitude (same unit as ``motion``).
        motion: the mean true motion at each magnitude.
    """
    if not len(magnitudes) == len(epe) == len(motion):
        raise ValueError(f"one error and one motion per magnitude: got {len(magnitudes)} magnitudes, "
                         f"{len(epe)} errors, {len(motion)} motions")
    order = np.argsort(np.asarray(magnitudes, dtype=float))
    reached = 0.0
    for index in order:
        if not epe[index] < ratio * motion[index]:  # a NaN error does not count as followed
            break
        reached = float(magnitudes[index])
    return reached
