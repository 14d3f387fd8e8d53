"""RPM-Net models: Table 1's FCN-ResNet embedding and matching module, and Table 2's variants."""

from rpmbench.models.matching import CHANNEL_SCHEDULES, MatchOutput
from rpmbench.models.rpmnet import (
    RPMNet,
    RPMNetConfig,
    build_rpmnet,
    count_parameters,
)
from rpmbench.registry import BACKBONES

__all__ = [
    "BACKBONES",
    "CHANNEL_SCHEDULES",
    "MatchOutput",
    "RPMNet",
    "RPMNetConfig",
    "build_rpmnet",
    "count_parameters",
]
