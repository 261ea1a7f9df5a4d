"""Transfer: hidden layers trained on Fashion-MNIST classes 0-4 reused for classes 5-9.

Data: Fashion-MNIST (Debian ``dataset-fashion-mnist``). Source task: every training image of
classes 0-4 (t-shirt, trouser, pullover, dress, coat), learned by ``lamina.ImageClassifier``.
Target task: classes 5-9 (sandal, shirt, sneaker, bag, ankle boot) with only 100 labelled
training images per class. Two networks with the same spec and the same training (Adam,
fixed epochs, no early stopping: there are too few labels to spare a validation split) are
trained on those 500 images: one whose hidden layers ``hidden.0 ..`` start from the source
network's (the head is new: 5 outputs), and one from scratch. Both are scored on every test
image of classes 5-9, for several seeded draws of the 100 labels per class. Baseline: the
from-scratch network. Target: reuse beats scratch by >= 5 points of mean accuracy. Also
reported: a frozen variant (the source conv blocks fixed as a feature extractor, only the last
hidden layer and the head trained), declared before any run as secondary, and the ceiling: the
same network trained like the source on every labelled training image of classes 5-9 (how much
room above the from-scratch network there is at all).
"""

from __future__ import annotations

from typing import Any

from ._common import Timer, cli, result, target

FULL_SPEC = ("conv(32,3,1,same):norm=batch-pool-conv(64,3,1,same):norm=batch-pool-"
             "dense(128):dropout=0.3")
QUICK_SPEC = "conv(8,3,1,same):norm=batch-pool-conv(16,3,1,same):norm=batch-pool-dense(32)"


def draw_labels(y: Any, classes: Any, per_class: int, seed: int) -> Any:
    """Indices of ``per_class`` seeded random images of each class in ``classes``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                                   for c in classes]))


def train_target(spec: str, X: Any, y: Any, source: Any, seed: int, epochs: int) -> Any:
    """A network for the target classes; its hidden layers start from ``source`` if given."""
    import lamina

    net = lamina.build(spec, in_shape=(1, 28, 28), out=5, seed=seed)
    if source is not None:
        hidden = {k: v for k, v in source.state_dict().items() if k.startswith("hidden.")}
        missing, unexpected = net.load_state_dict(hidden, strict=False)
        assert not unexpected and all(k.startswith("head.") for k in missing), missing
    lamina.Trainer(net, loss="cross_entropy", optimizer="adam", lr=1e-3, batch_size=32,
                   stop=[lamina.MaxEpochs(epochs)], seed=seed, verbose=False).fit((X, y))
    return net


def frozen_features(source: Any, X: Any) -> Any:
    """Outputs of the source network's hidden layers before its last one (the conv blocks),
    in eval mode: fixed features for the frozen variant."""
    import torch

    source.eval()
    with torch.no_grad():
        parts = []
        for i in range(0, len(X), 2048):
            h = torch.from_numpy(X[i:i + 2048])
            for layer in source.hidden[:-1]:
                h = layer(h)
            parts.append(h.flatten(1))
    return torch.cat(parts).numpy()


def train_head(spec: str, F: Any, y: Any, seed: int, epochs: int) -> Any:
    """The spec's last hidden layer and a new head, trained on frozen features ``F``."""
    import lamina
    from lamina.spec import HiddenSpec, parse_spec

    last = HiddenSpec(parse_spec(spec).layers[-1:])
    net = lamina.build(last, in_features=F.shape[1], out=5, seed=seed)
    lamina.Trainer(net, loss="cross_entropy", optimizer="adam", lr=1e-3, batch_size=32,
                   stop=[lamina.MaxEpochs(epochs)], seed=seed, verbose=False).fit((F, y))
    return net


def accuracy(net: Any, X: Any, y: Any) -> float:
    import torch

    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(torch.from_numpy(X[i:i + 2048])).argmax(1)
                          for i in range(0, len(X), 2048)])
    return float((pred.numpy() == y).mean())


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fashion-MNIST 0-4 -> 5-9 with 100 labels per class: reused hidden layers vs scratch."""
    import numpy as np

    import lamina
    from lamina.estimators import ImageClassifier

    ds = lamina.datasets.load("fashion_mnist", n_samples=None if full else 3000, seed=seed)
    shape = ds.image_shape
    X, y = ds.X.reshape(-1, *shape), ds.y
    X_test, y_test = ds.X_test.reshape(-1, *shape), ds.y_test
    source_classes, target_classes = np.arange(5), np.arange(5, 10)
    spec = FULL_SPEC if full else QUICK_SPEC
    per_class = 100 if full else 20
    draws = 3 if full else 1
    epochs = 30 if full else 10
    with Timer() as total:
        in_source = np.isin(y, source_classes)
        with Timer() as t_source:
            source = ImageClassifier(spec, epochs=6 if full else 3, batch_size=128, lr=2e-3,
                                     schedule="cosine", random_state=seed)
            source.fit(X[in_source], y[in_source])
        # both target networks see inputs normalised as the source network saw them
        mean = float(source.channel_mean_[0])
        std = float(source.channel_std_[0])
        test_mask = np.isin(y_test, target_classes)
        Xt = ((X_test[test_mask] - mean) / std).astype(np.float32)
        yt = y_test[test_mask] - 5
        reuse, scratch, frozen = [], [], []
        F_test = frozen_features(source.module_, Xt)
        for d in range(draws):
            idx = draw_labels(y, target_classes, per_class, seed + d)
            Xl = ((X[idx] - mean) / std).astype(np.float32)
            yl = (y[idx] - 5).astype(np.int64)
            net_seed = seed * 100 + d
            reuse.append(accuracy(train_target(spec, Xl, yl, source.module_, net_seed, epochs),
                                  Xt, yt))
            scratch.append(accuracy(train_target(spec, Xl, yl, None, net_seed, epochs), Xt, yt))
            head = train_head(spec, frozen_features(source.module_, Xl), yl, net_seed, epochs)
            frozen.append(accuracy(head, F_test, yt))
        # the ceiling: the same network trained like the source on every labelled training
        # image of classes 5-9; reuse with 100 labels per class can approach it, not pass it
        in_target = np.isin(y, target_classes)
        with Timer() as t_ceiling:
            ceiling = ImageClassifier(spec, epochs=6 if full else 3, batch_size=128, lr=2e-3,
                                      schedule="cosine", random_state=seed)
            ceiling.fit(X[in_target], y[in_target])
        ceiling_acc = ceiling.score(X_test[test_mask], y_test[test_mask])
    gain = float(np.mean(reuse) - np.mean(scratch))
    return result(
        "transfer", full=full,
        data=f"fashion_mnist: source classes 0-4 ({int(in_source.sum())} images), target "
             f"classes 5-9 with {per_class} labels per class ({draws} seeded draws), "
             f"{len(yt)} target test images",
        metrics={"reuse_test_accuracy": float(np.mean(reuse)), "gain_points": 100 * gain,
                 "frozen_reuse_test_accuracy": float(np.mean(frozen)),
                 "frozen_gain_points": 100 * float(np.mean(frozen) - np.mean(scratch)),
                 "source_test_accuracy": source.score(X_test[np.isin(y_test, source_classes)],
                                                      y_test[np.isin(y_test, source_classes)])},
        baselines={"scratch_test_accuracy": float(np.mean(scratch)),
                   "all_labels_test_accuracy": ceiling_acc},
        targets=[target("gain_points", ">=", 5.0)],
        seconds=total.seconds,
        notes=[f"spec {spec}; target nets: Adam lr 1e-3, batch 32, {epochs} epochs",
               "per draw reuse / frozen / scratch: " + ", ".join(
                   f"{r:.3f}/{f:.3f}/{s:.3f}" for r, f, s in zip(reuse, frozen, scratch)),
               "primary variant (the target): reuse = fine-tune every layer from the source "
               "weights; frozen = source conv blocks fixed, last hidden layer + head trained",
               f"source network: {source.n_iter_} epochs in {t_source.seconds:.0f} s",
               f"ceiling: the same network on all {int(in_target.sum())} labelled training "
               f"images of classes 5-9 reaches {ceiling_acc:.4f} ({ceiling.n_iter_} epochs in "
               f"{t_ceiling.seconds:.0f} s), so a gain over scratch is at most "
               f"{100 * (ceiling_acc - float(np.mean(scratch))):.1f} points unless {per_class} "
               "labels per class beat all of them"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "transfer")


if __name__ == "__main__":
    main()
