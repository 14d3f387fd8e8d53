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
scores, so no ``(h*w) x (h*w)`` matrix ever exists. Besides the scores, the unfolded windows of
the memory's features and masks are held: each memory frame ``(8 + 2r)^2 / 64`` times (16x for
radius 12), e.g. about 420 MB of features for 8 memory frames of 32 channels at 480p
(``bench infer --protocols memory`` measured +1000 MiB peak RSS with the ResNet-18 embedding).

Presets (:data:`MEMORY_PRESETS`), each named after the peer whose evaluation it follows:

- ``dino``: DINO's ``eval_video_segmentation.py``: first frame + 7 recent frames, top-k 5,
  neighbourhood 12, cosine affinity, temperature 0.1 (the defaults of :class:`MemoryConfig`);
- ``crw``: CRW (``ajabri/videowalk``) label propagation: first frame + 20 context frames, top-k 10,
  radius 12, cosine, temperature 0.05;
- ``pixels``: the raw-pixel baseline's setting: first frame + last 7, top-10,
  radius 12, ``-||f_t - f_m||^2 / 0.01`` on Lab scaled to about [-1, 1].

MAST's memory (frames {0, 5, t-1, t-3, t-5}) is a different frame choice and is not offered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rpmbench.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where tensors are used, so the CLI's --help stays fast
    import numpy as np
    from torch import Tensor

AFFINITIES: tuple[str, ...] = ("l2", "cosine")
_SCORE_BUDGET = 2 ** 23  # scores held at once (32 MB in float32): bounds memory at any frame size


@dataclass(frozen=True)
class MemoryConfig:
    """Parameters of memory propagation (defaults: DINO's protocol, see the module docstring).

    Attributes:
        context: number of most recent propagated frames kept besides frame 0.
        topk: candidates kept per target pixel over all memory frames.
        radius: half-size of the square search window, in feature pixels.
        temperature: scores are divided by it before the softmax (> 0).
        affinity: ``l2`` (negative squared distance) or ``cosine``.
    """

    context: int = 7
    topk: int = 5
    radius: int = 12
    temperature: float = 0.1
    affinity: str = "cosine"

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


#: Named settings, each following one peer's evaluation protocol.
MEMORY_PRESETS: dict[str, MemoryConfig] = {
    "dino": MemoryConfig(context=7, topk=5, radius=12, temperature=0.1, affinity="cosine"),
    "crw": MemoryConfig(context=20, topk=10, radius=12, temperature=0.05, affinity="cosine"),
    "pixels": MemoryConfig(context=7, topk=10, radius=12, temperature=0.01, affinity="l2"),
}


def memory_frames(t: int, context: int) -> list[int]:
    """Indices of the memory of target frame ``t``: 0 and the last ``context`` frames before t."""
    return [0] + list(range(max(1, t - context), t))


def memory_readout(query: Tensor, keys: Tensor, values: Tensor, config: MemoryConfig,
                   tile: int = 8) -> Tensor:
    """Soft mask of the target frame read from its memory.

    Args:
        query: target-frame features ``(C, h, w)``.
        keys: memory-frame features ``(M, C, h, w)``.
        values: memory-frame soft masks ``(M, V, h, w)``.
        config: window, top-k, temperature and affinity.
        tile: query pixels are handled in ``tile x tile`` blocks, each scored against its
            ``(tile + 2r)^2`` window of every memory frame by one matrix product (speed only).

    Returns:
        ``(V, h, w)``: per pixel, the softmax-weighted sum of the values of the ``topk`` best
        candidates (all memory frames, offsets within ``radius``). Objects absent from every
        memory value get 0; ``topk`` larger than the window uses every candidate.
    """
    import torch
    import torch.nn.functional as F

    config.validate()
    memory, channels, height, width = keys.shape
    if query.shape != (channels, height, width) or values.shape[0] != memory \
            or values.shape[-2:] != (height, width):
        raise ValueError(f"memory_readout: query {tuple(query.shape)}, keys {tuple(keys.shape)} and "
                         f"values {tuple(values.shape)} disagree")
    # Fold the affinity and the temperature into the vectors, so that one matrix product gives
    # the scores: cosine: (q/|q|T) . (k/|k|); l2: -||q - k||^2 / T = (2q/T, 1) . (k, -||k||^2/T)
    # - ||q||^2/T, where the last term is the same for every candidate of a target pixel, so no
    # ranking or softmax sees it and it is left out.
    if config.affinity == "cosine":
        query, keys = F.normalize(query, dim=0) / config.temperature, F.normalize(keys, dim=1)
    else:
        query = torch.cat([query * (2 / config.temperature), torch.ones_like(query[:1])])
        keys = torch.cat([keys, keys.square().sum(1, keepdim=True) / -config.temperature], dim=1)
        channels += 1
    radius = min(config.radius, max(height, width) - 1)  # farther offsets never land in the frame
    topk = min(config.topk, memory * (2 * radius + 1) ** 2)
    tiles_y, tiles_x = -(-height // tile), -(-width // tile)
    extra = (tiles_x * tile - width, tiles_y * tile - height)  # right / bottom padding to whole tiles
    span = tile + 2 * radius  # side of a tile's key window

    def windows(x: Tensor) -> Tensor:
        """``(N, D, h, w)`` -> each tile's window of every frame, ``(tiles, D, N*span*span)``."""
        padded = F.pad(x, (radius, radius + extra[0], radius, radius + extra[1]))
        cols = F.unfold(padded, span, stride=tile)  # (N, D*span*span, tiles)
        cols = cols.view(x.shape[0], x.shape[1], span * span, -1).permute(3, 1, 0, 2)
        return cols.reshape(cols.shape[0], x.shape[1], -1)

    # (tiles, tile*tile, C): each tile's query pixels; tiles cover the frame (padding discarded)
    queries = F.unfold(F.pad(query[None], (0, extra[0], 0, extra[1])), tile, stride=tile)
    # contiguous: a strided left operand makes the batched product about 10x slower on CPU
    queries = queries.view(channels, tile * tile, -1).permute(2, 1, 0).contiguous()
    # (tile*tile, span*span): the candidates within ``radius`` of each query pixel of a tile
    inner = torch.arange(tile, device=query.device)
    outer = torch.arange(span, device=query.device)
    near = ((outer[None] - inner[:, None]) >= 0) & ((outer[None] - inner[:, None]) <= 2 * radius)
    near = (near[:, None, :, None] & near[None, :, None, :]).reshape(tile * tile, span * span)
    inside = windows(torch.ones(1, 1, height, width, dtype=query.dtype, device=query.device))[:, 0]
    # additive mask (tiles, tile*tile, 1, span*span): 0 for candidates, -inf elsewhere
    bias = torch.zeros(near.shape, dtype=query.dtype, device=query.device).masked_fill(~near, -torch.inf)
    bias = (bias[None] + torch.log(inside)[:, None])[:, :, None]
    # every memory frame's windows side by side: (tiles, C, M*span*span), (tiles, M*span*span, V)
    key_windows = windows(keys)
    value_windows = windows(values).transpose(1, 2)
    tiles = queries.shape[0]
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
        read[part] = (best.softmax(dim=-1)[..., None, :] @ picked)[..., 0, :]
    read = F.fold(read.permute(2, 1, 0).reshape(values.shape[1] * tile * tile, -1),
                  (tiles_y * tile, tiles_x * tile), tile, stride=tile)
    return read[:, :height, :width]


def propagate_with_memory(first_soft: Tensor, features: Tensor, config: MemoryConfig,
                          flow_step: Callable[[int, Tensor], Tensor] | None = None,
                          fusion_weight: float = 1.0, hard: bool = False) -> Iterator[Tensor]:
    """Yield the soft mask ``(1, V, h, w)`` of every frame t >= 1, read from its memory.

    Args:
        first_soft: frame 0's soft mask at the feature size ``(1, V, h, w)`` (void as background).
        features: every frame's embedding ``(T, C, h, w)``.
        config: memory parameters.
        flow_step: for fusion, ``flow_step(t, soft)`` moves the previous soft mask ``(1, V, h, w)``
            to frame t (layer 109 or optical flow); ``None`` for pure memory.
        fusion_weight: weight of the memory read-out in the fusion (``1 - w`` for the warp).
        hard: re-one-hot every propagated mask (``mode="hard"``).
    """
    import torch

    from rpmbench.inference.masks import harden, renormalise

    values = {0: first_soft[0]}
    soft = first_soft
    for t in range(1, len(features)):
        index = memory_frames(t, config.context)
        read = memory_readout(features[t], features[index], torch.stack([values[i] for i in index]),
                              config)[None]
        if flow_step is not None:
            warped = renormalise(flow_step(t, soft))
            read = fusion_weight * read + (1 - fusion_weight) * warped
        soft = renormalise(read)
        if hard:
            soft = harden(soft)
        values[t] = soft[0]
        keep = set(memory_frames(t + 1, config.context))
        values = {i: value for i, value in values.items() if i in keep}
        yield soft


def pixel_features(frames: np.ndarray, size: tuple[int, int]) -> Tensor:
    """``(T, H, W, 3)`` uint8 RGB -> Lab scaled to about [-1, 1], area-averaged to ``size``:
    ``(T, 3, h, w)`` (the ``pixels`` baseline's embedding)."""
    import torch
    import torch.nn.functional as F

    from rpmbench.data.colour import to_network_input

    lab = to_network_input(torch.from_numpy(frames).permute(0, 3, 1, 2), "lab")
    return F.interpolate(lab, size=size, mode="area")


__all__ = ["AFFINITIES", "MEMORY_PRESETS", "MemoryConfig", "memory_frames", "memory_readout",
           "pixel_features", "propagate_with_memory"]
