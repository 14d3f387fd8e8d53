"""Self-supervised training of RPM-Net on unlabelled video (colour reconstruction)."""

from rpmbench.training.checkpoint import load_checkpoint_model
from rpmbench.training.config import TrainConfig, TrainExecution
from rpmbench.training.loop import TrainResult, train

__all__ = ["TrainConfig", "TrainExecution", "TrainResult", "load_checkpoint_model", "train"]
