"""Explicit forward/backward training of dense stacks and of populations of them (fast path).

``DenseEngine`` trains one pure dense ``HiddenNet`` in place; ``PopulationEngine`` trains P
same-shape networks as stacked weights, each with its own seed, learning rate, ``alpha`` and
dropout. Both run without autograd on preallocated buffers and equal the autograd + ``torch.optim``
path (tests in ``tests/engine`` check gradients and trained weights).
"""

from ._dense import DenseEngine
from ._optim import ENGINE_OPTIMIZERS
from ._population import PopulationEngine
from ._stats import EpochStats, supports

__all__ = ["DenseEngine", "PopulationEngine", "EpochStats", "supports", "ENGINE_OPTIMIZERS"]
