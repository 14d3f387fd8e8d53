"""Grid presets: one dataclass tree per run, loaded from YAML shipped in ``rpmbench/presets/``.

A preset file only lists what differs from the dataclass defaults. The resolution order is
preset YAML -> ``--config`` YAML files -> ``--set key=value`` -> ``--seeds``; every field of
:class:`GridConfig` (including all of TrainConfig and PropagationConfig) can be set this way::

    python -m rpmbench run-grid --preset quick --set train.steps=80 --set backbones=[resnet18]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpmbench import registry
from rpmbench.errors import ConfigError
from rpmbench.experiments.overrides import apply_overrides, load_config
from rpmbench.experiments.spec import DataChoice, plain

if TYPE_CHECKING:
    from rpmbench.inference.propagate import PropagationConfig
    from rpmbench.training.config import TrainConfig, TrainExecution

#: Presets shipped with the package (rpmbench/presets/<name>.yaml).
PRESETS: tuple[str, ...] = ("smoke", "quick", "ranking", "protocols", "gpu", "paper")
DEFAULT_PRESET = "quick"


def _default_train() -> TrainConfig:
    from rpmbench.training.config import TrainConfig  # imports torch: only when a config is built

    return TrainConfig()


def _default_execution() -> TrainExecution:
    from rpmbench.training.config import TrainExecution

    return TrainExecution()


def _default_propagation() -> PropagationConfig:
    from rpmbench.inference.propagate import PropagationConfig

    # colour_space None: each cell propagates in its trained model's colour space (checkpoint).
    return PropagationConfig(colour_space=None)


@dataclass
class DataConfig:
    """Where the grid's validation (and, for the built-in set, training) data comes from.

    ``source: builtin`` generates rpmbench's offline data set (``builtin_generator``,
    ``builtin_size``, ``builtin_seed``) into the cache on first use and, with ``builtin_clips``,
    also trains on its real video clips;
    ``source: davis`` uses a DAVIS-2017 folder at ``davis_root``. Cells train on the root's
    ``train.davis_splits`` plus any extra roots in ``train_roots`` (YouTube-VOS, videos).
    ``davis_root`` and ``train_roots`` are where data lies on this machine: never hashed.
    ``layout`` is the registered data layout ``davis_root``'s split is scored in (default ``davis``).
    """

    source: str = "builtin"
    builtin_size: str = "small"
    builtin_seed: int = 0
    builtin_clips: bool = True
    davis_root: str | None = None
    split: str = "val"
    builtin_generator: str = "affine"
    train_roots: list[str] = field(default_factory=list)
    layout: str = registry.DEFAULT_LAYOUT

    def choice(self) -> DataChoice:
        """The part that decides the numbers (hashed); ``davis_root`` is a machine path."""
        return DataChoice(self.source, self.builtin_size, self.builtin_seed, self.builtin_clips,
                          self.split, self.builtin_generator, self.layout)


@dataclass
class GridConfig:
    """A grid: its data (what, and where it lies), the training recipe and the propagation that
    decide the numbers, and how training is carried out (``execution``, never hashed; executor
    choices live on the command line)."""

    name: str = DEFAULT_PRESET
    description: str = ""
    run_name: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=_default_train)
    propagation: PropagationConfig = field(default_factory=_default_propagation)
    execution: TrainExecution = field(default_factory=_default_execution)
    rows: list[str] = field(default_factory=lambda: list(registry.TABLE2_ROWS))
    backbones: list[str] = field(default_factory=lambda: list(registry.BACKBONES))
    baselines: list[str] = field(default_factory=lambda: list(registry.DEFAULT_BASELINES))
    beyond: list[str] = field(default_factory=lambda: list(registry.BEYOND_DEFAULT))
    seeds: int = 1
    first_seed: int = 0
    keep_work: bool = False

    @property
    def run(self) -> str:
        """The results folder name: ``run_name``, or the preset name."""
        return self.run_name or self.name

    def validate(self) -> None:
        """Grid-level checks (cells and data are checked by :func:`rpmbench.experiments.plan.plan_grid`)."""
        if self.data.source not in ("builtin", "davis"):
            raise ConfigError(f"data.source {self.data.source!r}: use 'builtin' or 'davis'")
        if self.data.source == "davis" and not self.data.davis_root:
            raise ConfigError("data.source is 'davis' but data.davis_root is not set; "
                              "pass --set data.davis_root=/path/to/DAVIS")
        if self.run == "paper":
            raise ConfigError("run name 'paper' is reserved: results/paper/ holds the paper's own "
                              "Table 2; choose another with --run-name")
        if self.seeds < 1:
            raise ConfigError(f"seeds={self.seeds}: run at least one seed per cell")
        for name in self.baselines:
            baseline, _ = registry.parse_baseline(name)
            if baseline.needs_truth and self.data.source != "builtin":
                raise ConfigError(f"baselines: {name!r} needs ground-truth flow, which only the built-in "
                                  "data sets store; remove it for data.source=davis")
        for name in self.rows:
            if not registry.is_paper(name):
                raise ConfigError(f"rows: {name!r} is not a Table 2 row ({', '.join(registry.TABLE2_ROWS)}); "
                                  "list it under 'beyond' instead")
        for name in self.beyond:
            if registry.is_paper(name):
                raise ConfigError(f"beyond: {name!r} is a Table 2 row; list it under 'rows'")
        for name in self.backbones:
            if name not in registry.ENCODERS:
                raise ConfigError(f"unknown backbone {name!r} in the grid; choose from "
                                  f"{', '.join(registry.ENCODERS)}")
        for name, values in (("rows", self.rows), ("backbones", self.backbones),
                             ("baselines", self.baselines), ("beyond", self.beyond)):
            if len(set(values)) != len(values):
                raise ConfigError(f"grid {name} {values} repeat an entry; list each once")
        if self.propagation.protocol != registry.PAPER_PROTOCOL:
            raise ConfigError(
                f"propagation.protocol={self.propagation.protocol!r}: Table 2's rows use the paper's "
                f"protocol ({registry.PAPER_PROTOCOL!r}); add other protocols per row as 'beyond the paper' "
                "entries instead, e.g. --set 'beyond=[deformable-l3@memory]'")
        colour = self.propagation.colour_space
        if colour is not None and colour != self.train.colour_space:
            raise ConfigError(
                f"propagation.colour_space={colour!r} but the cells are trained in "
                f"train.colour_space={self.train.colour_space!r}; a model propagates in the colour space "
                "it was trained in: leave propagation.colour_space unset (null) or equal to it")


def preset_path(name: str) -> Path:
    """The YAML file of a shipped preset; ConfigError names the available ones."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return Path(str(resources.files("rpmbench") / "presets" / f"{name}.yaml"))


def load_grid_config(
    preset: str = DEFAULT_PRESET,
    config_files: Sequence[str | Path] = (),
    overrides: Mapping[str, Any] | None = None,
) -> GridConfig:
    """Resolve preset YAML, then each ``config_files`` YAML, then dotted ``overrides``; validated."""
    path = preset_path(preset)
    config = load_config(GridConfig(name=preset), [path, *config_files])
    config = apply_overrides(config, dict(overrides or {}), "--set")
    config.validate()
    return config


def config_dict(config: Any) -> dict[str, Any]:
    """A dataclass tree as plain JSON-able data (paths as strings, tuples as lists)."""
    return plain(dataclasses.asdict(config))
