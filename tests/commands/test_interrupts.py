"""SIGTERM ends a command like Ctrl-C: a checkpoint at the step boundary, one line, a resume hint.

The signals are sent by the process to itself at a chosen point (a wrapped function), so the
tests do not depend on timing.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import rpmbench
from davis_fixtures import moving_ellipses, write_davis
from rpmbench.cli import resume_hint

CHECKOUT = Path(rpmbench.__file__).resolve().parents[1]
TOY = ["--no-progress", "--set", "model.backbone=resnet18", "--set", "model.backend=reference",
       "--set", "short_side=null", "--set", "crop_size=32", "--set", "batch_size=2", "--set", "seed=3",
       "--checkpoint-every", "100", "--set", "steps=5"]

# Runs `python -m rpmbench ARGS`, sending the process SIGNAL during training step STEP (1-based). A
# background job starts with SIGINT ignored (and Python then keeps it so); Ctrl-C reaches a terminal's.
SELF_SIGNAL = """\
import os, signal, sys
from rpmbench.cli import main
from rpmbench.training import loop
signum, step = getattr(signal, sys.argv[1]), int(sys.argv[2])
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even when run as a background job
original, calls = loop.training_step, []
def signalling_step(*args, **kwargs):
    calls.append(1)
    if len(calls) == step:
        os.kill(os.getpid(), signum)
    return original(*args, **kwargs)
loop.training_step = signalling_step
sys.exit(main(sys.argv[3:]))
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    sequences = {f"s{i}": moving_ellipses(rng, 6, 40, 56, 2) for i in range(2)}
    return write_davis(tmp_path_factory.mktemp("davis"), sequences, split="train")


@pytest.fixture(scope="module")
def uninterrupted(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkpoint of the same toy run, never interrupted."""
    out = tmp_path_factory.mktemp("whole")
    assert _rpmbench(["train", "--out", str(out), "--data-root", str(root), *TOY]).returncode == 0
    return out / "checkpoint.pt"


def _rpmbench(args: list[str], *, signal_name: str | None = None, step: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT), "OMP_NUM_THREADS": "1"}
    command = ([sys.executable, "-c", SELF_SIGNAL, signal_name, str(step)] if signal_name
               else [sys.executable, "-m", "rpmbench"])
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("signal_name, status, word", [("SIGTERM", 143, "terminated (SIGTERM)"),
                                                      pytest.param("SIGINT", 130, "interrupted", marks=pytest.mark.slow)])
def test_signal_during_training_checkpoints_the_step_and_resumes_exactly(
        root: Path, uninterrupted: Path, tmp_path: Path, signal_name: str, status: int, word: str) -> None:
    args = ["train", "--out", str(tmp_path / "run"), "--data-root", str(root), *TOY]
    stopped = _rpmbench(args, signal_name=signal_name, step=3)
    assert stopped.returncode == status, stopped.stderr
    command = shlex.join(["python", "-m", "rpmbench", *args, "--resume"])
    assert stopped.stderr.strip() == f"{word}; resume with: {command}  # checkpoint written at step 3 of 5"
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["step"] == 3

    assert _rpmbench([*args, "--resume"]).returncode == 0
    resumed = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    whole = torch.load(uninterrupted, weights_only=False)
    assert resumed["step"] == whole["step"] == 5
    for name, tensor in whole["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name


def test_sigterm_outside_training_exits_143_with_the_hint(tmp_path: Path) -> None:
    """A command without a training loop ends where the signal lands, with the same one line."""
    code = ("import os, signal, sys; import rpmbench.commands.describe as describe; "
            "describe.run = lambda args: os.kill(os.getpid(), signal.SIGTERM) or signal.pause(); "
            "from rpmbench.cli import main; sys.exit(main(['describe', '--backbone', 'resnet18']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(CHECKOUT)})
    assert done.returncode == 143, done.stderr
    assert done.stderr.strip() == ("terminated (SIGTERM); rerun the same command to resume: "
                                   "python -m rpmbench describe --backbone resnet18")


def test_resume_hint_adds_the_command_resume_flag_once() -> None:
    assert resume_hint(["train", "--out", "r"], signal.SIGINT).endswith("train --out r --resume")
    assert resume_hint(["train", "--out", "r", "--resume"], signal.SIGINT) == (
        "interrupted; rerun the same command to resume: python -m rpmbench train --out r --resume")
