"""`infer` with its protocols, scores folder and overlays; `baseline --name pixels`; overlay drawing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rpmbench.cli import main
from rpmbench.data.palette import davis_palette, read_palette_png
from rpmbench.viz.overlay import overlay_masks, sheet_indices


def test_infer_memory_writes_scores_beside_and_overlays(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    root, checkpoint = tiny
    out = tmp_path / "val"
    status = main(["infer", "--checkpoint", str(checkpoint), "--davis-root", str(root), "--out", str(out),
                   "--protocol", "memory", "--radius", "3", "--topk", "4", "--evaluate",
                   "--overlay", str(tmp_path / "overlay")])
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]  # no CSV among the predictions
    assert (tmp_path / "val-scores" / "global_results-val.csv").is_file()
    gif = Image.open(tmp_path / "overlay" / "a.gif")
    assert gif.n_frames == 4 and Image.open(tmp_path / "overlay" / "a.png").mode == "RGB"


def test_infer_propagates_from_first_frame_only_annotations(tiny: tuple[Path, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    """A DAVIS test-dev-like copy (first frame annotated only): infer writes every frame, as on the
    fully annotated root; --evaluate refuses before any work, naming the folder."""
    root, checkpoint = tiny
    sparse = tmp_path / "test-dev"
    shutil.copytree(root, sparse)
    for path in (sparse / "Annotations" / "480p").glob("*/*.png"):
        if path.stem != "00000":
            path.unlink()
    args = ["infer", "--checkpoint", str(checkpoint), "--split", "val", "--radius", "3"]
    assert main([*args, "--davis-root", str(root), "--out", str(tmp_path / "full")]) == 0
    assert main([*args, "--davis-root", str(sparse), "--out", str(tmp_path / "sparse"),
                 "--overlay", str(tmp_path / "overlay")]) == 0
    for sequence, frames in (("a", 4), ("b", 3)):
        written = sorted((tmp_path / "sparse" / sequence).iterdir())
        assert len(written) == frames and (tmp_path / "overlay" / f"{sequence}.gif").is_file()
        for path in written:
            assert read_palette_png(path).tolist() == read_palette_png(tmp_path / "full" / sequence / path.name).tolist()
    capsys.readouterr()
    assert main([*args, "--davis-root", str(sparse), "--out", str(tmp_path / "scored"), "--evaluate"]) == 2
    error = capsys.readouterr().err
    assert "Annotations/480p/a: 1 annotation PNGs but 4 JPEG frames" in error
    assert "scoring needs every frame's annotation" in error and error.count("\n") == 1
    assert not (tmp_path / "scored").exists()


def test_infer_refuses_bad_protocol_parameters_before_reading(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = main(["infer", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "o"),
                   "--protocol", "memory", "--topk", "0"])
    assert status == 2 and "topk must be >= 1" in capsys.readouterr().err


def test_infer_help_shows_defaults(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["infer", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for expected in ("--split SPLIT split file in ImageSets/2017 (default: val)", "(default: cpu)",
                     "(default: flow, the paper's)", "<out>-scores"):
        assert expected in text


def test_baseline_pixels_cli(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = tiny
    assert main(["baseline", "--name", "pixels", "--davis-root", str(root), "--out", str(tmp_path / "p"),
                 "--evaluate"]) == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["a", "b"]
    assert (tmp_path / "p-scores" / "global_results-val.csv").is_file()


def test_overlay_colours_and_outline_by_hand() -> None:
    frames = np.full((1, 5, 5, 3), 100, np.uint8)
    masks = np.zeros((1, 5, 5), np.uint8)
    masks[0, 1:4, 1:4] = 1  # a 3x3 object: its centre (2, 2) is inside, the rest is outline
    drawn = overlay_masks(frames, masks, alpha=0.5)
    red = davis_palette()[3:6]  # id 1: (128, 0, 0)
    assert drawn[0, 0, 0].tolist() == [100, 100, 100]  # background untouched
    assert drawn[0, 2, 2].tolist() == [114, 50, 50]  # (100 + 128) / 2, (100 + 0) / 2
    outline = [(y, x) for y in range(1, 4) for x in range(1, 4) if (y, x) != (2, 2)]
    assert all(drawn[0, y, x].tolist() == red for y, x in outline)


def test_sheet_indices() -> None:
    assert sheet_indices(5, 12) == [0, 1, 2, 3, 4]
    assert sheet_indices(50, 4) == [0, 16, 33, 49]


def test_bench_infer_protocols_rows(tmp_path: Path) -> None:
    import json

    assert main(["bench", "infer", "--protocols", "flow", "crw", "--baselines", "pixels", "pixels@crw",
                 "--backbones", "resnet18", "--size", "32", "48", "--frames", "4", "--repeats", "1",
                 "--output-dir", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "infer-protocols-cpu.json").read_text())["results"]
    assert [(r["kind"], r["name"], r["backbone"], r["protocol_settings"]) for r in rows] == [
        ("protocol", "flow", "resnet18", "flow"), ("protocol", "crw", "resnet18", "crw"),
        ("baseline", "pixels", None, None), ("baseline", "pixels@crw", None, "crw")]
    assert all(r["frames"] == 4 and r["frames_per_s"] > 0 and r["peak_rss_increase_mib"] >= 0 for r in rows)
    assert all(r["frames_per_s"] == pytest.approx(3 / r["median_s"]) for r in rows)  # frames 1..3 propagated
    assert main(["bench", "infer", "--baselines", "colour", "--output-dir", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()


def test_protocols_preset_is_one_training_run_per_seed_propagated_every_way() -> None:
    """The protocols study is a grid: per seed one trained cell under every protocol, then the
    baselines, with pixels under every memory protocol the trained cell runs under."""
    from rpmbench.experiments.plan import plan_grid
    from rpmbench.experiments.presets import load_grid_config

    protocols = ["flow", "flow-frame", "memory", "fusion", "pixels", "dino", "dino-p8", "crw", "vfs", "stt", "mast"]
    specs = plan_grid(load_grid_config("protocols"))
    models = [spec for spec in specs if spec.train is not None]
    assert len(models) == len(protocols) * 3 and len({spec.training_stem for spec in models}) == 3
    for seed in range(3):
        ours = [spec for spec in models if spec.seed == seed]
        assert [spec.protocol for spec in ours] == protocols
        assert ours[1].propagation.warp_resolution == "frame" and ours[0].propagation.warp_resolution == "feature"
    baselines = {spec.method: spec for spec in specs if spec.train is None}
    memory_protocols = [p for p in protocols if p not in ("flow", "flow-frame", "fusion", "pixels")]
    assert list(baselines) == ["copy-first", "copy-previous", "optical-flow", "optical-flow@flow-frame",
                               "oracle-flow", "oracle-flow@flow-frame", "pixels",
                               *(f"pixels@{p}" for p in memory_protocols)]
    assert baselines["optical-flow@flow-frame"].propagation.warp_resolution == "frame"


def test_protocols_preset_trains_the_rankings_deformable_runs() -> None:
    """The protocols study reuses the ranking's deformable-l3 training runs (same data and recipe)."""
    from rpmbench.experiments.plan import plan_grid
    from rpmbench.experiments.presets import load_grid_config

    def training_stems(preset: str) -> set[str]:
        specs = plan_grid(load_grid_config(preset, overrides={"seeds": 3}), only=["resnet18-deformable-l3*"])
        return {spec.training_stem for spec in specs if spec.training_stem}

    assert len(training_stems("protocols")) == 3
    assert training_stems("protocols") == training_stems("ranking")


def test_a_baseline_under_a_protocol_runs_through_the_spine(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    """`optical-flow@flow-frame` in a grid is the optical-flow baseline warped at the frame size."""
    from rpmbench.experiments.cell import run_cell
    from rpmbench.experiments.plan import plan_grid
    from rpmbench.experiments.presets import load_grid_config
    from rpmbench.experiments.spec import Paths, Work

    root, _ = tiny
    grid = load_grid_config("smoke", overrides={"rows": [], "beyond": [], "data.source": "davis",
                                                 "data.davis_root": str(root), "propagation.scale": 1.0,
                                                 "baselines": ["optical-flow@flow-frame", "copy-previous"]})
    frame, zero = plan_grid(grid)
    result = run_cell(frame, Paths(root, (str(root),), tmp_path / "w"), Work(progress=False))
    assert result["cell"] == "optical-flow@flow-frame" and result["protocol"] == "flow-frame"
    assert main(["baseline", "--name", "optical-flow", "--davis-root", str(root), "--warp-resolution", "frame",
                 "--out", str(tmp_path / "cli"), "--evaluate"]) == 0
    predictions = tmp_path / "w" / frame.stem / "predictions"
    for path in sorted((tmp_path / "cli").glob("*/*.png")):
        assert np.array_equal(np.asarray(Image.open(path)),
                              np.asarray(Image.open(predictions / path.relative_to(tmp_path / "cli"))))
