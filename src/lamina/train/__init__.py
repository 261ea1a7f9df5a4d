"""Training: ``Trainer``, stopping rules, callbacks, ``History``, losses, schedules."""

from ._callbacks import Callback, IterationLog, Progress
from ._checkpoint import load_checkpoint, save_checkpoint
from ._data import check_sample_weight, readable_tensor
from ._history import History, atomic_write, atomic_write_bytes, atomic_write_text
from ._losses import get_loss, get_sample_loss, l2_penalty, weighted_loss
from ._metrics import evaluate
from ._optimizers import make_optimizer
from ._schedules import Schedule
from ._state import TrainState
from ._stopping import (
                        Divergence,
                        EarlyStopping,
                        LossTolerance,
                        MaxEpochs,
                        MaxSteps,
                        StopRule,
                        TargetMetric,
                        TimeBudget,
)
from ._trainer import Trainer

__all__ = [
    "Trainer", "History", "Callback", "IterationLog", "Progress", "TrainState", "StopRule", "MaxEpochs",
    "MaxSteps", "TimeBudget", "LossTolerance", "EarlyStopping", "TargetMetric", "Divergence",
    "Schedule", "get_loss", "l2_penalty", "make_optimizer", "evaluate", "save_checkpoint",
    "load_checkpoint", "atomic_write", "atomic_write_bytes", "atomic_write_text", "check_sample_weight",
    "get_sample_loss", "weighted_loss", "readable_tensor",
]
