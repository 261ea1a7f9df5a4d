"""``DeepEstimator``: sklearn's contract over any lamina network trained by ``Trainer``.

The image, sequence, text, autoencoder (and forecasting, recommendation, seq2seq) estimators
are thin subclasses. How a subclass uses it:

1. ``__init__`` lists *every* parameter explicitly (sklearn reads the signature), passes the
   common ones to ``super().__init__(spec=..., epochs=..., ...)`` and stores its own ones
   unchanged under their own names. Nothing is validated there.
2. Class attributes: ``_default_spec`` (used when ``spec=None``), ``_loss`` (a Trainer loss:
   ``cross_entropy``, ``mse``, ...), ``_metrics`` (validation metrics; the first is
   ``validation_scores_``).
3. Hooks (all called from :meth:`DeepEstimator._fit` / the inference helpers):

   - ``_check_params(self) -> dict``: validate the subclass's own parameters (raise
     :class:`~lamina.ParameterError` via ``lamina._validation``), return resolved values; they
     are merged into ``p``, the dict of resolved common parameters.
   - ``_prepare(self, X, y, fitting: bool) -> Samples``: validate ``X`` (and ``y`` when not
     None), encode the targets as the loss wants them, return a :class:`Samples` (fixed-shape
     tensor, or padded sequences with ``lengths`` via ``Samples.from_sequences``). With
     ``fitting=True`` also set the data-derived fitted attributes (``n_features_in_``,
     ``classes_``, ``tokenizer_``, ...).
   - ``_build_module(self, p, samples, seed) -> nn.Module``: the network. Use
     :func:`lamina.build` (or ``build_autoencoder``) so hidden layers are named ``hidden.0``,
     ``hidden.1``, ...; the module needs ``config()`` and the subclass ``_module_from_config``.
   - ``_stratify(self, samples) -> array | None``: labels for a stratified validation split.
   - ``_trainer_data(self, samples, shuffle, seed)``: what ``Trainer.fit`` gets (default: an
     ``(X, y)`` pair, or a re-iterable of ``(x, lengths, y)`` batches for sequences). Override
     to yield other batches, e.g. ``(src, src_lengths, tgt_in, tgt_out)`` for seq2seq: the
     Trainer calls ``module(*batch[:-1])`` and the loss on ``(output, batch[-1])``.
   - ``_fitted_state(self) -> dict`` / ``_restore_state(self, state)``: extra fitted state as
     JSON (classes, tokenizer vocabulary, scalers) for ``save``/``lamina.load``.
   - ``_module_from_config(cls, config) -> nn.Module`` (classmethod): rebuild the architecture
     from ``module_.config()`` (default: ``HiddenNet.from_config``).

4. Inference: ``self._outputs(samples)`` runs the fitted module in eval mode over batches
   (sequences in length order, results put back in input order) and returns float64 numpy
   outputs; pass ``fn=lambda module, *inputs: ...`` to run something else (e.g. an encoder).
5. Call :func:`register_deep` once at import so ``save`` / ``lamina.load`` know the class.

Fitted attributes set here: ``module_``, ``history_``, ``stop_reason_``, ``n_iter_``,
``loss_curve_``, ``validation_scores_`` and ``best_validation_score_`` (see the class's
Attributes: the validation score of the epoch whose weights the fitted module holds).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split

from .._errors import DataError, NotFittedError, ParameterError
from .._validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_random_state_param,
    resolve_device,
    resolve_dtype,
)
from ..nn import HiddenNet
from ..spec import HiddenSpec, parse_spec
from ..train import EarlyStopping, History, MaxEpochs, Schedule, Trainer
from ._base import warn_diverged
from ._samples import Samples

DEEP_OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
DEEP_SCHEDULES = ("constant", "cosine", "step")


class DeepEstimator(BaseEstimator):
    """Base of lamina's deep estimators (not for direct use); see the module docstring.

    Parameters
    ----------
    spec : str, tuple or HiddenSpec, optional
        The hidden layers, e.g. ``"conv(32,3)-pool-dense(128)"``; ``None`` uses the class's
        ``_default_spec``.
    epochs : int
        Maximum passes over the training data.
    batch_size : int
        Samples per optimizer step.
    lr : float
        Learning rate.
    optimizer : str
        ``adam``, ``adamw``, ``sgd``, ``rmsprop`` or ``adagrad``.
    weight_decay : float
        torch-style weight decay (decoupled for ``adamw``).
    schedule : str
        Learning-rate schedule over the epochs: ``constant``, ``cosine`` or ``step``.
    clip_norm : float, optional
        Clip the global gradient norm (useful for recurrent networks).
    early_stopping : bool
        Hold out ``validation_fraction`` of the training data, stop when its loss has not
        improved for ``patience`` epochs, and restore the best weights.
    validation_fraction : float
        Fraction held out for early stopping, in (0, 1).
    patience : int
        Epochs without improvement before stopping.
    random_state : int, RandomState or None
        Seeds initialisation, the validation split, shuffling and dropout.
    device, dtype : str
        Where and in which float type the network lives (``"cpu"``, ``"cuda"``; ``"float32"``).
    verbose : bool
        Show a progress bar.

    Attributes
    ----------
    history_ : History
        One record per epoch (``train_loss``, ``val_loss``, ``val_<metric>``, ``val_score``).
    validation_scores_ : list of float or None
        The first metric (``_metrics[0]``: accuracy for classifiers, R² for regressors) on the
        held-out split after each epoch (NaN for an epoch that diverged); None without
        ``early_stopping``.
    best_validation_score_ : float or None
        The validation score of the epoch whose weights the fitted model holds: early stopping
        keeps the weights of the epoch with the lowest ``val_loss`` (or, when training
        diverged, of the lowest training loss), and this is that epoch's score, so it
        describes ``module_``. It is not the highest score over the epochs: the epoch with the
        best score can differ from the one with the lowest loss. None without
        ``early_stopping`` or when the kept epoch was not validated.
    stop_reason_ : str
        Why training stopped.
    """

    _default_spec: Any = (100,)
    _loss: str = "cross_entropy"
    _metrics: tuple[str, ...] = ("accuracy",)
    module_: Any        # the fitted torch module (a HiddenNet, or e.g. lamina.nn.Autoencoder)

    def __init__(self, spec: Any = None, *, epochs: int = 20, batch_size: int = 64,
                 lr: float = 1e-3, optimizer: str = "adam", weight_decay: float = 0.0,
                 schedule: str = "constant", clip_norm: float | None = None,
                 early_stopping: bool = True, validation_fraction: float = 0.1,
                 patience: int = 5, random_state: Any = None, device: Any = "cpu",
                 dtype: Any = "float32", verbose: bool = False) -> None:
        self.spec = spec
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.clip_norm = clip_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    # ------------------------------------------------------------------ subclass hooks
    def _check_params(self) -> dict[str, Any]:
        return {}

    def _prepare(self, X: Any, y: Any, fitting: bool) -> Samples:
        raise NotImplementedError

    def _build_module(self, p: dict[str, Any], samples: Samples, seed: int) -> torch.nn.Module:
        raise NotImplementedError

    def _stratify(self, samples: Samples) -> np.ndarray | None:
        return None

    def _trainer_data(self, samples: Samples, batch_size: int, shuffle: bool, seed: int) -> Any:
        return samples.for_trainer(batch_size, shuffle, seed)

    def _fitted_state(self) -> dict[str, Any]:
        return {}

    def _restore_state(self, state: dict[str, Any]) -> None:
        return None

    @classmethod
    def _module_from_config(cls, config: dict[str, Any]) -> torch.nn.Module:
        return HiddenNet.from_config(config)

    # ------------------------------------------------------------------ parameters
    def _check_common(self) -> dict[str, Any]:
        """Validate the common parameters (in fit, never in __init__); return resolved values."""
        p: dict[str, Any] = {}
        p["spec"] = self._resolved_spec()
        p["epochs"] = check_int("epochs", self.epochs, 1)
        p["batch_size"] = check_int("batch_size", self.batch_size, 1)
        p["lr"] = check_float("lr", self.lr, 0.0, None, low_open=True)
        p["optimizer"] = check_choice("optimizer", self.optimizer, DEEP_OPTIMIZERS)
        p["weight_decay"] = check_float("weight_decay", self.weight_decay, 0.0, None)
        p["schedule"] = check_choice("schedule", self.schedule, DEEP_SCHEDULES)
        p["clip_norm"] = (None if self.clip_norm is None else
                          check_float("clip_norm", self.clip_norm, 0.0, None, low_open=True))
        p["early_stopping"] = check_bool("early_stopping", self.early_stopping)
        p["validation_fraction"] = check_float("validation_fraction", self.validation_fraction,
                                               0.0, 1.0, low_open=True, high_open=True)
        p["patience"] = check_int("patience", self.patience, 1)
        p["device"] = resolve_device(self.device)
        p["dtype"] = resolve_dtype(self.dtype)
        if isinstance(self.verbose, (bool, numbers.Integral)):
            p["verbose"] = bool(self.verbose)
        else:
            p["verbose"] = check_bool("verbose", self.verbose)
        p["rng"] = check_random_state_param(self.random_state)
        return p

    def _resolved_spec(self) -> HiddenSpec:
        spec = self._default_spec if self.spec is None else self.spec
        return parse_spec(spec, param="spec")

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None) -> DeepEstimator:
        """Train a new network on ``(X, y)``; returns ``self``."""
        return self._fit(X, y)

    def _fit(self, X: Any, y: Any) -> DeepEstimator:
        p = self._check_common()
        p.update(self._check_params())
        rng: np.random.RandomState = p["rng"]
        samples = self._prepare(X, y, fitting=True)
        train, val = self._split(samples, p, rng)
        seed = int(rng.randint(0, 2**31 - 1))
        module = self._build_module(p, train, seed)
        self.module_ = module.to(device=p["device"], dtype=p["dtype"])
        for part in (train, val):
            if part is not None:
                self._fix_steps(part)
        stop: list[Any] = [MaxEpochs(p["epochs"])]
        if val is not None:
            stop.append(EarlyStopping(patience=p["patience"], monitor="val_loss"))
        trainer = Trainer(self.module_, loss=self._loss, optimizer=p["optimizer"], lr=p["lr"],
                          weight_decay=p["weight_decay"], clip_norm=p["clip_norm"],
                          batch_size=p["batch_size"], stop=stop,
                          schedule=Schedule(p["schedule"], lr0=p["lr"], t_max=p["epochs"],
                                            step_size=max(1, p["epochs"] // 3)),
                          metrics=list(self._metrics), seed=int(rng.randint(0, 2**31 - 1)),
                          verbose=p["verbose"])
        data_seed = int(rng.randint(0, 2**31 - 1))
        history = trainer.fit(
            self._trainer_data(train, p["batch_size"], True, data_seed),
            None if val is None else self._trainer_data(val, p["batch_size"], False, 0))
        self.module_.eval()
        self._set_training_attributes(history, val is not None, trainer.state_.weights_epoch)
        warn_diverged(history.stop_reason)
        return self

    def _split(self, samples: Samples, p: dict[str, Any],
               rng: np.random.RandomState) -> tuple[Samples, Samples | None]:
        n = len(samples)
        if not p["early_stopping"]:
            return samples, None
        n_val = int(np.ceil(p["validation_fraction"] * n))
        if n_val < 1 or n - n_val < 1:
            raise DataError(f"early_stopping=True holds out validation_fraction="
                            f"{p['validation_fraction']} of the {n} samples, which leaves "
                            f"{n_val} for validation and {n - n_val} for training. Pass more "
                            "samples or set early_stopping=False.")
        labels = self._stratify(samples)
        if labels is not None:
            _, counts = np.unique(labels, return_counts=True)
            if counts.min() < 2 or n_val < len(counts) or n - n_val < len(counts):
                labels = None  # too few per class to stratify; a plain random split still works
        idx_train, idx_val = train_test_split(np.arange(n), test_size=n_val, random_state=rng,
                                              stratify=labels)
        return samples.subset(np.sort(idx_train)), samples.subset(np.sort(idx_val))

    def _set_training_attributes(self, history: History, validated: bool,
                                 weights_epoch: int | None = None) -> None:
        """``history_``, ``loss_curve_``, ... from ``history``; ``weights_epoch`` is the epoch
        whose weights the fitted module holds (None: the last one)."""
        self.history_ = history
        self.stop_reason_ = history.stop_reason
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history["train_loss"]]
        self.validation_scores_: list[float] | None = None
        self.best_validation_score_: float | None = None
        if validated:
            self.validation_scores_ = [float("nan") if v is None else float(v)   # diverged
                                       for v in history["val_score"]]
            self.best_validation_score_ = kept_score(history, weights_epoch)

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.")

    def _fix_steps(self, samples: Samples) -> None:
        """Pad every batch to the network's fixed ``T`` when it flattens the time axis."""
        module = self.module_
        if not samples.is_sequence or getattr(module, "variable_length", True):
            return
        steps = int(module.in_shape[0])
        longest = int(samples.lengths.max()) if len(samples) else 0  # type: ignore[union-attr]
        if longest > steps:
            raise DataError(f"a sequence has {longest} steps, but this network reads exactly "
                            f"T={steps} (its spec flattens the time axis); nothing is truncated "
                            "silently. Shorten the sequences, or end the sequence layers with "
                            "readout=last/mean or seqpool to accept any length.")
        samples.pad_to = steps

    def network_batches(self, X: Any, y: Any = None, batch_size: int = 256
                        ) -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor | None]]:
        """Raw ``X`` (and ``y``) as the fitted network reads them, in input order.

        Validates and preprocesses exactly as ``predict`` does (normalisation, tokenizing,
        padding) and yields ``(inputs, targets)`` per batch: call ``module_(*inputs)``
        (``(x,)``, or ``(x, lengths)`` for sequences); ``targets`` are the encoded targets
        (class indices) or None. For inspection tools, which must see the same inputs.

        Examples
        --------
        >>> for inputs, yb in clf.network_batches(X_test, y_test):   # doctest: +SKIP
        ...     logits = clf.module_(*inputs)
        """
        self._check_fitted()
        check_int("batch_size", batch_size, 1)
        samples = self._prepare(X, y, fitting=False)
        self._fix_steps(samples)
        for start in range(0, len(samples), batch_size):
            idx = np.arange(start, min(start + batch_size, len(samples)))
            targets = None if samples.y is None else samples.y[torch.as_tensor(idx)]
            yield samples._inputs(idx), targets

    #: False where a sample has no single hidden vector (Seq2Seq): hidden_features refuses
    hidden_features_supported = True

    def hidden_features(self, X: Any, layer: int | str = -1) -> np.ndarray:
        """The activations of one hidden layer's units for ``X``, shape ``(n_samples, n_units)``.

        ``X`` is what ``predict`` takes (an Autoencoder: what ``transform`` takes; a
        Forecaster: histories, one row per history), validated and preprocessed the same way;
        the network runs in evaluation mode (no dropout). A layer whose output has more axes (a
        conv layer's channels x height x width) is flattened to one row per sample, in torch's
        order. Recurrent layers that output one vector per time step are refused: pick a layer
        after the sequence readout.

        Parameters
        ----------
        layer : int or str, default=-1
            The hidden layer: an index into the hidden layers (negative counts from the end: -1
            is the last, the one the output head reads; an Autoencoder's are its encoder's, -1
            the bottleneck) or its module name, ``"hidden.3"`` (``"encoder.hidden.1"``).

        Returns
        -------
        ndarray of float64, shape (n_samples, n_units)

        Examples
        --------
        >>> import numpy as np
        >>> from lamina.estimators import ImageClassifier
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.random((40, 1, 8, 8)), np.arange(40) % 2
        >>> clf = ImageClassifier("conv(4,3)-pool-dense(6)", epochs=1,
        ...                       random_state=0).fit(X, y)
        >>> clf.hidden_features(X).shape, clf.hidden_features(X, "hidden.0").shape
        ((40, 6), (40, 144))
        """
        return self._hidden_pass(X, layer)[0]

    def _hidden_pass(self, X: Any, layer: int | str = -1, outputs: bool = False
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`hidden_features` and, with ``outputs``, the network's outputs for the same
        inputs (what ``predict`` reads: a classifier's logits) from the same forward pass."""
        self._check_fitted()
        target, name = self._hidden_layer(layer)
        samples = self._hidden_samples(X)
        fixed_steps = not getattr(self.module_, "variable_length", True)
        n_out = [0]

        def run(module: torch.nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
            seen: list[torch.Tensor] = []
            handle = target.register_forward_hook(lambda _m, _i, out: seen.append(out))
            try:
                result = module(*inputs)
            finally:
                handle.remove()
            out = seen[-1]
            if samples.is_sequence and out.dim() > 2:    # (B, T, H): one vector per time step
                why = ("padded steps of shorter sequences would count as units" if fixed_steps
                       else "padding makes that number differ between sequences")
                raise DataError(
                    f"hidden layer {name!r} outputs one vector per time step (shape "
                    f"{tuple(out.shape)} for a batch), and {why}, so a sample has no fixed set "
                    "of units there. Pick a layer after the sequence readout (e.g. layer=-1).")
            if not outputs:
                return out.flatten(1)                    # (B, units)
            n_out[0] = result.flatten(1).shape[1]
            return torch.cat([out.flatten(1), result.flatten(1).to(out.dtype)], 1)
        both = self._outputs(samples, run)
        if not outputs:
            return both, None
        return both[:, :both.shape[1] - n_out[0]], both[:, both.shape[1] - n_out[0]:]

    def _hidden_samples(self, X: Any) -> Samples:
        """``X`` as the network reads it for :meth:`hidden_features` (as ``predict`` reads it)."""
        return self._prepare(X, None, fitting=False)

    def _hidden_layers(self) -> tuple[Any, str]:
        """The hidden layers :meth:`hidden_features` indexes, and their name prefix."""
        return getattr(self.module_, "hidden", None), "hidden"

    def _hidden_layer(self, layer: Any) -> tuple[torch.nn.Module, str]:
        """The module of hidden layer ``layer`` (index or name) and its name."""
        hidden, prefix = self._hidden_layers() if self.hidden_features_supported else (None, "")
        if not isinstance(hidden, torch.nn.ModuleList) or len(hidden) == 0:
            raise ParameterError(
                "estimator", type(self).__name__, "a deep estimator whose network has one "
                "hidden vector per sample in named hidden layers" + (
                    "; Seq2Seq's encoder gives one per source token and its decoder one per "
                    "output token" if not self.hidden_features_supported else ""),
                "See its units with lamina.inspect(est, X) instead.")
        names = [f"{prefix}.{i}" for i in range(len(hidden))]
        n = len(hidden)
        if isinstance(layer, str) and layer in names:
            index = names.index(layer)
        elif isinstance(layer, numbers.Integral) and not isinstance(layer, bool) and \
                -n <= int(layer) < n:
            index = int(layer) % n
        else:
            raise ParameterError("layer", layer, f"an index in [-{n}, {n}) or one of "
                                 f"{', '.join(names)}", "Pass layer=-1 for the last hidden "
                                 "layer, the one the output head reads.")
        return hidden[index], names[index]

    def _outputs(self, samples: Samples, fn: Any = None) -> np.ndarray:
        """Run the fitted module (or ``fn(module, *inputs)``) over ``samples``; float64 numpy
        outputs in the input order."""
        module = self.module_
        self._fix_steps(samples)
        param = next(module.parameters())
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                for idx, inputs in samples.input_batches():
                    # floats take the module's dtype; ids stay ints; lengths stay on the CPU
                    moved = [t.to(param.device, param.dtype) if t.is_floating_point()
                             else t.to(param.device) if i == 0 else t
                             for i, t in enumerate(inputs)]
                    out = fn(module, *moved) if fn is not None else module(*moved)
                    parts.append((idx, out.double().cpu().numpy()))
        finally:
            module.train(was_training)
        if not parts:
            raise DataError("no samples to predict (X is empty). Pass at least one sample.")
        first = parts[0][1]
        result = np.empty((len(samples), *first.shape[1:]), dtype=np.float64)
        for idx, out in parts:
            result[idx] = out
        return result

    # ------------------------------------------------------------------ persistence
    def save(self, path: Any) -> Any:
        """Write a run directory (``config.json`` + ``weights.safetensors`` +
        ``history.jsonl``; no pickle) that :func:`lamina.load` reads back.

        Examples
        --------
        >>> est.save("runs/cnn"); est2 = lamina.load("runs/cnn")   # doctest: +SKIP
        """
        from ._deep_persist import save_deep

        self._check_fitted()
        return save_deep(self, path)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def kept_score(history: History, weights_epoch: int | None) -> float | None:
    """The validation score of the epoch whose weights were kept: ``weights_epoch`` (1-based,
    the epoch a rule restored at the end: early stopping's lowest ``val_loss``, or the best
    training loss when training diverged), else the last epoch. None when that epoch was not
    validated (it diverged) or there is none."""
    if not len(history):
        return None
    record = history[(weights_epoch or len(history)) - 1]
    score = record.get("val_score")
    return None if score is None else float(score)


def register_deep(cls: type) -> type:
    """Register a :class:`DeepEstimator` subclass for ``save`` / :func:`lamina.load`."""
    from ._deep_persist import register

    register(cls)
    return cls


__all__ = ["DeepEstimator", "register_deep", "Samples", "DEEP_OPTIMIZERS", "DEEP_SCHEDULES"]


def require_sequence_layer(net: torch.nn.Module, spec: Any, example: str) -> torch.nn.Module:
    """``net`` when it has a layer that reads a sequence's steps up to each one's length;
    otherwise a ParameterError (the padded steps would be read as data)."""
    if not getattr(net, "uses_lengths", False):
        raise ParameterError("spec", spec, "a layer that reads the sequence step by step up to "
                             "its length (rnn, lstm, gru, attn or seqpool); this spec has none, "
                             "so the padding of short sequences would be read as data",
                             f"Use e.g. spec={example!r}.")
    return net
