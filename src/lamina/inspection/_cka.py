"""Linear CKA (centered kernel alignment, Kornblith et al. 2019) between representations.

``CKA(A, B) = HSIC(A, B) / sqrt(HSIC(A, A) HSIC(B, B))`` with linear kernels. Three estimators:

* full data, biased HSIC: ``||A_c^T B_c||_F^2 / (||A_c^T A_c||_F ||B_c^T B_c||_F)`` (centred);
* full data, unbiased HSIC (Song et al. 2012): removes the upward bias of the biased one on few
  rows and many features (two unrelated 512-unit layers seen on 2 000 rows are not "similar");
* minibatch (Nguyen et al. 2021): unbiased HSIC averaged over minibatches, for data too large
  to hold; it converges to the full-data value.

All terms are computed in feature space (``A^T B``) or kernel space (``A A^T``), whichever is
smaller, and :class:`CKAAccumulator` streams them exactly over batches in bounded memory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._errors import DataError, ParameterError
from ..train import readable_tensor


def _as_matrix(x: Any, name: str) -> torch.Tensor:
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.dim() < 1 or t.shape[0] == 0:
        raise DataError(f"{name} must be an activation matrix (n_examples, n_features); got "
                        f"shape {tuple(t.shape)}.")
    t = t.reshape(t.shape[0], -1).to(torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise DataError(f"{name} holds NaN or infinite values; CKA needs finite activations. "
                        "Drop those rows (or units) first.")
    return t


class CKAAccumulator:
    """Exact streaming sums for linear CKA between two representations (biased and unbiased).

    ``update(a, b)`` with row blocks ``a`` (m, p) and ``b`` (m, q) of the same examples; memory is
    ``O(p^2 + q^2 + pq)``, independent of the number of rows. Mergeable with ``merge``.
    """

    def __init__(self) -> None:
        self.n = 0
        self.shift_a: torch.Tensor | None = None
        self.shift_b: torch.Tensor | None = None
        self.sums: dict[str, torch.Tensor] = {}

    def update(self, a: torch.Tensor, b: torch.Tensor) -> None:
        a, b = a.reshape(a.shape[0], -1).double(), b.reshape(b.shape[0], -1).double()
        if a.shape[0] != b.shape[0]:
            raise DataError(f"the two representations have {a.shape[0]} and {b.shape[0]} rows; "
                            "they must describe the same examples.")
        if self.shift_a is None or self.shift_b is None:
            # HSIC is invariant to shifting the features: shift for numerical conditioning
            self.shift_a, self.shift_b = a.mean(0), b.mean(0)
        a, b = a - self.shift_a, b - self.shift_b
        na, nb = a.square().sum(1), b.square().sum(1)           # |a_i|^2, |b_i|^2
        terms = {
            "sa": a.sum(0), "sb": b.sum(0), "aa": a.T @ a, "bb": b.T @ b, "ab": a.T @ b,
            "na": na.sum(), "nb": nb.sum(), "na2": na.square().sum(), "nb2": nb.square().sum(),
            "nanb": (na * nb).sum(), "a_na": a.T @ na, "b_nb": b.T @ nb, "a_nb": a.T @ nb,
            "b_na": b.T @ na,
        }
        for key, value in terms.items():
            self.sums[key] = self.sums[key] + value if key in self.sums else value
        self.n += a.shape[0]

    def merge(self, other: CKAAccumulator) -> None:
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.sums = other.n, dict(other.sums)
            self.shift_a, self.shift_b = other.shift_a, other.shift_b
            return
        raise NotImplementedError("merging accumulators with different shifts")  # pragma: no cover

    def cka(self, unbiased: bool = False) -> float:
        s, n = self.sums, self.n
        if unbiased:
            if n < 4:
                raise DataError(f"the unbiased CKA estimator needs at least 4 examples; got {n}.")
            hab = _hsic_u_from_sums(n, s["ab"], s["sa"], s["sb"], s["na"], s["nb"], s["nanb"],
                                    s["a_nb"], s["b_na"])
            haa = _hsic_u_from_sums(n, s["aa"], s["sa"], s["sa"], s["na"], s["na"], s["na2"],
                                    s["a_na"], s["a_na"])
            hbb = _hsic_u_from_sums(n, s["bb"], s["sb"], s["sb"], s["nb"], s["nb"], s["nb2"],
                                    s["b_nb"], s["b_nb"])
        else:
            if n < 2:
                raise DataError(f"CKA needs at least 2 examples; got {n}.")
            ma, mb = s["sa"] / n, s["sb"] / n
            hab = float((s["ab"] - n * torch.outer(ma, mb)).square().sum())
            haa = float((s["aa"] - n * torch.outer(ma, ma)).square().sum())
            hbb = float((s["bb"] - n * torch.outer(mb, mb)).square().sum())
        return _ratio(hab, haa, hbb)


def _hsic_u_from_sums(n: int, ab: torch.Tensor, sa: torch.Tensor, sb: torch.Tensor,
                      na: torch.Tensor, nb: torch.Tensor, nanb: torch.Tensor,
                      a_nb: torch.Tensor, b_na: torch.Tensor) -> float:
    """Unbiased HSIC (Song et al. 2012, eq. 5) from feature-space sums, linear kernels."""
    tr = ab.square().sum() - nanb                                 # sum_{i != j} K_ij L_ij
    k1 = sa.square().sum() - na                                   # 1' K~ 1
    l1 = sb.square().sum() - nb                                   # 1' L~ 1
    # 1' K~ L~ 1 = sum_i (a_i.sa - |a_i|^2)(b_i.sb - |b_i|^2)
    kl1 = sa @ ab @ sb - sa @ a_nb - sb @ b_na + nanb
    value = tr + k1 * l1 / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * kl1
    return float(value) / (n * (n - 3))


def _ratio(hab: float, haa: float, hbb: float) -> float:
    if not (haa > 0 and hbb > 0) or not math.isfinite(hab):
        return float("nan")                     # a constant representation: CKA undefined
    return hab / math.sqrt(haa * hbb)


def _hsic_u_kernel(k: torch.Tensor, l_: torch.Tensor) -> float:
    """Unbiased HSIC from two Gram matrices (used when n^2 < p q)."""
    n = k.shape[0]
    k = k.clone()
    l_ = l_.clone()
    k.fill_diagonal_(0)
    l_.fill_diagonal_(0)
    k1, l1 = k.sum(1), l_.sum(1)
    value = (k * l_).sum() + k1.sum() * l1.sum() / ((n - 1) * (n - 2)) \
        - 2.0 / (n - 2) * (k1 @ l1)
    return float(value) / (n * (n - 3))


def _cka_full(a: torch.Tensor, b: torch.Tensor, unbiased: bool) -> float:
    n = a.shape[0]
    a = a - a.mean(0)
    b = b - b.mean(0)
    if unbiased and n * n < a.shape[1] * b.shape[1]:
        ka, kb = a @ a.T, b @ b.T
        return _ratio(_hsic_u_kernel(ka, kb), _hsic_u_kernel(ka, ka), _hsic_u_kernel(kb, kb))
    acc = CKAAccumulator()
    acc.update(a, b)
    return acc.cka(unbiased)


def cka(A: Any, B: Any, X: Any = None, *, unbiased: bool = False, batch_size: int | None = None,
        device: Any = None) -> float:
    """Linear CKA similarity of two representations of the same examples, in [0, 1].

    Parameters
    ----------
    A, B : array-like (n, ...) or (model, layer_name) pairs
        Activation matrices (rows = the same examples; extra axes are flattened), or a model and
        the name of one of its layers, in which case ``X`` is streamed through both models and
        the layer's units (as :func:`lamina.inspect` defines them) are compared, exactly, in
        memory that does not grow with ``X``.
    X : array-like, optional
        Inputs, required with ``(model, layer)`` pairs.
    unbiased : bool
        Use the unbiased HSIC estimator (recommended when rows are few relative to features).
    batch_size : int, optional
        Minibatch estimator (Nguyen et al. 2021): unbiased HSIC averaged over consecutive row
        blocks of this size (shuffle the rows first if their order is not random).
    device : optional
        Device for the model pairs' forward passes.

    Returns
    -------
    float
        1 for representations equal up to rotation and scale; NaN if one is constant.

    Examples
    --------
    >>> import numpy as np, lamina
    >>> A = np.random.default_rng(0).normal(size=(500, 20))
    >>> round(lamina.cka(A, 3.0 * A), 6)
    1.0
    """
    if isinstance(A, tuple) and len(A) == 2 and isinstance(A[1], str):
        from ._pairs import cka_models
        return cka_models(A, B, X, unbiased=unbiased, batch_size=batch_size, device=device)
    a, b = _as_matrix(A, "A"), _as_matrix(B, "B")
    if a.shape[0] != b.shape[0]:
        raise DataError(f"A has {a.shape[0]} rows and B has {b.shape[0]}; CKA compares two "
                        "representations of the same examples, row by row.")
    if batch_size is None:
        if a.shape[0] < (4 if unbiased else 2):
            raise DataError(f"CKA needs at least {4 if unbiased else 2} examples; got "
                            f"{a.shape[0]}.")
        return _cka_full(a, b, unbiased)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 4:
        raise ParameterError("batch_size", batch_size, "the minibatch estimator needs an int "
                             ">= 4 (the unbiased HSIC needs 4 rows)",
                             "Pass e.g. batch_size=256, or batch_size=None for the full-data "
                             "estimator.")
    return minibatch_cka(a, b, batch_size)


def minibatch_cka(a: torch.Tensor, b: torch.Tensor, batch_size: int) -> float:
    """Nguyen et al.'s estimator: sums of per-block unbiased HSIC (last short block dropped),
    all blocks computed at once with batched matrix products."""
    blocks = a.shape[0] // batch_size
    if blocks == 0:
        raise DataError(f"batch_size={batch_size} is larger than the {a.shape[0]} rows; pass a "
                        "smaller batch_size.")
    m = batch_size
    ab = a[: blocks * m].reshape(blocks, m, -1)
    bb = b[: blocks * m].reshape(blocks, m, -1)
    ab = ab - ab.mean(1, keepdim=True)          # HSIC is shift-invariant: centre per block
    bb = bb - bb.mean(1, keepdim=True)

    def hsic(x: torch.Tensor, y: torch.Tensor) -> float:
        nx, ny = x.square().sum(2), y.square().sum(2)                   # (k, m)
        sx, sy = x.sum(1), y.sum(1)                                     # (k, p), (k, q)
        xy = x.transpose(1, 2) @ y                                      # (k, p, q)
        tr = xy.square().sum((1, 2)) - (nx * ny).sum(1)
        k1 = sx.square().sum(1) - nx.sum(1)
        l1 = sy.square().sum(1) - ny.sum(1)
        kl1 = (torch.einsum("kp,kpq,kq->k", sx, xy, sy)
               - torch.einsum("kp,kmp,km->k", sx, x, ny)
               - torch.einsum("kq,kmq,km->k", sy, y, nx) + (nx * ny).sum(1))
        value = tr + k1 * l1 / ((m - 1) * (m - 2)) - 2.0 / (m - 2) * kl1
        return float((value / (m * (m - 3))).sum())

    return _ratio(hsic(ab, bb), hsic(ab, ab), hsic(bb, bb))


def cka_matrix(samples: list[np.ndarray], unbiased: bool = True) -> np.ndarray:
    """``(L, L)`` CKA between the sampled activations of L layers (same rows).

    Each layer's self-similarity term is computed once; each pair then costs one ``A^T B``."""
    prepared = []
    for sample in samples:
        # readable: the samples may be read-only (a loaded Inspection), which torch warns about
        t = readable_tensor(sample).to(torch.float64)
        t = torch.where(torch.isfinite(t), t, torch.zeros((), dtype=t.dtype))
        t = t - t.mean(0)
        na = t.square().sum(1)
        prepared.append((t, na, t.sum(0)))
    n = prepared[0][0].shape[0] if prepared else 0
    size = len(prepared)
    out = np.full((size, size), np.nan)
    if n < (4 if unbiased else 2):
        return out

    def hsic(i: int, j: int) -> float:
        a, na, sa = prepared[i]
        b, nb, sb = prepared[j]
        if a.shape[1] * b.shape[1] > n * n:       # wide layers: kernel space is cheaper
            ka, kb = a @ a.T, b @ b.T
            if unbiased:
                return _hsic_u_kernel(ka, kb)
            return float((ka * kb).sum())
        ab = a.T @ b
        if not unbiased:
            return float(ab.square().sum())
        return _hsic_u_from_sums(n, ab, sa, sb, na.sum(), nb.sum(), (na * nb).sum(),
                                 a.T @ nb, b.T @ na)

    selfs = [hsic(i, i) for i in range(size)]
    for i in range(size):
        for j in range(i, size):
            value = _ratio(hsic(i, j) if i != j else selfs[i], selfs[i], selfs[j])
            out[i, j] = out[j, i] = value
    return out
