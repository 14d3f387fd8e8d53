"""The spine's three inputs: what a result is (:class:`CellSpec`), where the machine keeps its
data (:class:`Paths`) and how the work is carried out (:class:`Work`).

Only the spec decides the numbers, so only the spec is hashed, as it is (:attr:`CellSpec.hash`):
moving DAVIS to another disk, adding loader workers, TensorBoard or a different checkpoint
frequency never recomputes a result. The three are separate types from the command line on
(the grid's ``data`` paths, ``train`` recipe, ``propagation`` and ``execution`` sections of
:class:`~rpmbench.experiments.presets.GridConfig`), so a config changes form twice between the
command line and the result file: the parsed grid becomes one spec per result
(:func:`rpmbench.experiments.plan.plan_grid`), and the spec is written into the result JSON
(:meth:`CellSpec.to_dict`). The recipe a cell trains with is ``spec.train`` itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpmbench import registry
from rpmbench.errors import ConfigError, DataError
from rpmbench.registry import PAPER_PROTOCOL

#: PropagationConfig fields added after results were committed (the peers' memory settings): left
#: out of the spec's dict, hence of its hash, while they hold their defaults, so that every earlier
#: result keeps its id.
LATER_PROPAGATION_FIELDS: tuple[str, ...] = ("neighbourhood", "long_term", "recent", "offsets",
                                             "whole_long_term", "output_norm")

if TYPE_CHECKING:
    from rpmbench.inference.propagate import PropagationConfig
    from rpmbench.training.config import TrainConfig, TrainExecution

@dataclass(frozen=True)
class DataChoice:
    """Which data a result is computed on (not where it lies on this machine).

    ``source: builtin`` is rpmbench's offline data set (``builtin_generator``: a name of
    :data:`rpmbench.data.builtin.GENERATORS`, e.g. ``calibrated2``; ``builtin_size``,
    ``builtin_seed``), training also on its real video clips with ``builtin_clips``;
    ``source: davis`` is a DAVIS-2017 copy whose folder is a :class:`Paths` entry. ``layout`` is the registered data layout
    (:data:`rpmbench.registry.DATA_LAYOUTS`) the split is read in; the built-in set is DAVIS's.
    """

    source: str = "builtin"
    builtin_size: str = "small"
    builtin_seed: int = 0
    builtin_clips: bool = True
    split: str = "val"
    builtin_generator: str = "affine"
    layout: str = registry.DEFAULT_LAYOUT

    def __post_init__(self) -> None:
        registry.data_layout(self.layout)  # ConfigError listing the registered layouts
        if self.source == "builtin" and self.layout != registry.DEFAULT_LAYOUT:
            raise ConfigError(f"data.layout {self.layout!r}: the built-in data set is in the "
                              f"{registry.DEFAULT_LAYOUT!r} layout; use data.source=davis for a root in another")

    def to_dict(self) -> dict[str, Any]:
        """The choice as plain data; ``layout`` is left out while it is the default (it was added
        after results were committed, so every earlier result keeps its hash)."""
        values = plain(dataclasses.asdict(self))
        if self.layout == registry.DEFAULT_LAYOUT:
            del values["layout"]
        return values

    def describe(self) -> str:
        """One line naming the data set, e.g. ``rpmbench built-in 'small' (seed 0), val``."""
        if self.source == "builtin":
            clips = "; training also on its real video clips" if self.builtin_clips else ""
            return (f"rpmbench built-in '{self.builtin_generator}' set, size '{self.builtin_size}' "
                    f"(seed {self.builtin_seed}), {self.split}{clips}")
        if self.layout != registry.DEFAULT_LAYOUT:
            return f"{self.split} split in the {self.layout!r} layout"
        return f"DAVIS-2017 {self.split}"


@dataclass(frozen=True)
class CellSpec:
    """Everything that decides one result's numbers.

    ``method`` is a registry id (``resnet18-deformable-l3``, ``resnet18-deformable-l3@memory`` or a
    baseline name); ``train`` is None for baselines. ``propagation.colour_space`` None means the
    trained model's colour space (read from its checkpoint). ``snapshot`` propagates with the
    training run's model at that step instead of its last (0: the seeded, untrained model), so a
    learning curve is a list of specs sharing one training run; None (the default) is left out of
    the hash, so a spec without it is the grid's cell.
    """

    method: str
    data: DataChoice
    propagation: PropagationConfig
    train: TrainConfig | None = None
    snapshot: int | None = None

    def __post_init__(self) -> None:
        if self.train is None:
            if self.snapshot is not None:
                raise ConfigError(f"cell {self.method}: a baseline has no training snapshot")
        elif self.snapshot is not None and not 0 <= self.snapshot < self.train.steps:
            raise ConfigError(f"cell {self.method}: snapshot step {self.snapshot} is not in "
                              f"0..{self.train.steps - 1} (the last step is the cell itself: snapshot None)")

    @property
    def kind(self) -> str:
        """``model`` (trained) or ``baseline``."""
        return "baseline" if self.train is None else "model"

    @property
    def seed(self) -> int | None:
        return None if self.train is None else self.train.seed

    @property
    def protocol(self) -> str:
        """The propagation protocol's registry name (the paper's for a baseline)."""
        return self.method.partition("@")[2] or PAPER_PROTOCOL

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-able data (what the result file stores; no ``snapshot`` key when None)."""
        values = {**plain(dataclasses.asdict(self)), "data": self.data.to_dict()}
        if self.snapshot is None:
            del values["snapshot"]
        defaults = type(self.propagation)()
        for name in LATER_PROPAGATION_FIELDS:
            if plain(getattr(self.propagation, name)) == plain(getattr(defaults, name)):
                del values["propagation"][name]
        return values

    @property
    def hash(self) -> str:
        """10 hex digits of SHA-256 over the spec as canonical JSON."""
        return config_hash(self.to_dict())

    @property
    def stem(self) -> str:
        """Result file stem: ``resnet18-deformable-l3-s0-1a2b3c4d5e`` (baselines: no seed)."""
        seed = f"-s{self.seed}" if self.seed is not None else ""
        snapshot = f"-step{self.snapshot}" if self.snapshot is not None else ""
        return f"{self.method}{seed}{snapshot}-{self.hash}"

    @property
    def training_stem(self) -> str | None:
        """Work-dir name of the training run; specs differing only in propagation share it."""
        if self.train is None:
            return None
        model_id = self.method.partition("@")[0]
        key = config_hash({"data": self.data.to_dict(),
                           "train": plain(dataclasses.asdict(self.train))})
        return f"{model_id}-s{self.seed}-train-{key}"


@dataclass(frozen=True)
class Paths:
    """Where this machine keeps the data and the scratch files (never hashed).

    ``davis_root`` is scored (and its ``train.davis_splits`` trained on); ``train_roots`` are the
    extra unlabelled video roots; ``scratch`` holds resumable work (checkpoints, predictions).
    """

    davis_root: Path
    train_roots: tuple[str, ...]
    scratch: Path


def _default_execution() -> TrainExecution:
    from rpmbench.training.config import TrainExecution  # imports torch: only when work is built

    return TrainExecution()


@dataclass(frozen=True)
class Work:
    """How the work is carried out; none of it changes a number (CPU: at equal ``threads``)."""

    threads: int | None = None  # torch threads while a cell runs; None: leave as is
    training: TrainExecution = field(default_factory=lambda: _default_execution())
    progress: bool = True
    overlays: str | None = None  # write <overlays>/<result id>/<sequence>.{png,gif} of each computed result


def resolve_paths(data: DataChoice, davis_root: str | None, extra_roots: tuple[str, ...],
                  davis_splits: list[str], scratch: Path, progress: bool = True) -> Paths:
    """This machine's :class:`Paths` for ``data``; DataError (with the setting to fix) if unusable.

    Training reads the root's ``davis_splits`` frames, ``extra_roots`` and, for the built-in data
    with ``builtin_clips``, its real video clips: the same default for ``train`` and ``run-grid``.
    The built-in data set is generated into the cache on first use.
    """
    from rpmbench.data.layouts import open_split

    extra = [str(Path(root).expanduser()) for root in extra_roots]
    if data.source == "builtin":
        from rpmbench.data.builtin import builtin_clip_paths, ensure_builtin_dataset

        root = Path(ensure_builtin_dataset(data.builtin_size, data.builtin_seed, progress=progress,
                                           generator=data.builtin_generator))
        if data.builtin_clips:
            extra = [str(path) for path in builtin_clip_paths()] + extra
    else:
        if not davis_root:
            raise DataError("data.source is 'davis' but no DAVIS root is set; pass "
                            "--set data.davis_root=/path/to/DAVIS")
        root = Path(davis_root).expanduser()
        if not root.is_dir():
            raise DataError(f"{root}: DAVIS root not found; point rpmbench at your DAVIS-2017 copy "
                            f"with --set data.davis_root=/path/to/DAVIS (and --set "
                            "'data.train_roots=[/path/to/youtube-vos/train]' for YouTube-VOS)")
    open_split(root, data.split, data.layout)  # validates the layout, raises DataError
    for split in davis_splits:
        open_split(root, split, data.layout, first_frame_only=True)  # training reads the frames only
    for path in extra:
        if not Path(path).exists():
            raise DataError(f"training data root {path} does not exist; fix it with --set "
                            "'data.train_roots=[...]' or remove it from the preset")
    return Paths(davis_root=root, train_roots=tuple(dict.fromkeys((*extra, str(root)))), scratch=scratch)


def config_hash(config: Mapping[str, Any]) -> str:
    """A 10-hex-digit SHA-256 of ``config`` as canonical JSON (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def plain(value: Any) -> Any:
    """Dicts, lists and scalars only (paths as strings, tuples as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value
