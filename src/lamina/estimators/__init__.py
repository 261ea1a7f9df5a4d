"""sklearn-compatible estimators over lamina networks, and saving/loading run directories."""

from . import _mlp_persist  # noqa: F401  (registers the MLPs for save/load)
from ._autoencoder import Autoencoder
from ._base import BaseMLP
from ._classifier import MLPClassifier
from ._deep import DeepEstimator, register_deep
from ._image import ImageClassifier
from ._neighbors import HiddenKNNDetector
from ._persist import load, register_estimator, save_run
from ._regressor import MLPRegressor
from ._sequence import SequenceClassifier
from ._text import TextClassifier
from ._tokenizer import Tokenizer

__all__ = ["BaseMLP", "MLPClassifier", "MLPRegressor", "load", "save_run", "register_estimator"]
__all__ += ["DeepEstimator", "register_deep", "ImageClassifier", "SequenceClassifier",
            "TextClassifier", "Tokenizer",
            "Autoencoder", "HiddenKNNDetector"]
# forecasting, recommendation, seq2seq (issue 3, helper B)
from ._forecaster import Forecaster, mase, seasonal_naive  # noqa: E402
from ._recommender import Recommender  # noqa: E402
from ._seq2seq import Seq2Seq  # noqa: E402

__all__ += ["Forecaster", "mase", "seasonal_naive", "Recommender", "Seq2Seq"]
