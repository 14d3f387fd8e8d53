"""Bad input a new user meets that torch or the OS would answer with a traceback: a checkpoint of
another model, a bare state_dict, `--resume` over another variant's run, `--results` naming a file,
read-only output folders. Each gives one line naming the file, what was found, what was expected
and what to do, and leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from davis_fixtures import moving_ellipses, perturb, write_davis, write_predictions
from rpmbench.cli import main
from rpmbench.models import RPMNet, RPMNetConfig
from rpmbench.training import TrainConfig, train


@pytest.fixture(scope="module")
def davis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    root = write_davis(tmp_path_factory.mktemp("davis"), {f"s{i}": moving_ellipses(rng, 4, 40, 56, 2)
                                                          for i in range(2)})
    (root / "ImageSets" / "2017" / "train.txt").write_text("s0\n")
    return root


@pytest.fixture(scope="module")
def run_dir(davis: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 1-step resnet18 deformable run (checkpoint.pt, config.json, log.jsonl)."""
    config = TrainConfig(model=RPMNetConfig("resnet18", backend="reference"),
                         short_side=None, crop_size=32, batch_size=1, steps=1, seed=0)
    out = tmp_path_factory.mktemp("run")
    train(config, out, [str(davis)], progress=False)
    return out


def one_line_error(capsys: pytest.CaptureFixture[str], *parts: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for part in parts:
        assert part in err, err
    return err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: compared before and after a refused command."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` made unwritable: mode 0555, and as root (which ignores modes) immutable too."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    as_root = os.geteuid() == 0
    if as_root and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        folder.chmod(0o755)
        pytest.skip("running as root where chattr +i is refused: no folder can be made read-only")
    try:
        yield folder
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def checkpoint_with_weights(run_dir: Path, out: Path, model: RPMNetConfig) -> Path:
    """The run's checkpoint (config: resnet18 deformable) carrying the weights of ``model``."""
    state = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    state["model"] = RPMNet(model).state_dict()
    torch.save(state, out)
    return out


@pytest.mark.parametrize("other", [RPMNetConfig("resnet34", backend="reference"),
                                   RPMNetConfig("resnet18", matching="standard", backend="reference")],
                         ids=["backbone", "matching"])
def test_infer_with_weights_of_another_model(run_dir: Path, davis: Path, tmp_path: Path, capsys,
                                             other: RPMNetConfig) -> None:
    checkpoint = checkpoint_with_weights(run_dir, tmp_path / "mixed.pt", other)
    out = tmp_path / "pred"
    assert main(["infer", "--checkpoint", str(checkpoint), "--davis-root", str(davis), "--out", str(out)]) == 2
    one_line_error(capsys, str(checkpoint), "weights are not those of the resnet18 deformable",
                   "expected a checkpoint.pt written by", "Use the checkpoint.pt")
    assert not out.exists()


def test_bare_state_dict_is_named_as_such(run_dir: Path, davis: Path, tmp_path: Path, capsys) -> None:
    bare = tmp_path / "weights.pt"
    torch.save(RPMNet(RPMNetConfig("resnet18", backend="reference")).state_dict(), bare)
    out = tmp_path / "pred"
    assert main(["infer", "--checkpoint", str(bare), "--davis-root", str(davis), "--out", str(out)]) == 2
    one_line_error(capsys, str(bare), "a bare state_dict (", "tensors) without the config",
                   "expected a checkpoint.pt written by `python -m rpmbench train`")
    assert not out.exists()
    # the same file as the checkpoint of a run to resume
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(bare.read_bytes())
    before = snapshot(run)
    assert main(["train", "--out", str(run), "--resume", "--no-progress"]) == 2
    one_line_error(capsys, "a bare state_dict")
    assert snapshot(run) == before


def test_resume_over_a_run_of_another_variant(run_dir: Path, capsys) -> None:
    before = snapshot(run_dir)
    for setting, asked in [("model.backbone=resnet34", "resnet34 deformable"),
                           ("model.matching=dilated", "resnet18 dilated")]:
        status = main(["train", "--out", str(run_dir), "--resume", "--no-progress", "--set", setting,
                       "--set", "model.dilation=3" if "dilated" in setting else "steps=2"])
        assert status == 2
        one_line_error(capsys, str(run_dir / "checkpoint.pt"), "this run trained a resnet18 deformable",
                       f"asked for a {asked}", "config.json", "another --out folder")
    assert snapshot(run_dir) == before  # config.json and log.jsonl not rewritten


def test_evaluate_results_pointing_at_a_file(davis: Path, tmp_path: Path, capsys) -> None:
    results = tmp_path / "results.zip"
    results.write_bytes(b"PK")
    assert main(["evaluate", "--davis-root", str(davis), "--results", str(results)]) == 2
    one_line_error(capsys, str(results), "is a file; expected the folder of predictions", "Pass that folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.zip"]


def test_evaluate_into_a_read_only_folder(davis: Path, tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(1)
    masks = {f"s{i}": perturb(rng, moving_ellipses(rng, 4, 40, 56, 2), 2) for i in range(2)}
    results = write_predictions(tmp_path / "results", masks)
    before = snapshot(results)
    with read_only(results):
        assert main(["evaluate", "--davis-root", str(davis), "--results", str(results)]) == 2
        one_line_error(capsys, str(results), "not writable", "the scores folder", "--output-dir DIR")
        with read_only(tmp_path / "scores"):  # --output-dir: refused the same way, not created below
            assert main(["evaluate", "--davis-root", str(davis), "--results", str(results),
                         "--output-dir", str(tmp_path / "scores" / "val")]) == 2
            one_line_error(capsys, str(tmp_path / "scores"), "not writable")
    assert snapshot(results) == before and not any((tmp_path / "scores").iterdir())


def test_infer_into_a_read_only_folder(run_dir: Path, davis: Path, tmp_path: Path, capsys) -> None:
    with read_only(tmp_path / "ro"):
        assert main(["infer", "--checkpoint", str(run_dir / "checkpoint.pt"), "--davis-root", str(davis),
                     "--out", str(tmp_path / "ro" / "val")]) == 2
        one_line_error(capsys, str(tmp_path / "ro"), "not writable", "the results folder", "another --out")
    assert not any((tmp_path / "ro").iterdir())


def test_run_grid_into_a_read_only_folder(tmp_path: Path, capsys) -> None:
    with read_only(tmp_path / "results"):
        assert main(["run-grid", "--preset", "smoke", "--only", "copy-first", "--no-progress",
                     "--results-dir", str(tmp_path / "results")]) == 2
        one_line_error(capsys, str(tmp_path / "results"), "not writable", "the run folder",
                       "--results-dir DIR")
    assert not any((tmp_path / "results").iterdir())
