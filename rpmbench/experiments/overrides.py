"""Dotted-key overrides of nested dataclass configs, from YAML files or ``--set key=value``: the
one loader of every config file and ``--set`` (grids and ``train``).

``apply_overrides(config, {"train.steps": 40, "data.builtin_size": "davis"})`` returns a copy of
``config`` with those fields replaced. Keys must name existing fields (a typo is a ConfigError that
lists the valid names); values are checked against the type of the field's current value, so
``--set train.steps=ten`` fails before any work starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rpmbench.errors import ConfigError


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"train.lr=1e-3"`` -> ``("train.lr", 0.001)``; the value is parsed as YAML (lists, null...)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. --set train.steps=40")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML ({error})") from error
    return key.strip(), value


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"steps": 4}}`` -> ``{"train.steps": 4}`` (mappings are descended, lists kept)."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def apply_overrides(config: Any, overrides: Mapping[str, Any], source: str = "override") -> Any:
    """A copy of the dataclass ``config`` with each dotted key set (nested dataclasses descended)."""
    for key, value in overrides.items():
        config = _set(config, key.split("."), value, key, source)
    return config


def _set(config: Any, path: list[str], value: Any, key: str, source: str) -> Any:
    names = [field.name for field in dataclasses.fields(config)]
    if path[0] not in names:
        where = type(config).__name__
        raise ConfigError(
            f"{source}: unknown setting {key!r} ({where} has no field {path[0]!r}; valid fields: "
            f"{', '.join(names)})"
        )
    current = getattr(config, path[0])
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{source}: {key!r}: {path[0]!r} is a value, not a section")
        new = _set(current, path[1:], value, key, source)
    elif dataclasses.is_dataclass(current):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {key!r} is a section; give a mapping or set its fields")
        new = apply_overrides(current, flatten(value), source)
    else:
        new = _coerce(current, value, key, source)
    return dataclasses.replace(config, **{path[0]: new})


def _coerce(current: Any, value: Any, key: str, source: str) -> Any:
    """``value`` converted to the kind of ``current`` (int -> float, list -> tuple) or ConfigError."""
    if current is None or value is None:
        return value
    if isinstance(current, bool) or isinstance(value, bool):
        if isinstance(current, bool) and isinstance(value, bool):
            return value
    elif isinstance(current, float) and isinstance(value, (int, float)):
        return float(value)
    elif isinstance(current, tuple) and isinstance(value, (list, tuple)):
        return tuple(value)
    elif isinstance(current, list) and isinstance(value, (list, tuple)):
        return list(value)
    elif isinstance(current, (int, str)) and type(value) is type(current):
        return value
    elif not isinstance(current, (int, float, str, list, tuple)):
        return value  # a type this checker does not know (e.g. a Path): the config validates it
    raise ConfigError(
        f"{source}: {key!r} must be of type {type(current).__name__} (like {current!r}), "
        f"got {value!r}"
    )


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path`` (ConfigError if missing or not a mapping)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        payload = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(payload, Mapping):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return dict(payload)


def load_config(config: Any, files: Sequence[str | Path] = (), assignments: Sequence[str] = ()) -> Any:
    """``config`` with each YAML file's settings applied in turn, then each ``KEY=VALUE``
    assignment (later wins); ConfigError names the file or the assignment at fault."""
    for file in files:
        config = apply_overrides(config, flatten(read_yaml(file)), str(file))
    return apply_overrides(config, dict(parse_assignment(text) for text in assignments), "--set")
