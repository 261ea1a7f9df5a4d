"""Shared machinery of the MLP estimators: sklearn's parameters and fitted attributes over a
lamina ``HiddenNet`` trained by :class:`~lamina.train.Trainer` (explicit engine when possible)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import column_or_1d, validate_data

from .._errors import DataError, NotFittedError, ParameterError
from .._validation import (
    available_bytes,
    check_epsilon_fits_dtype,
    check_random_state_param,
    format_bytes,
)
from ..nn import DenseLayer, HiddenNet, build
from ..spec import OptimizerSpec
from ..train import (
    History,
    IterationLog,
    LossTolerance,
    MaxEpochs,
    Progress,
    Schedule,
    Trainer,
    check_sample_weight,
    readable_tensor,
)
from ._arrays import check_fits_model, first_nonfinite
from ._inference import DenseInference, plain_rows
from ._params import validate_params
from ._scaling import first_affine, fold, standard_stats

_PREDICT_BATCH = 16384


class BaseMLP(BaseEstimator):
    """Base of :class:`MLPClassifier` and :class:`MLPRegressor` (not for direct use)."""

    _loss: str = "half_mse"
    _y_numeric: bool = True  # regressors coerce object targets to float, as sklearn does

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 device: Any = "cpu", dtype: Any = "float32", scale: str | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.device = device
        self.dtype = dtype
        self.scale = scale

    # ----------------------------------------------------------- subclass hooks
    def _encode_y(self, y: np.ndarray, incremental: bool, classes: Any = None) -> np.ndarray:
        raise NotImplementedError

    def _check_continued_y(self, y: np.ndarray) -> None:
        """Refuse targets a warm_start ``fit`` cannot continue the fitted model on (called
        before anything changes)."""

    def _validation_y(self, y: np.ndarray) -> np.ndarray:
        return y

    # ----------------------------------------------------------- data checks
    def _check_X(self, X: Any, reset: bool, y: Any = None) -> Any:
        # sparse rows are accepted as sklearn's MLPs accept them, and made dense (the network's
        # first GEMM reads dense rows) when that fits in memory
        kw: dict[str, Any] = {"accept_sparse": ("csr", "csc", "coo"),
                              "dtype": (np.float64, np.float32), "reset": reset}
        try:
            if y is None:
                return _dense(validate_data(self, X, **kw))
            X, y = validate_data(self, X, y, multi_output=True, y_numeric=self._y_numeric, **kw)
            return _dense(X), y
        except ValueError as err:
            raise DataError(_with_fix(str(err), X)) from None

    def _check_fits(self, X: np.ndarray, dtype: torch.dtype) -> None:
        """The network reads the raw columns (``scale="standard"`` is folded into its first
        layer), so a finite value beyond ``dtype``'s range (1e300 for float32 weights) would
        become inf: refuse it by row and column rather than report NaN/inf in finite data."""
        check_fits_model(X, dtype, columns=getattr(self, "feature_names_in_", None))

    def _model_dtype(self) -> torch.dtype:
        return next(self.module_.parameters()).dtype

    def _to_tensor(self, X: np.ndarray) -> torch.Tensor:
        p = next(self.module_.parameters())
        return readable_tensor(np.ascontiguousarray(X)).to(device=p.device, dtype=p.dtype)

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator (predict, score, coefs_, ...).")

    # ----------------------------------------------------------- fitting
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BaseMLP:
        """Fit the network to ``X`` (n_samples, n_features) and targets ``y``.

        ``sample_weight`` (n_samples,) weighs each sample's loss exactly as sklearn does: every
        mini-batch minimises ``np.average(loss, weights=w) + alpha/2 * sum(W**2) / sum(w)``,
        and with ``early_stopping`` the weights are split with the data and weigh the
        validation score. Weighted fits train on the autograd path (``engine_ == "autograd"``).
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None,
             sample_weight: Any = None) -> BaseMLP:
        p = validate_params(self)
        if y is None:
            raise DataError(f"{type(self).__name__} requires y to be passed, but the target y is "
                            "None. Pass the labels/targets as fit(X, y).")
        first = not (incremental and hasattr(self, "module_"))
        continued = hasattr(self, "module_") and (incremental or p["warm_start"])
        model_dtype = self._model_dtype() if continued else p["dtype"]
        # before anything changes: an epsilon the model's half dtype rounds to 0 would diverge
        check_epsilon_fits_dtype(p["solver"], p["epsilon"], model_dtype)
        # a continued model keeps its columns (sklearn: reset only on a first fit)
        X, y = self._check_X(X, reset=not continued, y=y)
        self._check_fits(X, model_dtype)
        sw = None if sample_weight is None else check_sample_weight(sample_weight, X.shape[0])
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if continued and not incremental:
            self._check_continued_y(y)
        Y = self._encode_y(y, incremental=not first, classes=classes)
        n_samples = X.shape[0]
        if incremental and p["early_stopping"]:
            raise DataError("partial_fit does not support early_stopping=True; set "
                            "early_stopping=False or use fit().")
        reuse = continued           # the fitted network trains on (else a fresh one is built)
        if not hasattr(self, "_rng") or not reuse:
            self._rng = check_random_state_param(self.random_state)
        rng = self._rng
        X = self._standardize(X, p["scale"], reuse, sw)
        if not reuse:
            # a fresh fit that fails leaves no model behind (never an untrained one that
            # predicts); the seed is drawn first, as sklearn initialises before splitting
            self.__dict__.pop("module_", None)
            seed = int(rng.randint(0, 2**31 - 1))
        X_val = y_val = sw_val = None
        if p["early_stopping"]:
            # sklearn stratifies the split only when there is one output column (binary)
            stratify = y if self._stratify() and Y.shape[1] == 1 else None
            # the weights are split with the data, as sklearn's train_test_split(X, y, sw)
            # (one more array does not change the split: unweighted fits see the same rows)
            arrays = (X, Y) if sw is None else (X, Y, sw)
            try:
                parts = train_test_split(*arrays, random_state=rng,
                                         test_size=p["validation_fraction"], stratify=stratify)
            except ValueError as err:   # e.g. fewer validation rows than classes (stratified)
                raise DataError(f"early_stopping=True could not split off validation_fraction="
                                f"{p['validation_fraction']} of the {n_samples} samples: {err}. "
                                "Increase validation_fraction, add data, or set "
                                "early_stopping=False.") from None
            X, X_val, Y, y_val = parts[:4]
            if sw is not None:
                sw, sw_val = parts[4], parts[5]
            if X_val.shape[0] < 2:
                raise DataError("The validation set is too small: validation_fraction="
                                f"{p['validation_fraction']} of {n_samples} samples leaves "
                                f"{X_val.shape[0]}. Increase validation_fraction or add data.")
            if sw is not None and sw_val is not None:
                _check_split_weights(sw, sw_val, p["validation_fraction"])
        first_layer = None      # with scale: the layer the standardisation is folded into
        if not reuse:
            net = build(p["spec"], in_features=X.shape[1], out=Y.shape[1], init="sklearn",
                        activation=p["activation"], seed=seed, dtype=p["dtype"],
                        device=p["device"])
            if p["scale"] is not None:   # refused before the untrained network is kept
                first_layer = first_affine(net, str(self.hidden_layer_sizes))
            self.module_ = net
            self.history_ = History()
            self.t_ = 0
            self._best_loss = np.inf
        n_train = X.shape[0]
        if p["batch_size"] == "auto":
            batch = min(200, n_train)
        else:
            if p["batch_size"] > n_train:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", stacklevel=2)
            batch = int(np.clip(p["batch_size"], 1, n_train))
        if p["solver"] == "lbfgs":
            batch = n_train
        trainer = getattr(self, "_trainer", None) if incremental and reuse else None
        if trainer is None:
            trainer = self._make_trainer(p, batch, incremental, rng)
            self._trainer: Trainer | None = trainer
        loss_y = Y if self._loss != "cross_entropy" else Y.argmax(1)
        val = None
        if X_val is not None and y_val is not None:
            val = (X_val, y_val if self._loss != "cross_entropy" else y_val.argmax(1))
        if p["scale"] is not None and reuse:   # back to the standardised space it trains in
            first_layer = first_affine(self.module_, str(self.hidden_layer_sizes))
            fold(first_layer, self.scale_mean_, self.scale_std_, inverse=True)
        try:
            history = trainer.fit((X, loss_y), val, history=self.history_ if reuse else None,
                                  keep_optimizer=incremental, sample_weight=sw,
                                  val_sample_weight=sw_val)
        except BaseException:
            if not reuse:                  # half a fresh fit is no model
                self.__dict__.pop("module_", None)
            raise
        finally:
            if first_layer is not None:
                fold(first_layer, self.scale_mean_, self.scale_std_)
        self.history_ = history
        self.stop_reason_ = history.stop_reason
        self.module_.eval()  # a fitted estimator's module is a predictor (no dropout)
        self._fast = DenseInference()  # made here: predict must not add attributes
        self.engine_ = trainer.engine_used_
        self._set_fitted_attributes(p, history, trainer)
        warn_diverged(history.stop_reason)
        if not incremental:
            self._trainer = None  # only partial_fit continues an optimizer
            if history.stop_reason.startswith("reached max_epochs"):
                what = ("lbfgs failed to converge" if p["solver"] == "lbfgs" else
                        "Stochastic Optimizer: Maximum iterations")
                warnings.warn(f"{what} ({p['max_iter']} iterations reached) and the optimization "
                              "hasn't converged yet.", ConvergenceWarning, stacklevel=2)
            elif history.stop_reason.startswith("L-BFGS used its max_fun"):   # as sklearn
                warnings.warn(f"lbfgs failed to converge (max_fun={p['max_fun']} function "
                              "evaluations reached) and the optimization hasn't converged yet. "
                              "Increase max_fun or max_iter, or scale the data.",
                              ConvergenceWarning, stacklevel=2)
        return self

    def _standardize(self, X: np.ndarray, scale: str | None, reuse: bool,
                     sw: np.ndarray | None) -> np.ndarray:
        """``X`` in the space the network trains in (see ``_scaling``); a fresh fit with
        ``scale="standard"`` measures the column statistics first."""
        fitted = hasattr(self, "scale_mean_")
        if reuse and fitted != (scale is not None):
            was = "'standard'" if fitted else "None"
            raise ParameterError("scale", scale, f"the fitted model's scale ({was}) when "
                                 "warm_start or partial_fit continue its training",
                                 f"Set scale={was}, or fit anew with warm_start=False.")
        if scale is None:
            if not reuse:
                for name in ("scale_mean_", "scale_std_"):
                    self.__dict__.pop(name, None)
            return X
        if not reuse:
            self.scale_mean_, self.scale_std_ = standard_stats(X, sw)
        return (X - self.scale_mean_) / self.scale_std_

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_trainer", None)  # holds a torch.Generator and buffers: not part of the model
        return state

    def _make_trainer(self, p: dict[str, Any], batch: int, incremental: bool,
                      rng: np.random.RandomState) -> Trainer:
        solver = p["solver"]
        # as sklearn, L-BFGS ignores learning_rate_init (and learning_rate): its line search
        # tries the unit quasi-Newton step first, as scipy's does, so max_fun evaluations
        # buy as many iterations as sklearn's
        lr = 1.0 if solver == "lbfgs" else p["learning_rate_init"]
        opt = OptimizerSpec(solver, lr=lr, momentum=p["momentum"],
                            nesterov=p["nesterovs_momentum"], beta1=p["beta_1"],
                            beta2=p["beta_2"], eps=p["epsilon"], alpha=p["alpha"])
        schedule = "constant"
        if solver == "sgd" and p["learning_rate"] in ("invscaling", "adaptive"):
            schedule = p["learning_rate"]
        elif p["learning_rate"] == "cosine" and solver != "lbfgs":
            schedule = "cosine"
        epochs = 1 if incremental else p["max_iter"]
        stop: list[Any] = [MaxEpochs(epochs)]
        if not incremental:
            stop.append(LossTolerance(
                p["tol"], p["n_iter_no_change"],
                monitor="val_score" if p["early_stopping"] else "train_loss",
                adaptive_lr=(schedule == "adaptive"), restore_best=p["early_stopping"]))
        # verbose: sklearn's lines (IterationLog), and on a terminal a bar without the losses
        # they already print; the Trainer's own progress output is off
        callbacks: list[Any] = []
        if p["verbose"]:
            callbacks = [Progress(epochs, details=False),
                         IterationLog(p["tol"], p["n_iter_no_change"],
                                      early_stopping=p["early_stopping"] and not incremental,
                                      adaptive=schedule == "adaptive")]
        return Trainer(self.module_, loss=self._loss, optimizer=opt, batch_size=batch,
                       stop=stop, callbacks=callbacks,
                       schedule=Schedule(schedule, lr0=lr,
                                         power_t=p["power_t"], t_max=p["max_iter"]),
                       metrics=[self._val_metric()], shuffle=p["shuffle"],
                       seed=int(rng.randint(0, 2**31 - 1)), verbose=False,
                       max_fun=p["max_fun"])

    def _set_fitted_attributes(self, p: dict[str, Any], history: History,
                               trainer: Trainer) -> None:
        curve = [float(v) for v in history["train_loss"]]
        state = trainer.state_
        # as sklearn: n_iter_ counts this call's epochs; loss_curve_ and t_ accumulate
        self.n_iter_ = state.epoch - state.start_epoch
        self.t_ = int(getattr(self, "t_", 0) or 0) + int(state.samples_seen)
        self.loss_curve_ = curve
        self.loss_ = curve[-1] if curve else float("nan")
        self.validation_scores_: list[float] | None
        self.best_validation_score_: float | None
        self.best_loss_: float | None
        if p["early_stopping"]:
            # a diverged epoch was not validated: its score is NaN
            self.validation_scores_ = [float("nan") if v is None else float(v)
                                       for v in history["val_score"]]
            finite = [v for v in self.validation_scores_ if np.isfinite(v)]
            self.best_validation_score_ = max(finite) if finite else float("nan")
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = float(np.nanmin(curve)) if curve else float("nan")
        self.n_layers_ = len(self.module_.hidden) + 2
        self.n_outputs_ = int(self.module_.out or 0)

    # ----------------------------------------------------------- inference
    def _forward(self, X: Any) -> np.ndarray:
        """Raw outputs (logits / values) for ``X``, as float64 numpy."""
        self._check_fitted()
        plain = plain_rows(X, self.n_features_in_) and not hasattr(self, "feature_names_in_")
        if not plain:
            X = self._check_X(X, reset=False)
            self._check_fits(X, self._model_dtype())
        net: HiddenNet = self.module_
        fast_path = getattr(self, "_fast", None)
        if fast_path is not None and not net.training:  # a fitted module is left in eval mode
            fast = fast_path.forward(net, X)
            if fast is not None:
                return fast.astype(np.float64, copy=False)
        if plain:       # plain rows fit float32 (and float64); float16 weights hold less
            self._check_fits(X, self._model_dtype())
        was_training = net.training
        if was_training:
            net.eval()
        try:
            with torch.inference_mode():
                xt = self._to_tensor(X)
                if xt.shape[0] <= _PREDICT_BATCH:
                    out = net(xt)
                else:
                    out = torch.cat([net(xt[s:s + _PREDICT_BATCH])
                                     for s in range(0, xt.shape[0], _PREDICT_BATCH)])
        finally:
            if was_training:
                net.train()
        return out.double().cpu().numpy()

    # ----------------------------------------------------------- sklearn attributes
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape (n_in, n_out), as in sklearn (in the model's
        dtype; float32 for bfloat16 weights, which numpy has no type for)."""
        self._check_fitted()
        return [_numpy(w).T.copy() for w in self._weights()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        self._check_fitted()
        return [
            (_numpy(b) if b is not None else np.zeros(w.shape[0], dtype=_numpy(w[:0]).dtype))
            for w, b in zip(self._weights(), self._biases())]

    def _affine(self) -> list[torch.nn.Linear]:
        """The affine map of every dense layer, then the head's (normalisation layers, when a
        spec has them, are not part of sklearn's coefs_/intercepts_)."""
        net = self.module_
        layers = [layer.linear for layer in net.hidden if isinstance(layer, DenseLayer)]
        return layers + ([net.head] if isinstance(net.head, torch.nn.Linear) else [])

    def _weights(self) -> list[torch.Tensor]:
        return [lin.weight for lin in self._affine()]

    def _biases(self) -> list[torch.Tensor | None]:
        return [lin.bias for lin in self._affine()]

    # ----------------------------------------------------------- persistence
    def save(self, path: Any) -> Any:
        """Write a run directory: ``config.json`` + ``weights.safetensors`` + ``history.jsonl``.

        Examples
        --------
        >>> import lamina, numpy as np
        >>> X, y = np.random.rand(40, 3), np.arange(40) % 2
        >>> est = lamina.MLPClassifier((8,), max_iter=5).fit(X, y)  # doctest: +SKIP
        >>> est.save("runs/demo"); lamina.load("runs/demo")          # doctest: +SKIP
        """
        from ._persist import save_run

        self._check_fitted()
        return save_run(self, path)

    # hooks used by subclasses
    def _stratify(self) -> bool:
        return False

    def _val_metric(self) -> str:
        return "r2"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags


def _numpy(t: torch.Tensor) -> np.ndarray:
    """A copy of ``t`` as numpy; bfloat16, which numpy cannot hold, as float32 (exactly)."""
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.numpy().copy()


def _dense(X: Any) -> Any:
    """A scipy sparse matrix as a dense array, refused by name when that would not fit."""
    if not sp.issparse(X):
        return X
    need = X.shape[0] * X.shape[1] * X.dtype.itemsize
    available = available_bytes("cpu")
    if available is not None and need > 0.5 * available:
        raise DataError(f"X is a sparse {X.shape[0]} x {X.shape[1]} matrix; the network reads "
                        f"dense rows, which would need {format_bytes(need)} here, more than half "
                        f"of the {format_bytes(available)} available. Reduce the columns first "
                        "(e.g. sklearn's TruncatedSVD or a smaller vocabulary), or fit on "
                        "chunks of rows with partial_fit.")
    return X.toarray()


def warn_diverged(reason: str) -> None:
    """A fit that diverged returns (with the best finite weights), but must not pass unnoticed
    by a user who does not read ``stop_reason_``."""
    if reason.startswith("training diverged"):
        warnings.warn(reason, RuntimeWarning, stacklevel=3)


def _check_split_weights(sw: np.ndarray, sw_val: np.ndarray, fraction: float) -> None:
    """Both sides of the early-stopping split need some weight (sklearn would divide by 0)."""
    for part, w in (("training", sw), ("validation", sw_val)):
        if not (w > 0).any():
            raise DataError(f"early_stopping: every sample_weight in the {part} part of the "
                            f"split (validation_fraction={fraction}) is zero, so it cannot be "
                            "scored. Use another random_state or validation_fraction, or give "
                            "more rows a positive weight.")


def _first_nonfinite(X: Any) -> str:
    """Where ``X``'s first NaN/inf is, e.g. " at row 3, column 'age' (2 values in all)"."""
    found = first_nonfinite(X)
    if found is None or len(found[0]) != 2:
        return ""
    (row, col), n = found
    columns = getattr(X, "columns", None)
    name = repr(str(columns[col])) if columns is not None else str(col)
    return f" at row {row}, column {name} ({n} NaN/inf value{'s' if n > 1 else ''} in all)"


def _with_fix(message: str, X: Any = None) -> str:
    """sklearn's data-validation messages, made one line with a fix where they give none.

    NaN/inf in X: sklearn's first sentence ("Input X contains NaN."), where it is, and the fix
    (its own advice runs to a paragraph about HistGradientBoosting)."""
    low = message.lower()
    if ("nan" in low or "infinity" in low) and low.startswith("input x"):
        first = message.split(".")[0]
        return (f"{first}{_first_nonfinite(X)}. Remove or impute the missing/infinite values "
                "first, e.g. with sklearn.impute.SimpleImputer.")
    if "nan" in low or "infinity" in low:
        return (message + " Remove or impute the missing/infinite values first, e.g. with "
                "sklearn.impute.SimpleImputer.") if "imput" not in low else message
    if "inconsistent numbers of samples" in low:
        return message + " X and y must have one row per sample; check they come from the " \
            "same split."
    if "features, but" in low:
        return message + " Pass data with the same columns as at fit time."
    return message
