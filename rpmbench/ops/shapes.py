"""Argument normalisation and size checks shared by the deformable-convolution backends."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair is returned unchanged."""
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


@dataclass(frozen=True)
class DeformGeometry:
    """Checked sizes of one deformable-convolution call."""

    groups: int
    offset_groups: int
    kernel: tuple[int, int]
    out_size: tuple[int, int]


def check_deform_args(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    mask: Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> DeformGeometry:
    """Validate shapes (raising ``ValueError`` that says what was expected) and derive the groups."""
    if input.dim() != 4 or offset.dim() != 4 or weight.dim() != 4:
        raise ValueError(
            "input, offset and weight must be 4-D: input (B, C_in, H, W), "
            "offset (B, 2*G*kh*kw, H_out, W_out), weight (C_out, C_in/groups, kh, kw); got "
            f"{tuple(input.shape)}, {tuple(offset.shape)}, {tuple(weight.shape)}"
        )
    batch, in_channels, height, width = input.shape
    out_channels, group_channels, kh, kw = weight.shape
    if group_channels == 0 or in_channels % group_channels:
        raise ValueError(
            f"input has {in_channels} channels, not a multiple of weight.shape[1] = {group_channels}"
        )
    groups = in_channels // group_channels
    if out_channels % groups:
        raise ValueError(f"weight has {out_channels} output channels, not divisible by {groups} groups")
    points = kh * kw
    if offset.shape[1] == 0 or offset.shape[1] % (2 * points):
        raise ValueError(
            f"offset has {offset.shape[1]} channels; expected 2 * offset_groups * kh * kw "
            f"(a multiple of {2 * points} for a {kh}x{kw} kernel)"
        )
    offset_groups = offset.shape[1] // (2 * points)
    if in_channels % offset_groups:
        raise ValueError(f"input channels {in_channels} not divisible by {offset_groups} offset groups")
    out_h = (height + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (width + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"input {height}x{width} is too small for a dilated {kh}x{kw} kernel")
    if offset.shape[0] != batch or tuple(offset.shape[2:]) != (out_h, out_w):
        raise ValueError(
            f"offset must be ({batch}, {offset.shape[1]}, {out_h}, {out_w}) for this input, "
            f"stride, padding and dilation; got {tuple(offset.shape)}"
        )
    if mask is not None and tuple(mask.shape) != (batch, offset_groups * points, out_h, out_w):
        raise ValueError(
            f"mask must be ({batch}, {offset_groups * points}, {out_h}, {out_w}) "
            f"(one channel per kernel point and offset group); got {tuple(mask.shape)}"
        )
    return DeformGeometry(groups, offset_groups, (kh, kw), (out_h, out_w))
