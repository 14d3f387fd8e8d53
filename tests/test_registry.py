"""The registry: Table 2's rows, protocols and baselines live once; grid ids are unique and readable;
hashes track the config."""

import pytest

from rpmbench import registry
from rpmbench.errors import ConfigError
from rpmbench.experiments.overrides import apply_overrides, flatten, parse_assignment
from rpmbench.experiments.plan import plan_grid
from rpmbench.experiments.presets import load_grid_config
from rpmbench.experiments.spec import config_hash
from rpmbench.models.matching import KERNEL_SIZE
from rpmbench.paper import paper_table2


def test_28_unique_cells_cover_the_paper_table() -> None:
    specs = [s for s in plan_grid(load_grid_config("smoke", overrides={"beyond": []})) if s.train]
    assert len(specs) == 28
    assert len({spec.method for spec in specs}) == 28
    ours = set()
    for spec in specs:
        variant, _ = registry.parse_entry(spec.method.split("-", 1)[1])
        ours.add((variant.matching, KERNEL_SIZE, variant.dilation, variant.layers,
                  spec.train.model.backbone))
    paper = set(paper_table2()[["matching", "kernel_size", "dilation", "layers", "backbone"]]
                .itertuples(index=False, name=None))
    assert ours == paper


def test_ids_are_readable() -> None:
    ids = [spec.method for spec in plan_grid(load_grid_config("smoke"))]
    assert ids[:4] == ["resnet18-deformable-l3", "resnet34-deformable-l3",
                       "resnet50-deformable-l3", "resnet101-deformable-l3"]
    assert "resnet50-dilated-d6-l3" in ids
    assert "resnet101-standard-l5" in ids
    assert ids[-len(registry.DEFAULT_BASELINES):] == list(registry.DEFAULT_BASELINES)


@pytest.mark.parametrize("name", registry.TABLE2_ROWS)
def test_table2_rows_are_paper_entries_and_round_trip(name: str) -> None:
    variant, protocol = registry.parse_entry(name)
    assert registry.entry_name(variant.name, protocol.name) == name
    assert registry.is_paper(name)


@pytest.mark.parametrize("name, message", [
    ("dilated-l3", "unknown matching variant"),
    ("standard-d3-l3", "unknown matching variant"),
    ("deformable-l3@teleport", "unknown propagation protocol"),
])
def test_unknown_entries_are_config_errors(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        registry.parse_entry(name)


def test_a_new_protocol_is_one_registry_entry(register) -> None:
    """Registering a protocol makes `ROW@NAME` plannable: the same training run, another propagation."""
    register(registry.Protocol("hard", "rpmbench.inference.protocols:flow", {"mode": "hard"}, paper=False))
    grid = load_grid_config("smoke", overrides={"backbones": ["resnet18"], "rows": ["deformable-l3"],
                                                 "beyond": ["deformable-l3@hard"], "baselines": []})
    flow, hard = plan_grid(grid)
    assert (flow.method, hard.method) == ("resnet18-deformable-l3", "resnet18-deformable-l3@hard")
    assert hard.propagation.mode == "hard" and flow.propagation.mode == "soft"
    assert flow.training_stem == hard.training_stem and flow.hash != hard.hash
    with pytest.raises(ConfigError, match="list it under 'beyond'"):
        load_grid_config("smoke", overrides={"rows": ["deformable-l3@hard"]})


def test_unknown_or_repeated_backbone() -> None:
    with pytest.raises(ConfigError, match="unknown backbone 'resnet152'"):
        load_grid_config("smoke", overrides={"backbones": ["resnet18", "resnet152"]})
    with pytest.raises(ConfigError, match="repeat"):
        load_grid_config("smoke", overrides={"backbones": ["resnet18", "resnet18"]})


def test_backbones_are_the_encoder_registry() -> None:
    from rpmbench.models.resnet import build_resnet

    assert registry.BACKBONES == tuple(registry.ENCODERS) == ("resnet18", "resnet34", "resnet50", "resnet101")
    assert [len(stage) for stage in build_resnet("resnet34").stages] == list(registry.ENCODERS["resnet34"].layers)


def test_registry_imports_no_torch() -> None:
    import subprocess
    import sys

    code = "import sys, rpmbench.registry, rpmbench.experiments.presets; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_hash_ignores_key_order_and_tracks_values() -> None:
    config = {"cell": "resnet18-deformable-l3", "seed": 0, "train": {"steps": 4, "lr": 1e-3}}
    same = {"train": {"lr": 1e-3, "steps": 4}, "seed": 0, "cell": "resnet18-deformable-l3"}
    assert config_hash(config) == config_hash(same)
    assert len(config_hash(config)) == 10
    for changed in ({**config, "seed": 1}, {**config, "train": {"steps": 5, "lr": 1e-3}},
                    {**config, "cell": "resnet34-deformable-l3"}):
        assert config_hash(changed) != config_hash(config)


def test_overrides_nested_and_typed() -> None:
    from dataclasses import dataclass, field

    @dataclass
    class Inner:
        steps: int = 4
        lr: float = 1e-3
        crop: tuple[int, int] = (64, 64)
        root: str | None = None

    @dataclass
    class Outer:
        name: str = "x"
        inner: Inner = field(default_factory=Inner)

    config = apply_overrides(Outer(), dict([parse_assignment("inner.steps=8"),
                                            parse_assignment("inner.lr=1"),
                                            parse_assignment("inner.crop=[32, 48]"),
                                            parse_assignment("inner.root=/data")]))
    assert config == Outer(inner=Inner(steps=8, lr=1.0, crop=(32, 48), root="/data"))
    assert apply_overrides(Outer(), flatten({"inner": {"steps": 2}})).inner.steps == 2
    with pytest.raises(ConfigError, match="unknown setting 'inner.step'.*steps"):
        apply_overrides(Outer(), {"inner.step": 3})
    with pytest.raises(ConfigError, match="must be of type int"):
        apply_overrides(Outer(), dict([parse_assignment("inner.steps=ten")]))
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment("inner.steps")


@pytest.mark.parametrize("name", list(registry.PROTOCOLS))
def test_every_protocol_plans_a_valid_propagation_config(name: str) -> None:
    if name == registry.PAPER_PROTOCOL:
        return
    grid = load_grid_config("smoke", overrides={"backbones": ["resnet18"], "rows": ["deformable-l3"],
                                                 "beyond": [f"deformable-l3@{name}"], "baselines": []})
    paper, beyond = plan_grid(grid)
    beyond.propagation.validate()
    assert beyond.propagation.protocol == name and paper.propagation.protocol == registry.PAPER_PROTOCOL
    assert beyond.training_stem == paper.training_stem


def test_grid_protocol_is_the_papers() -> None:
    with pytest.raises(ConfigError, match="beyond the paper"):
        load_grid_config("smoke", overrides={"propagation.protocol": "memory"})
