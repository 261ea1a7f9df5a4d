"""Translation-like seq2seq: CMU dictionary spelling -> phonemes with lamina.Seq2Seq.

Metrics: phoneme error rate (PER) and word error rate (WER) on a seeded 10 % hold-out,
against a nearest-spelling lookup baseline measured in the same run.

Baseline: for each test word, the pronunciation of the training word with the smallest
Levenshtein distance in spelling (candidates: the 20 nearest by character 1-3-gram TF-IDF
cosine, ties broken by cosine). PER = total phoneme edit distance / total reference phonemes;
WER = share of words whose predicted phoneme sequence is not exactly the reference.

The full run trains on a seeded subsample of 30000 of the 113447 training words (CPU time);
the baseline looks up the same 30000 words; the hold-out is always the full seeded 10 %
(12605 words). Quick mode (tests): 2000 training words, 300 test words, a small model, 5 epochs.

Run: ``lamina recipe seq2seq [--full]`` or ``python -m recipes.seq2seq [--full]``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ._common import Timer, cli, result, target
from ._threads import single_thread

TRAIN_WORDS = 30000
MODEL: dict[str, Any] = {"emb_dim": 64, "hidden": 128, "batch_size": 128, "lr": 3e-3,
                         "epochs": 12, "patience": 2}


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance between two sequences (unit costs)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, z in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != z)))
        prev = cur
    return prev[-1]


def error_rates(pred: Sequence[Sequence[str]], ref: Sequence[Sequence[str]]) -> tuple[float,
                                                                                     float]:
    """``(PER, WER)`` of predicted phoneme sequences against the references."""
    edits = sum(edit_distance(p, r) for p, r in zip(pred, ref))
    total = sum(len(r) for r in ref)
    wrong = sum(tuple(p) != tuple(r) for p, r in zip(pred, ref))
    return edits / total, wrong / len(ref)


def nearest_spelling(train_words: list[str], train_prons: list[Any],
                     test_words: list[str], candidates: int = 20) -> list[Any]:
    """Pronunciation of the nearest training spelling (see the module docstring)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3))
    A = vec.fit_transform(train_words)
    B = vec.transform(test_words)
    out = []
    for start in range(0, len(test_words), 512):      # chunks keep the similarity block small
        sims = (B[start:start + 512] @ A.T).toarray()  # (chunk, n_train)
        top = np.argpartition(-sims, candidates, axis=1)[:, :candidates]
        for row, cand in enumerate(top):
            word = test_words[start + row]
            best = min(cand, key=lambda j: (edit_distance(word, train_words[j]),
                                            -sims[row, j]))
            out.append(train_prons[best])
    return out


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """cmudict: phoneme/word error rates of lamina.Seq2Seq vs a nearest-spelling lookup."""
    with Timer() as timer, single_thread():
        r = experiment(not full, seed)
    notes = [f"trained on {r['n_train']} of the {r['n_train_available']} training words "
             f"(seeded subsample); {r['epochs']} epochs ({r['stop_reason']}); fit "
             f"{r['fit_seconds']:.0f} s, {r['decode']} decoding {r['predict_seconds']:.0f} s, "
             f"baseline lookup {r['baseline_seconds']:.0f} s; Seq2Seq({r['params']})"]
    notes += [f"{w}: {got} (reference {want})" for w, got, want in r["examples"]]
    return result("seq2seq", full=full,
                  data=f"cmudict: {r['n_train']} training words, {r['n_test']} held-out words "
                       "(seeded 10 %)",
                  metrics={"per": r["per"], "wer": r["wer"]},
                  baselines={"per_nearest_spelling": r["per_baseline"],
                             "wer_nearest_spelling": r["wer_baseline"]},
                  targets=[target("per", "<", "per_nearest_spelling"),
                           target("wer", "<", "wer_nearest_spelling")],
                  seconds=timer.seconds, notes=notes)


def experiment(quick: bool = False, seed: int = 0, train_words: int | None = TRAIN_WORDS,
               decode: str = "greedy") -> dict[str, Any]:
    """The measurements behind :func:`run` (``quick``: 2000 training words, 300 test words,
    a small model)."""
    import numpy as np

    import lamina
    from lamina.estimators import Seq2Seq

    ds = lamina.datasets.load("cmudict")
    words, prons = list(ds.X), list(ds.y)
    order = np.random.RandomState(seed).permutation(len(words))
    n_test = len(words) // 10
    test_idx, train_idx = order[:n_test], order[n_test:]
    n_train_full = len(train_idx)
    params = dict(MODEL)
    if quick:
        train_idx, test_idx = train_idx[:2000], test_idx[:300]
        params.update(emb_dim=32, hidden=64, batch_size=64, epochs=5)
    elif train_words is not None:
        train_idx = train_idx[:train_words]
    tr_w, tr_p = [words[i] for i in train_idx], [prons[i] for i in train_idx]
    te_w, te_p = [words[i] for i in test_idx], [prons[i] for i in test_idx]

    t0 = time.perf_counter()
    base = nearest_spelling(tr_w, tr_p, te_w)
    base_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = Seq2Seq(random_state=seed, decode=decode, **params).fit(tr_w, tr_p)
    fit_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = model.predict(te_w)
    predict_seconds = time.perf_counter() - t0
    per, wer = error_rates(pred, te_p)
    base_per, base_wer = error_rates(base, te_p)
    return {"n_train": len(tr_w), "n_train_available": n_train_full, "n_test": len(te_w),
            "per": per, "wer": wer, "per_baseline": base_per, "wer_baseline": base_wer,
            "epochs": model.n_iter_, "stop_reason": model.stop_reason_,
            "fit_seconds": fit_seconds, "predict_seconds": predict_seconds,
            "baseline_seconds": base_seconds, "params": params, "decode": decode,
            "examples": [(w, " ".join(p), " ".join(r))
                         for w, p, r in zip(te_w[:5], pred[:5], te_p[:5])]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "seq2seq")


if __name__ == "__main__":
    main()
