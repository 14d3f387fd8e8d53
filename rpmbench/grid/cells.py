"""The cells of Table 2: which models the grid trains, their readable ids, and config hashes.

A *row* of Table 2 is a matching module (convolution type, kernel/dilation, number of layers); a
*cell* is a row crossed with an embedding backbone. Rows are named by short strings so that a
preset or the command line can pick a subset::

    deformable-l3  standard-l1  standard-l3  standard-l5  dilated-d3-l3  dilated-d6-l3  dilated-d9-l3

and a cell id prefixes the backbone: ``resnet50-dilated-d6-l3``. The baselines (no network) are
extra rows whose id is their name (``copy-first``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rpmbench.errors import ConfigError

#: The embedding networks of Table 2's columns, in the paper's order.
BACKBONES: tuple[str, ...] = ("resnet18", "resnet34", "resnet50", "resnet101")
#: Table 2's rows, top to bottom.
TABLE2_ROWS: tuple[str, ...] = (
    "deformable-l3",
    "standard-l1",
    "standard-l3",
    "standard-l5",
    "dilated-d3-l3",
    "dilated-d6-l3",
    "dilated-d9-l3",
)
#: Propagation baselines reported as extra rows (rpmbench.baselines.run_baseline names).
BASELINES: tuple[str, ...] = ("copy-first", "copy-previous", "optical-flow")

_ROW_PATTERN = re.compile(r"^(deformable|standard|dilated)(?:-d(\d+))?-l(\d+)$")


@dataclass(frozen=True)
class Row:
    """One matching module of Table 2 (all its layers use a ``kernel_size`` x ``kernel_size`` kernel)."""

    matching: str
    layers: int
    dilation: int = 1
    kernel_size: int = 3

    @property
    def name(self) -> str:
        """``dilated-d6-l3``; the dilation is only spelled out for dilated rows."""
        dilation = f"-d{self.dilation}" if self.matching == "dilated" else ""
        return f"{self.matching}{dilation}-l{self.layers}"

    @classmethod
    def parse(cls, name: str) -> Row:
        """Inverse of :attr:`name`; raises ConfigError for anything else."""
        match = _ROW_PATTERN.match(name)
        if match is None:
            raise ConfigError(
                f"grid row {name!r} is not of the form deformable-l3, standard-l1 or dilated-d6-l3 "
                f"(Table 2's rows are {', '.join(TABLE2_ROWS)})"
            )
        matching, dilation, layers = match.group(1), match.group(2), int(match.group(3))
        if matching == "dilated" and dilation is None:
            raise ConfigError(f"grid row {name!r}: a dilated row needs a dilation, e.g. dilated-d6-l3")
        if matching != "dilated" and dilation is not None:
            raise ConfigError(
                f"grid row {name!r}: only dilated rows take a dilation; use {matching}-l{layers}"
            )
        return cls(matching=matching, layers=layers, dilation=int(dilation or 1))


@dataclass(frozen=True)
class Cell:
    """One trained model of the grid: a Table 2 row with one backbone."""

    row: Row
    backbone: str

    @property
    def id(self) -> str:
        """Readable id, e.g. ``resnet50-dilated-d6-l3``."""
        return f"{self.backbone}-{self.row.name}"

    def model_fields(self) -> dict[str, Any]:
        """The RPMNetConfig fields this cell fixes."""
        return {
            "backbone": self.backbone,
            "matching": self.row.matching,
            "layers": self.row.layers,
            "dilation": self.row.dilation,
        }


def grid_cells(rows: Iterable[str] = TABLE2_ROWS, backbones: Iterable[str] = BACKBONES) -> list[Cell]:
    """Rows x backbones in table order (row-major); raises ConfigError on unknown names or repeats."""
    rows, backbones = list(rows), list(backbones)
    for backbone in backbones:
        if backbone not in BACKBONES:
            raise ConfigError(
                f"unknown backbone {backbone!r} in the grid; choose from {', '.join(BACKBONES)}"
            )
    for name, values in (("rows", rows), ("backbones", backbones)):
        if len(set(values)) != len(values):
            raise ConfigError(f"grid {name} {values} repeat an entry; list each once")
    return [Cell(Row.parse(row), backbone) for row in rows for backbone in backbones]


def config_hash(config: Mapping[str, Any]) -> str:
    """A 10-hex-digit SHA-256 of ``config`` as canonical JSON (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]
