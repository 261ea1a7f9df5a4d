"""``lamina.MLPRegressor``: a drop-in for ``sklearn.neural_network.MLPRegressor``."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from .._errors import DataError, ParameterError
from .._validation import check_choice
from ._base import BaseMLP

_REG_LOSSES = ("squared_error", "poisson")


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with sklearn's parameters, defaults and attributes
    (squared loss, identity output), trained by lamina's engine.

    ``fit``/``partial_fit`` take ``sample_weight`` with sklearn's meaning (weighted average of
    the per-sample loss in every mini-batch, the ``alpha`` term over ``sum(w)``, weights split
    with the data for ``early_stopping``, whose R² is then weighted); weighted fits run on the
    autograd path (``engine_ == 'autograd'``).

    Extra parameters as :class:`MLPClassifier`'s: ``device``, ``dtype`` and ``scale``
    (``'standard'`` trains on standardised columns and folds that into the first layer; the
    targets are not scaled).

    Examples
    --------
    >>> import numpy as np, lamina
    >>> X = np.random.RandomState(0).rand(200, 3); y = X @ [1.0, -2.0, 0.5]
    >>> reg = lamina.MLPRegressor(hidden_layer_sizes=(32,), max_iter=500, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    >>> reg.fit(X, y, sample_weight=np.where(y > 0, 2.0, 1.0)).engine_
    'autograd'
    """

    _loss = "half_mse"

    # sklearn >= 1.7 puts ``loss`` first; the other parameters are BaseMLP's
    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        device: Any = "cpu",
        dtype: Any = "float32",
        scale: str | None = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            device=device,
            dtype=dtype,
            scale=scale,
        )
        self.loss = loss

    def _encode_y(self, y: np.ndarray, incremental: bool, classes: Any = None) -> np.ndarray:
        if not isinstance(self.loss, str):
            raise ParameterError(
                "loss",
                self.loss,
                "'squared_error' or 'poisson' (sklearn >= 1.7 "
                "made loss the first positional parameter of MLPRegressor)",
                f"Pass the widths by name: hidden_layer_sizes={self.loss!r}.",
            )
        check_choice("loss", self.loss, _REG_LOSSES)
        self._loss = "poisson" if self.loss == "poisson" else "half_mse"
        y = np.asarray(y)
        if y.dtype.kind not in "fiub":
            raise DataError(
                f"MLPRegressor needs numeric targets; y has dtype {y.dtype} (e.g. "
                f"{y.ravel()[:3]!r}). Encode it as numbers, or use MLPClassifier for "
                "labels."
            )
        Y = y.astype(np.float64).reshape(y.shape[0], -1)
        if not np.isfinite(Y).all():
            bad = int(np.flatnonzero(~np.isfinite(Y).all(1))[0])
            raise DataError(
                f"y contains NaN or infinity (first at row {bad}). Drop or impute "
                "those rows before fitting."
            )
        if incremental and Y.shape[1] != self.n_outputs_:
            raise DataError(
                f"y has {Y.shape[1]} outputs but the model was fitted with "
                f"{self.n_outputs_}. Pass targets with the same columns."
            )
        if self._loss == "poisson" and (Y < 0).any():
            raise DataError(
                "loss='poisson' needs non-negative targets; y has negative values "
                f"(min {Y.min():g}). Use loss='squared_error'."
            )
        self._y_1d = y.ndim == 1
        self.out_activation_ = "exp" if self._loss == "poisson" else "identity"
        return Y

    def _check_continued_y(self, y: np.ndarray) -> None:
        """A warm_start ``fit`` continues the output layer: ``y`` keeps its number of columns."""
        y = np.asarray(y)
        n = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
        if n != self.n_outputs_:
            raise DataError(
                f"y has {n} output(s) but the model warm_start continues was fitted with "
                f"{self.n_outputs_}. Pass targets with the same columns, or set "
                "warm_start=False to fit anew."
            )

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights; ``sample_weight``
        weighs the samples as in :meth:`fit`."""
        if self.solver == "lbfgs":
            raise DataError(
                "partial_fit is only available for stochastic optimizers; "
                "solver='lbfgs' is not. Use solver='adam' or 'sgd'."
            )
        return self._fit(X, y, incremental=True,  # type: ignore[return-value]
                         sample_weight=sample_weight)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values, shape (n_samples,) for 1-D targets else (n_samples, n_outputs)."""
        z = self._forward(X)
        if self._loss == "poisson":
            z = np.exp(z)
        return z.ravel() if self._y_1d else z
