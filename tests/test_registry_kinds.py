"""Each kind of registry entry is one entry: a new matching kind or variant, protocol, baseline or
data layout runs through the plan, the spine, propagation, scoring and the command line once
registered, with no other change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from torch import Tensor, nn

from rpmbench import registry
from rpmbench.bench import infer as bench_infer
from rpmbench.cli import main
from rpmbench.data.davis import DavisDataset, read_jpeg
from rpmbench.data.palette import read_palette_png
from rpmbench.errors import ConfigError
from rpmbench.experiments.cell import run_cell
from rpmbench.experiments.plan import plan_grid
from rpmbench.experiments.presets import load_grid_config
from rpmbench.experiments.spec import CellSpec, DataChoice, Paths, Work
from rpmbench.inference.propagate import PropagationConfig
from rpmbench.models import RPMNet


def _grid(**overrides: object):
    return load_grid_config("smoke", overrides={"backbones": ["resnet18"], "rows": ["deformable-l3"],
                                                "beyond": [], "baselines": [], **overrides})


def test_a_matching_variant_is_one_entry(register) -> None:
    register(registry.MatchingVariant("dilated-d2-l5", "dilated", 5, dilation=2, paper=False))
    _, spec = plan_grid(_grid(beyond=["dilated-d2-l5"]))
    assert spec.method == "resnet18-dilated-d2-l5"
    model = RPMNet(spec.train.model)
    assert [conv.dilation for conv in model.matching.convs] == [(2, 2)] * 5
    assert registry.variant_id("dilated", 5, 2) == "dilated-d2-l5"


def _pointwise_layer(in_channels: int, out_channels: int, dilation: int, dcn: str, backend: str) -> nn.Module:
    """A registered test matching kind's layer: a 1x1 convolution."""
    return nn.Conv2d(in_channels, out_channels, 1)


def _one_pixel_down(target: Tensor, reference: Tensor) -> Tensor:
    """A registered test base flow: every pixel comes from one feature pixel above, ``(B, 2, h, w)``."""
    flow = target.new_zeros(target.shape[0], 2, *target.shape[-2:])
    flow[:, 0] = -1.0
    return flow


def test_a_matching_kind_is_one_entry(register) -> None:
    """A registered kind builds its layers and adds its base flow, through the plan and the flows."""
    from rpmbench.inference.flows import model_flows

    register(registry.MatchingKind("pointwise", f"{__name__}:_pointwise_layer", f"{__name__}:_one_pixel_down",
                                   paper=False))
    register(registry.MatchingVariant("pointwise-l3", "pointwise", 3, paper=False))
    _, spec = plan_grid(_grid(beyond=["pointwise-l3"]))
    model = RPMNet(spec.train.model).eval()
    assert [conv.kernel_size for conv in model.matching.convs] == [(1, 1)] * 3 and model.matching.has_base_flow
    frames = np.random.default_rng(0).integers(0, 256, (2, 32, 48, 3), dtype=np.uint8)
    config = PropagationConfig(colour_space=spec.train.colour_space)
    flows, base = model_flows(model, frames, config), model_flows(model, frames, config, base_only=True)
    assert np.array_equal(flows, base)  # the flow layer starts at zero: the base flow alone
    assert np.allclose(base[..., 1], -4.0) and np.allclose(base[..., 0], 0.0)  # (dx, dy) in image pixels
    assert not RPMNet(_grid().train.model).matching.has_base_flow


def _every_frame_first(frames: np.ndarray, first_mask: np.ndarray, config: object) -> np.ndarray:
    """A registered test baseline: the first mask for every frame, with void as background."""
    return np.repeat(np.where(first_mask == 255, 0, first_mask)[None], len(frames), axis=0).astype(np.uint8)


def test_a_baseline_is_one_entry(register, tiny: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = tiny
    register(registry.Baseline("first-everywhere", f"{__name__}:_every_frame_first", paper=False))
    grid = _grid(rows=[], baselines=["first-everywhere", "copy-first"],
                 **{"data.source": "davis", "data.davis_root": str(root)})
    ours, reference = plan_grid(grid)
    paths = Paths(root, (str(root),), tmp_path)
    first = run_cell(ours, paths, Work(progress=False))
    assert first["cell"] == "first-everywhere"
    assert first["metrics"] == run_cell(reference, paths, Work(progress=False))["metrics"]
    assert main(["baseline", "--name", "first-everywhere", "--davis-root", str(root),
                 "--out", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "a" / "00003.png").is_file()


def test_a_protocol_is_one_entry_and_infer_applies_its_settings(register, tiny: tuple[Path, Path],
                                                                 tmp_path: Path) -> None:
    """`infer --protocol NAME` propagates with the registered entry's settings, not the raw name."""
    root, checkpoint = tiny
    register(registry.Protocol("memory-narrow", "rpmbench.inference.protocols:memory",
                               {"radius": 1, "topk": 2, "context": 1}, paper=False))
    common = ["infer", "--checkpoint", str(checkpoint), "--davis-root", str(root)]
    assert main([*common, "--out", str(tmp_path / "named"), "--protocol", "memory-narrow"]) == 0
    assert main([*common, "--out", str(tmp_path / "spelled"), "--protocol", "memory", "--radius", "1",
                 "--topk", "2", "--context", "1"]) == 0
    assert main([*common, "--out", str(tmp_path / "default"), "--protocol", "memory"]) == 0
    frames = sorted((tmp_path / "named").glob("*/*.png"))
    assert frames
    named = [read_palette_png(path) for path in frames]
    spelled = [read_palette_png(tmp_path / "spelled" / path.relative_to(tmp_path / "named")) for path in frames]
    assert all(np.array_equal(x, y) for x, y in zip(named, spelled))
    _, spec = plan_grid(_grid(beyond=["deformable-l3@memory-narrow"]))
    assert (spec.propagation.protocol, spec.propagation.radius, spec.propagation.context) == ("memory-narrow", 1, 1)
    options = {"device": "cpu", "size": (32, 48), "frames": 3, "objects": 2, "matching": "deformable-l3",
               "backend": "reference", "precision": "float32", "repeats": 1}
    for kind, name in (("protocol", "memory-narrow"), ("baseline", "pixels@memory-narrow")):  # bench infer times it
        row = bench_infer._measure(kind, name, "resnet18" if kind == "protocol" else None, options)
        assert row["name"] == name and row["protocol_settings"] == "memory-narrow" and row["frames_per_s"] > 0


def test_an_encoder_is_one_entry(register) -> None:
    """A registered ResNet plans as a backbone column and builds with its blocks per stage."""
    register(registry.Encoder("resnet10", "basic", (1, 1, 1, 1)))
    (spec,) = plan_grid(_grid(backbones=["resnet10"]))
    assert spec.method == "resnet10-deformable-l3"
    model = RPMNet(spec.train.model)
    assert [len(stage) for stage in model.embedding.encoder.stages] == [1, 1, 1, 1]


class _FlatSplit:
    """A registered test layout: ``<root>/<split>/<sequence>/`` holds the frames (``.jpg``) and their
    masks (``.png``) side by side; no split files."""

    def __init__(self, root: Path, split: str, resolution: str = "480p", first_frame_only: bool = False) -> None:
        self.root = Path(root)
        self.folder = self.root / split
        self.sequences = sorted(path.name for path in self.folder.iterdir() if path.is_dir())

    def frame_paths(self, sequence: str) -> list[Path]:
        return sorted((self.folder / sequence).glob("*.jpg"))

    def annotation_paths(self, sequence: str) -> list[Path]:
        return sorted((self.folder / sequence).glob("*.png"))

    def read_frames(self, sequence: str) -> np.ndarray:
        return np.stack([read_jpeg(path) for path in self.frame_paths(sequence)])

    def read_annotations(self, sequence: str) -> np.ndarray:
        return np.stack([read_palette_png(path) for path in self.annotation_paths(sequence)])

    def read_first_mask(self, sequence: str) -> np.ndarray:
        return read_palette_png(self.annotation_paths(sequence)[0])


def _flat_copy(davis: Path, flat: Path, splits: tuple[str, ...] = ("val",)) -> Path:
    """``splits`` of the DAVIS-layout root ``davis`` copied into :class:`_FlatSplit`'s layout at ``flat``."""
    for split in splits:
        for sequence in (davis / "ImageSets" / "2017" / f"{split}.txt").read_text().split():
            for kind, suffix in (("JPEGImages", "jpg"), ("Annotations", "png")):
                for path in (davis / kind / "480p" / sequence).glob(f"*.{suffix}"):
                    (flat / split / sequence).mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, flat / split / sequence / path.name)
    return flat


def test_a_data_layout_is_one_entry(register, tiny: tuple[Path, Path], tmp_path: Path) -> None:
    """The same sequences in a registered layout propagate and score as they do in DAVIS's."""
    from rpmbench.evaluation import evaluate_results
    from rpmbench.inference.propagate import propagate_dataset
    from rpmbench.models import build_rpmnet

    davis, _ = tiny
    register(registry.DataLayout("flat", f"{__name__}:{_FlatSplit.__name__}"))
    flat = _flat_copy(davis, tmp_path / "flat")
    model = build_rpmnet("resnet18", backend="reference")
    config = PropagationConfig()
    scores = {}
    for name, root in (("flat", flat), ("davis", davis)):
        propagate_dataset(model, root, "val", tmp_path / name / "predictions", config, progress=False, layout=name)
        scores[name] = evaluate_results(root, tmp_path / name / "predictions", "val", progress=False, layout=name)
    predicted = sorted(path.relative_to(tmp_path / "davis" / "predictions")
                       for path in (tmp_path / "davis" / "predictions").glob("*/*.png"))
    assert predicted and predicted == sorted(path.relative_to(tmp_path / "flat" / "predictions")
                                             for path in (tmp_path / "flat" / "predictions").glob("*/*.png"))
    assert all(np.array_equal(read_palette_png(tmp_path / "flat" / "predictions" / path),
                              read_palette_png(tmp_path / "davis" / "predictions" / path)) for path in predicted)
    assert scores["flat"].global_metrics == scores["davis"].global_metrics
    assert scores["flat"].per_frame.equals(scores["davis"].per_frame)


def test_a_data_layout_reaches_the_spine(register, tiny: tuple[Path, Path], tmp_path: Path) -> None:
    """A cell spec's data layout is read by run_cell: the same sequences score the same in either
    layout; the default layout is left out of the spec's hash, an unknown one is a ConfigError."""
    davis, _ = tiny
    register(registry.DataLayout("flat", f"{__name__}:{_FlatSplit.__name__}"))
    flat = _flat_copy(davis, tmp_path / "flat")
    results = {}
    for layout, root in (("flat", flat), ("davis", davis)):
        spec = CellSpec("copy-previous", DataChoice(source="davis", layout=layout), PropagationConfig())
        results[layout] = run_cell(spec, Paths(root, (), tmp_path / layout), Work(progress=False))
    assert results["flat"]["metrics"] == results["davis"]["metrics"]
    assert results["flat"]["per_frame"] == results["davis"]["per_frame"] and results["flat"]["per_frame"]["J"]
    assert results["flat"]["config"]["data"]["layout"] == "flat" and "layout" not in results["davis"]["config"]["data"]
    assert results["flat"]["config_hash"] != results["davis"]["config_hash"]
    grid = _grid(baselines=["copy-previous"])
    grid.data.source, grid.data.layout = "davis", "flat"
    assert {spec.data.layout for spec in plan_grid(grid)} == {"flat"}
    with pytest.raises(ConfigError, match="unknown data layout 'nested'; registered: davis, flat"):
        DataChoice(source="davis", layout="nested")
    with pytest.raises(ConfigError, match="built-in data set"):
        DataChoice(layout="flat")


def test_a_data_layout_trains_through_the_spine(register, root: Path, tmp_path: Path) -> None:
    """A model cell on a registered layout trains on that layout's train split, propagates, scores
    and measures its flow against the ground truth there: the same numbers as the DAVIS copy."""
    from rpmbench.data.flow import FLOW_DIR, VALID_DIR, write_sequence_flow
    from rpmbench.models import RPMNetConfig
    from rpmbench.training import TrainConfig
    from rpmbench.training.frames import discover_sequences

    register(registry.DataLayout("flat", f"{__name__}:{_FlatSplit.__name__}"))
    davis = Path(shutil.copytree(root, tmp_path / "davis"))
    rng = np.random.default_rng(0)
    for sequence in DavisDataset(davis, "val").sequences:  # 6 frames of 40x56 (frame 0 has no flow)
        write_sequence_flow(davis, "480p", sequence, rng.normal(0, 2, (6, 40, 56, 2)).astype(np.float32),
                            rng.random((6, 40, 56)) < 0.8)
    flat = _flat_copy(davis, tmp_path / "flat", ("train", "val"))
    for folder in (FLOW_DIR, VALID_DIR):
        shutil.copytree(davis / folder, flat / folder)
    read = discover_sequences([flat], ["train"], None, {flat: "flat"})
    assert [len(sequence) for sequence in read] == [6, 6]
    assert all(np.array_equal(a.frame(t, None), b.frame(t, None)) for t in range(6)
               for a, b in zip(read, discover_sequences([davis], ["train"], None), strict=True))
    recipe = TrainConfig(model=RPMNetConfig("resnet18", backend="reference"), short_side=None, crop_size=32,
                         batch_size=2, steps=2)
    results = {}
    for layout, data_root in (("flat", flat), ("davis", davis)):
        spec = CellSpec("resnet18-deformable-l3", DataChoice(source="davis", layout=layout),
                        PropagationConfig(colour_space=None), recipe)
        results[layout] = run_cell(spec, Paths(data_root, (str(data_root),), tmp_path / layout), Work(progress=False))
    assert results["flat"]["final_loss"] == results["davis"]["final_loss"]
    for key in ("metrics", "per_frame", "flow_metrics", "photometric_loss"):  # as JSON: empty motion bins are NaN
        assert json.dumps(results["flat"][key], sort_keys=True) == json.dumps(results["davis"][key], sort_keys=True), key
    assert results["flat"]["flow_metrics"]["pixels"] > 0
