"""Medical diagnosis: breast-cancer malignancy from 30 cell-nucleus features with a small MLP.

Data: the Wisconsin diagnostic breast cancer set bundled with scikit-learn (569 tumours, 212
malignant, 357 benign). Model: ``StandardScaler`` + ``lamina.MLPClassifier((32,))`` with an L2
penalty. Protocol: stratified 10-fold cross-validation (shuffled, seeded); per fold, accuracy,
sensitivity (malignant tumours found) and specificity (benign ones cleared). Baseline:
``StandardScaler`` + ``LogisticRegression`` on the same folds. Target: >= 97 % mean accuracy.
"""

from __future__ import annotations

from typing import Any

from ._common import Timer, cli, result, target


def _cv(make: Any, X: Any, y: Any, folds: Any) -> dict[str, float]:
    """Mean accuracy, sensitivity and specificity of ``make()`` over ``folds``.

    In sklearn's copy of the data class 0 is *malignant*, so it is the positive class here.
    """
    import numpy as np
    from sklearn.metrics import confusion_matrix

    acc, sens, spec = [], [], []
    for train, test in folds:
        model = make().fit(X[train], y[train])
        pred = model.predict(X[test])
        # rows: true malignant(0), benign(1); columns: predicted
        (tp, fn), (fp, tn) = confusion_matrix(y[test], pred, labels=[0, 1])
        acc.append((tp + tn) / len(test))
        sens.append(tp / (tp + fn))
        spec.append(tn / (tn + fp))
    return {"accuracy": float(np.mean(acc)), "accuracy_std": float(np.std(acc)),
            "sensitivity": float(np.mean(sens)), "specificity": float(np.mean(spec))}


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """Breast cancer: MLP 10-fold accuracy, sensitivity and specificity vs logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import lamina

    ds = lamina.datasets.load("breast_cancer")
    X, y = ds.X.astype("float64"), ds.y
    n_folds = 10 if full else 5
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(X, y))

    def mlp() -> Any:
        return make_pipeline(StandardScaler(), lamina.MLPClassifier(
            (32,), alpha=1e-2, max_iter=300 if full else 150, learning_rate_init=1e-3,
            random_state=seed))

    def logreg() -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with Timer() as total, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = _cv(mlp, X, y, folds)
        base = _cv(logreg, X, y, folds)
    return result(
        "medical_diagnosis", full=full,
        data=f"breast_cancer: {len(X)} tumours x {X.shape[1]} features, stratified "
             f"{n_folds}-fold CV (seed {seed}); positive class = malignant",
        metrics={f"mlp_{k}": v for k, v in ours.items()},
        baselines={f"logreg_{k}": v for k, v in base.items()},
        targets=[target("mlp_accuracy", ">=", 0.97)],
        seconds=total.seconds,
        notes=["sensitivity = malignant tumours classified malignant; specificity = benign "
               "tumours classified benign (means over folds)"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "medical_diagnosis")


if __name__ == "__main__":
    main()
