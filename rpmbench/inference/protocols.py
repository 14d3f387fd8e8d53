"""The propagation protocols' implementations, one function per mechanism, each named by a
:class:`~rpmbench.registry.Protocol` entry's builder.

A protocol gets one sequence's :class:`SequenceInputs` (the first mask, every frame's embedding
and the layer-109 step that moves a soft mask from frame t-1 to t) and returns the predicted ids
``(T, H, W)`` uint8, frame 0 being the first mask itself. A new protocol is a function of this
signature plus one ``registry.register(Protocol(...))`` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from torch import Tensor

from rpmbench.inference.masks import first_soft_mask, masks_from_soft, propagate_with_flows
from rpmbench.inference.memory import propagate_with_memory

if TYPE_CHECKING:
    from rpmbench.inference.propagate import PropagationConfig


@dataclass(frozen=True)
class SequenceInputs:
    """What a protocol propagates one sequence from.

    Attributes:
        first_mask: frame 0's ids ``(H, W)``.
        features: every frame's embedding ``(T, C, h, w)``.
        flow_step: ``flow_step(t, soft)`` moves a soft mask ``(1, K+1, *warp_size)`` from frame t-1
            to frame t with the matching module's flow (layer 109).
        warp_size: where ``flow_step`` warps: ``(h, w)``, or ``(H, W)`` with ``warp_resolution=frame``.
        config: the propagation settings (mode, memory parameters, fusion weight).
    """

    first_mask: np.ndarray
    features: Tensor
    flow_step: Callable[[int, Tensor], Tensor]
    warp_size: tuple[int, int]
    config: PropagationConfig


def flow(inputs: SequenceInputs) -> np.ndarray:
    """The paper's protocol: each frame's soft mask is the previous one moved by layer 109."""
    steps = (lambda soft, t=t: inputs.flow_step(t, soft) for t in range(1, len(inputs.features)))
    return propagate_with_flows(inputs.first_mask, steps, inputs.warp_size, inputs.config.mode)


def memory(inputs: SequenceInputs) -> np.ndarray:
    """Memory read-out from frame 0 and the recent frames (:mod:`rpmbench.inference.memory`)."""
    return _read_memory(inputs, with_flow=False)


def fusion(inputs: SequenceInputs) -> np.ndarray:
    """``fusion_weight`` x the memory read-out + the rest x the layer-109-warped previous mask."""
    return _read_memory(inputs, with_flow=True)


def _read_memory(inputs: SequenceInputs, with_flow: bool) -> np.ndarray:
    features = inputs.features.cpu()
    config = inputs.config
    softs = propagate_with_memory(first_soft_mask(inputs.first_mask, tuple(features.shape[-2:])), features,
                                  config.memory(), inputs.flow_step if with_flow else None,
                                  config.fusion_weight, hard=config.mode == "hard")
    return masks_from_soft(inputs.first_mask, softs)
