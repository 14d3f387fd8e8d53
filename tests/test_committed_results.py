"""No documented command writes into the committed ``results/`` unless its output option says so."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import rpmbench
from rpmbench.cli import build_parser, main

CHECKOUT = Path(rpmbench.__file__).resolve().parents[1]

#: Gitignored folders under results/ (run-grid runs, Slurm logs): writing there rewrites nothing.
SCRATCH = ("results/runs", "results/slurm")
#: Options whose default under results/ is read, never written (``index`` writes its INDEX.md only
#: with ``--write``).
READ_ONLY = {"reference_dir", "results_root"}
OUTPUT_FLAGS = ("--out", "--output-dir", "--results-dir", "--work", "--work-dir", "--scores-dir")


def _parsers(parser: argparse.ArgumentParser, name: str = "rpmbench") -> list[tuple[str, argparse.ArgumentParser]]:
    """``parser`` and every nested subcommand parser, with their command names."""
    found = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                found += _parsers(sub, f"{name} {sub_name}")
    return found


def _into_committed_results(path: object) -> bool:
    text = str(path)
    return (text == "results" or text.startswith("results/")) and not text.startswith(SCRATCH)


def test_no_default_writes_into_committed_results() -> None:
    offenders = [
        f"{command} {action.option_strings[0]} (default {action.default})"
        for command, parser in _parsers(build_parser()) for action in parser._actions
        if action.option_strings and action.dest not in READ_ONLY and _into_committed_results(action.default)
    ]
    assert not offenders, offenders


def test_no_help_example_writes_into_committed_results() -> None:
    pattern = re.compile(rf"(?:{'|'.join(map(re.escape, OUTPUT_FLAGS))})[ =](\S+)")
    offenders = [
        f"{command}: {line.strip()}"
        for command, parser in _parsers(build_parser())
        for line in (parser.description or "").splitlines() + (parser.epilog or "").splitlines()
        if any(_into_committed_results(path) for path in pattern.findall(line))
    ]
    assert not offenders, offenders


def test_bench_evaluate_startup_writes_under_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command as documented, run from a folder standing in for a checkout's root."""
    monkeypatch.setenv("PYTHONPATH", str(CHECKOUT))  # its subprocesses import this rpmbench
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "evaluate-startup", "--repeats", "1"]) == 0
    assert not (tmp_path / "results").exists()
    assert (tmp_path / "runs" / "benchmarks" / "evaluate-startup-cpu.json").is_file()
