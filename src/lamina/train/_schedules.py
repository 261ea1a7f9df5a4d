"""Learning-rate schedules, applied between epochs.

``constant``: lr0. ``invscaling``: sklearn's ``lr0 / (t + 1) ** power_t`` with ``t`` the number
of samples seen. ``adaptive``: sklearn's — lr0 until the loss plateaus, then divided by 5 (the
plateau is detected by :class:`~lamina.train.LossTolerance` with ``adaptive_lr=True``).
``cosine``: ``lr0 * (1 + cos(pi * epoch / T_max)) / 2``. ``step``: ``lr0 * gamma ** (epoch //
step_size)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._validation import check_choice, check_float, check_int
from ..spec import SCHEDULES


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule; ``lr(epoch, samples_seen, current)`` gives the next rate.

    Examples
    --------
    >>> Schedule("step", lr0=0.1, step_size=2, gamma=0.5).lr(epoch=4, samples_seen=0, current=0.1)
    0.025
    """

    name: str = "constant"
    lr0: float = 1e-3
    power_t: float = 0.5
    t_max: int = 100
    step_size: int = 10
    gamma: float = 0.1

    def __post_init__(self) -> None:
        check_choice("schedule", self.name, SCHEDULES)
        check_float("power_t", self.power_t)
        check_int("t_max", self.t_max, 1)
        check_int("step_size", self.step_size, 1)
        check_float("gamma", self.gamma, 0.0, None, low_open=True)

    def lr(self, epoch: int, samples_seen: int, current: float) -> float:
        """Rate to use for ``epoch`` (0-based) after ``samples_seen`` training samples."""
        if self.name == "invscaling":
            return self.lr0 / (samples_seen + 1) ** self.power_t
        if self.name == "cosine":
            return self.lr0 * 0.5 * (1.0 + math.cos(math.pi * min(epoch, self.t_max) / self.t_max))
        if self.name == "step":
            return self.lr0 * self.gamma ** (epoch // self.step_size)
        if self.name == "adaptive":
            return current  # changed only by the plateau rule
        return self.lr0
