"""The one list of what a result can be: matching variants, propagation protocols, baselines.

Every name the command line, the grid, the tests and the table use is an entry here (timm-style:
adding an encoder, a variant, a protocol or a baseline is one :func:`_register` line), so nothing
keeps its own copy; :mod:`rpmbench.models.resnet` builds its encoders from :data:`ENCODERS`. This
module imports no torch, so ``--help`` and ``evaluate`` stay fast.

A result id names what produced it::

    resnet18-deformable-l3            a Table 2 cell (backbone + matching variant), paper protocol
    resnet18-deformable-l3@memory     the same trained model propagated under another protocol
    copy-previous                     a baseline (no network)

Entries marked ``paper=False`` go beyond the paper: the table shows them in their own block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from rpmbench.errors import ConfigError


@dataclass(frozen=True)
class Encoder:
    """An embedding backbone (Table 2's columns): ResNet block type and blocks per stage."""

    name: str
    block: str  # "basic" or "bottleneck"
    layers: tuple[int, int, int, int]


@dataclass(frozen=True)
class MatchingVariant:
    """A matching module (all layers ``kernel_size`` x ``kernel_size``): the RPMNetConfig fields it fixes."""

    name: str
    matching: str
    layers: int
    dilation: int = 1
    kernel_size: int = 3
    paper: bool = True  # a row of Table 2
    description: str = ""

    def model_fields(self) -> dict[str, Any]:
        """The :class:`~rpmbench.models.RPMNetConfig` fields this variant sets."""
        return {"matching": self.matching, "layers": self.layers, "dilation": self.dilation}


@dataclass(frozen=True)
class Protocol:
    """A named way to propagate masks with a trained model: the PropagationConfig fields it sets."""

    name: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    paper: bool = True
    description: str = ""


@dataclass(frozen=True)
class Baseline:
    """A method without a network, scored beside the cells (:mod:`rpmbench.baselines` runs it)."""

    name: str
    description: str = ""


Entry = TypeVar("Entry", Encoder, MatchingVariant, Protocol, Baseline)


def _register(registry: dict[str, Entry], entry: Entry) -> None:
    if entry.name in registry:
        raise ValueError(f"registry entry {entry.name!r} registered twice")
    registry[entry.name] = entry


_ENCODERS: dict[str, Encoder] = {}
_VARIANTS: dict[str, MatchingVariant] = {}
_PROTOCOLS: dict[str, Protocol] = {}
_BASELINES: dict[str, Baseline] = {}

# Table 2's columns, in the paper's order (Table 1's ResNets).
_register(_ENCODERS, Encoder("resnet18", "basic", (2, 2, 2, 2)))
_register(_ENCODERS, Encoder("resnet34", "basic", (3, 4, 6, 3)))
_register(_ENCODERS, Encoder("resnet50", "bottleneck", (3, 4, 6, 3)))
_register(_ENCODERS, Encoder("resnet101", "bottleneck", (3, 4, 23, 3)))

# Table 2's rows, top to bottom.
_register(_VARIANTS, MatchingVariant("deformable-l3", "deformable", 3, description="Table 1's module"))
_register(_VARIANTS, MatchingVariant("standard-l1", "standard", 1))
_register(_VARIANTS, MatchingVariant("standard-l3", "standard", 3))
_register(_VARIANTS, MatchingVariant("standard-l5", "standard", 5))
_register(_VARIANTS, MatchingVariant("dilated-d3-l3", "dilated", 3, dilation=3))
_register(_VARIANTS, MatchingVariant("dilated-d6-l3", "dilated", 3, dilation=6))
_register(_VARIANTS, MatchingVariant("dilated-d9-l3", "dilated", 3, dilation=9))
# Beyond the paper (issue 14): a soft-argmax base flow from a local cost volume plus a learned residual.
_register(_VARIANTS, MatchingVariant("corr-l3", "corr", 3, paper=False,
                                     description="cost-volume soft-argmax base flow + residual"))

# The paper's protocol: the matching module's flow between frames t-1 and t warps the soft mask.
_register(_PROTOCOLS, Protocol("flow", {"protocol": "flow"}, description="the paper's frame-to-frame flow propagation"))
# Beyond the paper (rpmbench.propagation / rpmbench.memory): the protocol of RPM-Net's peers.
_register(_PROTOCOLS, Protocol("memory", {"protocol": "memory"}, paper=False,
                               description="memory read-out: the target matched against frame 0 and recent frames"))
_register(_PROTOCOLS, Protocol("fusion", {"protocol": "fusion"}, paper=False,
                               description="the flow warp and the memory read-out, mixed"))

_register(_BASELINES, Baseline("copy-first", "the first-frame mask for every frame"))
_register(_BASELINES, Baseline("copy-previous", "zero flow: RPM-Net's pipeline with no motion"))
_register(_BASELINES, Baseline("optical-flow", "OpenCV DIS optical flow, chained frame to frame"))
_register(_BASELINES, Baseline("pixels", "memory propagation on raw Lab pixels (beyond the paper)"))

ENCODERS: Mapping[str, Encoder] = MappingProxyType(_ENCODERS)
#: The embedding networks (Table 2's columns), in the paper's order.
BACKBONES: tuple[str, ...] = tuple(_ENCODERS)
VARIANTS: Mapping[str, MatchingVariant] = MappingProxyType(_VARIANTS)
PROTOCOLS: Mapping[str, Protocol] = MappingProxyType(_PROTOCOLS)
BASELINES: tuple[str, ...] = tuple(_BASELINES)
PAPER_PROTOCOL = "flow"
#: Table 2's rows (the paper's matching variants), top to bottom.
TABLE2_ROWS: tuple[str, ...] = tuple(name for name, v in _VARIANTS.items() if v.paper)
#: The "beyond the paper" entries a grid adds by default: every non-paper matching variant under
#: the paper's protocol, and the deformable cell under every non-paper protocol.
BEYOND_DEFAULT: tuple[str, ...] = (
    *(name for name, v in _VARIANTS.items() if not v.paper),
    *(f"deformable-l3@{name}" for name, p in _PROTOCOLS.items() if not p.paper),
)


def variant(name: str) -> MatchingVariant:
    """The matching variant ``name``; ConfigError lists the registered ones."""
    if name not in _VARIANTS:
        raise ConfigError(f"unknown matching variant {name!r}; registered: {', '.join(_VARIANTS)}")
    return _VARIANTS[name]


def protocol(name: str) -> Protocol:
    """The propagation protocol ``name``; ConfigError lists the registered ones."""
    if name not in _PROTOCOLS:
        raise ConfigError(f"unknown propagation protocol {name!r}; registered: {', '.join(_PROTOCOLS)}")
    return _PROTOCOLS[name]


def baseline(name: str) -> Baseline:
    """The baseline ``name``; ConfigError lists the registered ones."""
    if name not in _BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose from {', '.join(_BASELINES)}")
    return _BASELINES[name]


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
