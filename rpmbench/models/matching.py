"""The matching module (Table 1, layers 106-109) and its Table 2 variants.

Layers 106.. predict a 2-channel flow from the concatenated target and reference embeddings
(64 channels at H/4); layer 109 moves the payload by that flow.

Variants (Table 2), all ending in layer 109; each kind is a :class:`rpmbench.registry.MatchingKind`
naming the builder of its layers here (:func:`deformable_layer`, :func:`conv_layer`) and any base
flow (:func:`corr_base_flow`):

- ``deformable``: 3x3 deformable convolutions (DCNv1; DCNv2 with ``dcn="v2"``), each with its own
  zero-initialised 3x3 offset convolution (18 channels), so training starts from plain convs;
- ``standard``: 3x3 convolutions; ``dilated``: 3x3 convolutions with dilation 3, 6 or 9
  (padding = dilation, so sizes are kept).

Beyond the paper (opt-in, not a Table 2 row):

- ``corr``: a base flow read off a local cost volume, the soft-argmax over displacements within
  :data:`CORR_RADIUS` feature pixels of the dot products between the target embedding and the
  reference embedding (see :func:`local_soft_argmax`); layers 106.. (3x3 convolutions, as
  ``standard``) predict a residual added to it. The flow layer starts at zero, so an untrained
  module follows the base flow.

Channel schedules per number of layers (Table 1 gives the 3-layer one; the others are ours):
1 layer: 64 -> 2; 3 layers: 32, 16, 2; 5 layers: 32, 32, 16, 16, 2 (the 3-layer schedule with
each hidden width doubled in depth). A ReLU follows every layer but the last, whose output is the
flow (dy, dx) in feature pixels and must take either sign.

Layer 109 is a 1x1 deformable convolution whose offsets are layer 108's 2-channel output. With a
1x1 kernel its only sampling point is the pixel itself plus the offset, so with a **fixed identity
weight per channel** (groups = channels, weight 1, no bias) it is exactly bilinear warping of the
payload by the flow, with zeros from outside the image. Being weight-free, the same layer serves a
3-channel reference image in training and a (K+1)-channel soft mask at inference, which is what
lets a network trained on colour propagate masks. (A learned 1x1 kernel would tie the layer to
one channel count and mix colour into mask channels.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rpmbench import registry
from rpmbench.ops import DeformConv2dPack, deform_conv2d, sampling_locations

#: Output channels of the flow-predicting layers for each supported depth.
CHANNEL_SCHEDULES: dict[int, tuple[int, ...]] = {1: (2,), 3: (32, 16, 2), 5: (32, 32, 16, 16, 2)}
MATCHING_INPUT_CHANNELS = 64
#: Kernel size of every flow-predicting layer (106-108): Table 2's rows are all 3x3.
KERNEL_SIZE = 3
#: Largest displacement (feature pixels, per axis) of the ``corr`` cost volume: 9x9 candidates.
CORR_RADIUS = 4


def local_soft_argmax(target: Tensor, reference: Tensor, radius: int) -> Tensor:
    """Expected displacement under a softmax over a local cost volume (beyond the paper).

    For each target pixel p and displacement d with ``|dy|, |dx| <= radius`` and p + d inside the
    image, the cost is ``<target[p], reference[p + d]> / sqrt(C)``; the softmax over d weights d.
    ``target``, ``reference``: ``(B, C, h, w)`` -> flow ``(B, 2, h, w)``, (dy, dx) in feature pixels,
    the convention of layer 109 (the payload at p + flow is moved to p).
    """
    batch, channels, height, width = target.shape
    size = 2 * radius + 1
    patches = F.unfold(reference, size, padding=radius).view(batch, channels, size * size, height, width)
    cost = torch.einsum("bchw,bckhw->bkhw", target, patches) / channels ** 0.5
    inside = F.unfold(target.new_ones(1, 1, height, width), size, padding=radius)
    cost = cost.masked_fill(inside.view(1, size * size, height, width) == 0, float("-inf"))
    weights = cost.softmax(dim=1)
    steps = torch.arange(-radius, radius + 1, dtype=target.dtype, device=target.device)
    dy = steps.repeat_interleave(size).view(1, -1, 1, 1)  # unfold order: kernel row-major
    dx = steps.repeat(size).view(1, -1, 1, 1)
    return torch.cat([(weights * dy).sum(1, keepdim=True), (weights * dx).sum(1, keepdim=True)], dim=1)


def deformable_layer(in_channels: int, out_channels: int, dilation: int, dcn: str, backend: str) -> nn.Module:
    """A 3x3 deformable flow layer with its own zero-initialised offset convolution (DCNv1, or
    DCNv2 with ``dcn="v2"``); ``dilation`` is 1 (the kind is not dilated)."""
    return DeformConv2dPack(in_channels, out_channels, KERNEL_SIZE, padding=KERNEL_SIZE // 2,
                            modulated=dcn == "v2", backend=backend)


def conv_layer(in_channels: int, out_channels: int, dilation: int, dcn: str, backend: str) -> nn.Module:
    """A 3x3 convolution with ``dilation`` and padding = dilation (sizes kept); ``dcn`` and
    ``backend`` are unused."""
    return nn.Conv2d(in_channels, out_channels, KERNEL_SIZE, padding=dilation * (KERNEL_SIZE // 2),
                     dilation=dilation)


def corr_base_flow(target: Tensor, reference: Tensor) -> Tensor:
    """``corr``'s base flow: :func:`local_soft_argmax` within :data:`CORR_RADIUS`; embeddings
    ``(B, 32, h, w)`` each -> ``(B, 2, h, w)``."""
    return local_soft_argmax(target, reference, CORR_RADIUS)


@dataclass
class MatchOutput:
    """What the matching module returns.

    Attributes:
        warped: the payload moved by the flow, ``(B, C, h, w)``.
        flow: layer 108's output, ``(B, 2, h, w)``, (dy, dx) in feature pixels.
        sampling: with ``return_sampling``, one tensor per layer (106.., then 109) of absolute
            (y, x) sampling locations ``(B, k*k, h, w, 2)`` in feature pixels; else ``None``.
    """

    warped: Tensor
    flow: Tensor
    sampling: list[Tensor] | None = None


class FlowWarp(nn.Module):
    """Layer 109: a 1x1 deformable conv with a fixed identity weight per channel = bilinear warp."""

    def __init__(self, backend: str = "auto") -> None:
        super().__init__()
        self.backend = backend

    def forward(self, payload: Tensor, flow: Tensor) -> Tensor:
        """``payload (B, C, h, w)``, ``flow (B, 2, h, w)`` -> ``(B, C, h, w)``."""
        channels = payload.shape[1]
        identity = torch.ones(channels, 1, 1, 1, dtype=payload.dtype, device=payload.device)
        return deform_conv2d(payload, flow.to(payload.dtype), identity, backend=self.backend)


class MatchingModule(nn.Module):
    """Flow prediction (layers 106..) plus the warp (layer 109); ``matching`` names a registered
    :class:`~rpmbench.registry.MatchingKind`, whose builder makes each flow layer."""

    def __init__(self, matching: str = "deformable", layers: int = 3, dilation: int = 1,
                 dcn: str = "v1", backend: str = "auto") -> None:
        super().__init__()
        kind = registry.matching_kind(matching)
        self.matching = matching
        self.dilation = dilation
        build_layer = registry.resolve(kind.builder)
        self._base_flow: Callable[[Tensor, Tensor], Tensor] | None = (
            registry.resolve(kind.base_flow) if kind.base_flow else None)
        in_channels = MATCHING_INPUT_CHANNELS
        convs = []
        for out_channels in CHANNEL_SCHEDULES[layers]:
            convs.append(build_layer(in_channels, out_channels, dilation=dilation, dcn=dcn, backend=backend))
            in_channels = out_channels
        self.convs = nn.ModuleList(convs)
        # The flow layer starts at zero, so an untrained module is the zero-flow (copy-previous)
        # propagator and training improves on it rather than first undoing random initial flows.
        nn.init.zeros_(convs[-1].weight)
        nn.init.zeros_(convs[-1].bias)
        self.relu = nn.ReLU()
        self.warp = FlowWarp(backend)

    def predict_flow(self, features: Tensor, return_sampling: bool = False
                     ) -> tuple[Tensor, list[Tensor]]:
        """``(B, 64, h, w) -> flow (B, 2, h, w)`` and, on request, each layer's sampling locations."""
        sampling = []
        x = features
        for index, conv in enumerate(self.convs):
            if isinstance(conv, DeformConv2dPack):
                x, offset, _ = conv(x, return_offset=True)
            else:
                x = conv(x)
                offset = x.new_zeros(x.shape[0], 2 * KERNEL_SIZE ** 2, *x.shape[-2:]) if return_sampling else None
            if return_sampling:
                dilation = 1 if isinstance(conv, DeformConv2dPack) else self.dilation
                sampling.append(sampling_locations(offset, KERNEL_SIZE, 1, dilation, dilation)[:, 0])
            if index < len(self.convs) - 1:
                x = self.relu(x)
        return x, sampling

    @property
    def has_base_flow(self) -> bool:
        """Whether the layers predict a residual to a base flow (the kind's ``base_flow``, e.g. ``corr``)."""
        return self._base_flow is not None

    def base_flow(self, target_features: Tensor, reference_features: Tensor) -> Tensor:
        """The kind's base flow ``(B, 2, h, w)`` from embeddings ``(B, 32, h, w)`` each (ValueError
        for a kind without one)."""
        if self._base_flow is None:
            raise ValueError(f"matching {self.matching!r} has no base flow")
        return self._base_flow(target_features, reference_features)

    def flow(self, target_features: Tensor, reference_features: Tensor, return_sampling: bool = False
             ) -> tuple[Tensor, list[Tensor]]:
        """The flow layer 109 warps by, ``(B, 2, h, w)`` (dy, dx) in feature pixels, from embeddings
        ``(B, 32, h, w)`` each: layer 108's output, plus any base flow (``corr``'s cost volume). Every
        caller that needs the flow (the warp at any resolution, flow metrics) goes through here."""
        flow, sampling = self.predict_flow(torch.cat([target_features, reference_features], dim=1),
                                           return_sampling)
        if self._base_flow is not None:
            flow = flow + self._base_flow(target_features, reference_features)
        return flow, sampling

    def forward(self, target_features: Tensor, reference_features: Tensor, payload: Tensor,
                return_sampling: bool = False) -> MatchOutput:
        """Embeddings ``(B, 32, h, w)`` each and ``payload (B, C, h, w)`` -> :class:`MatchOutput`."""
        flow, sampling = self.flow(target_features, reference_features, return_sampling)
        warped = self.warp(payload, flow)
        if return_sampling:
            sampling.append(sampling_locations(flow, 1)[:, 0])
        return MatchOutput(warped, flow, sampling if return_sampling else None)
