"""The provenance index: the committed ``results/INDEX.md`` is what ``index`` writes now, and the
generator reads results with and without the newer provenance fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rpmbench
from rpmbench.cli import main
from rpmbench.experiments.index import INDEX_NAME, WRITE_COMMAND, build_index, readme_command

RESULTS = Path(rpmbench.__file__).resolve().parents[1] / "results"


def test_committed_index_is_what_the_command_writes_now() -> None:
    committed = RESULTS / INDEX_NAME
    assert committed.is_file() and committed.read_text() == build_index(RESULTS), (
        f"results/{INDEX_NAME} is stale (results were added or changed): regenerate it from the "
        f"checkout's root with `{WRITE_COMMAND}` and commit it")


def _cell(cell: str, jf: float, **extra: object) -> dict[str, object]:
    return {"cell": cell, "metrics": {"J&F-Mean": jf, "J-Mean": jf + 0.01, "F-Mean": jf - 0.01}, **extra}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results folder: an old cell (no provenance at all), a new one (every field), a README'd
    study, a benchmark, and scratch that is never indexed."""
    root = tmp_path / "results"
    cells = root / "grid" / "cells"
    cells.mkdir(parents=True)
    (root / "grid" / "README.md").write_text("# grid\n\n    python -m rpmbench run-grid --preset quick  # all\n")
    (cells / "copy-first-aaaa.json").write_text(json.dumps(_cell("copy-first", 0.25)))
    (cells / "resnet18-deformable-l3-s1-bbbb.json").write_text(json.dumps(_cell(
        "resnet18-deformable-l3", 0.4, seed=1, protocol="flow", provenance={
            "command": "python -m rpmbench run-grid --seeds 1", "git_commit": "0123456789abcdef-dirty",
            "device": "cuda", "device_name": "NVIDIA H200", "versions": {"torch": "2.14.1"},
            "cpu": {"processor": "AMD EPYC", "cores": 16, "usable_cpus": 16, "torch_threads": 8},
            "checkpoint_sha256": "f" * 64})))
    (root / "study").mkdir()
    (root / "study" / "README.md").write_text(
        "# study\n\n## `evidence.json`: 3 seeds\n\n    python -m rpmbench train --out runs/e \\\n"
        "        --evidence-seeds 0 1 2\n")
    (root / "study" / "evidence.json").write_text(json.dumps({
        "rows": [{"method": "rpmnet", "seed": 0, "J&F-Mean": 0.5, "J-Mean": 0.6, "F-Mean": 0.4}],
        "seeds": [0], "rpmnet_jf_mean": 0.5, "rpmnet_jf_std": 0.0}))
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "train-cpu.json").write_text(json.dumps({
        "benchmark": "train", "device": "cpu", "device_name": "Intel Xeon (2 cores, 2 torch threads)"}))
    (root / "runs" / "x" / "cells").mkdir(parents=True)
    (root / "runs" / "x" / "cells" / "ignored.json").write_text(json.dumps(_cell("ignored", 0.9)))
    return root


def test_index_reads_old_and_new_results(results: Path) -> None:
    index = build_index(results)
    assert "ignored" not in index  # run-grid's scratch is not committed
    assert ("| `results/grid/cells/copy-first-aaaa.json` | copy-first | - | - | 25.00 | 26.00 | 24.00 | C1 | E1 | "
            "not recorded |") in index
    assert "| C1 | `python -m rpmbench run-grid --preset quick` | results/grid/README.md |" in index
    assert "| E1 | not recorded | not recorded | - |" in index
    assert "| resnet18-deformable-l3 | flow | 1 | 40.00 | 41.00 | 39.00 | C2 | E2 | 0123456-dirty |" in index
    assert "| C2 | `python -m rpmbench run-grid --seeds 1` | recorded |" in index
    assert "| E2 | NVIDIA H200 (CPU: AMD EPYC) | 8 | 2.14.1 |" in index
    assert "| C3 | `python -m rpmbench train --out runs/e --evidence-seeds 0 1 2` | results/study/README.md |" in index
    assert "| rpmnet, mean +- std over seeds 0 | - | 50.00 +- 0.00 | - | - | C3 |" in index
    assert "| `results/benchmarks/train-cpu.json` | benchmark `train` | C4 | E3 | not recorded |" in index
    assert "| E3 | Intel Xeon | 2 |" in index  # threads parsed from an older result's device_name


def test_index_write_and_check(results: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["index", "--results", str(results), "--check"]) == 1
    assert WRITE_COMMAND in capsys.readouterr().err
    assert main(["index", "--results", str(results), "--write"]) == 0
    assert main(["index", "--results", str(results), "--check"]) == 0
    assert (results / INDEX_NAME).read_text() == build_index(results)


def test_readme_command_prefers_the_one_naming_the_file(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("Made by `python -m rpmbench profile-data`.\n\n"
                      "| `a-seed{0,1}.json` | `python -m rpmbench profile-data --seed S` |\n"
                      "| `b.json` | `python -m rpmbench profile-data --out results/x/b.json` |\n")
    assert readme_command(readme, "a-seed1.json") == "python -m rpmbench profile-data --seed S"
    assert readme_command(readme, "b.json") == "python -m rpmbench profile-data --out results/x/b.json"
    assert readme_command(readme, "c.json") == "python -m rpmbench profile-data"
