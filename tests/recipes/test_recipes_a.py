"""Quick runs of the image, medical, speech, text, autoencoder and transfer recipes: each must
learn (floors far above chance) and report against its baseline. Full-data results are in
docs/benchmarks/recipes_a.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:      # `recipes` is a top-level package of the source tree
    sys.path.insert(0, str(ROOT))

from recipes._common import format_result  # noqa: E402

from recipes import (  # noqa: E402
    autoencoder,
    image_recognition,
    medical_diagnosis,
    speech_recognition,
    text_classification,
    transfer,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _check_record(res: dict, name: str) -> None:  # type: ignore[type-arg]
    assert res["recipe"] == name and res["full"] is False
    assert res["metrics"] and res["baselines"] and res["targets"]
    json.dumps(res)                                          # result.json must be writable
    assert name in format_result(res)


def test_medical_diagnosis() -> None:
    res = medical_diagnosis.run(full=False, seed=0)
    _check_record(res, "medical_diagnosis")
    m, b = res["metrics"], res["baselines"]
    # written: MLP 0.977 (sens 0.967, spec 0.983), logistic regression 0.979
    assert m["mlp_accuracy"] > 0.94 and m["mlp_sensitivity"] > 0.9
    assert m["mlp_specificity"] > 0.9 and b["logreg_accuracy"] > 0.94


def test_speech_recognition() -> None:
    res = speech_recognition.run(full=False, seed=0)
    _check_record(res, "speech_recognition")
    # written: GRU 0.90 on 100 held-out recordings (chance 0.1), bag of frames 0.87
    assert res["metrics"]["gru_test_accuracy"] > 0.75


@pytest.mark.slow
def test_image_recognition() -> None:
    res = image_recognition.run(full=False, seed=0)
    _check_record(res, "image_recognition")
    m = res["metrics"]
    # written: CNN 0.775 after 4 epochs on 1080 images, MLP 0.81, logistic regression 0.83
    assert m["cnn_test_accuracy"] > 0.6 and m["mlp_test_accuracy"] > 0.65


@pytest.mark.slow
def test_text_classification() -> None:
    res = text_classification.run(full=False, seed=0)
    _check_record(res, "text_classification")
    m, b = res["metrics"], res["baselines"]
    # written: 0.776 vs majority class 0.656 and TF-IDF + logistic regression 0.748
    assert m["text_classifier_test_accuracy"] > b["majority_class_test_accuracy"] + 0.05


@pytest.mark.slow
def test_autoencoder() -> None:
    res = autoencoder.run(full=False, seed=0)
    _check_record(res, "autoencoder")
    m = res["metrics"]
    # written: 2-D MSE 0.041 (PCA 0.044), 32-D 0.028; AUROC over classes 1 and 8: hidden-layer
    # 10-NN (class-normalised) 0.908, autoencoder 0.863
    assert m["ae2_test_mse"] < 0.06 and m["ae32_test_mse"] < m["ae2_test_mse"]
    assert m["anomaly_mean_auroc"] > 0.75 and m["ae_anomaly_mean_auroc"] > 0.7


@pytest.mark.slow
def test_transfer() -> None:
    res = transfer.run(full=False, seed=0)
    _check_record(res, "transfer")
    m, b = res["metrics"], res["baselines"]
    # written: reuse 0.820, scratch 0.796 with 20 labels per class, source 0.840; the same
    # network on all 1500 target images (the ceiling) 0.888
    assert m["reuse_test_accuracy"] > 0.7 and b["scratch_test_accuracy"] > 0.6
    assert m["source_test_accuracy"] > 0.7
    assert b["all_labels_test_accuracy"] > b["scratch_test_accuracy"] + 0.03
