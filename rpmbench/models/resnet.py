"""The ResNet encoders of RPM-Net's embedding module (Table 1, layers 1-101).

They differ from torchvision's ResNets in two ways that Table 1 states:

- the stem is a 7x7 convolution with **32** channels (not 64), stride 2, then a 3x3 max-pool with
  stride 2 (H/4);
- **every** stage downsamples by 2, the first one included, so the stage outputs lie at H/8, H/16,
  H/32 and H/64 (torchvision's first stage keeps H/4).

Blocks, widths and depths are torchvision's (bottleneck stride on the 3x3 convolution, "v1.5").
"""

from __future__ import annotations

from torch import Tensor, nn

from rpmbench.registry import encoder

STEM_CHANNELS = 32


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias (a BatchNorm follows)."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1
    convs_per_block = 2

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C_in, H, W) -> (B, planes, H/stride, W/stride)``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided) -> 1x1 convolutions with a residual connection (ResNet-50/101)."""

    expansion = 4
    convs_per_block = 3

    def __init__(self, in_channels: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(in_channels, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C_in, H, W) -> (B, 4 * planes, H/stride, W/stride)``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Table 1's encoder: stem (H/2), max-pool (H/4), four stages at H/8, H/16, H/32, H/64.

    ``forward`` returns the max-pool output and the four stage outputs, the skip features that the
    FCN decoder adds back (Table 1 layers 2, 11, 23, 92 and the input of layer 102 for ResNet-101).

    Examples::

        >>> encoder = build_resnet("resnet50")
        >>> [tuple(f.shape) for f in encoder(torch.zeros(1, 3, 128, 128))]
        [(1, 32, 32, 32), (1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 4, 4), (1, 2048, 2, 2)]
    """

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.block = block
        self.block_counts = tuple(layers)
        self.stem = nn.Sequential(
            nn.Conv2d(3, STEM_CHANNELS, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(STEM_CHANNELS),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.in_channels = STEM_CHANNELS
        self.stages = nn.ModuleList(
            self._make_stage(block, planes, blocks)
            for planes, blocks in zip((64, 128, 256, 512), layers)
        )
        self.stage_channels = tuple(planes * block.expansion for planes in (64, 128, 256, 512))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def _make_stage(self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int) -> nn.Sequential:
        out_channels = planes * block.expansion
        downsample = nn.Sequential(conv1x1(self.in_channels, out_channels, stride=2),
                                   nn.BatchNorm2d(out_channels))
        stage = [block(self.in_channels, planes, stride=2, downsample=downsample)]
        self.in_channels = out_channels
        stage += [block(out_channels, planes) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: Tensor) -> list[Tensor]:
        """``(B, 3, H, W)`` (H, W multiples of 64) -> ``[(B, 32, H/4, W/4), (B, C1, H/8, W/8),
        (B, C2, H/16, W/16), (B, C3, H/32, W/32), (B, C4, H/64, W/64)]``."""
        features = [self.maxpool(self.stem(x))]
        for stage in self.stages:
            features.append(stage(features[-1]))
        return features


#: A registry encoder's block type -> its residual block.
BLOCKS: dict[str, type[nn.Module]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


def build_resnet(name: str) -> ResNet:
    """The Table 1 encoder registered as ``name`` (:data:`rpmbench.registry.ENCODERS`)."""
    entry = encoder(name)
    return ResNet(block=BLOCKS[entry.block], layers=entry.layers)
