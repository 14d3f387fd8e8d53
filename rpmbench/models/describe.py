"""Table 1 read off a built model: one row per layer (range), shapes from forward hooks.

Layer numbers count the convolutions of the main path as Table 1 does (the stem conv is 1, the
max-pool 2, each residual block adds 2 (basic) or 3 (bottleneck) numbers; the 1x1 shortcut
projections are not numbered), then one number per decoder step and matching layer. Output
dimensions are the hooked tensor shapes written relative to the input size, e.g. ``(256, H/8, W/8)``.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
from torch import Tensor, nn

from rpmbench.models.embedding import UpFuse
from rpmbench.models.matching import FlowWarp
from rpmbench.models.resnet import Bottleneck, ResNet
from rpmbench.models.rpmnet import RPMNet
from rpmbench.ops import DeformConv2dPack


def _relative(size: int, full: int, symbol: str) -> str:
    return symbol if size == full else f"{symbol}/{full // size}"


def _dims(tensor: Tensor, height: int, width: int) -> str:
    return (f"({tensor.shape[1]}, {_relative(tensor.shape[2], height, 'H')}, "
            f"{_relative(tensor.shape[3], width, 'W')})")


def _conv_text(conv: nn.Conv2d | nn.ConvTranspose2d, name: str = "conv") -> str:
    kh, kw = conv.kernel_size
    text = f"{kh}×{kw} {name}, {conv.out_channels}, stride {conv.stride[0]}"
    if conv.dilation[0] != 1:
        text += f", dilation {conv.dilation[0]}"
    return text


def _stage_text(stage: nn.Sequential) -> str:
    block = stage[0]
    convs = [block.conv1, block.conv2] + ([block.conv3] if isinstance(block, Bottleneck) else [])
    inner = "; ".join(f"{c.kernel_size[0]}×{c.kernel_size[1]}, {c.out_channels}" for c in convs)
    return f"[{inner}] × {len(stage)}"


def _layer_rows(model: RPMNet) -> list[tuple[str, nn.Module, Callable[[str], str]]]:
    """(number, module to hook, description given the number) for every Table 1 row."""
    encoder: ResNet = model.embedding.encoder
    rows: list[tuple[str, nn.Module, Callable[[str], str]]] = [
        ("1", encoder.stem, lambda _: _conv_text(encoder.stem[0])),
        ("2", encoder.maxpool, lambda _: f"{encoder.maxpool.kernel_size}×{encoder.maxpool.kernel_size} "
                                         f"maxpool, stride {encoder.maxpool.stride}"),
    ]
    last = 2
    stage_ends = [2]
    for stage in encoder.stages:
        first = last + 1
        last += len(stage) * stage[0].convs_per_block
        stage_ends.append(last)
        rows.append((f"{first}-{last}", stage, lambda _, s=stage: _stage_text(s)))
    skip_layers = [stage_ends[3], stage_ends[2], stage_ends[1], stage_ends[0]]
    for step, skip in zip(model.embedding.decoder, skip_layers):
        last += 1
        step: UpFuse
        rows.append((str(last), step, lambda n, s=step, k=skip: (
            f"{_conv_text(s.deconv, 'transposed conv')}; add features from layer {n} "
            f"and features from layer {k}")))
    for conv in model.matching.convs:
        last += 1
        if isinstance(conv, DeformConv2dPack):
            describe = (lambda _, c=conv: f"{_conv_text(c, 'deformable conv')}; offset conv: "
                                          f"{_conv_text(c.offset_conv)}")
        else:
            describe = lambda _, c=conv: _conv_text(c)  # noqa: E731
        rows.append((str(last), conv, describe))
    flow_layer = last
    rows.append((str(last + 1), model.matching.warp,
                 lambda _: f"1×1 deformable conv, {{channels}}, stride 1; offset: feature maps "
                           f"from layer {flow_layer}"))
    return rows


def describe_model(model: RPMNet, input_size: tuple[int, int] = (256, 256)) -> pd.DataFrame:
    """Table 1 for ``model``: columns ``number``, ``description``, ``output``.

    Runs the model once with a 3-channel payload (training: the reference image) and once with a
    1-channel payload (inference: a mask), recording every row's output shape with forward hooks.
    ``input_size`` must be a multiple of 64 so that ``H/n`` is exact.
    """
    height, width = input_size
    if height % 64 or width % 64:
        raise ValueError(f"input_size must be multiples of 64, got {input_size}")
    rows = _layer_rows(model)
    outputs: dict[str, list[Tensor]] = {number: [] for number, _, _ in rows}
    handles = [module.register_forward_hook(
        lambda _m, _i, out, n=number: outputs[n].append(out[0] if isinstance(out, tuple) else out))
        for number, module, _ in rows]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            frames = torch.zeros(2, 3, height, width)
            for channels in (3, 1):
                model(frames[:1], frames[1:], payload=torch.zeros(1, channels, height, width))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    table = []
    for number, module, describe in rows:
        first, second = outputs[number][0], outputs[number][-1]
        output = _dims(first, height, width)
        description = describe(number)
        if isinstance(module, FlowWarp):
            description = description.format(channels=first.shape[1])
            output += f" or {_dims(second, height, width)}"
        table.append({"number": number, "description": description, "output": output})
    return pd.DataFrame(table)


def parameter_summary(model: RPMNet) -> dict[str, int]:
    """Trainable parameters of the encoder, the decoder, the matching module and in total."""
    def count(module: nn.Module) -> int:
        return sum(p.numel() for p in module.parameters() if p.requires_grad)

    return {
        "encoder": count(model.embedding.encoder),
        "decoder": count(model.embedding.decoder),
        "matching": count(model.matching),
        "total": count(model),
    }


def _normalised(text: str) -> str:
    return "".join(ch for ch in text.lower().replace("×", "x") if ch.isalnum())


def table1_mismatches(ours: pd.DataFrame, paper: pd.DataFrame) -> list[str]:
    """Rows where ``ours`` differs from the paper's Table 1 (number, output, or description up to
    punctuation and spacing); empty when they agree."""
    problems = []
    if list(ours["number"]) != list(paper["number"]):
        return [f"layer numbers differ: {list(ours['number'])} vs {list(paper['number'])}"]
    for (_, mine), (_, theirs) in zip(ours.iterrows(), paper.iterrows()):
        if mine["output"] != theirs["output"]:
            problems.append(f"layer {mine['number']}: output {mine['output']} vs {theirs['output']}")
        if _normalised(mine["description"]) != _normalised(theirs["description"]):
            problems.append(f"layer {mine['number']}: '{mine['description']}' vs '{theirs['description']}'")
    return problems
