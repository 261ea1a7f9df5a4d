"""How the autoencoder recipe's anomaly detector was chosen: on Fashion-MNIST *training* images
only (the test file is never read).

Protocol: the 60 000 training images shuffled with ``RandomState(0)``; the first ``--fit``
images are the training set (minus the held-out class c, with their labels), the next
``--score`` images are scored, and the AUROC of "is class c" is averaged over the 10 choices
of c. For each c one CNN (the image recipe's spec, 8 epochs, cosine schedule, no early
stopping) and one 32-D autoencoder (the recipe's) are trained; the scores compared:

* ``knn k=K``: ``HiddenKNNDetector(normalize=None)``, mean cosine distance to the K nearest
  training vectors of the CNN's last hidden layer;
* ``knn k=K / class``: the same divided by the predicted class's median calibration distance
  (``normalize="class"``, 10 % of each class held back from the reference set);
* ``max-softmax``: minus the CNN's top class probability;
* ``reconstruction``: the autoencoder's reconstruction error.

Run (one process per group of classes, one torch thread each; ~4 min per class at 48 000):
    OMP_NUM_THREADS=1 .venv/bin/python bench/anomaly_validation.py --fit 48000 --score 12000 \
        --classes 0,2,4,6,8 --out /tmp/val_a.json
then ``--merge /tmp/val_a.json /tmp/val_b.json`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

import lamina
from lamina.estimators import Autoencoder, HiddenKNNDetector, ImageClassifier

CNN = "conv(32,3):norm=batch-pool-conv(64,3):norm=batch-pool-dense(128):dropout=0.3"


def held_out_class(c: int, X: np.ndarray, y: np.ndarray, Xs: np.ndarray, ys: np.ndarray
                   ) -> dict[str, float]:
    """AUROC of every score for held-out class ``c``."""
    known = y != c
    images, images_s = X.reshape(-1, 1, 28, 28), Xs.reshape(-1, 1, 28, 28)
    cnn = ImageClassifier(CNN, epochs=8, batch_size=128, lr=2e-3, schedule="cosine",
                          early_stopping=False, random_state=0).fit(images[known], y[known])
    is_c = ys == c
    aucs: dict[str, float] = {}
    for k in (5, 10, 20):
        for normalize in (None, "class"):
            det = HiddenKNNDetector(cnn, n_neighbors=k, normalize=normalize, prefit=True,
                                    random_state=1).fit(images[known], y[known])
            name = f"knn k={k}" + (" / class" if normalize else "")
            aucs[name] = roc_auc_score(is_c, -det.score_samples(images_s))
    aucs["max-softmax"] = roc_auc_score(is_c, -cnn.predict_proba(images_s).max(axis=1))
    ae = Autoencoder("256-64", bottleneck=32, scale="none", output_activation="sigmoid",
                     epochs=12, batch_size=256, lr=2e-3, patience=3, random_state=0)
    aucs["reconstruction"] = roc_auc_score(is_c, -ae.fit(X[known]).score_samples(Xs))
    return aucs


def merge(paths: list[str]) -> None:
    per_class: dict[int, dict[str, float]] = {}
    for p in paths:
        with open(p) as f:
            per_class.update({int(c): v for c, v in json.load(f)["aucs"].items()})
    classes = sorted(per_class)
    names = sorted(per_class[classes[0]], key=lambda n: -np.mean([per_class[c][n]
                                                                   for c in classes]))
    print("| score | mean AUROC | " + " | ".join(str(c) for c in classes) + " |")
    print("|---|---|" + "---|" * len(classes))
    for n in names:
        vals = [per_class[c][n] for c in classes]
        print(f"| {n} | {np.mean(vals):.3f} | " + " | ".join(f"{v:.2f}" for v in vals) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fit", type=int, default=48000)
    ap.add_argument("--score", type=int, default=12000)
    ap.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--out", default=None, help="write the per-class AUROCs as JSON")
    ap.add_argument("--merge", nargs="+", default=None, help="print the table of JSON files")
    args = ap.parse_args()
    if args.merge:
        merge(args.merge)
        return
    torch.set_num_threads(1)
    ds = lamina.datasets.load("fashion_mnist")
    order = np.random.RandomState(0).permutation(len(ds.X))
    fit, scored = order[:args.fit], order[args.fit:args.fit + args.score]
    X, y, Xs, ys = ds.X[fit], ds.y[fit], ds.X[scored], ds.y[scored]
    out: dict[str, Any] = {"fit": args.fit, "score": args.score, "aucs": {}}
    for c in (int(v) for v in args.classes.split(",")):
        t = time.perf_counter()
        out["aucs"][c] = held_out_class(c, X, y, Xs, ys)
        best = max(out["aucs"][c].items(), key=lambda kv: kv[1])
        print(f"class {c}: {time.perf_counter() - t:.0f} s, best {best[0]} {best[1]:.3f}",
              flush=True)
        if args.out:
            with open(args.out, "w") as f:
                json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
