"""`figure2` draws Figure 2 from a checkpoint; `python -m rpmbench.viz.figure2` runs the same command."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from rpmbench.cli import main


def test_figure2_draws_a_checkpoints_panels(tiny: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    root, checkpoint = tiny
    out = tmp_path / "figures" / "figure2.png"
    status = main(["figure2", "--checkpoint", str(checkpoint), "--root", str(root), "--sequences", "a",
                   "--columns", "1", "3", "--out", str(out)])
    assert status == 0 and out.stat().st_size > 0
    printed = capsys.readouterr().out
    assert "a: carried target on the object in" in printed and f"wrote {out}" in printed


@pytest.mark.filterwarnings("ignore:'rpmbench.viz.figure2' found in sys.modules:RuntimeWarning")
def test_the_viz_module_runs_the_command(tiny: tuple[Path, Path], tmp_path: Path, monkeypatch) -> None:
    root, checkpoint = tiny
    out = tmp_path / "figure2.png"
    monkeypatch.setattr(sys, "argv", ["figure2", "--checkpoint", str(checkpoint), "--root", str(root),
                                      "--sequences", "b", "--columns", "1", "--out", str(out)])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("rpmbench.viz.figure2", run_name="__main__")
    assert exit_.value.code == 0 and out.is_file()
