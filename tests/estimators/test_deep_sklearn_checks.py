"""sklearn's own estimator checks on the deep estimators, where they apply.

``TextClassifier`` takes raw strings (``input_tags.string``, no 2-D arrays), so sklearn's
generator yields no checks for it; ``test_deep_contract.py`` checks its contract directly.
Slow (every check trains networks): run by ``make test-slow`` and CI.
"""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import lamina.estimators as est

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

# Small but real networks, trained without a validation split so every sample counts.
_FAST: dict[str, Any] = {"batch_size": 32, "lr": 2e-2, "early_stopping": False,
                         "random_state": 0}


def _estimators() -> list[object]:
    return [
        # rows are read as one-channel 1-D signals; 'same' padding keeps any length valid
        est.ImageClassifier("conv(8,3,1,same)-gap-dense(16)", epochs=10, **_FAST),
        # rows are read as one-feature sequences whose length is the number of columns
        est.SequenceClassifier("gru(8)", epochs=20, **_FAST),
        est.Autoencoder("8", bottleneck=2, epochs=10, **_FAST),
        est.HiddenKNNDetector(est.ImageClassifier("conv(8,3,1,same)-gap-dense(16)", epochs=3,
                                                  **_FAST), n_neighbors=2),
    ]


# SequenceClassifier reads a 2-D array (N, T) as N sequences of T steps with ONE feature each,
# so sklearn's notion "n_features_in_ == X.shape[1]" does not hold by design.
_SEQUENCE_2D = "2-D X is read as N one-feature sequences: n_features_in_ is 1, not X.shape[1]"
_EXPECTED: dict[str, dict[str, str]] = {
    "ImageClassifier": {},
    "SequenceClassifier": {
        "check_n_features_in": _SEQUENCE_2D,
        "check_n_features_in_after_fitting": _SEQUENCE_2D,
        # its last step predicts on X[:, 1:] and expects an error; for a sequence model that
        # is valid input (shorter sequences). Learning is tested in test_deep_sequence.py.
        "check_classifiers_train": _SEQUENCE_2D,
        "check_dtype_object": "an object array holding a non-number raises lamina's DataError "
                              "(a ValueError naming the item), not TypeError",
    },
    "Autoencoder": {},
    "HiddenKNNDetector": {},
}


def _expected_failed(estimator: object) -> dict[str, str]:
    return _EXPECTED[type(estimator).__name__]


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)
