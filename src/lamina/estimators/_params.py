"""Declarative validation of the sklearn MLP parameters (run in ``fit``, never in ``__init__``)."""

from __future__ import annotations

import numbers
from typing import Any

from .._errors import ParameterError
from .._validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    resolve_device,
    resolve_dtype,
)
from ..spec import ACTIVATION_ALIASES, ACTIVATIONS, DenseSpec, HiddenSpec, parse_spec
from ._scaling import check_scale

SOLVERS = ("sgd", "adam", "lbfgs", "adamw", "rmsprop", "adagrad")
LEARNING_RATES = ("constant", "invscaling", "adaptive", "cosine")


def validate_params(est: Any) -> dict[str, Any]:
    """Check every parameter of an MLP estimator; return the resolved values."""
    p: dict[str, Any] = {}
    p["activation"] = check_choice("activation", est.activation,
                                   ACTIVATIONS + tuple(ACTIVATION_ALIASES))
    p["activation"] = ACTIVATION_ALIASES.get(p["activation"], p["activation"])
    p["spec"] = parse_spec(est.hidden_layer_sizes, param="hidden_layer_sizes",
                           activation=p["activation"], init="sklearn")
    other = [layer.kind for layer in p["spec"].layers if not isinstance(layer, DenseSpec)]
    if other:
        raise ParameterError("hidden_layer_sizes", est.hidden_layer_sizes,
                             f"dense layers only ({type(est).__name__} reads flat rows of "
                             f"features; this spec holds {', '.join(dict.fromkeys(other))} "
                             "layers)", "For images use lamina.ImageClassifier(spec=...), for "
                             "sequences SequenceClassifier, for raw text TextClassifier.")
    p["solver"] = check_choice("solver", est.solver, SOLVERS)
    p["alpha"] = check_float("alpha", est.alpha, 0.0, None)
    if isinstance(est.batch_size, str):
        if est.batch_size != "auto":
            raise ParameterError("batch_size", est.batch_size, "'auto' or an integer >= 1",
                                 "Pass batch_size='auto' or e.g. batch_size=256.")
        p["batch_size"] = "auto"
    else:
        p["batch_size"] = check_int("batch_size", est.batch_size, 1)
    p["learning_rate"] = check_choice("learning_rate", est.learning_rate, LEARNING_RATES)
    p["learning_rate_init"] = check_float("learning_rate_init", est.learning_rate_init, 0.0, None,
                                          low_open=True)
    p["power_t"] = check_float("power_t", est.power_t, 0.0, None)
    p["max_iter"] = check_int("max_iter", est.max_iter, 1)
    p["shuffle"] = check_bool("shuffle", est.shuffle)
    p["tol"] = check_float("tol", est.tol, 0.0, None)
    p["verbose"] = bool(est.verbose) if isinstance(est.verbose, (bool, numbers.Integral)) \
        else check_bool("verbose", est.verbose)
    p["warm_start"] = check_bool("warm_start", est.warm_start)
    p["momentum"] = check_float("momentum", est.momentum, 0.0, 1.0)
    p["nesterovs_momentum"] = check_bool("nesterovs_momentum", est.nesterovs_momentum)
    p["early_stopping"] = check_bool("early_stopping", est.early_stopping)
    p["validation_fraction"] = check_float("validation_fraction", est.validation_fraction, 0.0,
                                           1.0, low_open=True, high_open=True)
    p["beta_1"] = check_float("beta_1", est.beta_1, 0.0, 1.0, high_open=True)
    p["beta_2"] = check_float("beta_2", est.beta_2, 0.0, 1.0, high_open=True)
    p["epsilon"] = check_float("epsilon", est.epsilon, 0.0, None, low_open=True)
    p["n_iter_no_change"] = check_int("n_iter_no_change", est.n_iter_no_change, 1)
    p["max_fun"] = check_int("max_fun", est.max_fun, 1)
    p["device"] = resolve_device(est.device)
    p["dtype"] = resolve_dtype(est.dtype)
    p["scale"] = check_scale(getattr(est, "scale", None))
    return p


def spec_of(est: Any) -> HiddenSpec:
    return validate_params(est)["spec"]
