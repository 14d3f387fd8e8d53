"""Packaging stays consistent: environment.yml matches pyproject.toml; CI runs the README's command."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_matches_pyproject() -> None:
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    expected = set(project["dependencies"]) | set(extras["dev"]) | set(extras["slurm"])
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [item["pip"] for item in environment["dependencies"] if isinstance(item, dict)]
    assert len(pip_lists) == 1
    listed = {entry for entry in pip_lists[0] if not entry.startswith("-e")}
    assert listed == expected


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci_commands = [
        line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip().startswith("python -m pytest")
    ]
    assert len(ci_commands) == 1
    assert re.search(rf"^\s+{re.escape(ci_commands[0])}\s*$", readme, flags=re.MULTILINE)


def test_help_lists_every_subcommand() -> None:
    from rpmbench.cli import COMMANDS

    result = subprocess.run(
        [sys.executable, "-m", "rpmbench", "--help"], capture_output=True, text=True, check=True
    )
    for name in COMMANDS:
        assert name in result.stdout, f"'{name}' missing from --help"
    for name in COMMANDS:
        sub = subprocess.run(
            [sys.executable, "-m", "rpmbench", name, "--help"], capture_output=True, text=True
        )
        assert sub.returncode == 0, sub.stderr
        assert "examples:" in sub.stdout, f"'{name} --help' shows no examples"
