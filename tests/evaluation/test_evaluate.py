"""`evaluate` on bad or unusual input: stale CSVs, errors after the progress bar, DAVIS-2016 masks,
object-less sequences, and a scoring path that never imports torch."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from davis_fixtures import moving_ellipses, perturb, write_binary_davis, write_davis, write_predictions
from rpmbench.cli import main
from rpmbench.data.davis import DavisDataset
from rpmbench.data.palette import read_palette_png
from rpmbench.errors import DataError
from rpmbench.evaluation import evaluate_results

CSVS = ("global_results-val.csv", "per-sequence_results-val.csv", "per-frame_results-val.csv")


def _fixture(tmp_path: Path, seed: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    gts = {f"seq{i}": moving_ellipses(rng, 5, 24, 32, 1 + i) for i in range(2)}
    preds = {name: np.minimum(perturb(rng, gt, 2), gt[0].max()) for name, gt in gts.items()}
    return write_davis(tmp_path / "davis", gts), write_predictions(tmp_path / "results", preds)


def test_failed_evaluate_leaves_no_stale_csvs(tmp_path: Path) -> None:
    root, results = _fixture(tmp_path, 0)
    evaluate_results(root, results, progress=False)
    evaluate_results(root, results, output_dir=tmp_path / "out", progress=False)
    assert all((results / name).is_file() for name in CSVS)
    (results / "seq1" / "00002.png").unlink()
    with pytest.raises(DataError, match="prediction missing"):
        evaluate_results(root, results, progress=False)
    assert not any((results / name).exists() for name in CSVS)
    # also when the failure is found before any scoring (a wrong --davis-root), and via the CLI
    assert main(["evaluate", "--davis-root", str(tmp_path / "nowhere"), "--results", str(results),
                 "--output-dir", str(tmp_path / "out")]) == 2
    assert not any((tmp_path / "out" / name).exists() for name in CSVS)


def test_error_is_printed_after_the_progress_bar_closed(tmp_path: Path, capsys) -> None:
    root, results = _fixture(tmp_path, 1)
    (results / "seq1" / "00003.png").unlink()
    status = main(["evaluate", "--davis-root", str(root), "--results", str(results)])
    gc.collect()  # a bar left open would be closed (and redrawn) here, after the error
    err = capsys.readouterr().err
    assert status == 2 and "scoring" in err  # the bar was drawn
    head, error = err.split("error: ", 1)
    assert head.endswith("\n"), f"error glued to the bar: {err!r}"
    assert error.count("\n") == 1 and error.endswith("\n") and "scoring" not in error, err


@pytest.mark.parametrize("grey", [True, False], ids=["grey", "palette"])
def test_davis2016_masks_read_255_as_object_1(tmp_path: Path, capsys, grey: bool) -> None:
    rng = np.random.default_rng(2)
    masks = moving_ellipses(rng, 5, 24, 32, 1) == 1
    root = write_binary_davis(tmp_path / "davis", {"bear": masks}, grey=grey)
    dataset = DavisDataset(root, "val")
    assert np.array_equal(dataset.read_first_mask("bear"), masks[0].astype(np.uint8))
    assert np.array_equal(dataset.read_annotations("bear"), masks.astype(np.uint8))
    results = write_predictions(tmp_path / "results", {"bear": masks.astype(np.uint8)})
    result = evaluate_results(root, results, progress=False)
    assert result.per_object["Sequence"].tolist() == ["bear_1"]
    assert result.global_metrics["J-Mean"] == 1.0 and result.global_metrics["F-Mean"] == 1.0


def test_davis2016_notice_names_the_sequence(tmp_path: Path, capsys) -> None:
    masks = moving_ellipses(np.random.default_rng(3), 4, 24, 32, 1) == 1
    root = write_binary_davis(tmp_path / "davis", {"bear": masks}, grey=True)
    DavisDataset(root, "val").read_first_mask("bear")
    err = capsys.readouterr().err
    assert "notice:" in err and "bear" in err and "255 as object 1" in err


def test_sequence_without_objects_is_refused_by_name(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(4)
    good = moving_ellipses(rng, 4, 24, 32, 1)
    empty_first = good.copy()
    empty_first[0] = 0
    root = write_davis(tmp_path / "davis", {"good": good, "empty": empty_first})
    results = write_predictions(tmp_path / "results", {"good": good, "empty": empty_first})
    with pytest.raises(DataError, match=r"empty/00000.png: the first annotation of sequence 'empty' holds no object"):
        evaluate_results(root, results, progress=False)
    assert main(["evaluate", "--davis-root", str(root), "--results", str(results)]) == 2
    assert "sequence 'empty'" in capsys.readouterr().err
    # void only in the first frame but object 1 later: not DAVIS-2016 style, still object-less
    (root / "Annotations" / "480p" / "empty" / "00000.png").unlink()
    Image.fromarray(np.full((24, 32), 255, np.uint8), mode="L").save(
        root / "Annotations" / "480p" / "empty" / "00000.png")
    with pytest.raises(DataError, match="sequence 'empty' holds no object"):
        DavisDataset(root, "val").read_first_mask("empty")


def test_score_sequence_refuses_zero_objects() -> None:
    from rpmbench.evaluation import score_sequence

    gt = np.zeros((3, 4, 4), np.uint8)
    with pytest.raises(DataError, match="sequence 'seq': its first ground-truth frame holds no object"):
        score_sequence("seq", gt, gt[1:-1], ["00001"])


def test_evaluate_does_not_import_torch(tmp_path: Path) -> None:
    root, results = _fixture(tmp_path, 5)
    code = ("import json, sys; from rpmbench.cli import main; status = main(sys.argv[1:]); "
            "print(json.dumps({'status': status, 'torch': 'torch' in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", code, "evaluate", "--davis-root", str(root),
                           "--results", str(results)], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {"status": 0, "torch": False}


def test_describe_choices_match_the_model_names() -> None:
    """describe's choices are written without importing torch; they must stay the model's names."""
    import argparse

    from rpmbench.commands import describe
    from rpmbench.models.rpmnet import DCN_VERSIONS
    from rpmbench.registry import BACKBONES, MATCHING_KINDS

    parser = argparse.ArgumentParser()
    describe.add_arguments(parser)
    choices = {action.dest: tuple(action.choices) for action in parser._actions if action.choices}
    assert choices["backbone"] == BACKBONES
    assert choices["matching"] == tuple(MATCHING_KINDS) == ("deformable", "standard", "dilated", "corr")
    assert choices["dcn"] == DCN_VERSIONS


def test_baseline_then_evaluate_on_davis2016_masks(tmp_path: Path, capsys) -> None:
    """The issue's report: `baseline` wrote all-background predictions (255 read as void) and
    `evaluate` crashed with a pandas KeyError. Now the object is propagated and scored."""
    masks = moving_ellipses(np.random.default_rng(6), 4, 24, 32, 1) == 1
    root = write_binary_davis(tmp_path / "davis", {"bear": masks}, grey=True)
    assert main(["baseline", "--name", "copy-first", "--davis-root", str(root),
                 "--out", str(tmp_path / "pred")]) == 0
    assert np.array_equal(read_palette_png(tmp_path / "pred" / "bear" / "00002.png"), masks[0])
    assert main(["evaluate", "--davis-root", str(root), "--results", str(tmp_path / "pred")]) == 0
    assert "255 as object 1" in capsys.readouterr().err
    scores = (tmp_path / "pred" / "per-sequence_results-val.csv").read_text().splitlines()
    assert len(scores) == 2 and scores[1].startswith("bear_1,")
