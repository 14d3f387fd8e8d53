"""Memory propagation (label propagation by local affinity), the protocol of RPM-Net's peers.

**Beyond the paper.** Table 2's protocol moves the t-1 mask with layer 109's flow
(:mod:`rpmbench.inference.propagate`, the default). The methods a reader compares RPM-Net with instead
keep the first frame in memory: for target frame t the memory is frame 0 (its ground truth) plus
the last ``context`` propagated frames; every target pixel is compared with each memory frame's
pixels inside a square window of ``radius`` feature pixels (Chebyshev distance, clipped at the
frame border), scored by ``-||f_t - f_m||^2`` (``affinity="l2"``) or the cosine of the two
vectors (``"cosine"``) divided by ``temperature``; the ``topk`` best candidates over all memory
frames are softmax-weighted and their soft masks ``(K+1, h, w)`` summed.

It works on any embedding ``(T, C, h, w)``: RPM-Net's 32-channel H/4 embedding, or raw Lab
pixels area-averaged to H/4 (the ``pixels`` baseline, :mod:`rpmbench.inference.baselines`).

Memory stays bounded: query pixels are taken in 8x8 tiles, each scored against its
``(8 + 2r)^2`` window of every memory frame by one batched matrix product (candidates outside
the radius or the frame masked to -inf), and tiles are processed in chunks of at most 2^23
scores, so no ``(h*w) x (h*w)`` matrix ever exists. Where the neighbourhood covers most of a
small frame, so that the windows would hold more scores than every pixel pair, target pixels are
instead scored against every memory pixel with the outside of their neighbourhood masked, in
chunks of the same budget (the same candidates, so the same read-out). Besides the scores, the unfolded windows of
the memory's features and masks are held: each memory frame ``(8 + 2r)^2 / 64`` times (16x for
radius 12), e.g. about 420 MB of features for 8 memory frames of 32 channels at 480p
(``bench infer --protocols memory`` measured +1000 MiB peak RSS with the ResNet-18 embedding).

Presets (:data:`MEMORY_PRESETS`), kept as the committed results used them:

- ``dino``: DINO's numbers taken as feature pixels of this embedding: first frame + 7 recent
  frames, top-k 5, neighbourhood 12, cosine affinity, temperature 0.1 (the defaults of
  :class:`MemoryConfig`, the ``memory`` protocol);
- ``crw``: CRW's numbers taken the same way: first frame + 20 context frames, top-k 10,
  radius 12, cosine, temperature 0.05;
- ``pixels``: the raw-pixel baseline's setting (the ``pixels`` protocol): first frame + last 7,
  top-10, radius 12, ``-||f_t - f_m||^2 / 0.01`` on Lab scaled to about [-1, 1].

Each peer's *exact* setting (its radius converted from its stride to this one's, its window shape,
its memory frames, its output normalisation) is a registered protocol (``dino``, ``dino-p8``,
``crw``, ``vfs``, ``stt``, ``mast``; :mod:`rpmbench.registry`, ``docs/protocols.md``), built from
the options of :class:`MemoryConfig`: a ``disk`` neighbourhood, ``dot`` affinity, long-term frames
(MAST's {0, 5}), the rule filling the short-term memory, long-term frames searched over the whole
frame (CRW) and a per-channel min-max before the argmax (DINO, VFS, STT).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rpmbench.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where tensors are used, so the CLI's --help stays fast
    import numpy as np
    from torch import Tensor

AFFINITIES: tuple[str, ...] = ("l2", "cosine", "dot")
#: Window shapes: ``square`` (Chebyshev distance <= radius) or ``disk`` (Euclidean distance < radius).
NEIGHBOURHOODS: tuple[str, ...] = ("square", "disk")
#: How the short-term memory of target frame t is filled (see :func:`memory_index`).
RECENT_RULES: tuple[str, ...] = ("propagated", "from-first", "padded", "offsets")
#: What the argmax sees: the soft mask itself, or each channel min-max scaled to [0, 1] first.
OUTPUT_NORMS: tuple[str, ...] = ("none", "minmax")
_SCORE_BUDGET = 2 ** 23  # scores held at once (32 MB in float32): bounds memory at any frame size


@dataclass(frozen=True)
class MemoryConfig:
    """Parameters of memory propagation (defaults: DINO's protocol, see the module docstring).

    Attributes:
        context: number of most recent propagated frames kept besides frame 0.
        topk: candidates kept per target pixel over all memory frames.
        radius: search radius in feature pixels (cells of H/4, i.e. 4 image pixels each).
        temperature: scores are divided by it before the softmax (> 0).
        affinity: ``l2`` (negative squared distance), ``cosine`` or ``dot`` (raw inner product).
        neighbourhood: ``square`` (offsets with max(|dy|, |dx|) <= radius) or ``disk``
            (dy^2 + dx^2 < radius^2, strict as in CRW's and VFS's masks).
        long_term: frames kept in memory once they precede the target (DINO, CRW, VFS: (0,);
            MAST: (0, 5)).
        recent: how the short-term memory is filled (:data:`RECENT_RULES`, :func:`memory_index`).
        offsets: for ``recent="offsets"``: the target's frame t reads frames t - o (MAST: 1, 3, 5).
        whole_long_term: the long-term frames are searched over the whole frame, only the recent
            ones inside the radius (CRW adds its radius mask to the short-term frames only).
        output_norm: ``minmax`` scales every channel of each read-out to [0, 1] before the
            argmax (DINO's ``norm_mask``, VFS and STT); the memory keeps the unscaled read-out.
    """

    context: int = 7
    topk: int = 5
    radius: int = 12
    temperature: float = 0.1
    affinity: str = "cosine"
    neighbourhood: str = "square"
    long_term: tuple[int, ...] = (0,)
    recent: str = "propagated"
    offsets: tuple[int, ...] = ()
    whole_long_term: bool = False
    output_norm: str = "none"

    def validate(self) -> None:
        """Refuse impossible values with a message naming the field (before any work)."""
        if self.context < 0:
            raise ConfigError(f"memory context must be >= 0 recent frames, got {self.context}")
        if self.topk < 1:
            raise ConfigError(f"memory topk must be >= 1 (candidates per pixel), got {self.topk}")
        if self.radius < 0:
            raise ConfigError(f"memory radius must be >= 0 feature pixels, got {self.radius}")
        if not self.temperature > 0:
            raise ConfigError(f"memory temperature must be > 0, got {self.temperature}")
        if self.affinity not in AFFINITIES:
            raise ConfigError(f"memory affinity must be one of {AFFINITIES}, got {self.affinity!r}")
        for name, value, allowed in (("neighbourhood", self.neighbourhood, NEIGHBOURHOODS),
                                     ("recent", self.recent, RECENT_RULES),
                                     ("output_norm", self.output_norm, OUTPUT_NORMS)):
            if value not in allowed:
                raise ConfigError(f"memory {name} must be one of {allowed}, got {value!r}")
        if any(frame < 0 for frame in self.long_term) or any(offset < 1 for offset in self.offsets):
            raise ConfigError(f"memory long_term frames must be >= 0 and offsets >= 1, got "
                              f"{self.long_term} and {self.offsets}")
        if self.recent == "offsets" and self.whole_long_term:
            raise ConfigError("memory whole_long_term needs the long-term frames first: not with recent=offsets")


#: Named settings, each following one peer's evaluation protocol.
MEMORY_PRESETS: dict[str, MemoryConfig] = {
    "dino": MemoryConfig(context=7, topk=5, radius=12, temperature=0.1, affinity="cosine"),
    "crw": MemoryConfig(context=20, topk=10, radius=12, temperature=0.05, affinity="cosine"),
    "pixels": MemoryConfig(context=7, topk=10, radius=12, temperature=0.01, affinity="l2"),
}


def memory_frames(t: int, context: int) -> list[int]:
    """Indices of the memory of target frame ``t``: 0 and the last ``context`` frames before t."""
    return [0] + list(range(max(1, t - context), t))


def memory_index(t: int, config: MemoryConfig) -> tuple[list[int], int]:
    """The memory of target frame ``t``: its frame indices (a frame may repeat, as in the peer's
    code) and how many of them, at the front, are searched over the whole frame.

    ``recent`` fills the short-term part: ``propagated``: the last ``context`` frames after 0
    (DINO's queue); ``from-first``: ``range(max(0, t - context), t)``, so frame 0 counts twice while
    t <= context (VFS, STT); ``padded``: always ``context`` slots, those before the video being
    frame 0 (CRW pads the video with ``context`` copies of frame 0); ``offsets``: frames t - o for
    o in ``offsets``, merged with the long-term frames, sorted, each once (MAST).
    """
    long_term = [frame for frame in config.long_term if frame < t]
    context = config.context
    if config.recent == "offsets":
        return sorted(set(long_term) | {t - o for o in config.offsets if t - o > 0}), 0
    if config.recent == "propagated":
        recent = list(range(max(1, t - context), t))
    elif config.recent == "from-first":
        recent = list(range(max(0, t - context), t))
    else:  # padded
        recent = [max(0, t - context + i) for i in range(context)]
    return long_term + recent, len(long_term) if config.whole_long_term else 0


def _fold_affinity(query: Tensor, keys: Tensor, config: MemoryConfig) -> tuple[Tensor, Tensor]:
    """``(C, h, w)``, ``(M, C, h, w)`` -> vectors whose inner product is the score / temperature.

    cosine: (q/|q|T) . (k/|k|); dot: (q/T) . k; l2: -||q - k||^2 / T = (2q/T, 1) . (k, -||k||^2/T)
    - ||q||^2/T, where the last term is the same for every candidate of a target pixel, so no
    ranking or softmax sees it and it is left out.
    """
    import torch
    import torch.nn.functional as F

    if config.affinity == "cosine":
        return F.normalize(query, dim=0) / config.temperature, F.normalize(keys, dim=1)
    if config.affinity == "dot":
        return query / config.temperature, keys
    query = torch.cat([query * (2 / config.temperature), torch.ones_like(query[:1])])
    keys = torch.cat([keys, keys.square().sum(1, keepdim=True) / -config.temperature], dim=1)
    return query, keys


def window_mask(tile: int, reach: int, radius: int, neighbourhood: str, device: object = None) -> Tensor:
    """``(tile*tile, span*span)`` bool, span = tile + 2 reach: which cells of a tile's key window
    are candidates of each of its query pixels (window cell (oy, ox) is the offset
    (oy - iy - reach, ox - ix - reach) from query pixel (iy, ix)): ``square``: both |offsets| <=
    radius; ``disk``: dy^2 + dx^2 < radius^2."""
    import torch

    span = tile + 2 * reach
    offset = torch.arange(span, device=device)[None] - torch.arange(tile, device=device)[:, None] - reach
    if neighbourhood == "square":
        near = offset.abs() <= radius
        return (near[:, None, :, None] & near[None, :, None, :]).reshape(tile * tile, span * span)
    squared = offset.square()
    distance = squared[:, None, :, None] + squared[None, :, None, :]
    return (distance < radius ** 2).reshape(tile * tile, span * span)


def _tile_for(reach: int) -> int:
    """Query tile side: 8 up to a reach of 16 cells, larger beyond (the window's redundancy
    ``((tile + 2 reach) / tile)^2`` stays under 25x)."""
    return 8 * max(1, -(-reach // 16))


def memory_readout(query: Tensor, keys: Tensor, values: Tensor, config: MemoryConfig,
                   tile: int | None = None, whole: int = 0, windows: bool | None = None) -> Tensor:
    """Soft mask of the target frame read from its memory.

    Args:
        query: target-frame features ``(C, h, w)``.
        keys: memory-frame features ``(M, C, h, w)``.
        values: memory-frame soft masks ``(M, V, h, w)``.
        config: window, top-k, temperature and affinity.
        tile: query pixels are handled in ``tile x tile`` blocks, each scored against its
            ``(tile + 2r)^2`` window of every memory frame by one matrix product (speed only;
            default 8, larger for a radius over 16).
        whole: the first ``whole`` memory frames are searched over the whole frame, the others
            inside the neighbourhood (CRW's long-term memory).
        windows: how the neighbourhood is searched (speed only): ``True`` scores each tile against
            its window, ``False`` every pixel of the frame with those outside the neighbourhood
            masked (cheaper when the neighbourhood covers most of a small frame, e.g. DINO's radius
            of 48 cells on a 32x56 feature map); ``None`` picks the one with fewer scores.

    Returns:
        ``(V, h, w)``: per pixel, the softmax-weighted sum of the values of the ``topk`` best
        candidates (all memory frames). Objects absent from every memory value get 0; ``topk``
        larger than the candidates uses every candidate.
    """
    config.validate()
    memory, channels, height, width = keys.shape
    if query.shape != (channels, height, width) or values.shape[0] != memory \
            or values.shape[-2:] != (height, width) or not 0 <= whole <= memory:
        raise ValueError(f"memory_readout: query {tuple(query.shape)}, keys {tuple(keys.shape)}, "
                         f"values {tuple(values.shape)} and whole={whole} disagree")
    query, keys = _fold_affinity(query, keys, config)
    if whole == 0:
        return _window_read(query, keys, values, config, tile, windows=windows)
    best, picked = _window_read(query, keys[whole:], values[whole:], config, tile, candidates=True, windows=windows)
    far_best, far_picked = _masked_frame_read(query, keys[:whole], values[:whole], config, candidates=True,
                                              anywhere=True)
    best, picked = torch_cat((best, far_best), 1), torch_cat((picked, far_picked), 1)
    best, index = best.topk(min(config.topk, best.shape[1]), dim=1)
    picked = picked.gather(1, index[..., None].expand(-1, -1, picked.shape[-1]))
    read = (best.softmax(dim=1)[..., None] * picked).sum(1)  # (h*w, V)
    return read.T.reshape(values.shape[1], height, width)


def torch_cat(tensors: tuple[Tensor, ...], dim: int) -> Tensor:
    """``torch.cat`` (torch is imported where tensors are used)."""
    import torch

    return torch.cat(tensors, dim)


def _window_read(query: Tensor, keys: Tensor, values: Tensor, config: MemoryConfig, tile: int | None,
                 candidates: bool = False, windows: bool | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """The read-out ``(V, h, w)`` from the neighbourhood of each target pixel in every memory
    frame (``query``, ``keys`` already folded by :func:`_fold_affinity`); with ``candidates``, the
    ``topk`` best scores ``(h*w, k)`` and their values ``(h*w, k, V)`` instead. ``windows``: see
    :func:`memory_readout`."""
    import torch
    import torch.nn.functional as F

    memory, channels, height, width = keys.shape
    reach = min(config.radius, max(height, width) - 1)  # farther offsets never land in the frame
    tile = tile or _tile_for(reach)
    topk = min(config.topk, memory * (2 * reach + 1) ** 2)
    tiles_y, tiles_x = -(-height // tile), -(-width // tile)
    extra = (tiles_x * tile - width, tiles_y * tile - height)  # right / bottom padding to whole tiles
    span = tile + 2 * reach  # side of a tile's key window
    if windows is None:  # scores per memory frame: every tile's window, or every pixel pair
        windows = tiles_y * tiles_x * tile * tile * span * span <= (height * width) ** 2
    if not windows:
        return _masked_frame_read(query, keys, values, config, candidates)

    def windows(x: Tensor) -> Tensor:
        """``(N, D, h, w)`` -> each tile's window of every frame, ``(tiles, D, N*span*span)``."""
        padded = F.pad(x, (reach, reach + extra[0], reach, reach + extra[1]))
        cols = F.unfold(padded, span, stride=tile)  # (N, D*span*span, tiles)
        cols = cols.view(x.shape[0], x.shape[1], span * span, -1).permute(3, 1, 0, 2)
        return cols.reshape(cols.shape[0], x.shape[1], -1)

    # (tiles, tile*tile, C): each tile's query pixels; tiles cover the frame (padding discarded)
    queries = F.unfold(F.pad(query[None], (0, extra[0], 0, extra[1])), tile, stride=tile)
    # contiguous: a strided left operand makes the batched product about 10x slower on CPU
    queries = queries.view(channels, tile * tile, -1).permute(2, 1, 0).contiguous()
    near = window_mask(tile, reach, config.radius, config.neighbourhood, query.device)
    inside = windows(torch.ones(1, 1, height, width, dtype=query.dtype, device=query.device))[:, 0]
    # additive mask (tiles, tile*tile, 1, span*span): 0 for candidates, -inf elsewhere
    bias = torch.zeros(near.shape, dtype=query.dtype, device=query.device).masked_fill(~near, -torch.inf)
    bias = (bias[None] + torch.log(inside)[:, None])[:, :, None]
    # every memory frame's windows side by side: (tiles, C, M*span*span), (tiles, M*span*span, V)
    key_windows = windows(keys)
    value_windows = windows(values).transpose(1, 2)
    tiles = queries.shape[0]
    if candidates:
        bests = queries.new_empty(tiles, tile * tile, topk)
        pickeds = queries.new_empty(tiles, tile * tile, topk, values.shape[1])
    else:
        read = queries.new_empty(tiles, tile * tile, values.shape[1])
    chunk = max(1, _SCORE_BUDGET // (tile * tile * memory * span * span))
    for start in range(0, tiles, chunk):
        part = slice(start, start + chunk)
        scores = queries[part] @ key_windows[part]  # (n, tile*tile, M*span*span)
        scores = scores.view(*scores.shape[:2], memory, span * span).add_(bias[part]).flatten(2)
        best, index = scores.topk(topk, dim=-1)  # (n, tile*tile, k)
        picked = torch.gather(value_windows[part], 1,
                              index.flatten(1)[..., None].expand(-1, -1, values.shape[1]))
        picked = picked.view(*index.shape, values.shape[1])  # (n, tile*tile, k, V)
        if candidates:
            bests[part], pickeds[part] = best, picked
        else:
            read[part] = (best.softmax(dim=-1)[..., None, :] @ picked)[..., 0, :]
    if candidates:
        return _untile(bests, tiles_y, tile, height, width), _untile(pickeds, tiles_y, tile, height, width)
    read = F.fold(read.permute(2, 1, 0).reshape(values.shape[1] * tile * tile, -1),
                  (tiles_y * tile, tiles_x * tile), tile, stride=tile)
    return read[:, :height, :width]


def _masked_frame_read(query: Tensor, keys: Tensor, values: Tensor, config: MemoryConfig,
                       candidates: bool = False, anywhere: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """:func:`_window_read` by scoring every target pixel against every pixel of every memory
    frame, those outside its neighbourhood masked to -inf, in chunks of target pixels; with
    ``anywhere``, nothing is masked (CRW's long-term frames, searched over the whole frame)."""
    import torch

    memory, channels, height, width = keys.shape
    pixels = height * width
    flat_query = query.reshape(channels, -1).T  # (h*w, C)
    flat_keys = keys.permute(1, 0, 2, 3).reshape(channels, -1)  # (C, M*h*w)
    flat_values = values.permute(0, 2, 3, 1).reshape(-1, values.shape[1])  # (M*h*w, V)
    ys, xs = (axis.flatten() for axis in torch.meshgrid(torch.arange(height, device=query.device),
                                                        torch.arange(width, device=query.device), indexing="ij"))
    topk = min(config.topk, memory * pixels)
    rows = max(1, _SCORE_BUDGET // (memory * pixels))
    bests, pickeds = [], []
    for start in range(0, pixels, rows):
        scores = (flat_query[start:start + rows] @ flat_keys).view(-1, memory, pixels)
        if not anywhere:
            dy = ys[start:start + rows, None] - ys[None]
            dx = xs[start:start + rows, None] - xs[None]
            if config.neighbourhood == "square":
                near = (dy.abs() <= config.radius) & (dx.abs() <= config.radius)
            else:
                near = dy.square() + dx.square() < config.radius ** 2
            scores = scores.masked_fill(~near[:, None], -torch.inf)
        best, index = scores.flatten(1).topk(topk, dim=1)  # (rows, k)
        bests.append(best)
        pickeds.append(flat_values[index])  # (rows, k, V)
    best, picked = torch.cat(bests), torch.cat(pickeds)
    if candidates:
        return best, picked
    read = (best.softmax(dim=1)[..., None] * picked).sum(1)  # (h*w, V)
    return read.T.reshape(values.shape[1], height, width)


def _untile(x: Tensor, tiles_y: int, tile: int, height: int, width: int) -> Tensor:
    """``(tiles, tile*tile, *rest)`` in tile order -> ``(h*w, *rest)`` in pixel order."""
    rest = x.shape[2:]
    x = x.view(tiles_y, -1, tile, tile, *rest).transpose(1, 2)
    x = x.reshape(tiles_y * tile, -1, *rest)[:height, :width]
    return x.reshape(height * width, *rest)


def minmax_channels(soft: Tensor) -> Tensor:
    """``(1, V, h, w)`` -> every channel whose maximum is > 0 scaled to [0, 1] by its own minimum and
    maximum, ``(x - min) / (max - min + 1e-12)`` (VFS's and STT's form of DINO's ``norm_mask``);
    other channels unchanged."""
    low = soft.amin(dim=(2, 3), keepdim=True)
    high = soft.amax(dim=(2, 3), keepdim=True)
    return soft.where(high <= 0, (soft - low) / (high - low + 1e-12))


def propagate_with_memory(first_soft: Tensor, features: Tensor, config: MemoryConfig,
                          flow_step: Callable[[int, Tensor], Tensor] | None = None,
                          fusion_weight: float = 1.0, hard: bool = False) -> Iterator[Tensor]:
    """Yield the soft mask ``(1, V, h, w)`` of every frame t >= 1, read from its memory.

    Args:
        first_soft: frame 0's soft mask at the feature size ``(1, V, h, w)`` (void as background).
        features: every frame's embedding ``(T, C, h, w)``.
        config: memory parameters (which frames, window, affinity; ``output_norm`` applies to
            what is yielded, never to what the memory keeps).
        flow_step: for fusion, ``flow_step(t, soft)`` moves the previous soft mask ``(1, V, h, w)``
            to frame t (layer 109 or optical flow); ``None`` for pure memory.
        fusion_weight: weight of the memory read-out in the fusion (``1 - w`` for the warp).
        hard: re-one-hot every propagated mask (``mode="hard"``).
    """
    import torch

    from rpmbench.inference.masks import harden, renormalise

    values = {0: first_soft[0]}
    soft = first_soft
    lookback = max((config.context, *config.offsets))  # no later frame's memory reaches further back
    for t in range(1, len(features)):
        index, whole = memory_index(t, config)
        read = memory_readout(features[t], features[index], torch.stack([values[i] for i in index]),
                              config, whole=whole)[None]
        if flow_step is not None:
            warped = renormalise(flow_step(t, soft))
            read = fusion_weight * read + (1 - fusion_weight) * warped
        soft = renormalise(read)
        if hard:
            soft = harden(soft)
        values[t] = soft[0]
        values = {i: value for i, value in values.items()
                  if i == 0 or i in config.long_term or i > t - lookback}
        yield minmax_channels(soft) if config.output_norm == "minmax" else soft


def pixel_features(frames: np.ndarray, size: tuple[int, int]) -> Tensor:
    """``(T, H, W, 3)`` uint8 RGB -> Lab scaled to about [-1, 1], area-averaged to ``size``:
    ``(T, 3, h, w)`` (the ``pixels`` baseline's embedding)."""
    import torch
    import torch.nn.functional as F

    from rpmbench.data.colour import to_network_input

    lab = to_network_input(torch.from_numpy(frames).permute(0, 3, 1, 2), "lab")
    return F.interpolate(lab, size=size, mode="area")


__all__ = ["AFFINITIES", "MEMORY_PRESETS", "NEIGHBOURHOODS", "OUTPUT_NORMS", "RECENT_RULES", "MemoryConfig",
           "memory_frames", "memory_index", "memory_readout", "minmax_channels", "window_mask",
           "pixel_features", "propagate_with_memory"]
