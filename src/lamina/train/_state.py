"""What stopping rules and callbacks see of a running training."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from ._history import History


@dataclass
class TrainState:
    """Mutable state of one ``Trainer.fit``: counters, the last record, the model and its lr."""

    model: torch.nn.Module
    history: History
    epoch: int = 0                 # epochs completed (including a continued History's)
    step: int = 0                  # optimizer steps taken
    start_epoch: int = 0           # epoch count when this fit began (warm starts)
    start_step: int = 0
    samples_seen: int = 0
    elapsed: float = 0.0           # seconds since fit started
    lr: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)   # last epoch's history record
    finite: bool = True            # False once a non-finite loss was seen
    lr_changed: bool = False       # set by rules that change lr (adaptive schedule)
    # the epoch whose end-of-epoch weights a rule restored when training ended (best weights of
    # early stopping, or of Divergence); None: the model keeps its last weights
    weights_epoch: int | None = None

    def set_lr(self, lr: float) -> None:
        self.lr = lr
        self.lr_changed = True

    _tensors: list[tuple[str, torch.Tensor]] | None = field(default=None, repr=False)

    def snapshot(self, into: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """A detached copy of the model's weights (for best-weights restore).

        ``into``: an earlier snapshot of this state to overwrite in place. Rules that snapshot
        on every improving epoch pass their previous copy: walking the module tree and
        allocating fresh tensors cost more than the copy on small networks (the model's
        tensors do not change identity during one fit, so the walk is done once)."""
        if self._tensors is None:
            self._tensors = [(k, v.detach()) for k, v in
                             self.model.state_dict(keep_vars=True).items()]
        with torch.no_grad():
            if into is not None and (any(into is d for d in self._fits) or self._fit(into)):
                torch._foreach_copy_([into[k] for k, _ in self._tensors],
                                     [v for _, v in self._tensors])   # one kernel call
                return into
            return {k: v.clone() for k, v in self._tensors}

    _fits: list[dict[str, torch.Tensor]] = field(default_factory=list, repr=False)

    def _fit(self, into: dict[str, torch.Tensor]) -> bool:
        """``into`` has this model's keys, shapes and dtypes (remembered once checked)."""
        assert self._tensors is not None
        ok = into.keys() == {k for k, _ in self._tensors} and all(
            into[k].shape == v.shape and into[k].dtype == v.dtype for k, v in self._tensors)
        if ok:
            self._fits.append(into)
        return ok

    def restore(self, weights: dict[str, torch.Tensor], epoch: int | None = None) -> None:
        """Load ``weights`` (a :meth:`snapshot`) into the model; ``epoch`` is the epoch they
        were taken after (kept in ``weights_epoch``; 0 or None when unknown)."""
        with torch.no_grad():
            self.model.load_state_dict(weights)
        self.weights_epoch = epoch or None
