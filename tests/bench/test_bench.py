"""Benchmark helpers: the matmul peak's FLOP count, the MFU that `bench train` derives from it, and
`bench evaluate-startup`'s record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rpmbench.bench import timing
from rpmbench.cli import main


def test_matmul_rate_counts_two_n_cubed_flops(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_median(fn, **kwargs):
        calls.append(fn())
        return {"median_s": 0.25, "min_s": 0.25, "max_s": 0.25, "repeats": 1}

    monkeypatch.setattr(timing, "median_seconds", fake_median)
    rate = timing.matmul_tflops("cpu", "float32", size=64)
    assert rate["tflops"] == pytest.approx(2 * 64**3 / 0.25 / 1e12)
    assert calls[0].shape == (64, 64)
    assert timing.matmul_tflops("cpu", "float64", size=32, repeats=1)["tflops"] > 0  # real timing


def test_bench_train_reports_mfu_against_the_given_peak(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "train", "--backbones", "resnet18", "--crop", "32", "--batch", "1", "--repeats", "1",
                 "--backend", "reference", "--peak-tflops", "0.5", "--output-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "train-cpu.json").read_text())
    row = result["results"][0]
    assert result["peak"]["tflops"] == 0.5
    assert row["achieved_tflops"] == pytest.approx(row["flops_per_step"] / row["median_s"] / 1e12)
    assert row["mfu"] == pytest.approx(row["achieved_tflops"] / 0.5)
    with pytest.raises(SystemExit):
        main(["bench", "train", "--peak-tflops", "fast"])
    assert "expected 'measure' or a positive TFLOP/s value" in capsys.readouterr().err


def test_bench_evaluate_startup_records_a_torch_free_run(tmp_path: Path) -> None:
    assert main(["bench", "evaluate-startup", "--repeats", "1", "--output-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "evaluate-startup-cpu.json").read_text())
    profile = result["profiles"]["this_checkout"]
    assert profile["status"] == 0 and "pandas" in profile["imported"] and "torch" not in profile["imported"]
    assert result["seconds"]["this_checkout"]["median_s"] > result["seconds"]["python_bare"]["median_s"] > 0
    assert result["meets_target"] == (result["seconds"]["this_checkout"]["median_s"] < 0.5)


def test_bench_loader_times_the_paper_presets_crops_per_worker(tmp_path: Path) -> None:
    """At toy size (tiny synthetic JPEGs, one timed batch); the measurement itself is taken with the
    defaults on an idle machine."""
    from rpmbench.bench.loader import write_synthetic_frames
    from rpmbench.training.frames import discover_sequences

    assert main(["bench", "loader", "--workers", "0", "1", "--batches", "1", "--warmup", "1", "--sequences", "2",
                 "--frames", "3", "--size", "48", "80", "--set", "train.batch_size=2",
                 "--output-dir", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "loader-cpu.json").read_text())
    assert payload["preset"] == "paper" and payload["crop_size"] == 256 and payload["batch_size"] == 2
    assert [row["workers"] for row in payload["results"]] == [0, 1]
    assert all(row["pairs"] == 2 and row["pairs_per_s_per_worker"] > 0 for row in payload["results"])
    assert payload["command"].startswith("python -m rpmbench bench loader") and payload["cpu"]["torch_threads"] >= 1
    frames = write_synthetic_frames(tmp_path / "frames", 1, 2, (480, 854))
    sequence, = discover_sequences([frames], ["train"], 480)
    assert len(sequence) == 2 and sequence.frame(1, 480).shape == (480, 854, 3)


def test_bench_threads_times_each_count_alone_and_beside_a_competitor(tmp_path: Path) -> None:
    """At toy size; the competitor is a spawned process running training steps until stopped."""
    assert main(["bench", "threads", "--threads", "1", "--competitors", "1", "--crop", "32", "--batch", "1",
                 "--repeats", "1", "--output-dir", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "threads-cpu.json").read_text())
    assert [(row["load"], row["threads"]) for row in payload["results"]] == [
        ("alone", 1), ("beside 1 competing job(s)", 1)]
    assert payload["results"][0]["slowdown_vs_alone"] == 1.0
    assert all(row["median_s"] > 0 and row["samples_per_s"] > 0 for row in payload["results"])
    assert payload["usable_cpus"] >= 1 and "processor" in json.dumps(payload)
