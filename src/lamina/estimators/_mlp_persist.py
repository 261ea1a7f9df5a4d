"""Run-directory (de)serialisation of the MLP estimators' fitted state."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.preprocessing import LabelBinarizer

from .._errors import RunDirError
from ..nn import HiddenNet
from ._classifier import MLPClassifier
from ._inference import DenseInference
from ._persist import register_estimator
from ._regressor import MLPRegressor

_COMMON = ("n_features_in_", "n_iter_", "t_", "loss_", "best_loss_", "loss_curve_",
           "validation_scores_", "best_validation_score_", "n_layers_", "n_outputs_",
           "out_activation_", "stop_reason_", "engine_")


def _to_config(est: Any) -> dict[str, Any]:
    fitted: dict[str, Any] = {k: getattr(est, k, None) for k in _COMMON}
    fitted["_loss"] = est._loss
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(f) for f in est.feature_names_in_]
    if hasattr(est, "scale_mean_"):   # already folded into the weights; kept for warm starts
        fitted["scale_mean_"] = est.scale_mean_.tolist()
        fitted["scale_std_"] = est.scale_std_.tolist()
    if isinstance(est, MLPClassifier):
        classes = est.classes_
        fitted["classes_"] = classes.tolist()
        fitted["classes_dtype"] = classes.dtype.str if classes.dtype != object else "object"
        fitted["multilabel"] = bool(est._multilabel)
    else:
        fitted["y_1d"] = bool(est._y_1d)
    return fitted


def _from_config(config: dict[str, Any], weights: dict[str, torch.Tensor]) -> Any:
    cls = MLPClassifier if config["estimator"] == "MLPClassifier" else MLPRegressor
    params = dict(config["params"])
    if isinstance(params.get("hidden_layer_sizes"), list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    est = cls(**params)
    net = HiddenNet.from_config(config["network"])
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != got:
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        wrong = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
        raise RunDirError(f"weights.safetensors does not fit the network in config.json "
                          f"(missing {missing}, unexpected {extra}, wrong shapes {wrong}).")
    dtype = next(iter(weights.values())).dtype if weights else torch.float32
    net = net.to(dtype=dtype)
    net.load_state_dict(weights)
    net.eval()
    est.module_ = net
    est._fast = DenseInference()
    fitted = config["fitted"]
    for key in _COMMON:
        setattr(est, key, fitted.get(key))
    est._loss = fitted["_loss"]
    n_out = net.head.out_features if net.head is not None else 0
    known = {"cross_entropy": "softmax", "binary_cross_entropy": "logistic"} \
        if cls is MLPClassifier else {"half_mse": "identity", "poisson": "exp"}
    if known.get(est._loss) != est.out_activation_ or est.n_outputs_ != n_out:
        raise RunDirError(f"config.json's loss {est._loss!r}, n_outputs_ {est.n_outputs_!r} or "
                          f"out_activation_ {est.out_activation_!r} do not fit a {cls.__name__}"
                          f" with {n_out} outputs; the run directory was changed or is corrupt.")
    if fitted.get("feature_names_in_") is not None:
        est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    if fitted.get("scale_mean_") is not None:
        est.scale_mean_ = np.asarray(fitted["scale_mean_"], dtype=np.float64)
        est.scale_std_ = np.asarray(fitted["scale_std_"], dtype=np.float64)
        if est.scale_mean_.shape != (est.n_features_in_,) or est.scale_std_.shape != \
                est.scale_mean_.shape or not (est.scale_std_ > 0).all():
            raise RunDirError("config.json's scale_mean_/scale_std_ do not fit the "
                              f"{est.n_features_in_} input features (or a spread is not "
                              "positive); the run directory was changed or is corrupt.")
    if cls is MLPClassifier:
        dt = fitted["classes_dtype"]
        classes = np.asarray(fitted["classes_"], dtype=object if dt == "object" else np.dtype(dt))
        est.classes_ = classes
        est._multilabel = fitted["multilabel"]
        encoded = np.eye(len(classes), dtype=int) if est._multilabel else classes
        lb = LabelBinarizer().fit(encoded)
        # the head's width as the binarizer encodes these classes (one unit for two classes)
        if len(lb.classes_) != len(classes) or lb.transform(encoded).shape[1] != n_out:
            raise RunDirError(f"config.json's classes_ {classes.tolist()[:10]!r} do not fit "
                              f"the network's {n_out} outputs (or repeat a label); the run "
                              "directory was changed or is corrupt.")
        est._label_binarizer = lb
    else:
        est._y_1d = fitted["y_1d"]
    return est


register_estimator(MLPClassifier, _to_config, _from_config)
register_estimator(MLPRegressor, _to_config, _from_config)
