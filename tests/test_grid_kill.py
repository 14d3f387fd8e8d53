"""A grid run SIGKILLed at random moments and rerun ends with the same table as an uninterrupted run.

The CLI runs in a subprocess on the smoke preset with one learned cell and one baseline; kills land
during training, propagation, scoring or writing. After every kill no temporary or half-written
file may be visible in the run folder outside its ``work/`` scratch area.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGS = ["--preset", "smoke", "--set", "rows=[standard-l1]",
        "--set", "backbones=[resnet18]", "--set", "baselines=[copy-previous]", "--set", "beyond=[]", "--no-progress"]


def _cli(results: Path) -> list[str]:
    return [sys.executable, "-m", "rpmbench", "run-grid", "--results-dir", str(results), *ARGS]


def _assert_clean(run_dir: Path) -> None:
    """Outside work/: no temp files, and every JSON parses."""
    for path in run_dir.rglob("*"):
        if "work" in path.relative_to(run_dir).parts:
            continue
        assert not path.name.endswith(".tmp") and not path.name.startswith("."), path
        if path.suffix == ".json":
            json.loads(path.read_text())


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_gives_the_same_table(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    start = time.perf_counter()
    subprocess.run(_cli(reference), check=True, capture_output=True, text=True)
    duration = time.perf_counter() - start

    killed = tmp_path / "killed"
    rng = random.Random(0)
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(_cli(killed), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.2, 0.45) * duration)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        if (killed / "smoke").exists():
            _assert_clean(killed / "smoke")
    assert kills >= 2, "the run finished before it could be killed; lengthen the smoke preset"

    subprocess.run(_cli(killed), check=True, capture_output=True, text=True)
    _assert_clean(killed / "smoke")
    for name in ("table2.csv", "table2.md"):
        assert (killed / "smoke" / name).read_text() == (reference / "smoke" / name).read_text()
    cells = sorted(path.name for path in (killed / "smoke" / "cells").iterdir())
    assert cells == sorted(path.name for path in (reference / "smoke" / "cells").iterdir())
