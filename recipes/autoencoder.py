"""Autoencoder: Fashion-MNIST codes of 2 and 32 hidden units, and anomaly detection.

Data: Fashion-MNIST (Debian ``dataset-fashion-mnist``), pixels in [0, 1]. Model:
``lamina.Autoencoder("256-64", bottleneck=d)`` (dense encoder, mirrored decoder, sigmoid
output, no rescaling so errors are in pixel units). Early stopping holds out 10 % of the
training images. Baseline: PCA with the same number of dimensions, fit on the same images.

1. Dimensionality reduction, d = 2 and 32: test reconstruction MSE (per pixel), and how well
   the code separates the classes it never saw labels for (5-nearest-neighbour accuracy of test
   codes against training codes).
2. Anomaly detection: for each class c, train on the training images of the other 9 classes
   (with their labels), score every test image, and compute the AUROC of "is class c".
   Target: mean AUROC over the 10 choices >= 0.80. Two lamina detectors:

   * ``anomaly_mean_auroc`` (the target's metric): ``lamina.HiddenKNNDetector`` over an
     ``ImageClassifier`` trained on the 9 classes: the mean cosine distance from an image's
     last-hidden-layer units to its 10 nearest training images there, divided by the typical
     such distance of the class the CNN predicts (``normalize="class"``, measured on 10 % of
     the training images held back from the reference set).
   * ``ae_anomaly_mean_auroc``: the autoencoder's reconstruction error (``score_samples``).

   Both were fixed on the training images alone, before any test image was scored (see
   ``docs/benchmarks/recipes_a.md``: the reconstruction error on 2026-11-23; the detector,
   its CNN, k = 10 and the class normalisation on 2026-12-05, validated on 48 000 / 12 000
   and on 12 000 / 3 000 training images).
   Baseline: PCA reconstruction error, same protocol.
"""

from __future__ import annotations

from typing import Any

from ._common import Timer, cli, result, target
from .image_recognition import FULL_CNN, QUICK_CNN


def _pca_error(pca: Any, X: Any) -> Any:
    return ((pca.inverse_transform(pca.transform(X)) - X) ** 2).mean(axis=1)


def _knn_accuracy(Z: Any, y: Any, Z_test: Any, y_test: Any) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    return float(KNeighborsClassifier(5).fit(Z, y).score(Z_test, y_test))


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fashion-MNIST: autoencoder vs PCA reconstruction (2-D, 32-D) and held-out-class AUROC."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.metrics import roc_auc_score

    import lamina
    from lamina.estimators import Autoencoder, HiddenKNNDetector, ImageClassifier

    ds = lamina.datasets.load("fashion_mnist", n_samples=None if full else 1500, seed=seed)
    X, y, X_test, y_test = ds.X, ds.y, ds.X_test, ds.y_test
    spec = "256-64" if full else "64"

    def detector() -> Any:   # the image recipe's CNN, fixed epochs (a held-out 10 % costs data)
        cnn = ImageClassifier(FULL_CNN if full else QUICK_CNN, epochs=8 if full else 4,
                              batch_size=128, lr=2e-3 if full else 3e-3, schedule="cosine",
                              early_stopping=False, random_state=seed)
        return HiddenKNNDetector(cnn, n_neighbors=10, normalize="class", random_state=seed)

    def autoencoder(code: int, epochs: int) -> Any:
        return Autoencoder(spec, bottleneck=code, scale="none", output_activation="sigmoid",
                           epochs=epochs, batch_size=256 if full else 64, lr=2e-3,
                           patience=3, random_state=seed)

    metrics: dict[str, float] = {}
    baselines: dict[str, float] = {}
    notes: list[str] = []
    with Timer() as total:
        for code in (2, 32):
            with Timer() as t:
                ae = autoencoder(code, 30 if full else 10).fit(X)
            pca = PCA(code, random_state=seed).fit(X)
            metrics[f"ae{code}_test_mse"] = float(ae.reconstruction_error(X_test).mean())
            baselines[f"pca{code}_test_mse"] = float(_pca_error(pca, X_test).mean())
            metrics[f"ae{code}_knn5_accuracy"] = _knn_accuracy(
                ae.transform(X), y, ae.transform(X_test), y_test)
            baselines[f"pca{code}_knn5_accuracy"] = _knn_accuracy(
                pca.transform(X), y, pca.transform(X_test), y_test)
            notes.append(f"{code}-D autoencoder: {ae.n_iter_} epochs in {t.seconds:.0f} s "
                         f"({ae.stop_reason_})")
        held_out = range(10) if full else (1, 8)   # quick: two classes, for the tests
        images = X.reshape(-1, *ds.image_shape)            # (N, 1, 28, 28)
        images_test = X_test.reshape(-1, *ds.image_shape)
        knn_aucs, aucs, pca_aucs = [], [], []
        with Timer() as t_knn:
            for c in held_out:
                normal = y != c
                det = detector().fit(images[normal], y[normal])
                knn_aucs.append(roc_auc_score(y_test == c, -det.score_samples(images_test)))
        with Timer() as t_ae:
            for c in held_out:
                normal = y != c
                ae = autoencoder(32, 12 if full else 10).fit(X[normal])
                is_c = y_test == c
                aucs.append(roc_auc_score(is_c, -ae.score_samples(X_test)))
                pca = PCA(32, random_state=seed).fit(X[normal])
                pca_aucs.append(roc_auc_score(is_c, _pca_error(pca, X_test)))
        metrics["anomaly_mean_auroc"] = float(np.mean(knn_aucs))
        metrics["ae_anomaly_mean_auroc"] = float(np.mean(aucs))
        baselines["pca_anomaly_mean_auroc"] = float(np.mean(pca_aucs))
        notes.append(f"anomaly detectors: hidden-layer 10-NN {t_knn.seconds:.0f} s, "
                     f"autoencoders + PCA {t_ae.seconds:.0f} s")
        notes.append("AUROC per held-out class (hidden-layer 10-NN / autoencoder / PCA): "
                     + ", ".join(f"{c}: {k:.3f}/{a:.3f}/{p:.3f}" for c, k, a, p
                                 in zip(held_out, knn_aucs, aucs, pca_aucs)))
    return result(
        "autoencoder", full=full,
        data=f"fashion_mnist: {len(X)} train / {len(X_test)} test images, pixels in [0, 1]",
        metrics=metrics, baselines=baselines,
        targets=[target("ae2_test_mse", "<", "pca2_test_mse"),
                 target("ae32_test_mse", "<", "pca32_test_mse"),
                 target("anomaly_mean_auroc", ">=", 0.80)],
        seconds=total.seconds, notes=notes)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "autoencoder")


if __name__ == "__main__":
    main()
