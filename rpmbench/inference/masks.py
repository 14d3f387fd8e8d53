"""Soft-mask primitives every propagation method shares: the first frame's one-hot map at the
feature size, renormalisation after a warp, hardening, and the argmax back at the frame size."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rpmbench.data.davis import VOID_ID


def one_hot_first_mask(first_mask: np.ndarray) -> tuple[Tensor, int]:
    """``(H, W)`` ids (void -> background) -> ``(1, K+1, H, W)`` float one-hot and K."""
    ids = np.where(first_mask == VOID_ID, 0, first_mask).astype(np.int64)
    num_objects = int(ids.max())
    one_hot = F.one_hot(torch.from_numpy(ids), num_objects + 1).permute(2, 0, 1)[None].float()
    return one_hot, num_objects


def renormalise(soft: Tensor) -> Tensor:
    """Give mass that left the image to the background; channels then sum to 1 per pixel."""
    soft = soft.clamp_min(0)
    missing = (1 - soft.sum(dim=1, keepdim=True)).clamp_min(0)
    soft = torch.cat([soft[:, :1] + missing, soft[:, 1:]], dim=1)
    return soft / soft.sum(dim=1, keepdim=True)


def harden(soft: Tensor) -> Tensor:
    """``(1, V, h, w)`` soft mask -> its argmax re-one-hot, same shape."""
    return F.one_hot(soft.argmax(dim=1), soft.shape[1]).permute(0, 3, 1, 2).to(soft.dtype)


def to_full_resolution(soft: Tensor, height: int, width: int) -> np.ndarray:
    """``(1, K+1, h, w)`` -> ``(H, W)`` uint8 argmax after bilinear upsampling."""
    full = F.interpolate(soft, size=(height, width), mode="bilinear", align_corners=False)
    return full[0].argmax(dim=0).to(torch.uint8).cpu().numpy()


def first_soft_mask(first_mask: np.ndarray, size: tuple[int, int]) -> Tensor:
    """``(H, W)`` ids -> ``(1, K+1, h, w)`` one-hot area-averaged to ``size`` (void as background)."""
    return F.interpolate(one_hot_first_mask(first_mask)[0], size=size, mode="area")


def masks_from_soft(first_mask: np.ndarray, softs: Iterable[Tensor]) -> np.ndarray:
    """Frame 0's ids (void -> 0) followed by the argmax of each soft mask ``(1, K+1, h, w)`` at the
    frame size: ``(T, H, W)`` uint8."""
    height, width = first_mask.shape
    masks = [np.where(first_mask == VOID_ID, 0, first_mask).astype(np.uint8)]
    masks += [to_full_resolution(soft, height, width) for soft in softs]
    return np.stack(masks)


def propagate_with_flows(first_mask: np.ndarray, steps: Iterable[Callable[[Tensor], Tensor]],
                         feature_size: tuple[int, int], mode: str = "soft") -> np.ndarray:
    """Propagate the first mask with one warp function per later frame (shared by all methods).

    Each ``step(soft (1, K+1, h, w)) -> warped (1, K+1, h, w)`` moves the previous soft mask;
    ``feature_size`` is ``(h, w)`` (the frame size itself for full-resolution warping).
    Returns ``(T, H, W)`` uint8 ids.
    """
    def softs() -> Iterable[Tensor]:
        soft = first_soft_mask(first_mask, feature_size)
        for warp in steps:
            soft = renormalise(warp(soft))
            if mode == "hard":
                soft = harden(soft)
            yield soft

    return masks_from_soft(first_mask, softs())
