"""A grid run SIGKILLed in every phase and rerun ends with the same table as an uninterrupted run.

The CLI runs in a subprocess on the smoke preset with one learned cell and one baseline. Each run
is killed the moment it prints a phase marker (``[<result>] train``, ``propagate``, ``score``, from
:func:`rpmbench.experiments.cell.phase`), so every kill lands in a known phase whatever the
machine's speed. After every kill no temporary or half-written file may be visible in the run
folder outside its ``work/`` scratch area.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ARGS = ["--preset", "smoke", "--set", "rows=[standard-l1]",
        "--set", "backbones=[resnet18]", "--set", "baselines=[copy-previous]", "--set", "beyond=[]"]
MARKER = re.compile(r"\[(?P<stem>[^\]\s]+)\] (?P<phase>train|propagate|score|published)$")
#: (result id prefix, phase) at which successive runs are killed: each run resumes the last one.
KILLS = [("resnet18-standard-l1", "train"), ("resnet18-standard-l1", "propagate"),
         ("resnet18-standard-l1", "score"), ("copy-previous", "propagate"), ("copy-previous", "score")]


def _cli(results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rpmbench", "run-grid", "--results-dir", str(results), *ARGS, *extra]


def _assert_clean(run_dir: Path) -> None:
    """Outside work/: no temp files, and every JSON parses."""
    for path in run_dir.rglob("*"):
        if "work" in path.relative_to(run_dir).parts:
            continue
        assert not path.name.endswith(".tmp") and not path.name.startswith("."), path
        if path.suffix == ".json":
            json.loads(path.read_text())


def _kill_at(results: Path, result: str, phase: str) -> list[str]:
    """Run the grid until it prints ``[<result>...] <phase>``, SIGKILL it there; the markers seen."""
    process = subprocess.Popen(_cli(results), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    seen = []
    for line in process.stderr:
        marker = MARKER.search(line)
        if marker:
            seen.append(marker.group(0))
            if marker["stem"].startswith(result) and marker["phase"] == phase:
                os.killpg(process.pid, signal.SIGKILL)
                break
    process.wait()
    assert process.returncode == -signal.SIGKILL, f"the run ended before {result} {phase}: {seen}"
    return seen


@pytest.mark.slow
def test_sigkill_in_every_phase_then_rerun_gives_the_same_table(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    subprocess.run(_cli(reference, "--no-progress"), check=True, capture_output=True, text=True)
    killed = tmp_path / "killed"
    for result, phase in KILLS:
        _kill_at(killed, result, phase)
        _assert_clean(killed / "smoke")
    assert not (killed / "smoke" / "table2.md").exists()
    subprocess.run(_cli(killed, "--no-progress"), check=True, capture_output=True, text=True)
    _assert_clean(killed / "smoke")
    for name in ("table2.csv", "table2.md"):
        assert (killed / "smoke" / name).read_text() == (reference / "smoke" / name).read_text()
    cells = sorted(path.name for path in (killed / "smoke" / "cells").iterdir())
    assert cells == sorted(path.name for path in (reference / "smoke" / "cells").iterdir())


def _spawned_workers(pid: int) -> list[int]:
    """The pool workers among ``pid``'s children (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children
            if "spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to find the worker")
def test_a_killed_pool_worker_ends_the_grid_with_one_line_and_a_rerun_resumes(tmp_path: Path) -> None:
    """`--executor processes`: a worker SIGKILLed while it trains ends the run with one error line
    naming what to do (no traceback), no result of the killed job, and a rerun completes it."""
    import time

    command = _cli(tmp_path, "--executor", "processes", "--workers", "1", "--threads", "1",
                   "--set", "train.steps=60", "--no-progress")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    training = tmp_path / "smoke" / "work"
    deadline = time.monotonic() + 300
    while not any(training.glob("*-train-*/train/log.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.2)  # the worker has started its training run
    workers = _spawned_workers(process.pid)
    assert len(workers) == 1 and process.poll() is None
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert "error: a worker process of the grid ended abruptly" in stderr and "rerun the same command" in stderr
    assert not list((tmp_path / "smoke" / "cells").glob("resnet18-standard-l1-*.json"))
    _assert_clean(tmp_path / "smoke")
    subprocess.run(command, check=True, capture_output=True, text=True)
    assert len(list((tmp_path / "smoke" / "cells").glob("*.json"))) == 2
