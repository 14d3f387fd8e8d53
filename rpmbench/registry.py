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


#: This embedding's feature stride in image pixels (H/4; the same number as
#: :data:`rpmbench.data.flow.FEATURE_STRIDE`, which a test asserts; not imported: no numpy here).
OUR_STRIDE = 4


@dataclass(frozen=True)
class PeerRadius:
    """A peer's search radius, ``cells`` of its own feature map of stride ``stride`` image pixels:
    ``image_px`` = cells x stride, and :attr:`ours` = image_px / 4 cells of this embedding."""

    cells: float
    stride: int

    @property
    def image_px(self) -> float:
        return self.cells * self.stride

    @property
    def ours(self) -> int:
        """The same radius in cells of this embedding (ValueError if not a whole number)."""
        cells = self.image_px / OUR_STRIDE
        if cells != int(cells):
            raise ValueError(f"radius {self.image_px} image px is not a whole number of stride-{OUR_STRIDE} cells")
        return int(cells)

    def describe(self) -> str:
        return f"{self.cells:g} cells at stride {self.stride} = {self.image_px:g} image px = {self.ours} cells here"


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
    peer: str = ""  # the method whose own evaluation code the settings copy ("" for rpmbench's own)
    source: str = ""  # where each setting was read: file and line or function of the peer's code
    radius: PeerRadius | None = None  # the peer's radius, and what it is here
    version_label: str = "not the paper's"  # paper_version in a few words, for a table row

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
                  paper_version="the arXiv version (1909.13247): t-1 propagation only",
                  version_label="the paper's: t-1 (arXiv), the default"))
# Beyond the paper: the protocol of RPM-Net's peers, and one reading of the WACV version's online update.
register(Protocol("memory", f"{_PROTOCOLS_MODULE}:memory", paper=False,
                  description="memory read-out: the target matched against frame 0 and recent frames",
                  paper_version="neither version: the protocol of RPM-Net's peers (DINO's settings)",
                  version_label="not the paper's (peers' kind)"))
register(Protocol("flow-frame", f"{_PROTOCOLS_MODULE}:flow", {"warp_resolution": "frame"}, paper=False,
                  description="the paper's flow, upsampled x4 and warping a frame-size soft mask",
                  paper_version="the arXiv version's flow, warped at the frame size instead of H/4",
                  version_label="t-1 (arXiv) warped at frame size"))
register(Protocol("fusion", f"{_PROTOCOLS_MODULE}:fusion", paper=False,
                  description="the flow warp and the memory read-out, mixed",
                  paper_version="one reading of the WACV 2020 version's online update from the first frame",
                  version_label="fusion: one reading of WACV's online update"))

# The peers' own label-propagation settings, each read from the peer's evaluation code (cited in
# ``source``), radius converted from the peer's feature stride to this embedding's (4 image px).
_NOT_PAPER = "neither version: a peer's evaluation protocol, not the paper's"
_PIXELS_RADIUS = PeerRadius(12, OUR_STRIDE)
register(Protocol(
    "pixels", f"{_PROTOCOLS_MODULE}:memory", paper=False, paper_version="neither version: rpmbench's colour baseline setting",
    radius=_PIXELS_RADIUS, version_label="not the paper's (colour baseline's)",
    settings={"context": 7, "topk": 10, "radius": _PIXELS_RADIUS.ours, "temperature": 0.01, "affinity": "l2"},
    description="the pixels baseline's own memory setting: frame 0 + last 7, l2 / 0.01, square, top-10",
    source="rpmbench.inference.memory.MEMORY_PRESETS['pixels'] (rpmbench's own setting, no peer)"))
_DINO_16, _DINO_8 = PeerRadius(12, 16), PeerRadius(12, 8)
_DINO_SOURCE = ("facebookresearch/dino eval_video_segmentation.py: --n_last_frames 7, --size_mask_neighborhood "
                "12, --topk 5, --patch_size 16 (argparse, lines 256-263); queue of the last n frames after "
                "frame 1 (eval_video_tracking_davis, lines 46-71); F.normalize + bmm / 0.1 (label_propagation, "
                "lines 125-129); square |dy|, |dx| <= 12 (restrict_neighborhood, lines 85-99); norm_mask on the "
                "upsampled output only, the queue keeps the raw read-out (lines 70-75, 102-110)")
for _name, _radius, _note in (("dino", _DINO_16, "ViT patch 16 (the script's default)"),
                              ("dino-p8", _DINO_8, "ViT patch 8 (ViT-S/8, ViT-B/8)")):
    register(Protocol(
        _name, f"{_PROTOCOLS_MODULE}:memory", paper=False, paper_version=_NOT_PAPER, peer="DINO", radius=_radius,
        version_label="not the paper's (DINO)",
        settings={"context": 7, "topk": 5, "radius": _radius.ours, "temperature": 0.1, "affinity": "cosine",
                  "neighbourhood": "square", "recent": "propagated", "output_norm": "minmax"},
        description=f"DINO's label propagation, {_note}: frame 0 + last 7, cosine / 0.1, square, top-5",
        source=_DINO_SOURCE))
_CRW_RADIUS = PeerRadius(12, 8)
register(Protocol(
    "crw", f"{_PROTOCOLS_MODULE}:memory", paper=False, paper_version=_NOT_PAPER, version_label="not the paper's (CRW)",
    peer="CRW", radius=_CRW_RADIUS,
    settings={"context": 20, "topk": 10, "radius": _CRW_RADIUS.ours, "temperature": 0.05, "affinity": "cosine",
              "neighbourhood": "disk", "recent": "padded", "whole_long_term": True},
    description="CRW's label propagation: frame 0 (whole frame) + 20 padded recent frames in a disk, "
                "cosine / 0.05, top-10",
    source="ajabri/videowalk README.md lines 92-94 (--topk 10 --videoLen 20 --radius 12 --temperature 0.05); "
           "code/utils/arguments.py line 52 (--long-mem [0]), line 56 (--norm_mask off); code/test.py lines "
           "85-86 (features L2-normalised), 109 (MaskedAttention); code/utils/__init__.py MaskedAttention.make "
           "lines 354-356 (Euclidean distance < radius); code/utils/test_utils.py line 154 (the radius mask "
           "added to the short-term frames only), context_index_bank line 123; code/data/vos.py lines 142-149 "
           "(the video padded with videoLen copies of frame 0); code/resnet.py lines 20-26 (layer3/4 stride 1: "
           "stride 8)"))
_VFS_RADIUS = PeerRadius(12, 8)
register(Protocol(
    "vfs", f"{_PROTOCOLS_MODULE}:memory", paper=False, paper_version=_NOT_PAPER, version_label="not the paper's (VFS)",
    peer="VFS", radius=_VFS_RADIUS,
    settings={"context": 20, "topk": 10, "radius": _VFS_RADIUS.ours, "temperature": 0.07, "affinity": "cosine",
              "neighbourhood": "disk", "recent": "from-first", "output_norm": "minmax"},
    description="VFS's label propagation: frame 0 + frames t-20..t-1, disk, cosine / 0.07, top-10",
    source="xvjiarui/VFS configs/r18_nc_sgd_cos_100e_r2_1xNx8_k400.py lines 27-36 (precede_frames 20, topk 10, "
           "temperature 0.07, strides (1, 2, 1, 1), out_indices (2,), neighbor_range 24, with_first, "
           "with_first_neighbor); mmaction/models/trackers/vanilla_tracker.py stride (line 25: stride 8), "
           "forward_test lines 133-176 (key_start = max(0, t - 20), frame 0 prepended, min-max output); "
           "mmaction/models/common/affinity_utils.py spatial_neighbor lines 144-156 (circle: distance < "
           "neighbor_range // 2); mmaction/models/common/local_attention.py masked_attention_efficient line 277 "
           "(features L2-normalised)"))
_STT_RADIUS = PeerRadius(12, 8)
register(Protocol(
    "stt", f"{_PROTOCOLS_MODULE}:memory", paper=False, paper_version=_NOT_PAPER, radius=_STT_RADIUS,
    version_label="not the paper's (STT)",
    peer="STT (Spatial-then-Temporal, CVPR 2023)",
    settings={"context": 20, "topk": 10, "radius": _STT_RADIUS.ours, "temperature": 0.07, "affinity": "cosine",
              "neighbourhood": "square", "recent": "from-first", "output_norm": "minmax"},
    description="STT's label propagation (stride-8 ResNet-18): frame 0 + frames t-20..t-1, square, "
                "cosine / 0.07, top-10",
    source="qianduoduolr/Spa-then-Temp configs/test/res18_d8.py lines 12-23 (precede_frames 20, topk 10, "
           "temperature 0.07, neighbor_range 24, mode square, with_first, with_first_neighbor); README.md line 61 "
           "(ResNet-18, stride 8); vcl/models/common/affinity_utils.py spatial_neighbor lines 129-141 (square: "
           "|d| <= neighbor_range // 2); vcl/models/trackers/vanilla_tracker.py forward_test lines 198-248 "
           "(key_start = max(0, t - 20), frame 0 prepended, hard_prop off (line 82), min-max output); "
           "vcl/models/common/local_attention.py line 277 (features L2-normalised)"))
_MAST_RADIUS = PeerRadius(12, 4)
register(Protocol(
    "mast", f"{_PROTOCOLS_MODULE}:memory", paper=False, paper_version=_NOT_PAPER, version_label="not the paper's (MAST)",
    peer="MAST", radius=_MAST_RADIUS,
    settings={"context": 0, "topk": 5 * (2 * _MAST_RADIUS.ours + 1) ** 2, "radius": _MAST_RADIUS.ours,
              "temperature": 1.0, "affinity": "dot", "neighbourhood": "square", "long_term": (0, 5),
              "recent": "offsets", "offsets": (1, 3, 5), "mode": "hard"},
    description="MAST's label propagation: frames {0, 5} + t-1, t-3, t-5, raw dot product, softmax over "
                "the whole square window, labels re-one-hot each frame",
    source="zlai0/MAST benchmark.py lines 82-83 (ref_index: {0, 5} + i, i-2, i-4 for target i+1), lines 105-106 "
           "(the argmax stored as the next memory label); models/mast.py line 21 (D = 4: stride 4), line 27 "
           "(R = 12 at test); models/colorizer.py line 33 (correlation patch 2R+1: square), line 96 (softmax "
           "over every window candidate of every frame, temperature 1, raw dot product). Not reproduced: the "
           "ROI search of frames more than 15 back (line 50, dil_int) is read in the plain window"))

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
#: the paper's protocol, and the deformable cell under every non-paper protocol of rpmbench's own
#: (the peers' protocols and the pixels setting are in the ``protocols`` preset).
BEYOND_DEFAULT: tuple[str, ...] = (
    *(name for name, v in VARIANTS.items() if not v.paper),
    *(f"deformable-l3@{name}" for name, p in PROTOCOLS.items() if not p.paper and not p.peer and p.name != "pixels"),
)
#: The peers' protocols (each from the peer's own evaluation code).
PEER_PROTOCOLS: tuple[str, ...] = tuple(name for name, p in PROTOCOLS.items() if p.peer)


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
