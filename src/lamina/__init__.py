"""lamina — a toolkit for the hidden layers of neural networks.

Public names are imported lazily so that ``import lamina`` (and ``lamina --help``) does not pay
for importing torch until a name that needs it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "LaminaError": "lamina._errors", "ParameterError": "lamina._errors",
    "DataError": "lamina._errors", "SpecError": "lamina._errors",
    "NotFittedError": "lamina._errors", "RunDirError": "lamina._errors",
    # spec / nn
    "DenseSpec": "lamina.spec", "HiddenSpec": "lamina.spec", "parse_spec": "lamina.spec",
    "OptimizerSpec": "lamina.spec",
    "build": "lamina.nn", "HiddenNet": "lamina.nn",
    # train
    "Trainer": "lamina.train", "History": "lamina.train", "MaxEpochs": "lamina.train",
    "MaxSteps": "lamina.train", "TimeBudget": "lamina.train", "LossTolerance": "lamina.train",
    "EarlyStopping": "lamina.train", "TargetMetric": "lamina.train", "Divergence": "lamina.train",
    "build_autoencoder": "lamina.nn",
    # estimators and runs
    "MLPClassifier": "lamina.estimators", "MLPRegressor": "lamina.estimators",
    "ImageClassifier": "lamina.estimators", "SequenceClassifier": "lamina.estimators",
    "TextClassifier": "lamina.estimators", "Autoencoder": "lamina.estimators",
    "HiddenKNNDetector": "lamina.estimators",
    "Forecaster": "lamina.estimators", "Recommender": "lamina.estimators",
    "Seq2Seq": "lamina.estimators", "load": "lamina.estimators",
    # inspection and report
    "inspect": "lamina.inspection", "Inspection": "lamina.inspection",
    "cka": "lamina.inspection", "report": "lamina.report",
    # search
    "search": "lamina.search", "SearchCV": "lamina.search", "SearchResult": "lamina.search",
    # datasets
    "datasets": "lamina.datasets", "check_data": "lamina.datasets",
    "make_toy": "lamina.datasets", "DataQualityWarning": "lamina.datasets",
}
# names that are both a subpackage and its main function: the (callable) module itself
_MODULE_FUNCTIONS = {"report", "search"}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    if name in _MODULE_FUNCTIONS or module_name.endswith("." + name):
        value: Any = module
    else:
        value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
