"""The default thread count comes from the CPUs the process may use (affinity, cgroup quota)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpmbench import cpus


@pytest.mark.parametrize("text, expected", [("max 100000", None), ("150000 100000", 2), ("50000 100000", 1),
                                            ("400000 100000", 4)])
def test_cgroup_v2_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: int | None) -> None:
    (tmp_path / "cpu.max").write_text(text + "\n")
    monkeypatch.setattr(cpus, "CGROUP_V2_MAX", tmp_path / "cpu.max")
    assert cpus.cgroup_cpu_limit() == expected


def test_cgroup_v1_quota_and_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus, "CGROUP_V2_MAX", tmp_path / "missing")
    monkeypatch.setattr(cpus, "CGROUP_V1_QUOTA", tmp_path / "quota")
    monkeypatch.setattr(cpus, "CGROUP_V1_PERIOD", tmp_path / "period")
    assert cpus.cgroup_cpu_limit() is None
    (tmp_path / "quota").write_text("-1\n")
    (tmp_path / "period").write_text("100000\n")
    assert cpus.cgroup_cpu_limit() is None
    (tmp_path / "quota").write_text("300000\n")
    assert cpus.cgroup_cpu_limit() == 3


def test_available_is_the_affinity_capped_by_the_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: None)
    assert cpus.available_cpus() == 6
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 2)
    assert cpus.available_cpus() == 2
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: {3})
    assert cpus.available_cpus() == 1
