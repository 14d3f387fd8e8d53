"""The one list of what a result can be: encoders, matching kinds and variants, propagation
protocols, baselines, and the data layouts results are read from.

Every name the command line, the grid, the studies, the tests and the table use is an entry here,
and every entry that runs code names its implementation as a ``"module:function"`` builder,
resolved only when it is used (:func:`resolve`): adding a matching kind or variant, a protocol, a
baseline or a data layout is one :func:`register` call (plus, for a new mechanism, the function it names), and no
other module keeps a list or an if-chain of names. This module imports no torch, so ``--help``
and ``evaluate`` stay fast.

A result id names what produced it::

    resnet18-deformable-l3            a Table 2 cell (backbone + matching variant), paper protocol
    resnet18-deformable-l3@memory     the same trained model propagated under another protocol
    copy-previous                     a baseline (no network)

Entries marked ``paper=False`` go beyond the paper: the table shows them in their own block.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rpmbench.errors import ConfigError


@dataclass(frozen=True)
class Encoder:
    """An embedding backbone (Table 2's columns): ResNet block type and blocks per stage."""

    name: str
    block: str  # "basic" or "bottleneck"
    layers: tuple[int, int, int, int]


@dataclass(frozen=True)
class MatchingKind:
    """How a matching module predicts its flow (:class:`~rpmbench.models.RPMNetConfig`'s ``matching``).

    ``builder`` makes one flow-predicting layer (the signature of
    :func:`rpmbench.models.matching.deformable_layer`); ``base_flow``, for a kind whose layers
    predict a residual, names the flow they add to (the signature of
    :func:`rpmbench.models.matching.corr_base_flow`). ``dilated`` kinds take a dilation >= 2, the
    others exactly 1.
    """

    name: str
    builder: str
    base_flow: str | None = None
    dilated: bool = False
    paper: bool = True
    description: str = ""


@dataclass(frozen=True)
class MatchingVariant:
    """A matching module: the :class:`~rpmbench.models.RPMNetConfig` fields it fixes (``matching`` is
    a :class:`MatchingKind`; every flow-predicting layer is
    :data:`rpmbench.models.matching.KERNEL_SIZE` square)."""

    name: str
    matching: str
    layers: int
    dilation: int = 1
    paper: bool = True  # a row of Table 2
    description: str = ""

    def model_fields(self) -> dict[str, Any]:
        """The :class:`~rpmbench.models.RPMNetConfig` fields this variant sets."""
        return {"matching": self.matching, "layers": self.layers, "dilation": self.dilation}


@dataclass(frozen=True)
class Protocol:
    """A named way to propagate masks with a trained model.

    ``builder`` propagates one sequence (the signature of
    :func:`rpmbench.inference.protocols.flow`); ``settings`` are the
    :class:`~rpmbench.inference.propagate.PropagationConfig` fields it fixes besides its name.
    """

    name: str
    builder: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    paper: bool = True
    description: str = ""
    paper_version: str = "neither version of the paper"  # which version of RPM-Net it stands for

    def config_fields(self) -> dict[str, Any]:
        """The PropagationConfig fields that select this protocol."""
        return {"protocol": self.name, **self.settings}


@dataclass(frozen=True)
class Baseline:
    """A method without a network, scored beside the cells: ``builder`` predicts one sequence's
    masks (the signature of :func:`rpmbench.inference.baselines.copy_first`); ``flows``, for a
    method that moves masks by a flow, gives that flow (the signature of
    :func:`rpmbench.inference.flows.zero_flows`) so its error against ground truth is measured."""

    name: str
    builder: str
    paper: bool = True
    description: str = ""
    flows: str | None = None
    needs_truth: bool = False  # reads the data set's ground-truth flow (the built-in sets store it)


@dataclass(frozen=True)
class DataLayout:
    """A folder layout of labelled video: ``builder`` opens one split of a root as a reader (the
    signature of :class:`rpmbench.data.davis.DavisDataset`; what a reader offers is
    :class:`rpmbench.data.layouts.SplitReader`), through :func:`rpmbench.data.layouts.open_split`."""

    name: str
    builder: str
    description: str = ""


_KINDS: dict[type, dict[str, Any]] = {Encoder: {}, MatchingKind: {}, MatchingVariant: {}, Protocol: {},
                                      Baseline: {}, DataLayout: {}}


def register(entry: Encoder | MatchingKind | MatchingVariant | Protocol | Baseline | DataLayout) -> None:
    """Add ``entry`` to its kind's list (a name may be registered once)."""
    entries = _KINDS[type(entry)]
    if entry.name in entries:
        raise ValueError(f"registry entry {entry.name!r} registered twice")
    entries[entry.name] = entry


def resolve(builder: str) -> Callable[..., Any]:
    """The function a ``"module:function"`` builder names (imported on first use)."""
    module, _, name = builder.partition(":")
    return getattr(importlib.import_module(module), name)


# Table 2's columns, in the paper's order (Table 1's ResNets).
register(Encoder("resnet18", "basic", (2, 2, 2, 2)))
register(Encoder("resnet34", "basic", (3, 4, 6, 3)))
register(Encoder("resnet50", "bottleneck", (3, 4, 6, 3)))
register(Encoder("resnet101", "bottleneck", (3, 4, 23, 3)))

_MATCHING_MODULE = "rpmbench.models.matching"
# Table 2's matching types: deformable (Table 1), standard and dilated 3x3 convolutions.
register(MatchingKind("deformable", f"{_MATCHING_MODULE}:deformable_layer",
                      description="3x3 deformable convolutions, zero-initialised offsets"))
register(MatchingKind("standard", f"{_MATCHING_MODULE}:conv_layer", description="3x3 convolutions"))
register(MatchingKind("dilated", f"{_MATCHING_MODULE}:conv_layer", dilated=True,
                      description="3x3 convolutions with dilation 3, 6 or 9"))
# Beyond the paper: 3x3 convolutions predicting a residual to a cost volume's soft-argmax.
register(MatchingKind("corr", f"{_MATCHING_MODULE}:conv_layer", base_flow=f"{_MATCHING_MODULE}:corr_base_flow",
                      paper=False, description="cost-volume soft-argmax base flow + residual"))

# Table 2's rows, top to bottom.
register(MatchingVariant("deformable-l3", "deformable", 3, description="Table 1's module"))
register(MatchingVariant("standard-l1", "standard", 1))
register(MatchingVariant("standard-l3", "standard", 3))
register(MatchingVariant("standard-l5", "standard", 5))
register(MatchingVariant("dilated-d3-l3", "dilated", 3, dilation=3))
register(MatchingVariant("dilated-d6-l3", "dilated", 3, dilation=6))
register(MatchingVariant("dilated-d9-l3", "dilated", 3, dilation=9))
# Beyond the paper: a soft-argmax base flow from a local cost volume plus a learned residual.
register(MatchingVariant("corr-l3", "corr", 3, paper=False,
                         description="cost-volume soft-argmax base flow + residual"))

_PROTOCOLS_MODULE = "rpmbench.inference.protocols"
# The paper's protocol (arXiv version): the matching module's flow between frames t-1 and t warps the soft mask.
register(Protocol("flow", f"{_PROTOCOLS_MODULE}:flow", description="the paper's frame-to-frame flow propagation",
                  paper_version="the arXiv version (1909.13247): t-1 propagation only"))
# Beyond the paper: the protocol of RPM-Net's peers, and one reading of the WACV version's online update.
register(Protocol("memory", f"{_PROTOCOLS_MODULE}:memory", paper=False,
                  description="memory read-out: the target matched against frame 0 and recent frames",
                  paper_version="neither version: the protocol of RPM-Net's peers (DINO's settings)"))
register(Protocol("flow-frame", f"{_PROTOCOLS_MODULE}:flow", {"warp_resolution": "frame"}, paper=False,
                  description="the paper's flow, upsampled x4 and warping a frame-size soft mask",
                  paper_version="the arXiv version's flow, warped at the frame size instead of H/4"))
register(Protocol("fusion", f"{_PROTOCOLS_MODULE}:fusion", paper=False,
                  description="the flow warp and the memory read-out, mixed",
                  paper_version="one reading of the WACV 2020 version's online update from the first frame"))

_BASELINES_MODULE = "rpmbench.inference.baselines"
_FLOWS_MODULE = "rpmbench.inference.flows"
register(Baseline("copy-first", f"{_BASELINES_MODULE}:copy_first", description="the first-frame mask for every frame"))
register(Baseline("copy-previous", f"{_BASELINES_MODULE}:copy_previous",
                  description="zero flow: RPM-Net's pipeline with no motion", flows=f"{_FLOWS_MODULE}:zero_flows"))
register(Baseline("optical-flow", f"{_BASELINES_MODULE}:optical_flow",
                  description="OpenCV DIS optical flow, chained frame to frame", flows=f"{_FLOWS_MODULE}:dis_flows"))
register(Baseline("pixels", f"{_BASELINES_MODULE}:pixels", paper=False,
                  description="memory propagation on raw Lab pixels (beyond the paper)"))
register(Baseline("oracle-flow", f"{_BASELINES_MODULE}:oracle_flow", paper=False, needs_truth=True,
                  description="the paper's t-1 warp moved by the ground-truth flow: the protocol's ceiling"))

register(DataLayout("davis", "rpmbench.data.davis:DavisDataset",
                    description="DAVIS-2017: JPEGImages/, Annotations/ (palette PNGs), ImageSets/2017/<split>.txt"))

ENCODERS: Mapping[str, Encoder] = MappingProxyType(_KINDS[Encoder])
#: Matching kind name (``RPMNetConfig.matching``) -> entry: Table 2's types, then ours.
MATCHING_KINDS: Mapping[str, MatchingKind] = MappingProxyType(_KINDS[MatchingKind])
#: The embedding networks (Table 2's columns), in the paper's order.
BACKBONES: tuple[str, ...] = tuple(ENCODERS)
VARIANTS: Mapping[str, MatchingVariant] = MappingProxyType(_KINDS[MatchingVariant])
PROTOCOLS: Mapping[str, Protocol] = MappingProxyType(_KINDS[Protocol])
#: Baseline name -> entry (iterating gives the names, in registration order).
BASELINES: Mapping[str, Baseline] = MappingProxyType(_KINDS[Baseline])
#: The baselines a grid scores by default: those that run on any data (not the ground-truth oracles).
DEFAULT_BASELINES: tuple[str, ...] = tuple(name for name, entry in BASELINES.items() if not entry.needs_truth)
PAPER_PROTOCOL = "flow"
#: Layout name -> entry: how a data root's splits are read.
DATA_LAYOUTS: Mapping[str, DataLayout] = MappingProxyType(_KINDS[DataLayout])
#: The layout every split is read in unless one is named (the paper's data set's).
DEFAULT_LAYOUT = "davis"
#: Table 2's rows (the paper's matching variants), top to bottom.
TABLE2_ROWS: tuple[str, ...] = tuple(name for name, v in VARIANTS.items() if v.paper)
#: The "beyond the paper" entries a grid adds by default: every non-paper matching variant under
#: the paper's protocol, and the deformable cell under every non-paper protocol.
BEYOND_DEFAULT: tuple[str, ...] = (
    *(name for name, v in VARIANTS.items() if not v.paper),
    *(f"deformable-l3@{name}" for name, p in PROTOCOLS.items() if not p.paper),
)


def encoder(name: str) -> Encoder:
    """The encoder ``name``; ConfigError lists the registered ones."""
    if name not in ENCODERS:
        raise ConfigError(f"unknown backbone {name!r}; registered: {', '.join(ENCODERS)}")
    return ENCODERS[name]


def matching_kind(name: str) -> MatchingKind:
    """The matching kind ``name``; ConfigError lists the registered ones."""
    if name not in MATCHING_KINDS:
        raise ConfigError(f"unknown matching {name!r}; choose one of {tuple(MATCHING_KINDS)}")
    return MATCHING_KINDS[name]


def variant(name: str) -> MatchingVariant:
    """The matching variant ``name``; ConfigError lists the registered ones."""
    if name not in VARIANTS:
        raise ConfigError(f"unknown matching variant {name!r}; registered: {', '.join(VARIANTS)}")
    return VARIANTS[name]


def variant_id(matching: str, layers: int, dilation: int = 1) -> str:
    """The registered variant with these model fields (``standard-l3``), else a readable id of the
    same form (``standard-l2``, ``dilated-d2-l3``) for a configuration outside the registry."""
    for entry in VARIANTS.values():
        if (entry.matching, entry.layers, entry.dilation) == (matching, layers, dilation):
            return entry.name
    return f"{matching}-d{dilation}-l{layers}" if dilation != 1 else f"{matching}-l{layers}"


def protocol(name: str) -> Protocol:
    """The propagation protocol ``name``; ConfigError lists the registered ones."""
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown propagation protocol {name!r}; registered: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def baseline(name: str) -> Baseline:
    """The baseline ``name``; ConfigError lists the registered ones."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    return BASELINES[name]


def data_layout(name: str) -> DataLayout:
    """The data layout ``name``; ConfigError lists the registered ones."""
    if name not in DATA_LAYOUTS:
        raise ConfigError(f"unknown data layout {name!r}; registered: {', '.join(DATA_LAYOUTS)}")
    return DATA_LAYOUTS[name]


def parse_baseline(entry: str) -> tuple[Baseline, Protocol | None]:
    """``optical-flow`` or ``optical-flow@flow-frame`` (the baseline under a protocol's settings,
    e.g. its warp resolution) -> (baseline, protocol or None); ConfigError otherwise."""
    name, _, protocol_name = entry.partition("@")
    return baseline(name), protocol(protocol_name) if protocol_name else None


def warps_by_flow(protocol_name: str) -> bool:
    """Whether protocol ``protocol_name`` moves the previous mask by a flow alone (the paper's
    mechanism), so that the flow may warp at the frame size."""
    return protocol(protocol_name).builder == protocol(PAPER_PROTOCOL).builder


def parse_entry(entry: str) -> tuple[MatchingVariant, Protocol]:
    """``deformable-l3`` or ``deformable-l3@memory`` -> (variant, protocol); ConfigError otherwise."""
    name, _, protocol_name = entry.partition("@")
    return variant(name), protocol(protocol_name or PAPER_PROTOCOL)


def entry_name(variant_name: str, protocol_name: str) -> str:
    """Inverse of :func:`parse_entry`: the paper protocol is not spelled out."""
    return variant_name if protocol_name == PAPER_PROTOCOL else f"{variant_name}@{protocol_name}"


def is_paper(entry: str) -> bool:
    """Whether ``entry`` (variant[@protocol]) is one of the paper's Table 2 rows."""
    found, how = parse_entry(entry)
    return found.paper and how.paper
