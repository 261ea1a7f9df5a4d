"""One configuration to try: hidden widths, activation, batch size and training settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


def round_width(width: int, low: int = 1, high: int | None = None) -> int:
    """Round a sampled width so that nearby samples share a shape and can train together.

    Widths of 16..128 round to a multiple of 8, wider ones to a multiple of 16 (also what
    matrix kernels like); narrower ones stay exact. The result stays inside ``[low, high]``.

    Examples
    --------
    >>> round_width(13), round_width(37), round_width(300), round_width(1020, 16, 1020)
    (13, 40, 304, 1008)
    """
    if width < 16:
        return width
    step = 8 if width <= 128 else 16
    rounded = max(step, int(round(width / step)) * step)
    if high is not None and rounded > high:
        rounded -= step
    if rounded < low:
        rounded += step
    if rounded < low or (high is not None and rounded > high):
        return width                      # range narrower than a step: keep the sample
    return rounded


@dataclass(frozen=True)
class Candidate:
    """A hidden-layer configuration and the settings it trains with.

    ``widths``, ``activation`` and ``batch_size`` fix the network's shape and its training
    schedule (:attr:`arch_key`); candidates sharing them train as one population, in which
    ``lr``, ``alpha`` (sklearn's L2 penalty) and ``dropout`` vary per member.

    Examples
    --------
    >>> c = Candidate((64, 32), "relu", 128, lr=1e-3, alpha=1e-4, dropout=0.0)
    >>> c.n_params(10, 3)
    2883
    """

    widths: tuple[int, ...]
    activation: str
    batch_size: int
    lr: float
    alpha: float
    dropout: float

    @property
    def arch_key(self) -> tuple[tuple[int, ...], str, int]:
        return (self.widths, self.activation, self.batch_size)

    def sizes(self, n_in: int, n_out: int) -> tuple[int, ...]:
        """Layer sizes ``(in, h1, ..., hk, out)`` as the population engine takes them."""
        return (n_in, *self.widths, n_out)

    def n_params(self, n_in: int, n_out: int) -> int:
        """Weights + biases of the network (what the ``params`` objective minimises)."""
        sizes = self.sizes(n_in, n_out)
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))

    def spec(self) -> str:
        """The hidden layers as a lamina spec string, e.g. ``'64:relu:dropout=0.1-32:relu'``."""
        opt = f":dropout={self.dropout!r}" if self.dropout > 0 else ""
        return "-".join(f"{w}:{self.activation}{opt}" for w in self.widths)

    def to_params(self) -> dict[str, Any]:
        """sklearn-named settings: what ``best_params_`` shows and the refit estimator takes."""
        return {"hidden_layer_sizes": self.widths, "activation": self.activation,
                "batch_size": self.batch_size, "learning_rate_init": self.lr,
                "alpha": self.alpha, "dropout": self.dropout}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d


__all__ = ["Candidate", "round_width"]
