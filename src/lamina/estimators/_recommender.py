"""``lamina.Recommender``: ratings from (user, item) pairs through learned embeddings.

The network is a :class:`~lamina.HiddenNet` whose first hidden layer embeds the user and the
item (``embed`` in categorical mode, id 0 = unknown) and whose later hidden layers (dense by
default) learn how they interact; a global mean, a user bias and an item bias are added to its
output, and with ``dot=True`` so is the dot product of the two embeddings (matrix
factorisation). ``spec="embed(k)"`` with ``dot=True`` is plain biased matrix factorisation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from sklearn.base import RegressorMixin
from torch import nn

from .._errors import DataError, ParameterError
from .._validation import check_bool, check_choice, check_float
from ..nn import HiddenNet
from ..spec import EmbedSpec, HiddenSpec
from ._deep import DeepEstimator, register_deep
from ._rec_ids import IdMap, SeenItems, split_pairs
from ._samples import Samples

COLD_START: tuple[str, ...] = ("bias", "error")
_INIT_STD = 0.05


def _add_l2_gradient(t: torch.Tensor, scale: float) -> None:
    """Add ``scale * t`` to ``t``'s gradient: the gradient of ``scale/2 * ||t||^2``.

    This is classic matrix factorisation's per-rating L2 penalty on the embeddings and biases
    *of the batch* (rows that appear more often are pulled harder, unlike weight decay on the
    whole table). A tensor hook is used because the Trainer's loss is plain MSE; the hook lives
    on this forward's graph only, so nothing needs removing.
    """
    if t.requires_grad:
        value = t.detach()
        t.register_hook(lambda grad: grad + scale * value)


class RecommenderNet(HiddenNet):
    """``(B, 2)`` (user, item) indices -> ``(B, 1)`` predicted ratings.

    ``rating = global_mean + b_user + b_item [+ <p_user, q_item>] + head(hidden(ids))``, where
    ``p``/``q`` are the output of ``hidden.0`` (the embed layer). Index 0 is "unknown": zero
    embedding and zero bias.
    """

    def __init__(self, spec: HiddenSpec, n_users: int, n_items: int, dot: bool = True,
                 global_mean: float = 0.0, reg: float = 0.0) -> None:
        super().__init__(spec, (2,), 1)
        self.n_users, self.n_items, self.dot = int(n_users), int(n_items), bool(dot)
        self.reg = float(reg)
        self.user_bias = nn.Embedding(n_users + 1, 1, padding_idx=0)
        self.item_bias = nn.Embedding(n_items + 1, 1, padding_idx=0)
        nn.init.zeros_(self.user_bias.weight)   # biases start at "no effect"
        nn.init.zeros_(self.item_bias.weight)
        # torch's N(0, 1) embedding init makes the initial dot product ~N(0, dim): far off the
        # rating scale. Small vectors start the factorisation near the bias-only model.
        with torch.no_grad():
            for table in getattr(self.hidden[0], "tables", []):
                table.weight.normal_(0.0, _INIT_STD)
                table.weight[0].zero_()              # id 0 (unknown) stays the zero vector
        self.register_buffer("global_mean", torch.tensor(float(global_mean)))

    def forward(self, ids: torch.Tensor, lengths: Any = None) -> torch.Tensor:
        x, vectors = ids, None
        for i, layer in enumerate(self.hidden):
            x = layer(x)                                   # hidden.0: (B, 2, dim), then (B, w)
            if i == 0:
                vectors = x
        assert self.head is not None and vectors is not None
        ids = ids.long()
        b_user = self.user_bias(ids[:, 0])[:, 0]                                   # (B,)
        b_item = self.item_bias(ids[:, 1])[:, 0]
        if self.training and self.reg > 0:
            for t in (vectors, b_user, b_item):
                _add_l2_gradient(t, self.reg / ids.shape[0])
        out = self.head(x.flatten(1))[:, 0]                                        # (B,)
        out = out + self.global_mean + b_user + b_item
        if self.dot:
            out = out + (vectors[:, 0] * vectors[:, 1]).sum(-1)
        return out[:, None]                                                        # (B, 1)

    def fallback(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B,)`` cold-start prediction: global mean + the biases of the *known* ids only."""
        ids = ids.long()
        return (self.global_mean + self.user_bias(ids[:, 0])[:, 0] * (ids[:, 0] > 0)
                + self.item_bias(ids[:, 1])[:, 0] * (ids[:, 1] > 0))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "n_users": self.n_users, "n_items": self.n_items,
                "dot": self.dot}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RecommenderNet:
        return cls(HiddenSpec.from_list(config["spec"]), config["n_users"], config["n_items"],
                   config["dot"])


class Recommender(RegressorMixin, DeepEstimator):
    """Predict ratings and recommend items from (user, item, rating) triples.

    ``X`` is an ``(n, 2)`` array of (user, item) ids -- any hashable values: ints, strings --
    or a DataFrame with columns ``user_col`` and ``item_col``; ``y`` the ratings (or, with a
    DataFrame and ``y=None``, its ``rating_col``).

    Cold start (documented fallback): a pair whose user or item was not seen in ``fit`` is
    predicted as ``global mean + bias of the known side`` (the item's bias for a new user, the
    user's for a new item, the global mean when both are new) -- the interaction terms need
    both embeddings, so they are left out. ``cold_start="error"`` raises instead.
    ``recommend`` for an unknown user ranks items by that same fallback (mean + item bias).
    ``score`` is sklearn's R^2 of the predicted ratings.

    Parameters
    ----------
    spec : str or HiddenSpec, optional
        Must start with an ``embed`` layer (its vocabulary is filled in from the data);
        default ``"embed(32)-dense(32):dropout=0.5"`` (RMSE ~0.91 on MovieLens-100K).
    dot : bool
        Add the dot product of the user and item embeddings (matrix factorisation).
    reg : float
        L2 penalty on the embeddings and biases of each training batch, per rating (classic
        matrix factorisation's regulariser; rows rated often are pulled harder).
    cold_start : str
        ``bias`` (the fallback above) or ``error``.
    clip : bool
        Clip predictions to the range of ratings seen in ``fit``.
    user_col, item_col, rating_col : str
        Column names when ``X`` is a DataFrame.
    **common
        ``epochs`` (default 40), ``batch_size`` (256), ``lr``, ``optimizer`` (``adamw``),
        ``weight_decay`` (0.05), ``early_stopping``, ``patience`` (5), ``random_state``, ...:
        see :class:`DeepEstimator`.

    Attributes
    ----------
    user_ids_, item_ids_ : ndarray
        The known raw ids; index ``k`` of the network is ``user_ids_[k - 1]``.
    global_mean_ : float
    rating_range_ : tuple of float
    module_ : RecommenderNet
        ``hidden.0`` is the embedding layer (units: embedding features), then the dense layers.
    validation_scores_, best_validation_score_ : list of float, float
        Validation R² per epoch, and that of the epoch whose weights were kept (the lowest
        ``val_loss``; see :class:`DeepEstimator`); None without ``early_stopping``.

    Examples
    --------
    >>> import numpy as np, lamina
    >>> X = np.array([[u, i] for u in range(20) for i in range(15)])
    >>> y = (X[:, 0] % 3 + X[:, 1] % 2 + 1).astype(float)
    >>> rec = lamina.Recommender("embed(4)", epochs=50, random_state=0).fit(X, y)
    >>> rec.predict(0, 1).shape, len(rec.recommend(0, k=3, exclude_seen=False))
    ((1,), 3)
    """

    _default_spec = "embed(32)-dense(32):dropout=0.5"
    _loss = "mse"
    _metrics = ("r2",)

    def __init__(self, spec: Any = None, *, dot: bool = True, reg: float = 0.2,
                 cold_start: str = "bias",
                 clip: bool = True, user_col: str = "user", item_col: str = "item",
                 rating_col: str = "rating", epochs: int = 40, batch_size: int = 256,
                 lr: float = 1e-3, optimizer: str = "adamw", weight_decay: float = 0.05,
                 schedule: str = "constant", clip_norm: float | None = None,
                 early_stopping: bool = True, validation_fraction: float = 0.1,
                 patience: int = 5, random_state: Any = None, device: Any = "cpu",
                 dtype: Any = "float32", verbose: bool = False) -> None:
        super().__init__(spec, epochs=epochs, batch_size=batch_size, lr=lr,
                         optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
                         clip_norm=clip_norm, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         random_state=random_state, device=device, dtype=dtype,
                         verbose=verbose)
        self.dot = dot
        self.reg = reg
        self.cold_start = cold_start
        self.clip = clip
        self.user_col = user_col
        self.item_col = item_col
        self.rating_col = rating_col

    # ------------------------------------------------------------------ hooks
    def _check_params(self) -> dict[str, Any]:
        return {"dot": check_bool("dot", self.dot), "clip": check_bool("clip", self.clip),
                "reg": check_float("reg", self.reg, 0.0, None),
                "cold_start": check_choice("cold_start", self.cold_start, COLD_START)}

    def _resolved_spec(self) -> HiddenSpec:
        spec = super()._resolved_spec()
        if not spec.layers or not isinstance(spec.layers[0], EmbedSpec):
            raise ParameterError("spec", str(spec), "a Recommender's hidden layers must start "
                                 "with an embed layer, which reads the (user, item) ids",
                                 "Use e.g. spec='embed(32)-dense(64)' or 'embed(32)' (biased "
                                 "matrix factorisation with dot=True).")
        return spec

    def _prepare(self, X: Any, y: Any, fitting: bool) -> Samples:
        users, items, y = split_pairs(X, y, self.user_col, self.item_col, self.rating_col,
                                      need_y=fitting)
        if fitting:
            self.user_map_, self.item_map_ = IdMap.fit(users, "user"), IdMap.fit(items, "item")
            self.n_features_in_ = 2                  # the two id columns (user, item)
            ratings = np.asarray(y, dtype=np.float64)
            self.global_mean_ = float(ratings.mean())
            self.rating_range_ = (float(ratings.min()), float(ratings.max()))
        ids = np.stack([self.user_map_.index(users), self.item_map_.index(items)], axis=1)
        if fitting:
            self.seen_ = SeenItems.from_pairs(ids[:, 0] - 1, ids[:, 1] - 1, len(self.user_map_))
        yt = None if y is None else torch.as_tensor(np.asarray(y, dtype=np.float32)[:, None])
        return Samples(torch.as_tensor(ids, dtype=torch.int64), yt)

    def _build_module(self, p: dict[str, Any], samples: Samples, seed: int) -> torch.nn.Module:
        spec = p["spec"]
        sizes = (len(self.user_map_) + 1, len(self.item_map_) + 1)   # + the unknown id 0
        first = replace(spec.layers[0], vocab=sizes)
        spec = HiddenSpec((first, *spec.layers[1:]))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return RecommenderNet(spec, sizes[0] - 1, sizes[1] - 1, p["dot"], self.global_mean_,
                                  p["reg"])

    @classmethod
    def _module_from_config(cls, config: dict[str, Any]) -> torch.nn.Module:
        return RecommenderNet.from_config(config)

    # ------------------------------------------------------------------ inference
    def predict(self, X: Any, item: Any = None) -> np.ndarray:
        """Predicted ratings: ``predict(X)`` for ``(n, 2)`` pairs / a DataFrame, or
        ``predict(user, item)`` with two ids or two equal-length id lists. Unknown ids follow
        ``cold_start`` (see the class docstring)."""
        self._check_fitted()
        if item is not None:
            users, items = np.atleast_1d(np.asarray(X)), np.atleast_1d(np.asarray(item))
            if users.shape != items.shape or users.ndim != 1:
                raise DataError(f"predict(user, item) needs two ids or two 1-D lists of equal "
                                f"length; got shapes {users.shape} and {items.shape}.")
        else:
            users, items, _ = split_pairs(X, None, self.user_col, self.item_col,
                                          self.rating_col, need_y=False)
        ids = np.stack([self.user_map_.index(users), self.item_map_.index(items)], axis=1)
        cold = (ids == 0).any(axis=1)
        if cold.any() and self.cold_start == "error":
            row = int(np.argmax(cold))
            side, value = ("user", users[row]) if ids[row, 0] == 0 else ("item", items[row])
            value = value.item() if isinstance(value, np.generic) else value
            raise DataError(f"{int(cold.sum())} pair(s) have a {side} unseen in fit (first: "
                            f"{side} {value!r} at row {row}) and cold_start='error'. Use "
                            "cold_start='bias' (global mean + known bias) or refit with them.")
        ids_t = torch.as_tensor(ids, dtype=torch.int64)
        out = self._outputs(Samples(ids_t))[:, 0]
        if cold.any():
            out[cold] = self._outputs(Samples(ids_t[torch.as_tensor(cold)]),
                                      fn=lambda module, x: module.fallback(x))
        if self.clip:
            out = np.clip(out, *self.rating_range_)
        return out

    def recommend(self, user: Any, k: int = 10, *, exclude_seen: bool = True,
                  return_scores: bool = False) -> Any:
        """The ``k`` items with the highest predicted rating for ``user`` (raw item ids, best
        first), leaving out the items the user rated in ``fit`` when ``exclude_seen``.

        An unknown user gets the cold-start ranking (global mean + item bias), or a
        :class:`DataError` with ``cold_start="error"``.
        """
        self._check_fitted()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ParameterError("k", k, "must be an integer >= 1", "Pass e.g. k=10.")
        n_items = len(self.item_map_)
        user = user.item() if isinstance(user, np.generic) else user
        if isinstance(user, (list, tuple, np.ndarray)) or hasattr(user, "to_numpy"):
            raise ParameterError("user", user, "one user id (recommend ranks items for one "
                                 "user at a time)", "Loop over users: "
                                 "[est.recommend(u, k) for u in users].")
        index = int(self.user_map_.index(np.asarray([user]))[0])
        if index == 0 and self.cold_start == "error":
            raise DataError(f"user {user!r} was not seen in fit and cold_start='error'. Use "
                            "cold_start='bias' to rank by item bias, or refit with the user.")
        ids = torch.stack([torch.full((n_items,), index, dtype=torch.int64),
                           torch.arange(1, n_items + 1)], dim=1)
        fn = (lambda module, x: module.fallback(x)[:, None]) if index == 0 else None
        scores = self._outputs(Samples(ids), fn=fn)[:, 0]
        if exclude_seen and index > 0:
            scores[self.seen_.items_of(index - 1)] = -np.inf
        available = int(np.isfinite(scores).sum())
        top = np.argsort(-scores, kind="stable")[:min(k, available)]
        items = self.item_map_.ids[top]
        if self.clip:
            scores = np.clip(scores, *self.rating_range_)
        return (items, scores[top]) if return_scores else items

    # ------------------------------------------------------------------ persistence
    def _fitted_state(self) -> dict[str, Any]:
        return {"user_map_": self.user_map_.to_json(), "item_map_": self.item_map_.to_json(),
                "seen_": self.seen_.to_json(), "global_mean_": self.global_mean_,
                "rating_range_": list(self.rating_range_)}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self.user_map_ = IdMap.from_json(state["user_map_"], "user")
        self.item_map_ = IdMap.from_json(state["item_map_"], "item")
        self.seen_ = SeenItems.from_json(state["seen_"])
        self.global_mean_ = float(state["global_mean_"])
        self.rating_range_ = tuple(state["rating_range_"])

    @property
    def user_ids_(self) -> np.ndarray:
        return self.user_map_.ids

    @property
    def item_ids_(self) -> np.ndarray:
        return self.item_map_.ids


register_deep(Recommender)

__all__ = ["Recommender", "RecommenderNet", "COLD_START"]
