"""Pure-PyTorch deformable convolution: any device and dtype, differentiable by autograd.

Bilinear sampling follows torchvision and mmcv exactly: each of the four integer corners around a
sampling point contributes with its bilinear weight if it lies inside the image and zero
otherwise, so a point at ``y = -0.5`` still takes half of row 0 and a point at ``y <= -1`` is 0.
The sampled columns are gathered for all kernel points at once and contracted with the weight in
one batched matmul (an im2col formulation).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rpmbench.ops.sampling import sampling_locations
from rpmbench.ops.shapes import DeformGeometry


def _bilinear_gather(input: Tensor, coords: Tensor) -> Tensor:
    """Sample ``input`` at fractional coordinates with zeros outside.

    Args:
        input: ``(B, G, C/G, H, W)``.
        coords: ``(B, G, N, 2)`` (y, x) coordinates.

    Returns:
        ``(B, G, C/G, N)`` sampled values.
    """
    batch, groups, channels, height, width = input.shape
    flat = input.reshape(batch, groups, channels, height * width)
    y, x = coords.unbind(-1)
    y0 = torch.floor(y)
    x0 = torch.floor(x)
    ly = y - y0
    lx = x - x0
    y0 = y0.long()
    x0 = x0.long()
    result = None
    for dy, wy in ((0, 1 - ly), (1, ly)):
        for dx, wx in ((0, 1 - lx), (1, lx)):
            yi = y0 + dy
            xi = x0 + dx
            inside = (yi >= 0) & (yi < height) & (xi >= 0) & (xi < width)
            index = (yi.clamp(0, height - 1) * width + xi.clamp(0, width - 1)).unsqueeze(2)
            values = torch.gather(flat, 3, index.expand(-1, -1, channels, -1))
            term = values * (wy * wx * inside).unsqueeze(2)
            result = term if result is None else result + term
    return result


def deform_conv2d_reference(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    mask: Tensor | None,
    geometry: DeformGeometry,
) -> Tensor:
    """Deformable convolution, shapes as in :func:`rpmbench.ops.deform_conv2d` (already checked)."""
    batch, in_channels, height, width = input.shape
    out_channels = weight.shape[0]
    kh, kw = geometry.kernel
    points = kh * kw
    out_h, out_w = geometry.out_size
    offset_groups, groups = geometry.offset_groups, geometry.groups
    # Coordinates and bilinear weights in at least float32: with bfloat16's 8-bit mantissa a
    # coordinate between 128 and 256 would snap to whole pixels.
    sampling_dtype = torch.promote_types(offset.dtype, torch.float32)
    coords = sampling_locations(offset.to(sampling_dtype), (kh, kw), stride, padding, dilation)
    coords = coords.reshape(batch, offset_groups, points * out_h * out_w, 2)  # from (B, G, K, Ho, Wo, 2)
    grouped = input.reshape(batch, offset_groups, in_channels // offset_groups, height, width)
    columns = _bilinear_gather(grouped, coords)  # (B, G, C/G, K*Ho*Wo), in sampling_dtype
    if mask is not None:
        columns = columns * mask.reshape(batch, offset_groups, 1, points * out_h * out_w)
    columns = columns.to(input.dtype).reshape(batch, groups, (in_channels // groups) * points, out_h * out_w)
    kernels = weight.reshape(groups, out_channels // groups, (in_channels // groups) * points)
    output = torch.matmul(kernels.unsqueeze(0), columns)  # (B, groups, C_out/groups, Ho*Wo)
    output = output.reshape(batch, out_channels, out_h, out_w)
    if bias is not None:
        output = output + bias.view(1, -1, 1, 1)
    return output
