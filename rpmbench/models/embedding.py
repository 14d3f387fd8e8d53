"""The embedding module: Table 1's encoder plus the FCN decoder (layers 102-105).

Each decoder step is a 3x3 transposed convolution with stride 2 (padding 1, output padding 1,
so sizes double exactly) followed by adding the encoder's skip feature of that size. Table 1 says
nothing about activations here; we apply a ReLU after the first three sums (as between residual
stages) and none after the last, so the 32-channel embedding can take either sign.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from rpmbench.models.resnet import STEM_CHANNELS, build_resnet

#: Inputs are padded to a multiple of this (the encoder's total stride).
ENCODER_STRIDE = 64
EMBEDDING_CHANNELS = 32


class UpFuse(nn.Module):
    """One decoder step: ``relu?(deconv(x) + skip)``; ``(B, C_in, h, w) -> (B, C_out, 2h, 2w)``."""

    def __init__(self, in_channels: int, out_channels: int, activation: bool) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1,
                                         output_padding=1)
        self.activation = nn.ReLU(inplace=True) if activation else nn.Identity()

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.activation(self.deconv(x) + skip)


class FCNEmbedding(nn.Module):
    """FCN-ResNet embedding: ``(B, 3, H, W) -> (B, 32, ceil(H/4), ceil(W/4))`` for any H, W.

    Frames are zero-padded at the bottom and right to a multiple of 64 and the features cropped
    back, so every decoder addition sees matching sizes.
    """

    def __init__(self, backbone: str) -> None:
        super().__init__()
        self.backbone_name = backbone
        self.encoder = build_resnet(backbone)
        widths = self.encoder.stage_channels  # e.g. (256, 512, 1024, 2048)
        targets = (widths[2], widths[1], widths[0], STEM_CHANNELS)
        sources = (widths[3],) + targets[:-1]
        self.decoder = nn.ModuleList(
            UpFuse(src, dst, activation=index < 3)
            for index, (src, dst) in enumerate(zip(sources, targets))
        )

    def forward(self, frames: Tensor) -> Tensor:
        height, width = frames.shape[-2:]
        pad_h = math.ceil(height / ENCODER_STRIDE) * ENCODER_STRIDE - height
        pad_w = math.ceil(width / ENCODER_STRIDE) * ENCODER_STRIDE - width
        pooled, *stages = self.encoder(F.pad(frames, (0, pad_w, 0, pad_h)))
        skips = [stages[2], stages[1], stages[0], pooled]
        x = stages[3]
        for step, skip in zip(self.decoder, skips):
            x = step(x, skip)
        return x[..., : math.ceil(height / 4), : math.ceil(width / 4)]
