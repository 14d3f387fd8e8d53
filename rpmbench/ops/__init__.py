"""Deformable convolution (Dai et al., ICCV 2017) behind one interface with three backends.

Layout as in torchvision and mmcv: offsets ``(B, 2 * offset_groups * kh * kw, H_out, W_out)``
with (dy, dx) interleaved per kernel point ``k = i * kw + j``, group-major; an optional mask with
one channel per kernel point and offset group, used raw. Samples outside the image are zero.
"""

from rpmbench.ops.deform_conv import BACKENDS, available_backends, deform_conv2d, resolve_backend
from rpmbench.ops.modules import DeformConv2d, DeformConv2dPack
from rpmbench.ops.sampling import sampling_locations

__all__ = [
    "BACKENDS",
    "DeformConv2d",
    "DeformConv2dPack",
    "available_backends",
    "deform_conv2d",
    "resolve_backend",
    "sampling_locations",
]
