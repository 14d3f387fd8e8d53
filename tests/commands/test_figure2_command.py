"""`figure2` draws Figure 2 from a checkpoint."""

from __future__ import annotations

from pathlib import Path


from rpmbench.cli import main


def test_figure2_draws_a_checkpoints_panels(tiny: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    root, checkpoint = tiny
    out = tmp_path / "figures" / "figure2.png"
    status = main(["figure2", "--checkpoint", str(checkpoint), "--root", str(root), "--sequences", "a",
                   "--columns", "1", "3", "--out", str(out)])
    assert status == 0 and out.stat().st_size > 0
    printed = capsys.readouterr().out
    assert "a: carried target on the object in" in printed and f"wrote {out}" in printed
