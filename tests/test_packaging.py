"""Packaging stays consistent: environment.yml matches pyproject.toml; CI runs the README's command."""

import os
import re
import subprocess
import sys
from pathlib import Path

import tomllib
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


OPENCV_WHEELS = {"opencv-python", "opencv-python-headless", "opencv-contrib-python",
                 "opencv-contrib-python-headless"}


def _requirements_closure(names: list[str]) -> dict[str, str]:
    """Every distribution reached from ``names`` through installed metadata, mapped to the name that
    first required it (requirements whose distribution is not installed end the walk there)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    reached: dict[str, str] = {}
    pending = [(Requirement(name), "pyproject.toml") for name in names]
    while pending:
        requirement, parent = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in reached or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        reached[name] = parent
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        pending += [(Requirement(text), name) for text in requires]
    return reached


def test_dependencies_pull_one_opencv_wheel() -> None:
    """All OpenCV wheels install into one cv2 folder, so two of them overwrite each other; walks the
    installed metadata of the core, dev and slurm requirements (vos-benchmark requires opencv-python)."""
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    reached = _requirements_closure([*project["dependencies"], *extras["dev"], *extras["slurm"]])
    opencv = {name: parent for name, parent in reached.items() if name in OPENCV_WHEELS}
    assert set(opencv) == {"opencv-python-headless"}, f"OpenCV wheels and who requires them: {opencv}"


def test_passing_tests_leave_no_temporary_files(tmp_path: Path) -> None:
    """With this project's pytest settings, a passing test's tmp_path is gone after the session."""
    (tmp_path / "test_writes.py").write_text(
        "def test_big(tmp_path):\n    (tmp_path / 'checkpoint.pt').write_bytes(b'0' * 1000)\n")
    temproot = tmp_path / "temproot"
    temproot.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(tmp_path), str(tmp_path / "test_writes.py")],
        capture_output=True, text=True, env={**os.environ, "PYTEST_DEBUG_TEMPROOT": str(temproot)})
    assert result.returncode == 0, result.stdout + result.stderr
    left = [path for path in temproot.rglob("*") if path.is_file()]
    assert not left, f"left behind: {left}"
