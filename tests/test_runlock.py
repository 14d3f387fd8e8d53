"""The run lock with real processes: a second run refuses at once, naming the holder; a killed
holder's lock is taken over atomically (exactly one of several contenders wins); a finished run
leaves neither the lock nor an empty ``work/staging/`` behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rpmbench.runlock import RunLockedError, run_lock

# A process that holds the lock of argv[1] until killed (or for argv[2] seconds), saying when.
HOLDER = """\
import sys, time
from rpmbench.runlock import RunLockedError, run_lock
try:
    with run_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
except RunLockedError:
    print("refused", flush=True)
"""
# Several of these try the lock of argv[1] at the same moment: when the file argv[2] appears.
CONTENDER = """\
import os, sys, time
from rpmbench.runlock import RunLockedError, run_lock
print("ready", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
try:
    with run_lock(sys.argv[1]):
        time.sleep(2)
        print("locked", flush=True)
except RunLockedError:
    print("refused", flush=True)
"""
# The smallest real grid: one baseline on the smoke preset's data (a few seconds).
GRID = ["--preset", "smoke", "--set", "rows=[]", "--set", "backbones=[]",
        "--set", "baselines=[copy-previous]", "--no-progress"]


def _hold(run_dir: Path, seconds: float = 120) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir), str(seconds)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def _run_grid(results: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rpmbench", "run-grid", "--results-dir", str(results),
                           *GRID], capture_output=True, text=True, timeout=300)


def test_second_run_grid_refuses_at_once_naming_the_holder(tmp_path: Path) -> None:
    holder = _hold(tmp_path / "smoke")
    try:
        second = _run_grid(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 2, second.stderr
    assert f"PID {holder.pid} on host {socket.gethostname()}" in second.stderr
    assert "is in use by" in second.stderr and "Traceback" not in second.stderr
    assert not (tmp_path / "smoke" / "cells").exists()  # refused before any work


def test_killed_holders_lock_is_taken_over_and_a_finished_run_leaves_no_work_folder(tmp_path: Path) -> None:
    holder = _hold(tmp_path / "smoke")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert str(holder.pid) in (tmp_path / "smoke" / "work" / "run.lock").read_text()  # stale file
    done = _run_grid(tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"took over {tmp_path / 'smoke' / 'work' / 'run.lock'} from PID {holder.pid}" in done.stderr
    assert (tmp_path / "smoke" / "table2.md").is_file()
    # no lock file, no empty work/staging/ (nor an empty work/) after a finished run
    assert not (tmp_path / "smoke" / "work").exists(), list((tmp_path / "smoke" / "work").rglob("*"))


def test_contenders_for_a_stale_lock_have_exactly_one_winner(tmp_path: Path) -> None:
    lock = tmp_path / "run" / "work" / "run.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text('{"pid": 999999999, "host": "gone"}')  # left by a killed run
    go = tmp_path / "go"
    contenders = [subprocess.Popen([sys.executable, "-c", CONTENDER, str(tmp_path / "run"), str(go)],
                                   stdout=subprocess.PIPE, text=True) for _ in range(4)]
    for process in contenders:
        assert process.stdout.readline().strip() == "ready"
    go.touch()
    answers = sorted(process.communicate(timeout=60)[0].strip() for process in contenders)
    assert answers == ["locked", "refused", "refused", "refused"]
    assert not lock.exists()


def test_lock_is_released_on_an_exception_and_reentry_is_refused(tmp_path: Path) -> None:
    with run_lock(tmp_path) as path:
        assert path.is_file() and str(os.getpid()) in path.read_text()
        with pytest.raises(RunLockedError, match=f"PID {os.getpid()}"):
            with run_lock(tmp_path):
                pass
    with pytest.raises(ZeroDivisionError):
        with run_lock(tmp_path):
            1 / 0
    assert not (tmp_path / "work").exists()
    with run_lock(tmp_path):  # free again
        pass


def test_ctrl_c_says_how_to_resume_and_exits_130(tmp_path: Path) -> None:
    # SIGINT's default Python handler, even if this test runs where SIGINT is ignored (background jobs)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from rpmbench.cli import main; sys.exit(main())")
    args = ["run-grid", "--results-dir", str(tmp_path), "--preset", "smoke", "--set", "rows=[standard-l1]",
            "--set", "backbones=[resnet18]", "--set", "baselines=[]", "--set", "beyond=[]",
            "--set", "train.steps=100000"]
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("run-grid: smoke: 1 result(s)")  # training starts now
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("interrupted; rerun the same command to resume: python -m rpmbench run-grid")
    assert "train.steps=100000" in last
    assert not (tmp_path / "smoke" / "work" / "run.lock").exists()  # released on the way out
