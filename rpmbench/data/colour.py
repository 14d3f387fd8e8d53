"""Colour spaces for the reconstruction objective: RGB <-> CIE Lab (D65), scaled to about [-1, 1]."""

from __future__ import annotations

import torch
from torch import Tensor

_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]])
_WHITE = torch.tensor([0.95047, 1.0, 1.08883])


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1], ``(..., 3, H, W)`` -> CIE Lab (L in [0, 100], a/b about [-110, 110])."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix = _RGB_TO_XYZ.to(rgb)
    xyz = torch.einsum("ij,...jhw->...ihw", matrix, linear) / _WHITE.to(rgb).view(3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    fx, fy, fz = f.unbind(-3)
    lightness = torch.where(xyz[..., 1, :, :] > 0.008856, 116 * fy - 16, 903.3 * xyz[..., 1, :, :])
    return torch.stack([lightness, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


def to_network_input(rgb_uint8: Tensor, colour_space: str) -> Tensor:
    """``(B, 3, H, W)`` uint8 RGB -> float in the training colour space, scaled to about [-1, 1]."""
    rgb = rgb_uint8.float() / 255
    if colour_space == "rgb":
        return rgb * 2 - 1
    lab = rgb_to_lab(rgb)
    scale = torch.tensor([50.0, 110.0, 110.0], device=lab.device).view(3, 1, 1)
    shift = torch.tensor([1.0, 0.0, 0.0], device=lab.device).view(3, 1, 1)
    return lab / scale - shift
