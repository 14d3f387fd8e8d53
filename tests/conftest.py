"""Fixtures shared by the test suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rpmbench import registry


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """``register(entry)`` adds a registry entry for this test only (removed afterwards)."""
    def add(entry: Any) -> Any:
        entries = registry._KINDS[type(entry)]
        if entry.name in entries:
            raise ValueError(f"registry entry {entry.name!r} registered twice")
        monkeypatch.setitem(entries, entry.name, entry)
        return entry
    return add
