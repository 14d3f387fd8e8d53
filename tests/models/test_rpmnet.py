"""RPM-Net per Table 1: shapes, strides, layer 109, zero-offset equivalence, configs, gradients."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import rpmbench
from rpmbench.errors import ConfigError
from rpmbench.models import BACKBONES, RPMNetConfig, build_rpmnet, count_parameters
from rpmbench.models.describe import describe_model, parameter_summary
from rpmbench.models.matching import FlowWarp
from rpmbench.models.resnet import build_resnet

ROOT = Path(rpmbench.__file__).resolve().parents[1]
TABLE2_VARIANTS = [("deformable", 3, 1), ("standard", 1, 1), ("standard", 3, 1), ("standard", 5, 1),
                   ("dilated", 3, 3), ("dilated", 3, 6), ("dilated", 3, 9)]


@pytest.mark.parametrize("backbone, widths", [
    ("resnet18", (64, 128, 256, 512)), ("resnet34", (64, 128, 256, 512)),
    ("resnet50", (256, 512, 1024, 2048)), ("resnet101", (256, 512, 1024, 2048))])
def test_encoder_stages_downsample_by_two_each(backbone: str, widths: tuple) -> None:
    features = build_resnet(backbone).eval()(torch.zeros(1, 3, 128, 192))
    assert [tuple(f.shape[1:]) for f in features] == [
        (32, 32, 48), (widths[0], 16, 24), (widths[1], 8, 12), (widths[2], 4, 6), (widths[3], 2, 3)]


@pytest.mark.parametrize("matching, layers, dilation", TABLE2_VARIANTS)
@pytest.mark.parametrize("size", [(64, 64), (70, 90)])
def test_every_table2_variant_shapes(matching: str, layers: int, dilation: int, size: tuple) -> None:
    model = build_rpmnet("resnet18", matching, layers, dilation, backend="reference").eval()
    h, w = math.ceil(size[0] / 4), math.ceil(size[1] / 4)
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size), torch.rand(2, 3, *size),
                    payload=torch.rand(2, 5, *size), return_sampling=True)
    assert out.warped.shape == (2, 5, h, w) and out.flow.shape == (2, 2, h, w)
    assert [s.shape for s in out.sampling] == [(2, 9, h, w, 2)] * layers + [(2, 1, h, w, 2)]


def test_resnet101_forward_shapes() -> None:
    model = build_rpmnet("resnet101", backend="reference").eval()
    with torch.no_grad():
        assert model.embed(torch.zeros(1, 3, 64, 128)).shape == (1, 32, 16, 32)


def test_layer109_is_bilinear_warp() -> None:
    """Independent reference: grid_sample with align_corners=True and zeros outside, float64."""
    generator = torch.Generator().manual_seed(0)
    payload = torch.rand(2, 4, 9, 11, generator=generator, dtype=torch.float64)
    flow = 3 * torch.randn(2, 2, 9, 11, generator=generator, dtype=torch.float64)
    ys, xs = torch.meshgrid(torch.arange(9.0, dtype=torch.float64),
                            torch.arange(11.0, dtype=torch.float64), indexing="ij")
    grid = torch.stack([2 * (xs + flow[:, 1]) / 10 - 1, 2 * (ys + flow[:, 0]) / 8 - 1], dim=-1)
    expected = F.grid_sample(payload, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    for backend in ("reference", "torchvision"):
        torch.testing.assert_close(FlowWarp(backend)(payload, flow), expected)


def test_zero_offsets_make_deformable_matching_a_plain_conv_net() -> None:
    torch.manual_seed(0)
    deformable = build_rpmnet("resnet18", "deformable", backend="reference").eval()
    standard = build_rpmnet("resnet18", "standard", backend="reference").eval()
    state = {k: v for k, v in deformable.state_dict().items() if "offset_conv" not in k}
    standard.load_state_dict(state)
    frames = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        a, b = deformable(*frames), standard(*frames)
    torch.testing.assert_close(a.flow, b.flow, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(a.warped, b.warped, rtol=1e-4, atol=1e-5)


def test_untrained_matching_predicts_zero_flow() -> None:
    model = build_rpmnet("resnet18", "dilated", 3, 3, backend="reference").eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))
    assert torch.equal(out.flow, torch.zeros_like(out.flow))


@pytest.mark.parametrize("overrides, message", [
    (dict(backbone="resnet152"), "unknown backbone"),
    (dict(matching="sparse"), "unknown matching"),
    (dict(layers=4), "layers=4 is not supported"),
    (dict(matching="dilated", dilation=1), "needs dilation >= 2"),
    (dict(matching="standard", dilation=3), "only meaningful with matching='dilated'"),
    (dict(matching="dilated", dilation=0), "positive integer"),
    (dict(dcn="v3"), "unknown dcn"),
])
def test_invalid_configs_fail_before_building(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RPMNetConfig(**overrides).validate()
    with pytest.raises(ConfigError, match=message):
        build_rpmnet(**overrides)


def test_every_parameter_gets_a_gradient() -> None:
    model = build_rpmnet("resnet18", backend="reference")
    # Non-zero offset weights and flow layer (both start at zero) so every path carries gradient.
    for conv in model.matching.convs:
        nn.init.normal_(conv.offset_conv.weight, std=1e-3)
    nn.init.normal_(model.matching.convs[-1].weight, std=1e-2)
    out = model(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    out.warped.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_parameter_counts_by_hand() -> None:
    model = build_rpmnet("resnet50", backend="reference")
    encoder = model.embedding.encoder
    stem = 3 * 32 * 7 * 7 + 2 * 32
    # first bottleneck of stage 1: 32 -> 64 -> 64 -> 256 plus the 32 -> 256 projection, BN 2 per channel
    block = (32 * 64 + 2 * 64) + (64 * 64 * 9 + 2 * 64) + (64 * 256 + 2 * 256) + (32 * 256 + 2 * 256)
    assert count_parameters(encoder.stem) == stem
    assert count_parameters(encoder.stages[0][0]) == block
    # layer 102 for ResNet-50: 3x3 transposed conv 2048 -> 1024 with bias
    assert count_parameters(model.embedding.decoder[0]) == 2048 * 1024 * 9 + 1024
    # matching: 106-108 with 18-channel offset convs, layer 109 has none
    matching = sum(i * o * 9 + o + i * 18 * 9 + 18 for i, o in ((64, 32), (32, 16), (16, 2)))
    assert count_parameters(model.matching) == matching
    counts = parameter_summary(model)
    assert counts["total"] == counts["encoder"] + counts["decoder"] + counts["matching"]


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower().replace("×", "x") if ch.isalnum())


def test_describe_reproduces_table1_for_resnet101() -> None:
    table = describe_model(build_rpmnet("resnet101", backend="reference"), (128, 128))
    paper = pd.read_csv(ROOT / "results" / "paper" / "table1.csv", dtype=str)
    assert list(table["number"]) == list(paper["number"])
    assert list(table["output"]) == list(paper["output"])
    assert [_normalise(t) for t in table["description"]] == [_normalise(t) for t in paper["description"]]


def test_describe_counts_basic_blocks_for_resnet18() -> None:
    table = describe_model(build_rpmnet("resnet18", "standard", 5, backend="reference"), (64, 64))
    assert list(table["number"]) == ["1", "2", "3-6", "7-10", "11-14", "15-18", "19", "20", "21",
                                     "22", "23", "24", "25", "26", "27", "28"]
    assert table["description"][2] == "[3×3, 64; 3×3, 64] × 2"
    assert table["description"][6].endswith("add features from layer 19 and features from layer 14")


def test_describe_cli_prints_table_and_counts() -> None:
    result = subprocess.run([sys.executable, "-m", "rpmbench", "describe", "--backbone", "resnet18",
                             "--matching", "dilated", "--dilation", "6", "--format", "csv",
                             "--input-size", "64", "64"], capture_output=True, text=True, check=True)
    assert "3×3 conv, 32, stride 1, dilation 6" in result.stdout
    assert "parameters total" in result.stdout


def test_paper_tables_name_all_backbones() -> None:
    assert set(pd.read_csv(ROOT / "results" / "paper" / "table2.csv")["backbone"]) == set(BACKBONES)
