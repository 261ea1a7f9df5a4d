"""sklearn-compatible estimators over lamina networks, and saving/loading run directories."""

from . import _mlp_persist  # noqa: F401  (registers the MLPs for save/load)
from ._base import BaseMLP
from ._classifier import MLPClassifier
from ._deep import DeepEstimator, register_deep
from ._image import ImageClassifier
from ._persist import load, register_estimator, save_run
from ._regressor import MLPRegressor
from ._sequence import SequenceClassifier

__all__ = ["BaseMLP", "MLPClassifier", "MLPRegressor", "load", "save_run", "register_estimator"]
__all__ += ["DeepEstimator", "register_deep", "ImageClassifier", "SequenceClassifier"]
