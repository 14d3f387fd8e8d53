"""The calibrated set's published versions: each keeps its own generator name, cache folder and
knobs, version 1's dash law is the one its results were made on, version 2's is lognormal."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rpmbench.data import calibrated, deform
from rpmbench.data.builtin import DEFAULT_GENERATOR, GENERATORS, ensure_builtin_dataset
from rpmbench.data.synthetic import DatasetSize
from rpmbench.errors import DataError

TINY = DatasetSize(height=48, width=80, train_sequences=1, val_sequences=1, frames=3)


def _dash_factors(knobs: deform.Difficulty, draws: int, seed: int) -> np.ndarray:
    """Dash speed / (dash_speed x H) of ``draws`` random motions that dash."""
    rng = np.random.default_rng(seed)
    size, figure = calibrated.SIZES[1]["small"], SimpleNamespace(size=(10, 10))
    factors = []
    for _ in range(draws):
        _, _, dash_y, dash_x = deform._motion(rng, size, knobs, figure, 20.0, 1.0, 1.0).dash
        if dash_y or dash_x:
            factors.append(math.hypot(dash_y, dash_x) / (knobs.dash_speed * size.height))
    return np.asarray(factors)


def test_version_1_draws_dash_speeds_uniformly_and_version_2_lognormally() -> None:
    uniform = _dash_factors(calibrated.KNOBS[1], 3000, seed=0)  # about 2100 dash (probability 0.7)
    assert uniform.min() >= 0.5 and uniform.max() <= 1.5
    assert len(uniform) / 3000 == pytest.approx(calibrated.KNOBS[1].dash, abs=0.03)
    deciles = np.quantile(uniform, np.linspace(0.1, 0.9, 9))
    assert deciles == pytest.approx(0.5 + np.linspace(0.1, 0.9, 9), abs=0.04)  # 4 standard errors
    spread = calibrated.KNOBS[2].dash_spread
    logs = np.log(_dash_factors(calibrated.KNOBS[2], 3000, seed=1))
    assert len(logs) == 3000  # version 2: every object dashes once
    assert logs.mean() == pytest.approx(0.0, abs=4 * spread / math.sqrt(3000))
    assert logs.std() == pytest.approx(spread, rel=0.06)
    assert (np.exp(logs) > 3).mean() == pytest.approx(1 - 0.5 * (1 + math.erf(math.log(3) / spread / math.sqrt(2))),
                                                      abs=0.015)  # the tail beyond version 1's range


def test_each_version_has_its_generator_cache_folder_and_recorded_knobs(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULT_GENERATOR == calibrated.generator_name(calibrated.LATEST) == "calibrated2"
    records = {}
    for version in calibrated.KNOBS:
        monkeypatch.setitem(calibrated.SIZES[version], "tiny", TINY)
        name = calibrated.generator_name(version)
        root = ensure_builtin_dataset("tiny", seed=0, cache=tmp_path, progress=False, generator=name)
        assert name in GENERATORS and root.name.startswith(f"calibrated{version}-tiny-seed0")
        records[version] = json.loads((root / "rpmbench-dataset.json").read_text())
        assert records[version]["name"] == f"rpmbench built-in {name} 'tiny'"
    assert "dash_spread" not in records[1]["difficulty"]  # version 1's manifest is as published
    assert records[2]["difficulty"]["dash_spread"] == calibrated.KNOBS[2].dash_spread > 0
    with pytest.raises(DataError, match="unknown version 9 of the calibrated set"):
        calibrated.make_dataset(tmp_path / "x", size="tiny", version=9)
