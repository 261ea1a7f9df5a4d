"""``lamina.build``: a spec and input/output sizes -> a ready ``HiddenNet``."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from .._errors import ParameterError
from .._validation import check_int, check_memory, resolve_device, resolve_dtype
from ..spec import HiddenSpec, canonical_activation, parse_spec
from ._init import init_linear
from ._net import HiddenNet

# parameters + gradients + two optimizer moments (Adam), the usual training footprint
_TRAINING_COPIES = 4


def build(spec: Any, in_features: int | None = None, out: int | None = None, *,
          in_shape: tuple[int, ...] | None = None, activation: str | None = None,
          init: str | None = None, seed: int | None = None, dtype: Any = "float32",
          device: Any = "cpu") -> HiddenNet:
    """Build a :class:`HiddenNet` from a hidden-layer spec.

    Parameters
    ----------
    spec : tuple of int, str or HiddenSpec
        E.g. ``(256, 128)``, ``"256:tanh-128"``, ``"conv(32,3)-pool-dense(128)"``.
    in_features : int
        Width of a flat input (or give ``in_shape`` for images/sequences).
    out : int or None
        Number of outputs of the linear head; None builds a feature extractor.
    in_shape : tuple of int, optional
        Per-example input shape instead of ``in_features``: ``(C, H, W)`` for images,
        ``(T, F)`` for sequences (T may vary between batches for recurrent layers).
    activation : str, optional
        Default activation of layers whose spec names none (``"relu"`` when None).
    init : str, optional
        Default initialisation (``"he"``, ``"xavier"``, ``"default"``, ``"sklearn"``) of layers
        whose spec names none. ``"sklearn"`` also initialises the output head, as sklearn's MLPs
        do: uniform in ``+-sqrt(6 / (fan_in + fan_out))`` (2 instead of 6 when the last hidden
        layer, or ``activation`` for a network without one, is a sigmoid); the head otherwise
        keeps torch's ``nn.Linear`` init.
    seed : int, optional
        Seeds the initialisation (same seed -> identical weights), without touching the global RNG.
    dtype : str or torch.dtype
        Parameter dtype, ``"float32"`` (default), ``"float64"``, ``"float16"``, ``"bfloat16"``.
    device : str or torch.device
        ``"cpu"`` (default) or e.g. ``"cuda"``; a device that is not there is a clear error.
        A network too large for the device's memory is refused before anything is allocated.

    Examples
    --------
    >>> net = build("64:tanh-32", in_features=10, out=3, seed=0)
    >>> [name for name, _ in net.named_children()]
    ['hidden', 'head']
    """
    hidden = spec if isinstance(spec, HiddenSpec) else parse_spec(spec, activation=activation,
                                                                  init=init)
    if in_shape is None:
        if in_features is None:
            raise ParameterError("in_features", None, "the input size is needed to build a network",
                                 "Pass in_features=N for flat inputs or in_shape=(C, H, W).")
        in_shape = (check_int("in_features", in_features, 1),)
    if not isinstance(in_shape, (tuple, list)) or not in_shape or any(
            isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in in_shape):
        raise ParameterError("in_shape", in_shape, "a non-empty tuple of positive ints",
                             "Pass e.g. in_shape=(1, 28, 28).")
    if out is not None:
        out = check_int("out", out, 1)
    dev = resolve_device(device)
    dt = resolve_dtype(dtype)

    with torch.device("meta"):               # count parameters without allocating them
        probe = HiddenNet(hidden, tuple(in_shape), out)
    n_params = sum(p.numel() for p in probe.parameters())
    itemsize = torch.empty((), dtype=dt).element_size()
    check_memory("spec", str(hidden), n_params * itemsize * _TRAINING_COPIES, dev)

    # a seed draws from its own stream and leaves the global one as it was; without one the
    # global stream is used and advances, as torch's modules do (two builds differ)
    with torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext():
        if seed is not None:
            torch.manual_seed(check_int("seed", seed, 0))
        net = HiddenNet(hidden, tuple(in_shape), out)
        if net.head is not None and init == "sklearn":
            last = hidden.layers[-1] if len(hidden) else None
            init_linear(net.head, "sklearn", getattr(last, "activation", None)
                        or canonical_activation(activation or "relu"))
    return net.to(device=dev, dtype=dt)
