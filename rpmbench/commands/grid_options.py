"""The options every study command shares with ``run-grid``: a grid preset, YAML files and ``--set``."""

from __future__ import annotations

import argparse
from typing import Any


def add_grid_options(parser: argparse.ArgumentParser, gives: str, default: str | None = None) -> None:
    """``--preset`` (default: the default grid's, or ``default``), ``--config FILE`` and ``--set
    KEY=VALUE``, as for run-grid; ``gives`` says what the preset gives the command."""
    from rpmbench.experiments.presets import DEFAULT_PRESET, PRESETS

    default = default or DEFAULT_PRESET
    parser.add_argument("--preset", choices=PRESETS, default=default,
                        help=f"grid preset giving {gives} (default: {default})")
    parser.add_argument("--config", action="append", default=[], metavar="FILE",
                        help="YAML file of grid settings (repeatable), as for run-grid")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a grid setting, as for run-grid (e.g. --set train.loss=l1)")


def grid_from_options(args: argparse.Namespace, **overrides: Any) -> Any:
    """The :class:`~rpmbench.experiments.presets.GridConfig` of ``args``' preset, files and ``--set``
    (then ``overrides``, dotted keys)."""
    from rpmbench.experiments.overrides import parse_assignment
    from rpmbench.experiments.presets import load_grid_config

    return load_grid_config(args.preset, args.config, {**dict(parse_assignment(text) for text in args.set), **overrides})
