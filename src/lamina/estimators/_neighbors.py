"""``HiddenKNNDetector``: novelty scores from the nearest neighbours in a hidden layer.

A network trained on the known classes maps an input to the units of its last hidden layer;
inputs of a class it never saw tend to land away from every training input there. The score
of ``x`` is minus the mean cosine distance from its hidden vector to its ``n_neighbors``
nearest training vectors (the "deep k-NN" detector of Sun et al., ICML 2022: L2-normalised
features, k-NN distance). On Fashion-MNIST with one class held out it separates the unseen
class far better than an autoencoder's reconstruction error (``recipes/autoencoder.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone

from .._errors import NotFittedError, ParameterError
from .._validation import check_bool, check_int

_CHUNK_BYTES = 64 * 2**20          # similarity block of one query chunk against the bank


class HiddenKNNDetector(BaseEstimator):
    """Novelty detection by k-nearest-neighbour distance in a network's hidden layer.

    Parameters
    ----------
    estimator : lamina deep estimator
        Any estimator with ``hidden_features`` (``ImageClassifier``, ``SequenceClassifier``,
        ``TextClassifier``, ...). ``fit`` trains a clone of it on ``(X, y)`` unless ``prefit``.
    layer : int or str, default=-1
        The hidden layer whose units are compared (see ``hidden_features``); -1 is the last.
    n_neighbors : int, default=10
        How many nearest training vectors the distance averages over.
    prefit : bool, default=False
        True: ``estimator`` is already fitted and is used as it is (``fit`` only stores the
        hidden vectors of ``X``).

    Attributes
    ----------
    estimator_ : the fitted estimator.
    bank_ : ndarray of float64, shape (n_samples, n_units)
        The L2-normalised hidden vectors of the training inputs.
    n_features_in_, feature_names_in_ : as the fitted estimator's.

    Scores follow sklearn's outlier-detector convention: ``score_samples`` is higher for more
    normal inputs. A training input's own vector is in the bank, so scoring the training set
    counts each input as its own nearest neighbour (distance 0).

    Examples
    --------
    >>> import numpy as np
    >>> from lamina.estimators import HiddenKNNDetector, ImageClassifier
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((60, 1, 8, 8)), np.arange(60) % 3
    >>> det = HiddenKNNDetector(ImageClassifier("conv(4,3)-pool-dense(8)", epochs=1,
    ...                                         random_state=0), n_neighbors=5).fit(X, y)
    >>> det.score_samples(X[:4]).shape
    (4,)
    """

    def __init__(self, estimator: Any, *, layer: int | str = -1, n_neighbors: int = 10,
                 prefit: bool = False) -> None:
        self.estimator = estimator
        self.layer = layer
        self.n_neighbors = n_neighbors
        self.prefit = prefit

    def fit(self, X: Any, y: Any = None) -> HiddenKNNDetector:
        """Train the network on ``(X, y)`` (unless ``prefit``) and keep the hidden vectors of
        ``X`` as the reference set."""
        k = check_int("n_neighbors", self.n_neighbors, 1)
        if not callable(getattr(self.estimator, "hidden_features", None)):
            raise ParameterError("estimator", self.estimator, "a lamina estimator with "
                                 "hidden_features (ImageClassifier, SequenceClassifier, "
                                 "TextClassifier, ...)", "Wrap a lamina deep estimator.")
        if check_bool("prefit", self.prefit):
            est = self.estimator
            if not hasattr(est, "module_"):
                raise NotFittedError(f"prefit=True but the {type(est).__name__} is not fitted. "
                                     "Fit it first, or pass prefit=False.")
        else:
            est = clone(self.estimator)
            est.fit(X) if y is None else est.fit(X, y)
        bank = _normalised(est.hidden_features(X, self.layer))
        if k > len(bank):
            raise ParameterError("n_neighbors", k, f"at most the {len(bank)} training samples",
                                 f"Pass n_neighbors <= {len(bank)} or fit on more samples.")
        self.estimator_, self.bank_ = est, bank
        self.n_features_in_ = est.n_features_in_
        if hasattr(est, "feature_names_in_"):
            self.feature_names_in_ = est.feature_names_in_
        return self

    def kneighbors_distance(self, X: Any) -> np.ndarray:
        """Cosine distances (``1 - cos``) from each input's hidden vector to its
        ``n_neighbors`` nearest training vectors, ascending, shape (n_samples, n_neighbors)."""
        if not hasattr(self, "bank_"):
            raise NotFittedError("This HiddenKNNDetector instance is not fitted yet. Call "
                                 "'fit' with appropriate arguments before using this estimator.")
        queries = torch.from_numpy(_normalised(self.estimator_.hidden_features(X, self.layer)))
        bank = torch.from_numpy(self.bank_)
        k = min(int(self.n_neighbors), len(bank))
        chunk = max(1, _CHUNK_BYTES // (8 * len(bank)))
        parts = []
        with torch.no_grad():
            for s in range(0, len(queries), chunk):
                sim = queries[s:s + chunk] @ bank.T                   # (chunk, n_bank)
                parts.append(1.0 - sim.topk(k, dim=1).values)      # descending sim: ascending
        return torch.cat(parts).clamp_(min=0.0).numpy()

    def score_samples(self, X: Any) -> np.ndarray:
        """Minus the mean distance to the ``n_neighbors`` nearest training vectors (sklearn's
        convention: lower = more abnormal)."""
        return -self.kneighbors_distance(X).mean(axis=1)


def _normalised(F: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float64 (an all-zero row stays zero: distance 1 to all).
    float64 keeps a sample's score the same whatever else is scored with it."""
    F = np.asarray(F, dtype=np.float64)
    norms = np.linalg.norm(F, axis=1, keepdims=True)
    return np.divide(F, norms, out=np.zeros_like(F), where=norms > 0)
