"""The grid's cells match Table 2's rows, ids are unique and readable, hashes track the config."""

import pytest

from rpmbench.errors import ConfigError
from rpmbench.grid.cells import BACKBONES, TABLE2_ROWS, Row, config_hash, grid_cells
from rpmbench.grid.overrides import apply_overrides, flatten, parse_assignment
from rpmbench.paper import paper_table2


def test_28_unique_cells_cover_the_paper_table() -> None:
    cells = grid_cells()
    assert len(cells) == 28
    assert len({cell.id for cell in cells}) == 28
    ours = {(c.row.matching, c.row.kernel_size, c.row.dilation, c.row.layers, c.backbone)
            for c in cells}
    paper = set(paper_table2()[["matching", "kernel_size", "dilation", "layers", "backbone"]]
                .itertuples(index=False, name=None))
    assert ours == paper


def test_ids_are_readable() -> None:
    ids = [cell.id for cell in grid_cells()]
    assert ids[:4] == ["resnet18-deformable-l3", "resnet34-deformable-l3",
                       "resnet50-deformable-l3", "resnet101-deformable-l3"]
    assert "resnet50-dilated-d6-l3" in ids
    assert "resnet101-standard-l5" in ids


@pytest.mark.parametrize("name", TABLE2_ROWS)
def test_row_names_round_trip(name: str) -> None:
    assert Row.parse(name).name == name


@pytest.mark.parametrize("name, message", [
    ("dilated-l3", "needs a dilation"),
    ("standard-d3-l3", "only dilated rows"),
    ("deformable", "not of the form"),
    ("convolution-l3", "not of the form"),
])
def test_bad_rows_are_config_errors(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Row.parse(name)


def test_unknown_or_repeated_backbone() -> None:
    with pytest.raises(ConfigError, match="unknown backbone 'resnet152'"):
        grid_cells(backbones=["resnet18", "resnet152"])
    with pytest.raises(ConfigError, match="repeat"):
        grid_cells(backbones=["resnet18", "resnet18"])


def test_backbones_agree_with_the_model_registry() -> None:
    models = pytest.importorskip("rpmbench.models")
    assert tuple(models.BACKBONES) == BACKBONES


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
