"""One functional interface to deformable convolution with three interchangeable backends.

- ``reference``: :mod:`rpmbench.ops.reference`, pure PyTorch (any device, dtype; autograd).
- ``torchvision``: :func:`torchvision.ops.deform_conv2d` (compiled CPU and CUDA kernels).
- ``mmcv``: :func:`mmcv.ops.modulated_deform_conv2d` (compiled; DCNv1 runs it with a mask of 1).
- ``auto``: mmcv on CUDA when importable, else torchvision, else reference.
"""

from __future__ import annotations

import functools
import importlib.util

import torch
from torch import Tensor

from rpmbench.errors import BackendUnavailableError
from rpmbench.ops.reference import deform_conv2d_reference
from rpmbench.ops.shapes import check_deform_args, pair

BACKENDS = ("reference", "torchvision", "mmcv")

_INSTALL_HINTS = {
    "torchvision": "install it with `pip install torchvision` (a build matching your torch).",
    "mmcv": "mmcv has no wheels on PyPI: build its ops from source as described in the README "
    "(section 'Building mmcv'), then `pip install mmengine`.",
}


@functools.cache
def _importable(backend: str) -> bool:
    if backend == "reference":
        return True
    if backend == "torchvision":
        return importlib.util.find_spec("torchvision") is not None
    try:
        from mmcv.ops import modulated_deform_conv2d  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def available_backends() -> list[str]:
    """The backends that can run in this environment, in :data:`BACKENDS` order."""
    return [name for name in BACKENDS if _importable(name)]


#: Dtypes torchvision's CPU kernel lacks: the torchvision backend computes them in float32 there.
REDUCED_DTYPES = (torch.bfloat16, torch.float16)


def resolve_backend(backend: str, device: torch.device | str) -> str:
    """Map ``"auto"`` to a concrete backend for ``device``; check that a named one is usable.

    ``auto`` is mmcv on CUDA when importable, else torchvision; on CPU it is the reference backend,
    which ``bench deform`` measured at 0.28x torchvision's time (and 2.9x the training samples/s).
    """
    if backend == "auto":
        if torch.device(device).type != "cuda":
            return "reference"
        if _importable("mmcv"):
            return "mmcv"
        return "torchvision" if _importable("torchvision") else "reference"
    if backend not in BACKENDS:
        raise BackendUnavailableError(
            f"unknown deformable-conv backend {backend!r}; choose one of {('auto',) + BACKENDS}"
        )
    if not _importable(backend):
        raise BackendUnavailableError(
            f"deformable-conv backend {backend!r} is not importable here: {_INSTALL_HINTS[backend]}"
        )
    return backend


def deform_conv2d(
    input: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    mask: Tensor | None = None,
    backend: str = "auto",
) -> Tensor:
    """Deformable convolution (DCNv1; DCNv2 when ``mask`` is given).

    Args:
        input: ``Tensor[batch_size, in_channels, in_height, in_width]``.
        offset: ``Tensor[batch_size, 2 * offset_groups * kh * kw, out_height, out_width]``,
            (dy, dx) interleaved per kernel point ``k = i * kw + j``, group-major.
        weight: ``Tensor[out_channels, in_channels // groups, kh, kw]``; ``groups`` is inferred.
        bias: ``Tensor[out_channels]`` or ``None``.
        mask: ``Tensor[batch_size, offset_groups * kh * kw, out_height, out_width]`` multiplying
            each sample, used raw (apply the sigmoid before, as DCNv2 modules do), or ``None``.
        backend: ``"auto"``, ``"reference"``, ``"torchvision"`` or ``"mmcv"``.

    Returns:
        ``Tensor[batch_size, out_channels, out_height, out_width]``.

    Examples::

        >>> x = torch.randn(2, 8, 16, 16)
        >>> offset = torch.zeros(2, 18, 16, 16)
        >>> deform_conv2d(x, offset, torch.randn(4, 8, 3, 3), padding=1).shape
        torch.Size([2, 4, 16, 16])
    """
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    geometry = check_deform_args(input, offset, weight, mask, stride, padding, dilation)
    backend = resolve_backend(backend, input.device)
    if backend == "reference":
        return deform_conv2d_reference(
            input, offset, weight, bias, stride, padding, dilation, mask, geometry
        )
    if input.shape[0] == 0:
        out_h, out_w = geometry.out_size
        return input.new_zeros(0, weight.shape[0], out_h, out_w)
    if backend == "torchvision":
        from torchvision.ops import deform_conv2d as tv_deform_conv2d

        if input.device.type == "cpu" and input.dtype in REDUCED_DTYPES:
            # torchvision's CPU kernel has no bfloat16/float16 (CPU autocast hands it bf16 inputs);
            # compute in float32 and return the input's dtype, as its CUDA autocast wrapper does
            inputs = [None if t is None else t.float() for t in (input, offset, weight, bias, mask)]
            return tv_deform_conv2d(*inputs[:4], stride, padding, dilation, inputs[4]).to(input.dtype)
        return tv_deform_conv2d(input, offset, weight, bias, stride, padding, dilation, mask)
    from mmcv.ops import modulated_deform_conv2d

    if mask is None:
        points = geometry.kernel[0] * geometry.kernel[1]
        mask = offset.new_ones(offset.shape[0], geometry.offset_groups * points, *geometry.out_size)
    return modulated_deform_conv2d(
        input.contiguous(), offset.contiguous(), mask.contiguous(), weight.contiguous(), bias,
        stride, padding, dilation, geometry.groups, geometry.offset_groups,
    )
