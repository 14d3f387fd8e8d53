"""RPM-Net: the embedding module (FCN-ResNet) and the matching module, with a builder per Table 2 cell."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rpmbench.errors import ConfigError
from rpmbench.models.embedding import FCNEmbedding
from rpmbench.models.matching import CHANNEL_SCHEDULES, MatchingModule, MatchOutput
from rpmbench.registry import ENCODERS, MATCHING_KINDS

DCN_VERSIONS: tuple[str, ...] = ("v1", "v2")
BACKENDS: tuple[str, ...] = ("auto", "reference", "torchvision", "mmcv")


@dataclass
class RPMNetConfig:
    """One RPM-Net variant: a Table 2 cell plus implementation choices.

    Attributes:
        backbone: embedding encoder, a registered one (:data:`rpmbench.registry.ENCODERS`).
        matching: a registered matching kind (:data:`rpmbench.registry.MATCHING_KINDS`):
            ``deformable``, ``standard`` or ``dilated`` (Table 2 rows), or ``corr`` (beyond the
            paper: cost-volume soft-argmax base flow plus a learned residual).
        layers: flow-predicting layers before layer 109: 1, 3 or 5.
        dilation: > 1 (3, 6, 9 in the paper) for a dilated kind, else 1.
        dcn: ``v1`` (Table 1) or ``v2`` (modulated) deformable convolutions.
        backend: deformable-conv backend (see :mod:`rpmbench.ops`).
    """

    backbone: str = "resnet101"
    matching: str = "deformable"
    layers: int = 3
    dilation: int = 1
    dcn: str = "v1"
    backend: str = "auto"

    def validate(self) -> None:
        """Raise :class:`ConfigError` for a combination that cannot be built."""
        checks = [
            (self.backbone in ENCODERS, f"unknown backbone {self.backbone!r}; choose one of {tuple(ENCODERS)}"),
            (self.matching in MATCHING_KINDS,
             f"unknown matching {self.matching!r}; choose one of {tuple(MATCHING_KINDS)}"),
            (self.layers in CHANNEL_SCHEDULES,
             f"layers={self.layers} is not supported; choose one of {tuple(CHANNEL_SCHEDULES)}"),
            (self.dcn in DCN_VERSIONS, f"unknown dcn {self.dcn!r}; choose one of {DCN_VERSIONS}"),
            (self.backend in BACKENDS, f"unknown backend {self.backend!r}; choose one of {BACKENDS}"),
            (isinstance(self.dilation, int) and self.dilation >= 1,
             f"dilation must be a positive integer, got {self.dilation!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if MATCHING_KINDS[self.matching].dilated:
            if self.dilation < 2:
                raise ConfigError(f"matching={self.matching!r} needs dilation >= 2 (the paper uses 3, 6 and 9)")
        elif self.dilation != 1:
            dilated = tuple(name for name, kind in MATCHING_KINDS.items() if kind.dilated)
            raise ConfigError(
                f"dilation={self.dilation} is only meaningful with matching={' or '.join(map(repr, dilated))} "
                f"(got matching={self.matching!r}); use dilation=1"
            )


class RPMNet(nn.Module):
    """Embedding module + matching module (Table 1).

    Examples::

        >>> model = build_rpmnet(backbone="resnet18")
        >>> out = model(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
        >>> out.warped.shape, out.flow.shape
        (torch.Size([2, 3, 16, 16]), torch.Size([2, 2, 16, 16]))
    """

    def __init__(self, config: RPMNetConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.embedding = FCNEmbedding(config.backbone)
        self.matching = MatchingModule(config.matching, config.layers, config.dilation,
                                       config.dcn, config.backend)

    def embed(self, frames: Tensor) -> Tensor:
        """``(B, 3, H, W) -> (B, 32, ceil(H/4), ceil(W/4))``."""
        return self.embedding(frames)

    @staticmethod
    def downsample_payload(payload: Tensor) -> Tensor:
        """Area-average ``(B, C, H, W)`` to the feature size ``(B, C, ceil(H/4), ceil(W/4))``."""
        size = (math.ceil(payload.shape[-2] / 4), math.ceil(payload.shape[-1] / 4))
        return F.interpolate(payload, size=size, mode="area")

    def match(self, target_features: Tensor, reference_features: Tensor, payload: Tensor,
              return_sampling: bool = False) -> MatchOutput:
        """Warp ``payload (B, C, h, w)`` (at the feature size) from the reference to the target."""
        return self.matching(target_features, reference_features, payload, return_sampling)

    def forward(self, target: Tensor, reference: Tensor, payload: Tensor | None = None,
                return_sampling: bool = False) -> MatchOutput:
        """Frames ``(B, 3, H, W)``; ``payload (B, C, H, W)`` defaults to ``reference``.

        Returns the payload warped to the target at ``(B, C, H/4, W/4)`` with the flow.
        """
        payload = reference if payload is None else payload
        features = self.embed(torch.cat([target, reference], dim=0))  # one pass for both
        target_features, reference_features = features.chunk(2, dim=0)
        return self.match(target_features, reference_features, self.downsample_payload(payload),
                          return_sampling)


def build_rpmnet(backbone: str = "resnet101", matching: str = "deformable", layers: int = 3,
                 dilation: int = 1, dcn: str = "v1", backend: str = "auto") -> RPMNet:
    """Build one RPM-Net variant (see :class:`RPMNetConfig`); ``build_rpmnet(**asdict(config))``."""
    return RPMNet(RPMNetConfig(backbone, matching, layers, dilation, dcn, backend))


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
