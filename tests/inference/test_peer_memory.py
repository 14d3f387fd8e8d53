"""The peers' memory settings (disk window, dot affinity, whole-frame long-term memory, frame
rules, min-max output) against hand-computed cases and a dense float64 reference."""

from __future__ import annotations

import math

import pytest
import torch

from rpmbench.inference.memory import MemoryConfig, memory_index, memory_readout, minmax_channels, window_mask


def dense_readout(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, config: MemoryConfig,
                  whole: int = 0) -> torch.Tensor:
    """The definition in float64 with the full (h*w) x (M*h*w) matrix; the first ``whole`` frames
    unrestricted."""
    query, keys, values = query.double(), keys.double(), values.double()
    memory, channels, height, width = keys.shape
    if config.affinity == "cosine":
        query = query / query.norm(dim=0, keepdim=True).clamp_min(1e-12)
        keys = keys / keys.norm(dim=1, keepdim=True).clamp_min(1e-12)
    q = query.reshape(channels, -1).T
    k = keys.permute(0, 2, 3, 1).reshape(-1, channels)
    scores = -((q[:, None] - k[None]) ** 2).sum(-1) if config.affinity == "l2" else q @ k.T
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    dy = ys.flatten()[:, None] - ys.flatten()[None]
    dx = xs.flatten()[:, None] - xs.flatten()[None]
    if config.neighbourhood == "disk":
        far = dy ** 2 + dx ** 2 >= config.radius ** 2
    else:
        far = torch.maximum(dy.abs(), dx.abs()) > config.radius
    far = torch.cat([torch.zeros_like(far)] * whole + [far] * (memory - whole), dim=1)
    scores = (scores / config.temperature).masked_fill(far, -math.inf)
    best, index = scores.topk(min(config.topk, scores.shape[1]), dim=1)
    v = values.permute(0, 2, 3, 1).reshape(-1, values.shape[1])
    read = (best.softmax(1)[..., None] * v[index]).sum(1)
    return read.T.reshape(values.shape[1], height, width)


def test_disk_window_hand_computed() -> None:
    """Radius 4 disk around one query pixel (tile 1, reach 4): offsets with dy^2 + dx^2 < 16.

    Per |dx| = 0, 1, 2, 3 the largest |dy| allowed is 3, 3, 3, 2 (9 + 0, 9 + 1, 9 + 4, 4 + 9 < 16),
    so 7 + 2*7 + 2*7 + 2*5 = 45 offsets; (3, 3) (18) and (0, 4) (16, not strictly inside) are out.
    """
    near = window_mask(1, 4, 4, "disk").view(9, 9)
    inside = {(oy - 4, ox - 4) for oy in range(9) for ox in range(9) if near[oy, ox]}
    assert len(inside) == 45
    assert {(0, 3), (3, 2), (2, 3), (-3, -2), (0, 0)} <= inside
    assert not {(0, 4), (4, 0), (3, 3), (-3, 3), (4, 4)} & inside
    assert window_mask(1, 4, 4, "square").all()  # the square of radius 4 is the whole 9x9 window


def test_disk_window_of_a_tile_shifts_with_each_query_pixel() -> None:
    """Tile 2, reach 1, radius 1 disk: each query pixel keeps only itself (dy^2 + dx^2 < 1)."""
    near = window_mask(2, 1, 1, "disk").view(2, 2, 4, 4)
    for iy in range(2):
        for ix in range(2):
            expected = torch.zeros(4, 4, dtype=torch.bool)
            expected[iy + 1, ix + 1] = True
            assert torch.equal(near[iy, ix], expected)


@pytest.mark.parametrize("windows", [True, False])
@pytest.mark.parametrize("affinity", ["dot", "cosine", "l2"])
@pytest.mark.parametrize("neighbourhood,radius,topk,whole", [
    ("disk", 3, 5, 0), ("disk", 24, 10, 1), ("square", 2, 4, 1), ("disk", 1, 1, 2), ("square", 20, 3, 0),
])
def test_readout_matches_dense_float64_reference(affinity: str, neighbourhood: str, radius: int, topk: int,
                                                 whole: int, windows: bool) -> None:
    """Frames not a multiple of the tile; radius 20 and 24 (a larger tile) exceed the frame; searched
    by windows and by the masked whole frame."""
    generator = torch.Generator().manual_seed(radius * 10 + topk + whole)
    query = torch.randn(4, 9, 13, generator=generator)
    keys = torch.randn(3, 4, 9, 13, generator=generator)
    values = torch.rand(3, 3, 9, 13, generator=generator).softmax(1)
    config = MemoryConfig(topk=topk, radius=radius, temperature=0.3, affinity=affinity, neighbourhood=neighbourhood)
    expected = dense_readout(query, keys, values, config, whole)
    got = memory_readout(query.double(), keys.double(), values.double(), config, whole=whole, windows=windows)
    assert torch.allclose(got, expected, atol=1e-10)


def test_whole_frame_long_term_hand_computed() -> None:
    """One row of 4 pixels, 1 channel, dot affinity, temperature 1, radius 1 square, top-1.

    Frame 0 keys (5, 0, 0, 0) with the object at pixel 0; frame 1 keys (0, 0, 0, 1), all
    background; query (0, 0, 0, 2). Pixel 3's best candidate is frame 0's pixel 0 (score 10), 3
    pixels away: searched over the whole frame (``whole=1``) pixel 3 reads the object; inside the
    radius only (``whole=0``) its best is frame 1's pixel 3 (score 2): background.
    """
    keys = torch.tensor([[5.0, 0, 0, 0], [0, 0, 0, 1]], dtype=torch.float64).view(2, 1, 1, 4)
    obj = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.float64).view(2, 1, 1, 4)
    values = torch.cat([1 - obj, obj], dim=1)
    query = torch.tensor([0, 0, 0, 2.0], dtype=torch.float64).view(1, 1, 4)
    config = MemoryConfig(topk=1, radius=1, temperature=1.0, affinity="dot")
    assert memory_readout(query, keys, values, config, whole=1)[1, 0, 3] == 1.0
    assert memory_readout(query, keys, values, config, whole=0)[1, 0, 3] == 0.0


def test_readout_softmax_over_two_candidates_with_dot_affinity() -> None:
    """1x2 frame, one channel, one memory frame, dot, temperature 0.5, top-2, radius 1:
    query 1 at both pixels, keys (1, 2): scores 2, 4 -> weights 1/(1+e^2), e^2/(1+e^2)."""
    keys = torch.tensor([1.0, 2.0], dtype=torch.float64).view(1, 1, 1, 2)
    values = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64).view(1, 2, 1, 2)
    read = memory_readout(torch.ones(1, 1, 2, dtype=torch.float64), keys, values,
                          MemoryConfig(topk=2, radius=1, temperature=0.5, affinity="dot"))
    e2 = math.exp(2)
    assert torch.allclose(read[1, 0], torch.full((2,), e2 / (1 + e2), dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("recent,context,long_term,offsets,whole,t,expected", [
    ("propagated", 7, (0,), (), False, 1, ([0], 0)),  # DINO's queue starts empty
    ("propagated", 7, (0,), (), False, 12, ([0, 5, 6, 7, 8, 9, 10, 11], 0)),
    ("from-first", 3, (0,), (), False, 1, ([0, 0], 0)),  # VFS / STT: frame 0 also in range(0, t)
    ("from-first", 3, (0,), (), False, 2, ([0, 0, 1], 0)),
    ("from-first", 3, (0,), (), False, 5, ([0, 2, 3, 4], 0)),
    ("padded", 3, (0,), (), True, 1, ([0, 0, 0, 0], 1)),  # CRW: 3 slots of frame-0 copies
    ("padded", 3, (0,), (), True, 2, ([0, 0, 0, 1], 1)),
    ("padded", 3, (0,), (), True, 5, ([0, 2, 3, 4], 1)),
    ("offsets", 0, (0, 5), (1, 3, 5), False, 1, ([0], 0)),  # MAST: {0, 5} + t-1, t-3, t-5
    ("offsets", 0, (0, 5), (1, 3, 5), False, 6, ([0, 1, 3, 5], 0)),
    ("offsets", 0, (0, 5), (1, 3, 5), False, 10, ([0, 5, 7, 9], 0)),
])
def test_memory_index_follows_each_peer(recent: str, context: int, long_term: tuple[int, ...],
                                        offsets: tuple[int, ...], whole: bool, t: int,
                                        expected: tuple[list[int], int]) -> None:
    config = MemoryConfig(context=context, recent=recent, long_term=long_term, offsets=offsets,
                          whole_long_term=whole)
    assert memory_index(t, config) == expected


def test_minmax_channels_hand_computed() -> None:
    """Channel 0 (0.2, 0.6) -> (0, 1); channel 1 all 0 stays 0 (its max is not > 0)."""
    soft = torch.tensor([[0.2, 0.6], [0.0, 0.0]], dtype=torch.float64).view(1, 2, 1, 2)
    got = minmax_channels(soft)
    assert torch.allclose(got[0, 0, 0], torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-10)
    assert torch.equal(got[0, 1], soft[0, 1])


@pytest.mark.parametrize("recent,context,long_term,offsets,whole", [
    ("offsets", 0, (0, 5), (1, 3, 5), False),  # MAST: frame t-1 skips t+1's memory, returns at t+2
    ("padded", 3, (0,), (), True), ("from-first", 3, (0,), (), False), ("propagated", 2, (0,), (), False),
])
def test_propagation_keeps_every_frame_a_later_memory_reads(recent: str, context: int, long_term: tuple[int, ...],
                                                             offsets: tuple[int, ...], whole: bool) -> None:
    """Over 12 frames, each frame's read-out equals one from a memory that keeps every propagated
    mask (the frames dropped along the way are never read again)."""
    from rpmbench.inference.masks import renormalise
    from rpmbench.inference.memory import propagate_with_memory

    generator = torch.Generator().manual_seed(5)
    features = torch.randn(12, 4, 6, 7, generator=generator, dtype=torch.float64)
    first = torch.rand(1, 3, 6, 7, generator=generator, dtype=torch.float64).softmax(1)
    config = MemoryConfig(context=context, topk=4, radius=2, temperature=0.2, affinity="cosine", recent=recent,
                          long_term=long_term, offsets=offsets, whole_long_term=whole)
    kept = [first[0]]
    for t, soft in enumerate(propagate_with_memory(first, features, config), start=1):
        index, whole_frames = memory_index(t, config)
        read = memory_readout(features[t], features[index], torch.stack([kept[i] for i in index]), config,
                              whole=whole_frames)
        expected = renormalise(read[None])
        assert torch.allclose(soft, expected, atol=1e-12), t
        kept.append(soft[0])
