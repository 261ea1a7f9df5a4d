"""The small sets bundled with scikit-learn (its ``load_*`` functions; ``fetch_*`` downloads)."""

from __future__ import annotations

import numpy as np

from ._dataset import Dataset

__all__ = ["digits", "breast_cancer", "iris", "diabetes"]


def digits() -> Dataset:
    """sklearn's handwritten digits: 1797 images of 8x8 pixels with values 0..16, 10 classes.

    ``X`` is float32 ``(1797, 64)`` with sklearn's raw values (divide by 16 for [0, 1]),
    ``image_shape=(1, 8, 8)``.

    Examples
    --------
    >>> digits().X.shape
    (1797, 64)
    """
    from sklearn.datasets import load_digits

    b = load_digits()
    return Dataset(
        name="digits", task="classification", X=b.data.astype(np.float32),
        y=b.target.astype(np.int64), feature_names=list(b.feature_names),
        target_names=[str(t) for t in b.target_names], image_shape=(1, 8, 8),
        description="UCI optical handwritten digits as bundled with scikit-learn "
                    "(load_digits): 1797 8x8 images, pixel values 0..16.",
    )


def breast_cancer() -> Dataset:
    """Wisconsin diagnostic breast cancer: 569 samples, 30 features, malignant vs benign.

    Examples
    --------
    >>> breast_cancer().target_names
    ['malignant', 'benign']
    """
    from sklearn.datasets import load_breast_cancer

    b = load_breast_cancer()
    return Dataset(
        name="breast_cancer", task="classification", X=b.data.astype(np.float32),
        y=b.target.astype(np.int64), feature_names=list(b.feature_names),
        target_names=[str(t) for t in b.target_names],
        description="Breast Cancer Wisconsin (Diagnostic), bundled with scikit-learn "
                    "(load_breast_cancer): 569 samples x 30 features, 0=malignant, 1=benign.",
    )


def iris() -> Dataset:
    """Fisher's iris: 150 flowers, 4 measurements (cm), 3 species.

    Examples
    --------
    >>> iris().n_classes
    3
    """
    from sklearn.datasets import load_iris

    b = load_iris()
    return Dataset(
        name="iris", task="classification", X=b.data.astype(np.float32),
        y=b.target.astype(np.int64), feature_names=list(b.feature_names),
        target_names=[str(t) for t in b.target_names],
        description="Fisher's iris, bundled with scikit-learn (load_iris): 150 x 4, 3 species.",
    )


def diabetes() -> Dataset:
    """Diabetes progression (regression): 442 patients, 10 standardized features.

    ``y`` (float32) is a quantitative measure of disease progression one year after baseline.

    Examples
    --------
    >>> diabetes().task
    'regression'
    """
    from sklearn.datasets import load_diabetes

    b = load_diabetes()
    return Dataset(
        name="diabetes", task="regression", X=b.data.astype(np.float32),
        y=b.target.astype(np.float32), feature_names=list(b.feature_names),
        description="Efron et al. diabetes data, bundled with scikit-learn (load_diabetes): "
                    "442 x 10 (mean-centred, scaled), target: progression after one year.",
    )
