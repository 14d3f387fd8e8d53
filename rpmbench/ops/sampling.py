"""Where a (deformable) convolution samples its input: the regular grid plus learned offsets."""

from __future__ import annotations

import torch
from torch import Tensor

from rpmbench.ops.shapes import pair


def sampling_locations(
    offset: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Absolute input coordinates sampled by every kernel point of every output pixel.

    Args:
        offset: ``Tensor[B, 2 * offset_groups * kh * kw, H_out, W_out]``, (dy, dx) interleaved per
            kernel point ``k = i * kw + j``, group-major (torchvision/mmcv layout).

    Returns:
        ``Tensor[B, offset_groups, kh * kw, H_out, W_out, 2]`` of (y, x) input-pixel coordinates;
        with one offset group, squeeze dim 1 for ``(B, kh * kw, H_out, W_out, 2)``.

    Examples::

        >>> loc = sampling_locations(torch.zeros(1, 18, 4, 4), 3, padding=1)
        >>> loc[0, 0, 4, 2, 3].tolist()  # centre tap of output (2, 3) samples input (2, 3)
        [2.0, 3.0]
    """
    kh, kw = pair(kernel_size)
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    dh, dw = pair(dilation)
    batch, channels, out_h, out_w = offset.shape
    points = kh * kw
    if channels % (2 * points):
        raise ValueError(
            f"offset has {channels} channels; expected a multiple of 2 * kh * kw = {2 * points}"
        )
    groups = channels // (2 * points)
    kwargs = {"device": offset.device, "dtype": offset.dtype}
    tap_y = (torch.arange(kh, **kwargs) * dh).repeat_interleave(kw)  # (K,)
    tap_x = (torch.arange(kw, **kwargs) * dw).repeat(kh)  # (K,)
    base_y = torch.arange(out_h, **kwargs) * sh - ph  # (H_out,)
    base_x = torch.arange(out_w, **kwargs) * sw - pw  # (W_out,)
    grid_y = tap_y[:, None, None] + base_y[None, :, None]  # (K, H_out, 1)
    grid_x = tap_x[:, None, None] + base_x[None, None, :]  # (K, 1, W_out)
    grid = torch.stack(torch.broadcast_tensors(grid_y, grid_x), dim=-1)  # (K, H_out, W_out, 2)
    delta = offset.view(batch, groups, points, 2, out_h, out_w).permute(0, 1, 2, 4, 5, 3)
    return grid + delta
