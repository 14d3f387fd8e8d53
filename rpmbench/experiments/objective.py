"""Does the training objective prefer the true flow? The photometric loss on val of a trained
model's flow, of the ground-truth flow and of zero flow, each warping the previous frame's colours
at H/4 exactly as training does (layer 109 on the area-averaged frame, the recipe's colour space
and loss). If the learned flow scores lower than the truth, colour matching rewards a wrong flow.
"""

from __future__ import annotations

import os

import torch

from rpmbench.data.colour import to_network_input
from rpmbench.data.flow import read_sequence_flow
from rpmbench.data.layouts import open_split
from rpmbench.inference.baselines import truth_on_grid
from rpmbench.inference.propagate import PropagationConfig, embed_frames
from rpmbench.models import RPMNet
from rpmbench.registry import DEFAULT_LAYOUT
from rpmbench.training.config import TrainConfig
from rpmbench.training.loop import reconstruction_loss


@torch.no_grad()
def photometric_losses(model: RPMNet, recipe: TrainConfig, root: str | os.PathLike[str], split: str,
                       propagation: PropagationConfig, layout: str = DEFAULT_LAYOUT) -> dict[str, float | int]:
    """Mean training loss over every consecutive pair of ``split`` (frame t-1 warped to t) for the
    model's flow (``learned``), the ground-truth flow averaged onto the H/4 grid (``truth``) and
    zero flow (``zero``). Needs ground-truth flow (the built-in sets); frames at scale 1; ``split``
    is read as ``layout``."""
    model = model.eval()
    dataset = open_split(root, split, layout)
    sums = {"learned": 0.0, "truth": 0.0, "zero": 0.0}
    pairs = 0
    for sequence in dataset.sequences:
        frames = dataset.read_frames(sequence)
        flow, valid = read_sequence_flow(root, sequence)
        features = embed_frames(model, frames, propagation)
        colours = to_network_input(torch.from_numpy(frames).permute(0, 3, 1, 2), recipe.colour_space)
        small = model.downsample_payload(colours).to(features.device)
        size = tuple(small.shape[-2:])
        for t in range(1, len(frames)):
            flows = {"learned": model.matching.flow(features[t:t + 1], features[t - 1:t])[0].float(),
                     "truth": truth_on_grid(flow[t - 1], valid[t - 1], size).to(features.device),
                     "zero": torch.zeros(1, 2, *size, device=features.device)}
            target = colours[t:t + 1].to(features.device) if recipe.loss == "mast" else small[t:t + 1]
            for name, moving in flows.items():
                warped = model.matching.warp(small[t - 1:t], moving)
                sums[name] += float(reconstruction_loss(warped, target, recipe.loss))
            pairs += 1
    return {**{name: total / pairs for name, total in sums.items()}, "pairs": pairs}
