"""Image recognition: Fashion-MNIST with convolutional hidden layers (and a dense MLP).

Data: Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (60000 train / 10000
test, 28x28 grey images, 10 classes). Models: ``lamina.ImageClassifier`` with two conv blocks
(a unit is a channel: edges, then textures and parts) and a dense layer, and
``lamina.MLPClassifier`` on the flat pixels. Baseline: sklearn's ``LogisticRegression`` on the
same pixels. Early stopping holds out 10 % of the *training* images; the test split is only
scored. Target (full data): CNN >= 91 % and MLP >= 88 % test accuracy.
"""

from __future__ import annotations

from typing import Any

from ._common import Timer, cli, result, target

FULL_CNN = ("conv(32,3):norm=batch-pool-conv(64,3):norm=batch-pool-"
            "dense(128):dropout=0.3")
QUICK_CNN = "conv(8,3,1,same):norm=batch-pool-conv(16,3,1,same):norm=batch-pool-dense(32)"


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fashion-MNIST: CNN and MLP test accuracy against logistic regression."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    import lamina
    from lamina.estimators import ImageClassifier

    ds = lamina.datasets.load("fashion_mnist", n_samples=None if full else 1200, seed=seed)
    X, y, X_test, y_test = ds.X, ds.y, ds.X_test, ds.y_test
    images = X.reshape(-1, *ds.image_shape)            # (N, 1, 28, 28)
    images_test = X_test.reshape(-1, *ds.image_shape)
    with Timer() as total:
        with Timer() as t_cnn:
            cnn = ImageClassifier(FULL_CNN if full else QUICK_CNN, epochs=10 if full else 4,
                                  batch_size=128, lr=2e-3 if full else 3e-3,
                                  schedule="cosine", patience=3, random_state=seed)
            cnn.fit(images, y)
        cnn_acc = cnn.score(images_test, y_test)
        with Timer() as t_mlp, warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = lamina.MLPClassifier((256, 128) if full else (64,), batch_size=128,
                                       learning_rate_init=1e-3, max_iter=60 if full else 15,
                                       early_stopping=True, n_iter_no_change=5,
                                       random_state=seed).fit(X, y)
        mlp_acc = mlp.score(X_test, y_test)
        with Timer() as t_lr, warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            logreg = LogisticRegression(max_iter=300 if full else 100).fit(X, y)
        lr_acc = logreg.score(X_test, y_test)
    return result(
        "image_recognition", full=full,
        data=f"fashion_mnist: {len(X)} train / {len(X_test)} test images (1x28x28)",
        metrics={"cnn_test_accuracy": cnn_acc, "mlp_test_accuracy": mlp_acc},
        baselines={"logreg_test_accuracy": lr_acc},
        targets=[target("cnn_test_accuracy", ">=", 0.91),
                 target("mlp_test_accuracy", ">=", 0.88),
                 target("cnn_test_accuracy", ">", "logreg_test_accuracy")],
        seconds=total.seconds,
        notes=[f"CNN {cnn.spec}: {cnn.n_iter_} epochs in {t_cnn.seconds:.0f} s "
               f"({cnn.stop_reason_})",
               f"MLP {mlp.hidden_layer_sizes}: {mlp.n_iter_} epochs in {t_mlp.seconds:.0f} s",
               f"logistic regression: {t_lr.seconds:.0f} s"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "image_recognition")


if __name__ == "__main__":
    main()
