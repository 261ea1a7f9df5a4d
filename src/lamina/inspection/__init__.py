"""See inside a network: streamed statistics of every hidden unit, CKA, probes, ablation,
gradient flow and figures, for lamina models and any ``torch.nn.Module``."""

from ._cka import CKAAccumulator, cka
from ._inspect import inspect
from ._inspection import Inspection, TopExamples
from ._sketch import HistogramSketch
from ._topk import TopK

__all__ = ["inspect", "Inspection", "TopExamples", "cka", "CKAAccumulator", "HistogramSketch",
           "TopK"]
