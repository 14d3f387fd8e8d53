"""Training: exact resume, NaN stop, Lab conversion, pair sampling, end-to-end smoke."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rpmbench.data.colour import rgb_to_lab
from rpmbench.errors import ConfigError, TrainingDivergedError
from rpmbench.evaluation import evaluate_results
from rpmbench.inference.propagate import PropagationConfig, propagate_dataset
from rpmbench.models import RPMNetConfig
from rpmbench.training import TrainConfig, TrainExecution, TrainResult, load_checkpoint_model, train
from rpmbench.training import loop as loop_module
from rpmbench.training.frames import PairBatches, discover_sequences


def tiny_config(**overrides) -> TrainConfig:
    values = dict(model=RPMNetConfig("resnet18", backend="reference"), short_side=None, crop_size=32,
                  batch_size=2, steps=4, seed=3)
    values.update(overrides)
    return TrainConfig(**values)


def tiny_run(root: Path, run_dir: Path, resume: bool = False, keep_checkpoints_at: tuple[int, ...] = (),
             tensorboard: bool = False, **overrides) -> TrainResult:
    """Train :func:`tiny_config` on ``root`` into ``run_dir``, a checkpoint every 2 steps."""
    execution = TrainExecution(checkpoint_every=2, keep_checkpoints_at=keep_checkpoints_at, tensorboard=tensorboard)
    return train(tiny_config(**overrides), run_dir, [str(root)], execution, resume=resume, progress=False)


class Interrupted(Exception):
    pass


def test_resume_gives_identical_weights(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """N steps, an interruption, a resume and N more steps equal 2N uninterrupted steps."""
    full = tiny_run(root, tmp_path / "full", steps=4)
    original = loop_module.reconstruction_loss
    calls = []

    def interrupt_third_step(warped, target, kind):
        calls.append(1)
        if len(calls) == 3:  # killed during step 3, after the checkpoint of step 2
            raise Interrupted
        return original(warped, target, kind)

    monkeypatch.setattr(loop_module, "reconstruction_loss", interrupt_third_step)
    with pytest.raises(Interrupted):
        tiny_run(root, tmp_path / "split", steps=4)
    monkeypatch.setattr(loop_module, "reconstruction_loss", original)
    resumed = tiny_run(root, tmp_path / "split", resume=True, steps=4)
    a = torch.load(full.checkpoint, weights_only=False)
    b = torch.load(resumed.checkpoint, weights_only=False)
    assert a["step"] == b["step"] == 4
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    log = [json.loads(line) for line in (tmp_path / "split" / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [1, 2, 3, 4]


def test_kept_snapshots_are_exact_states_of_the_run(root: Path, tmp_path: Path) -> None:
    """keep_checkpoints_at changes no weight, and resuming from a kept snapshot ends where the run ended."""
    plain = tiny_run(root, tmp_path / "plain", steps=4)
    kept = tiny_run(root, tmp_path / "kept", steps=4, keep_checkpoints_at=(1, 3))
    final = torch.load(kept.checkpoint, weights_only=False)
    for name, tensor in torch.load(plain.checkpoint, weights_only=False)["model"].items():
        assert torch.equal(tensor, final["model"][name]), name
    snapshots = {step: torch.load(loop_module.kept_checkpoint_path(tmp_path / "kept", step), weights_only=False)
                 for step in (1, 3)}
    assert [s["step"] for s in snapshots.values()] == [1, 3]
    assert not torch.equal(snapshots[1]["model"]["matching.convs.2.weight"], final["model"]["matching.convs.2.weight"])
    (tmp_path / "again").mkdir()
    torch.save(snapshots[3], tmp_path / "again" / "checkpoint.pt")
    resumed = tiny_run(root, tmp_path / "again", resume=True, steps=4, keep_checkpoints_at=(1, 3))
    for name, tensor in torch.load(resumed.checkpoint, weights_only=False)["model"].items():
        assert torch.equal(tensor, final["model"][name]), name
    with pytest.raises(ConfigError, match="keep_checkpoints_at"):
        tiny_run(root, tmp_path / "bad", steps=4, keep_checkpoints_at=(5,))


def test_tensorboard_log_matches_jsonl_after_a_resume(root: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps logged after the resumed checkpoint are purged, so every step appears exactly once."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    original = loop_module.reconstruction_loss
    calls = []

    def interrupt_fourth_step(warped, target, kind):
        calls.append(1)
        if len(calls) == 4:  # step 3 was logged, the checkpoint holds step 2
            raise Interrupted
        return original(warped, target, kind)

    monkeypatch.setattr(loop_module, "reconstruction_loss", interrupt_fourth_step)
    with pytest.raises(Interrupted):
        tiny_run(root, tmp_path / "run", tensorboard=True)
    monkeypatch.setattr(loop_module, "reconstruction_loss", original)
    tiny_run(root, tmp_path / "run", resume=True, tensorboard=True)

    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    scalars = events.Scalars("train/loss")
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [s.step for s in scalars] == [entry["step"] for entry in log] == [1, 2, 3, 4]
    np.testing.assert_allclose([s.value for s in scalars], [entry["loss"] for entry in log], rtol=1e-6)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(root: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    original = loop_module.reconstruction_loss
    calls = []

    def poisoned(warped, target, kind):
        calls.append(1)
        loss = original(warped, target, kind)
        return loss * float("nan") if len(calls) == 3 else loss

    monkeypatch.setattr(loop_module, "reconstruction_loss", poisoned)
    with pytest.raises(TrainingDivergedError, match="diverged at step 2"):
        tiny_run(root, tmp_path / "run")
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert state["step"] == 2
    assert all(torch.isfinite(t).all() for t in state["model"].values() if t.is_floating_point())


def test_lab_matches_skimage() -> None:
    from skimage.color import rgb2lab

    rgb = np.random.default_rng(0).random((5, 7, 3))
    ours = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(ours, rgb2lab(rgb), atol=5e-3)


def test_pair_sampling_is_deterministic_and_respects_the_gap(root: Path) -> None:
    sequences = discover_sequences([str(root)], ["train"], None)
    assert [s.name for s in sequences] == [f"{root.name}/s0", f"{root.name}/s1"]
    batches = PairBatches(sequences, 3, 24, (2, 2), False, seed=1, short_side=None, steps=10)
    ref_a, tgt_a = batches[5]
    ref_b, tgt_b = batches[5]
    assert torch.equal(ref_a, ref_b) and torch.equal(tgt_a, tgt_b)
    assert not torch.equal(batches[6][0], ref_a)
    assert ref_a.shape == (3, 3, 24, 24) and ref_a.dtype == torch.uint8
    # frames of the fixture differ in content, so a gap of 2 never pairs a frame with itself
    assert all(not torch.equal(r, t) for r, t in zip(ref_a, tgt_a))


def test_bad_configs_fail_before_work(root: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="frame_gap"):
        tiny_run(root, tmp_path / "x", frame_gap=(3, 1))
    with pytest.raises(ConfigError, match="unknown backbone"):
        tiny_run(root, tmp_path / "y", model=RPMNetConfig("vgg"))
    assert not (tmp_path / "x").exists()


def test_end_to_end_train_infer_score(root: Path, tmp_path: Path) -> None:
    result = tiny_run(root, tmp_path / "run", steps=2)
    model, config = load_checkpoint_model(result.checkpoint)
    stats = propagate_dataset(model, root, "val", tmp_path / "pred",
                              PropagationConfig(colour_space=config.colour_space), progress=False)
    assert stats.frames == 3 * 5
    scores = evaluate_results(root, tmp_path / "pred", progress=False)
    assert 0 <= scores.global_metrics["J&F-Mean"] <= 1
    assert (tmp_path / "pred" / "global_results-val.csv").is_file()
    assert sorted(p.name for p in (tmp_path / "pred" / "s1").iterdir())[:2] == ["00000.png", "00001.png"]
