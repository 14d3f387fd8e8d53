"""``python -m rpmbench train``: self-supervised training on unlabelled video."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "train RPM-Net self-supervised (reconstruct frame t from t-1 through the matching module)"
DESCRIPTION = """\
Trains one RPM-Net variant by colour reconstruction: the matching module predicts a flow from
the embeddings of a target and a reference frame, layer 109 warps the reference image (at H/4)
with it, and the loss compares the result with the target. No labels are used.

Data (--data-root, repeatable): DAVIS-layout roots (frames of davis_splits), YouTube-VOS-style
roots (<root>/JPEGImages/<video>/*.jpg), and video files. Default: the built-in data set's real
clips and its train split (the same default as run-grid's data section). Every field of the recipe
(TrainConfig) can be set with --set key=value (dotted keys for the model, e.g.
model.backbone=resnet50) or a YAML file (--config); how the run is carried out (--checkpoint-every,
--keep-checkpoints-at, --workers, --tensorboard) and where the data lies change no number. The run
folder receives checkpoint.pt (atomic), log.jsonl (one line per step) and config.json (recipe,
execution, data roots, git commit). --resume continues exactly where a run stopped. A finished
run also gets its published checkpoint, <out>/<model id>-<sha8>.pt (e.g.
resnet18-deformable-l3-1a2b3c4d.pt; sha8: the first 8 hex digits of that file's sha256, as
mmdetection's publish_model.py names files): the weights and config without the optimiser state,
for `infer --checkpoint`; checkpoint.pt stays for --resume.

examples:
  python -m rpmbench train --out runs/r18 --set steps=200 --set crop_size=128 --set short_side=128
  python -m rpmbench train --out runs/r18 --resume
  python -m rpmbench train --out runs/evidence --evidence-seeds 0 1 2 --set steps=150   # learns?
  python -m rpmbench train --out runs/r101 --config paper.yaml --set device=cuda --set amp=true \\
      --data-root /data/DAVIS --data-root /data/youtube-vos/train --workers 8
"""


#: Added to the resume hint printed when Ctrl-C or SIGTERM stops a run.
RESUME_FLAG = "--resume"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, logs)")
    parser.add_argument("--config", type=Path, action="append", default=[],
                        help="YAML file of TrainConfig fields (repeatable; later files win)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one recipe field, e.g. --set model.backbone=resnet34 --set steps=500")
    parser.add_argument("--data-root", action="append", default=[], metavar="PATH", dest="data_roots",
                        help="unlabelled video to train on (repeatable; default: the built-in clips and train split)")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    execution = parser.add_argument_group("execution (changes no number)")
    execution.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints (default: 100)")
    execution.add_argument("--keep-checkpoints-at", type=int, nargs="+", default=[], metavar="STEP",
                           help="also keep the checkpoints of these steps as checkpoint-step<N>.pt")
    execution.add_argument("--workers", type=int, default=0, help="DataLoader worker processes (default: 0)")
    execution.add_argument("--tensorboard", action="store_true", help="also log to <out>/tensorboard")
    parser.add_argument("--evidence-seeds", type=int, nargs="+", default=None, metavar="SEED",
                        help="instead of one run: train once per seed, score on the built-in val split "
                             "beside the baselines (the grid's run_cell), write "
                             "<out>/<cell id>-evidence.json and .csv, e.g. resnet18-standard-l3-evidence.json")


def load_train_config(files: list[Path], assignments: list[str]):
    """TrainConfig from defaults, then YAML files, then ``KEY=VALUE`` assignments (validated)."""
    from rpmbench.experiments.overrides import load_config
    from rpmbench.training import TrainConfig

    config = load_config(TrainConfig(), files, assignments)
    config.validate()
    return config


def default_data_roots(davis_splits: list[str]) -> list[str]:
    """The grid's default training data: the built-in set's clips and its ``davis_splits``."""
    from rpmbench.experiments.spec import DataChoice, resolve_paths

    return list(resolve_paths(DataChoice(), None, (), davis_splits, Path(".")).train_roots)


def run(args: argparse.Namespace) -> int:
    from rpmbench.experiments.studies.evidence import model_id
    from rpmbench.provenance import sha256_file
    from rpmbench.training import TrainExecution, train
    from rpmbench.training.checkpoint import CHECKPOINT_NAME, check_resumable, publish_checkpoint

    config = load_train_config(args.config, args.set)
    execution = TrainExecution(args.checkpoint_every, tuple(args.keep_checkpoints_at), args.workers,
                               args.tensorboard)
    execution.validate(config.steps)
    if args.evidence_seeds:
        from rpmbench.experiments.studies.evidence import learning_evidence

        output = args.out / f"{model_id(config)}-evidence.json"
        summary = learning_evidence(config, args.evidence_seeds, args.out, output, not args.no_progress,
                                    extra_roots=tuple(args.data_roots), execution=execution)
        print(f"RPM-Net J&F {summary['rpmnet_jf_mean']:.3f} +- {summary['rpmnet_jf_std']:.3f} over seeds "
              f"{args.evidence_seeds}; copy-previous {summary['copy_previous_jf']:.3f}; wrote {output}")
        return 0
    if args.resume:  # another model's checkpoint would fail inside torch, after the run dir changed
        check_resumable(args.out / CHECKPOINT_NAME, config)
    roots = args.data_roots or default_data_roots(config.davis_splits)
    result = train(config, args.out, roots, execution, resume=args.resume, progress=not args.no_progress)
    published = publish_checkpoint(result.checkpoint, model_id(config))
    print(f"trained {result.steps} steps in {result.seconds:.0f} s, final loss {result.final_loss:.4f}: "
          f"{result.checkpoint}; published {published} (sha256 {sha256_file(published)})")
    return 0
