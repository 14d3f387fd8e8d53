"""Memory propagation (rpmbench.inference.memory) against a dense float64 reference and hand-computed cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from davis_fixtures import write_davis
from rpmbench.errors import ConfigError
from rpmbench.evaluation import jaccard
from rpmbench.inference.baselines import baseline_masks, run_baseline
from rpmbench.inference.memory import MEMORY_PRESETS, MemoryConfig, memory_frames, memory_readout
from rpmbench.inference.propagate import PropagationConfig, propagate_dataset, propagate_sequence
from rpmbench.models import build_rpmnet


def dense_readout(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                  config: MemoryConfig) -> torch.Tensor:
    """The definition, in float64 with the full (h*w) x (M*h*w) affinity matrix."""
    query, keys, values = query.double(), keys.double(), values.double()
    memory, channels, height, width = keys.shape
    if config.affinity == "cosine":
        query = query / query.norm(dim=0, keepdim=True).clamp_min(1e-12)
        keys = keys / keys.norm(dim=1, keepdim=True).clamp_min(1e-12)
    q = query.reshape(channels, -1).T  # (hw, C)
    k = keys.permute(0, 2, 3, 1).reshape(-1, channels)  # (M*hw, C)
    if config.affinity == "l2":
        scores = -((q[:, None] - k[None]) ** 2).sum(-1)
    else:
        scores = q @ k.T
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()
    far = torch.maximum((ys[:, None] - ys[None]).abs(), (xs[:, None] - xs[None]).abs()) > config.radius
    scores = (scores / config.temperature).masked_fill(far.repeat(1, memory), -math.inf)
    best, index = scores.topk(min(config.topk, scores.shape[1]), dim=1)
    v = values.permute(0, 2, 3, 1).reshape(-1, values.shape[1])  # (M*hw, V)
    read = (best.softmax(1)[..., None] * v[index]).sum(1)  # (hw, V)
    return read.T.reshape(values.shape[1], height, width)


@pytest.mark.parametrize("windows", [True, False])
@pytest.mark.parametrize("affinity", ["l2", "cosine"])
@pytest.mark.parametrize("radius,topk", [(2, 4), (1, 1), (40, 7), (3, 10_000)])
def test_readout_matches_dense_float64_reference(affinity: str, radius: int, topk: int, windows: bool) -> None:
    """Random tiny frames (sizes not a multiple of the 8x8 tile), every window clipped at the
    border; radius 40 is larger than the frame, topk 10 000 larger than every window; searched
    by windows and by the masked whole frame."""
    generator = torch.Generator().manual_seed(radius * 100 + topk)
    query = torch.randn(4, 7, 13, generator=generator)
    keys = torch.randn(3, 4, 7, 13, generator=generator)
    values = torch.rand(3, 3, 7, 13, generator=generator).softmax(1)
    config = MemoryConfig(topk=topk, radius=radius, temperature=0.3, affinity=affinity)
    expected = dense_readout(query, keys, values, config)
    got = memory_readout(query.double(), keys.double(), values.double(), config, windows=windows)
    assert got.shape == expected.shape == (3, 7, 13)
    assert torch.allclose(got, expected, atol=1e-10)
    got32 = memory_readout(query, keys, values, config, windows=windows)  # float32 within float32 rounding
    assert torch.allclose(got32.double(), expected, atol=1e-4)


def test_readout_in_chunks_of_one_tile_matches_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tile chunking (bounded memory at 480p) changes nothing: one 8x8 tile per chunk here."""
    import rpmbench.inference.memory

    monkeypatch.setattr(rpmbench.inference.memory, "_SCORE_BUDGET", 1)
    generator = torch.Generator().manual_seed(7)
    query, keys = torch.randn(3, 17, 19, generator=generator), torch.randn(2, 3, 17, 19, generator=generator)
    values = torch.rand(2, 2, 17, 19, generator=generator)
    config = MemoryConfig(topk=6, radius=4, temperature=0.5, affinity="l2")
    for windows in (True, False):  # one tile, or one target pixel, per chunk
        got = memory_readout(query.double(), keys.double(), values.double(), config, windows=windows)
        assert torch.allclose(got, dense_readout(query, keys, values, config), atol=1e-10)


def test_the_cheaper_search_is_picked() -> None:
    """A radius covering most of a small frame is searched over the masked whole frame (fewer
    scores than the windows), a small radius by windows: both give the windows' read-out."""
    import rpmbench.inference.memory as memory

    calls = []
    original = memory._masked_frame_read
    def spy(*args, **kwargs):
        calls.append(True)
        return original(*args, **kwargs)
    generator = torch.Generator().manual_seed(3)
    query, keys = torch.randn(4, 32, 56, generator=generator), torch.randn(2, 4, 32, 56, generator=generator)
    values = torch.rand(2, 3, 32, 56, generator=generator).softmax(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory, "_masked_frame_read", spy)
        for radius, masked in ((48, True), (24, True), (12, False)):
            calls.clear()
            config = MemoryConfig(topk=5, radius=radius, temperature=0.1, affinity="cosine")
            auto = memory_readout(query.double(), keys.double(), values.double(), config)
            assert bool(calls) is masked, radius
            windowed = memory_readout(query.double(), keys.double(), values.double(), config, windows=True)
            assert torch.allclose(auto, windowed, atol=1e-12)


def test_readout_hand_computed_1d_case() -> None:
    """One row of 3 pixels, one channel, one memory frame, radius 1, top-2, l2, temperature 1.

    keys (0, 1, 3), query (1, 1, 3), values (0.2, 0.6, 1.0) for the object channel:
    pixel 0 sees keys 0, 1: scores -1, 0 -> weights e^-1, 1 over 1 + e^-1;
    pixel 1 sees keys 0, 1, 3: scores -1, 0, -4 -> top-2 keeps keys 0 and 1 (same weights);
    pixel 2 sees keys 1, 3: scores -4, 0 -> weights e^-4, 1 over 1 + e^-4.
    """
    keys = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64).view(1, 1, 1, 3)
    query = torch.tensor([1.0, 1.0, 3.0], dtype=torch.float64).view(1, 1, 3)
    obj = torch.tensor([0.2, 0.6, 1.0], dtype=torch.float64)
    values = torch.stack([1 - obj, obj]).view(1, 2, 1, 3)
    read = memory_readout(query, keys, values, MemoryConfig(topk=2, radius=1, temperature=1.0, affinity="l2"))
    e1, e4 = math.exp(-1), math.exp(-4)
    expected = [(0.2 * e1 + 0.6) / (1 + e1), (0.2 * e1 + 0.6) / (1 + e1), (0.6 * e4 + 1.0) / (1 + e4)]
    assert torch.allclose(read[1, 0], torch.tensor(expected, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(read.sum(0), torch.ones(1, 3, dtype=torch.float64))


def test_object_absent_from_memory_gets_zero() -> None:
    generator = torch.Generator().manual_seed(3)
    values = torch.rand(2, 3, 9, 10, generator=generator)
    values[:, 2] = 0  # object 2 is in no memory frame
    read = memory_readout(torch.randn(5, 9, 10, generator=generator), torch.randn(2, 5, 9, 10, generator=generator),
                          values, MEMORY_PRESETS["dino"])
    assert torch.isfinite(read).all() and torch.equal(read[2], torch.zeros(9, 10))


def test_memory_frames() -> None:
    assert memory_frames(1, 7) == [0]
    assert memory_frames(3, 7) == [0, 1, 2]
    assert memory_frames(12, 7) == [0, 5, 6, 7, 8, 9, 10, 11]
    assert memory_frames(12, 0) == [0]


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_rpmnet("resnet18", backend="reference").eval()
    with torch.no_grad():  # a non-zero flow layer, so the flow depends on the embeddings
        model.matching.convs[-1].weight.normal_(0, 0.05)
    return model


def _frames_and_mask() -> tuple[np.ndarray, np.ndarray]:
    frames = np.random.default_rng(1).integers(0, 255, (4, 32, 40, 3), dtype=np.uint8)
    first = np.zeros((32, 40), np.uint8)
    first[8:20, 8:24] = 1
    first[20:28, 28:36] = 2
    return frames, first


def test_void_in_first_mask_counts_as_background_and_runs_are_deterministic() -> None:
    model = _model()
    frames, first = _frames_and_mask()
    with_void = first.copy()
    with_void[0:6, 0:40] = 255
    memory = PropagationConfig(protocol="memory", radius=3, topk=4)
    masks = propagate_sequence(model, frames, with_void, memory).masks
    assert masks.shape == (4, 32, 40) and masks.max() <= 2
    assert np.array_equal(masks[1:], propagate_sequence(model, frames, first, memory).masks[1:])
    fusion = PropagationConfig(protocol="fusion", radius=3, topk=4)
    once = propagate_sequence(model, frames, with_void, fusion).masks
    assert np.array_equal(once, propagate_sequence(model, frames, with_void, fusion).masks)


def test_fusion_weight_ends_are_the_flow_and_memory_protocols() -> None:
    model = _model()
    frames, first = _frames_and_mask()

    def run(**fields: object) -> np.ndarray:
        return propagate_sequence(model, frames, first, PropagationConfig(radius=2, topk=3, **fields)).masks

    assert np.array_equal(run(protocol="fusion", fusion_weight=1.0), run(protocol="memory"))
    assert np.array_equal(run(protocol="fusion", fusion_weight=0.0), run(protocol="flow"))


@pytest.mark.parametrize("field,value,message", [
    ("topk", 0, "topk must be >= 1"), ("radius", -1, "radius must be >= 0"),
    ("temperature", 0.0, "temperature must be > 0"), ("temperature", -1.0, "temperature must be > 0"),
    ("affinity", "manhattan", "affinity must be one of"), ("context", -1, "context must be >= 0"),
    ("protocol", "online", "unknown propagation protocol .online.; registered"), ("fusion_weight", 1.5, "fusion_weight"),
    ("warp_resolution", "full", "warp_resolution must be one of"),
])
def test_bad_parameters_refused_before_any_work(tmp_path: Path, field: str, value: object,
                                                message: str) -> None:
    config = PropagationConfig(**{"protocol": "memory", field: value})
    with pytest.raises(ConfigError, match=message):  # the data root does not exist: never read
        propagate_dataset(build_rpmnet("resnet18", backend="reference"), tmp_path / "missing", "val",
                          tmp_path / "out", config, progress=False)
    with pytest.raises(ConfigError, match="warp by the flow alone"):
        PropagationConfig(protocol="memory", warp_resolution="frame").validate()


def test_pixels_baseline_follows_a_coloured_object(tmp_path: Path) -> None:
    """A red square slides 4 pixels per frame over grey noise: raw-pixel memory tracks it, the
    first-frame copy does not; ``run_baseline`` writes every frame."""
    rng = np.random.default_rng(0)
    gt = np.zeros((8, 48, 64), np.uint8)
    frames = rng.integers(90, 130, (8, 48, 64, 3)).astype(np.uint8)
    for t in range(8):
        gt[t, 12:28, 8 + 4 * t:24 + 4 * t] = 1
        frames[t][gt[t] == 1] = (220, 30, 30)
    pixels = baseline_masks("pixels", frames, gt[0])
    assert jaccard(pixels[1:] == 1, gt[1:] == 1).min() > 0.85
    assert jaccard(baseline_masks("copy-first", frames, gt[0])[-1:] == 1, gt[-1:] == 1)[0] < 0.4
    assert np.array_equal(pixels, baseline_masks("pixels", frames, gt[0]))
    root = write_davis(tmp_path / "d", {"a": gt})
    run_baseline("pixels", root, "val", tmp_path / "pixels", progress=False)
    assert len(list((tmp_path / "pixels" / "a").iterdir())) == 8
