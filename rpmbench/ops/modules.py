"""``nn.Module`` wrappers: a torchvision-style :class:`DeformConv2d` and the self-contained
:class:`DeformConv2dPack` that predicts its own offsets (and, for DCNv2, its mask)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rpmbench.ops.deform_conv import deform_conv2d
from rpmbench.ops.shapes import pair


class DeformConv2d(nn.Module):
    """Deformable convolution whose offsets (and optional mask) are given to ``forward``.

    Weights are initialised like :class:`torchvision.ops.DeformConv2d` (Kaiming-uniform).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"in/out channels ({in_channels}, {out_channels}) not divisible by groups={groups}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride)
        self.padding = pair(padding)
        self.dilation = pair(dilation)
        self.groups = groups
        self.backend = backend
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel()
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor, offset: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B, C_in, H, W)``, offset ``(B, 2*G*kh*kw, H_out, W_out)`` -> ``(B, C_out, H_out, W_out)``."""
        return deform_conv2d(
            input, offset, self.weight, self.bias, self.stride, self.padding, self.dilation,
            mask, backend=self.backend,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, bias={self.bias is not None}, backend={self.backend!r}"
        )


class DeformConv2dPack(DeformConv2d):
    """A deformable convolution with its own offset branch (Table 1, layers 106-108).

    The offset branch is a plain convolution with the same kernel, stride, padding and dilation,
    predicting ``2 * kh * kw`` channels (18 for 3x3: DCNv1) or, with ``modulated=True`` (DCNv2),
    ``3 * kh * kw`` channels whose last ``kh * kw`` become the mask through a sigmoid. It is
    zero-initialised, so training starts from a plain convolution (and a mask of 0.5).
    """

    def __init__(self, *args, modulated: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.modulated = modulated
        points = self.kernel_size[0] * self.kernel_size[1]
        self.offset_conv = nn.Conv2d(
            self.in_channels,
            (3 if modulated else 2) * points,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
        )
        nn.init.zeros_(self.offset_conv.weight)
        nn.init.zeros_(self.offset_conv.bias)

    def forward(  # type: ignore[override]
        self, input: Tensor, return_offset: bool = False
    ) -> Tensor | tuple[Tensor, Tensor, Tensor | None]:
        """``(B, C_in, H, W) -> (B, C_out, H_out, W_out)``; with ``return_offset`` also the offset
        ``(B, 2*kh*kw, H_out, W_out)`` and the mask ``(B, kh*kw, H_out, W_out)`` (``None`` for DCNv1)."""
        prediction = self.offset_conv(input)
        mask = None
        if self.modulated:
            points = self.kernel_size[0] * self.kernel_size[1]
            offset, mask_logits = prediction.split([2 * points, points], dim=1)
            mask = torch.sigmoid(mask_logits)
        else:
            offset = prediction
        output = super().forward(input, offset, mask)
        return (output, offset, mask) if return_offset else output
