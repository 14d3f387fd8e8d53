"""Each kind of registry entry is one entry: a new matching variant, protocol or baseline runs
through the plan, the spine and the command line once registered, with no other change."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rpmbench import registry
from rpmbench.cli import main
from rpmbench.data.palette import read_palette_png
from rpmbench.experiments.cell import run_cell
from rpmbench.experiments.plan import plan_grid
from rpmbench.experiments.presets import load_grid_config
from rpmbench.experiments.spec import Paths, Work
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


def test_an_encoder_is_one_entry(register) -> None:
    """A registered ResNet plans as a backbone column and builds with its blocks per stage."""
    register(registry.Encoder("resnet10", "basic", (1, 1, 1, 1)))
    (spec,) = plan_grid(_grid(backbones=["resnet10"]))
    assert spec.method == "resnet10-deformable-l3"
    model = RPMNet(spec.train.model)
    assert [len(stage) for stage in model.embedding.encoder.stages] == [1, 1, 1, 1]
