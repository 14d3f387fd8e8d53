"""rpmbench.ops against an independent float64 loop implementation, torchvision and mmcv."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rpmbench.errors import BackendUnavailableError
from rpmbench.ops import (
    DeformConv2d,
    DeformConv2dPack,
    available_backends,
    deform_conv2d,
    sampling_locations,
)
from rpmbench.ops import deform_conv as deform_conv_module

HAS_MMCV = "mmcv" in available_backends()


def loop_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask):
    """Textbook definition, one output element at a time, in float64 Python arithmetic."""
    batch, in_channels, height, width = x.shape
    out_channels, group_channels, kh, kw = weight.shape
    groups = in_channels // group_channels
    offset_groups = offset.shape[1] // (2 * kh * kw)
    out_h, out_w = offset.shape[2:]
    out = torch.zeros(batch, out_channels, out_h, out_w, dtype=torch.float64)

    def sample(b, c, y, x_):
        if y <= -1 or y >= height or x_ <= -1 or x_ >= width:
            return 0.0
        y0, x0 = math.floor(y), math.floor(x_)
        total = 0.0
        for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
            for xx, wx in ((x0, 1 - (x_ - x0)), (x0 + 1, x_ - x0)):
                if 0 <= yy < height and 0 <= xx < width:
                    total += wy * wx * float(x[b, c, yy, xx])
        return total

    for b in range(batch):
        for o in range(out_channels):
            group = o // (out_channels // groups)
            for i in range(out_h):
                for j in range(out_w):
                    acc = float(bias[o]) if bias is not None else 0.0
                    for ci in range(group_channels):
                        c = group * group_channels + ci
                        og = c // (in_channels // offset_groups)
                        for u in range(kh):
                            for v in range(kw):
                                k = u * kw + v
                                dy = float(offset[b, og * 2 * kh * kw + 2 * k, i, j])
                                dx = float(offset[b, og * 2 * kh * kw + 2 * k + 1, i, j])
                                y = i * stride[0] - padding[0] + u * dilation[0] + dy
                                x_ = j * stride[1] - padding[1] + v * dilation[1] + dx
                                value = sample(b, c, y, x_)
                                if mask is not None:
                                    value *= float(mask[b, og * kh * kw + k, i, j])
                                acc += float(weight[o, ci, u, v]) * value
                    out[b, o, i, j] = acc
    return out


def out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def make_case(seed, batch=2, channels=4, size=(6, 5), out_channels=4, kernel=(3, 2), stride=(2, 1),
              padding=(1, 1), dilation=(1, 2), groups=2, offset_groups=2, with_mask=True,
              with_bias=True, dtype=torch.float64, offset_scale=1.5):
    generator = torch.Generator().manual_seed(seed)
    out_h = out_size(size[0], kernel[0], stride[0], padding[0], dilation[0])
    out_w = out_size(size[1], kernel[1], stride[1], padding[1], dilation[1])
    points = kernel[0] * kernel[1]
    x = torch.randn(batch, channels, *size, generator=generator, dtype=dtype)
    # Offsets of the form n + 0.1..0.9 keep every sampling coordinate off the integers, where
    # bilinear interpolation is not differentiable (and torchvision's gradient differs, #6885).
    offset = torch.randint(-2, 2, (batch, 2 * offset_groups * points, out_h, out_w), generator=generator)
    offset = offset + 0.1 + 0.8 * torch.rand(offset.shape, generator=generator)
    offset = (offset * offset_scale / 1.5).to(dtype)
    weight = torch.randn(out_channels, channels // groups, *kernel, generator=generator, dtype=dtype)
    bias = torch.randn(out_channels, generator=generator, dtype=dtype) if with_bias else None
    mask = (torch.rand(batch, offset_groups * points, out_h, out_w, generator=generator, dtype=dtype)
            if with_mask else None)
    return x, offset, weight, bias, mask, dict(stride=stride, padding=padding, dilation=dilation)


AWKWARD = {
    "non-square kernel, stride (2,1), dilation, groups, offset groups": {},
    "stride 2, square kernel, no mask": dict(kernel=(3, 3), stride=(2, 2), dilation=(1, 1), with_mask=False),
    "dilation 2, no bias, one group": dict(kernel=(3, 3), stride=(1, 1), dilation=(2, 2), padding=(2, 2),
                                           groups=1, offset_groups=1, with_bias=False),
    "1x1 kernel, large offsets leaving the image": dict(kernel=(1, 1), stride=(1, 1), padding=(0, 0),
                                                        dilation=(1, 1), offset_scale=6.0),
}


@pytest.mark.parametrize("case", list(AWKWARD), ids=list(AWKWARD))
def test_reference_matches_loop_definition(case: str) -> None:
    x, offset, weight, bias, mask, kwargs = make_case(seed=hash(case) % 1000, **AWKWARD[case])
    expected = loop_deform_conv2d(x, offset, weight, bias, mask=mask, **kwargs)
    actual = deform_conv2d(x, offset, weight, bias, mask=mask, backend="reference", **kwargs)
    torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-10)


def test_reference_batch_zero_and_non_contiguous() -> None:
    x, offset, weight, bias, mask, kwargs = make_case(seed=3)
    empty = deform_conv2d(x[:0], offset[:0], weight, bias, mask=mask[:0], backend="reference", **kwargs)
    assert empty.shape == (0, weight.shape[0], *offset.shape[2:])
    x_nc = x.transpose(2, 3).contiguous().transpose(2, 3)
    offset_nc = torch.stack([offset, -offset], dim=1)[:, 0]
    assert not x_nc.is_contiguous() and not offset_nc.is_contiguous()
    torch.testing.assert_close(
        deform_conv2d(x_nc, offset_nc, weight, bias, mask=mask, backend="reference", **kwargs),
        loop_deform_conv2d(x, offset, weight, bias, mask=mask, **kwargs),
    )


def test_reference_gradcheck() -> None:
    x, offset, weight, bias, mask, kwargs = make_case(seed=5, batch=1, size=(5, 4), offset_scale=1.0)
    tensors = [t.requires_grad_() for t in (x, offset, weight, bias, mask)]

    def fn(x_, offset_, weight_, bias_, mask_):
        return deform_conv2d(x_, offset_, weight_, bias_, mask=mask_, backend="reference", **kwargs)

    assert torch.autograd.gradcheck(fn, tensors)


def _forward_and_grads(backend, tensors, kwargs):
    tensors = [t.detach().clone().requires_grad_() if t is not None else None for t in tensors]
    x, offset, weight, bias, mask = tensors
    out = deform_conv2d(x, offset, weight, bias, mask=mask, backend=backend, **kwargs)
    grad_out = torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).reshape(out.shape)
    out.backward(grad_out)
    return out, {name: t.grad for name, t in zip(("input", "offset", "weight", "bias", "mask"), tensors)
                 if t is not None}


@pytest.mark.parametrize("peer", ["torchvision", pytest.param("mmcv", marks=[
    pytest.mark.mmcv, pytest.mark.skipif(not HAS_MMCV, reason="mmcv.ops is not importable")])])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("with_mask", [False, True])
def test_compiled_backend_matches_reference(peer: str, dtype: torch.dtype, with_mask: bool) -> None:
    seed = int(torch.randint(0, 2**31 - 1, ()))  # fresh random inputs on every run
    tensors = make_case(seed=seed, batch=3, channels=4, size=(9, 8), out_channels=6,
                        dtype=dtype, with_mask=with_mask)
    *inputs, kwargs = tensors
    ref_out, ref_grads = _forward_and_grads("reference", inputs, kwargs)
    out, grads = _forward_and_grads(peer, inputs, kwargs)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(out, ref_out, **tol, msg=f"forward (seed {seed})")
    assert grads.keys() == ref_grads.keys()
    for name in ref_grads:
        torch.testing.assert_close(grads[name], ref_grads[name], **tol, msg=f"grad {name} (seed {seed})")


def relative_errors(out, grads, expected_out, expected_grads) -> dict[str, float]:
    """||actual - expected|| / ||expected|| of the forward pass and every gradient (float64, CPU)."""
    def error(actual, expected):
        expected = expected.detach()
        return float((actual.detach().cpu().double() - expected).norm() / expected.norm())

    return {"forward": error(out, expected_out),
            **{name: error(grads[name], expected_grads[name]) for name in expected_grads}}


# bfloat16 keeps 8 bits of mantissa (unit roundoff 2**-9 ~ 2e-3; inputs, weights and the output
# are all rounded), so a few 1e-3 of relative error is the floor; 1.5e-2 leaves room for
# accumulation while still catching a wrong layout or snapped coordinates (errors of order 1e-1..1).
RELATIVE_TOLERANCE = {torch.float32: 1e-5, torch.bfloat16: 1.5e-2}


def test_reference_bfloat16_is_within_bfloat16_precision_of_float64() -> None:
    seed = int(torch.randint(0, 2**31 - 1, ()))
    *inputs, kwargs = make_case(seed=seed, batch=3, channels=8, size=(17, 15), out_channels=8)
    expected = _forward_and_grads("reference", inputs, kwargs)
    low = [t.to(torch.bfloat16) if t is not None else None for t in inputs]
    out, grads = _forward_and_grads("reference", low, kwargs)
    assert out.dtype == torch.bfloat16 and all(g.dtype == torch.bfloat16 for g in grads.values())
    errors = relative_errors(out, grads, *expected)
    assert max(errors.values()) <= RELATIVE_TOLERANCE[torch.bfloat16], f"{errors} (seed {seed})"


def test_bfloat16_sampling_coordinates_do_not_snap_to_pixels() -> None:
    """Columns alternate 0, 1, 0, ...; sampling 0.25 px to the right gives 0.25 / 0.75 exactly. In
    bfloat16 a coordinate between 128 and 256 has a resolution of 1 px: computed in bfloat16 it
    would snap back to the pixel and return 0 / 1."""
    width = 256
    x = (torch.arange(width) % 2).to(torch.bfloat16).view(1, 1, 1, width)
    offset = torch.zeros(1, 2, 1, width, dtype=torch.bfloat16)
    offset[:, 1] = 0.25
    weight = torch.ones(1, 1, 1, 1, dtype=torch.bfloat16)
    out = deform_conv2d(x, offset, weight, backend="reference")[0, 0, 0, :-1].float()
    expected = torch.where(torch.arange(width - 1) % 2 == 0, 0.25, 0.75)
    assert torch.equal(out, expected)


CUDA_PEERS = ["reference", "torchvision", pytest.param("mmcv", marks=[
    pytest.mark.mmcv, pytest.mark.skipif(not HAS_MMCV, reason="mmcv.ops is not importable")])]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("backend", CUDA_PEERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_backend_matches_float64_reference(backend: str, dtype: torch.dtype) -> None:
    """Every backend on CUDA against the float64 CPU reference: forward and all gradients."""
    seed = int(torch.randint(0, 2**31 - 1, ()))
    *inputs, kwargs = make_case(seed=seed, batch=3, channels=8, size=(33, 29), out_channels=8)
    expected = _forward_and_grads("reference", inputs, kwargs)
    on_cuda = [t.to("cuda", dtype) if t is not None else None for t in inputs]
    try:
        out, grads = _forward_and_grads(backend, on_cuda, kwargs)
    except RuntimeError as error:
        if dtype == torch.bfloat16 and backend != "reference" and "BFloat16" in str(error):
            pytest.skip(f"{backend} has no bfloat16 CUDA kernel ({error})")
        raise
    errors = relative_errors(out, grads, *expected)
    print(f"{backend} {dtype} relative errors: {errors}")
    assert max(errors.values()) <= RELATIVE_TOLERANCE[dtype], f"{errors} (seed {seed})"


def test_torchvision_issue_6885_zero_offsets_with_padding() -> None:
    """Zero offsets with padding 1 put border samples exactly at coordinate -1.

    Bilinear sampling is not differentiable at integer coordinates; torchvision's offset gradient
    takes a one-sided derivative there that differs from autograd's through the reference
    (pytorch/vision#6885). Forward, input and weight gradients must still agree exactly.
    """
    generator = torch.Generator().manual_seed(11)
    x = torch.randn(2, 3, 6, 6, generator=generator, dtype=torch.float64)
    weight = torch.randn(4, 3, 3, 3, generator=generator, dtype=torch.float64)
    offset = torch.zeros(2, 18, 6, 6, dtype=torch.float64)
    kwargs = dict(padding=(1, 1), stride=(1, 1), dilation=(1, 1))
    ref_out, ref_grads = _forward_and_grads("reference", [x, offset, weight, None, None], kwargs)
    out, grads = _forward_and_grads("torchvision", [x, offset, weight, None, None], kwargs)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(out, nn.functional.conv2d(x, weight, padding=1))
    for name in ("input", "weight"):
        torch.testing.assert_close(grads[name], ref_grads[name])


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(offset_channels=17), "offset has 17 channels"),
        (dict(offset_size=(5, 6)), "offset must be"),
        (dict(mask_channels=8), "mask must be"),
        (dict(weight_in=5), "not a multiple of weight.shape"),
    ],
)
def test_wrong_sizes_raise(change: dict, message: str) -> None:
    x = torch.randn(1, 4, 6, 6)
    weight = torch.randn(2, change.get("weight_in", 4), 3, 3)
    offset = torch.zeros(1, change.get("offset_channels", 18), *change.get("offset_size", (6, 6)))
    mask = torch.ones(1, change.get("mask_channels", 9), 6, 6)
    with pytest.raises(ValueError, match=message):
        deform_conv2d(x, offset, weight, mask=mask, padding=1, backend="reference")


def test_unavailable_backend_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deform_conv_module, "_importable", lambda name: name != "mmcv")
    with pytest.raises(BackendUnavailableError, match="build its ops from source"):
        deform_conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 18, 3, 3), torch.zeros(1, 1, 3, 3),
                      padding=1, backend="mmcv")
    with pytest.raises(BackendUnavailableError, match="unknown"):
        deform_conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 18, 3, 3), torch.zeros(1, 1, 3, 3),
                      padding=1, backend="cudnn")


def test_auto_is_the_reference_on_cpu_and_a_compiled_backend_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    assert deform_conv_module.resolve_backend("auto", "cpu") == "reference"
    monkeypatch.setattr(deform_conv_module, "_importable", lambda name: True)
    assert deform_conv_module.resolve_backend("auto", "cuda") == "mmcv"
    monkeypatch.setattr(deform_conv_module, "_importable", lambda name: name != "mmcv")
    assert deform_conv_module.resolve_backend("auto", "cuda") == "torchvision"


@pytest.mark.parametrize("backend", available_backends())
def test_zero_initialised_pack_is_a_plain_conv(backend: str) -> None:
    torch.manual_seed(0)
    layer = DeformConv2dPack(6, 5, 3, padding=2, dilation=2, backend=backend)
    conv = nn.Conv2d(6, 5, 3, padding=2, dilation=2)
    conv.load_state_dict({"weight": layer.weight.data, "bias": layer.bias.data})
    x = torch.randn(2, 6, 9, 7)
    torch.testing.assert_close(layer(x), conv(x), rtol=1e-4, atol=1e-5)
    assert layer.offset_conv.out_channels == 18


def test_modulated_pack_starts_with_half_mask() -> None:
    layer = DeformConv2dPack(3, 2, 3, padding=1, modulated=True, backend="reference")
    _, offset, mask = layer(torch.randn(1, 3, 5, 5), return_offset=True)
    assert layer.offset_conv.out_channels == 27
    assert torch.equal(offset, torch.zeros_like(offset))
    assert torch.equal(mask, torch.full_like(mask, 0.5))


def test_module_forward_matches_functional() -> None:
    layer = DeformConv2d(4, 4, (3, 2), stride=(2, 1), padding=1, groups=2, backend="reference")
    x = torch.randn(2, 4, 6, 5)
    offset = torch.randn(2, 12, 3, 6)
    torch.testing.assert_close(layer(x, offset), deform_conv2d(
        x, offset, layer.weight, layer.bias, (2, 1), 1, backend="torchvision"), rtol=1e-4, atol=1e-5)


def test_sampling_locations_regular_grid_and_offsets() -> None:
    offset = torch.zeros(1, 18, 3, 4)
    loc = sampling_locations(offset, 3, stride=2, padding=1, dilation=2)[:, 0]  # (1, 9, 3, 4, 2)
    # output (i, j) kernel point (u, v) samples (2i - 1 + 2u, 2j - 1 + 2v)
    for u in range(3):
        for v in range(3):
            assert loc[0, u * 3 + v, 2, 1].tolist() == [2 * 2 - 1 + 2 * u, 2 * 1 - 1 + 2 * v]
    offset[0, 2 * 4] = 0.25  # dy of the centre point
    offset[0, 2 * 4 + 1] = -1.5  # dx of the centre point
    shifted = sampling_locations(offset, 3, stride=2, padding=1, dilation=2)[0, 0, 4, 1, 2]
    assert shifted.tolist() == [2 * 1 - 1 + 2 + 0.25, 2 * 2 - 1 + 2 - 1.5]
