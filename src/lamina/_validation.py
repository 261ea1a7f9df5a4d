"""Declarative parameter checks shared by every layer of lamina.

Each check raises :class:`~lamina._errors.ParameterError` naming the parameter, the value,
what is allowed and how to fix it; none of them reach into torch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from ._errors import ParameterError, did_you_mean

__all__ = [
    "check_choice",
    "check_int",
    "check_float",
    "check_bool",
    "resolve_device",
    "resolve_dtype",
    "estimate_bytes",
    "check_memory",
]


def check_choice(param: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` must be one of ``choices`` (strings); suggests the closest on a typo."""
    options = list(choices)
    if isinstance(value, str) and value in options:
        return value
    hint = did_you_mean(value, options)
    raise ParameterError(
        param, value, "allowed values are " + ", ".join(repr(c) for c in options),
        (hint.strip() + " " if hint else "") + f"Pass one of them as {param}=...",
    )


def check_int(param: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` must be an integer (not bool) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(param, value, f"must be an integer{_range(low, high)}",
                             f"Pass e.g. {param}={low if low is not None else 1}.")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ParameterError(param, value, f"must be an integer{_range(low, high)}",
                             f"Pass a value{_range(low, high)}.")
    return v


def check_float(param: str, value: Any, low: float | None = None, high: float | None = None,
                *, low_open: bool = False, high_open: bool = False,
                finite: bool = False) -> float:
    """``value`` must be a real number within the given (open or closed) bounds (and finite
    when ``finite``)."""
    lo = "(" if low_open else "["
    hi = ")" if high_open or (finite and high is None) else "]"
    span = f" in {lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if finite and isinstance(value, numbers.Real) and not math.isfinite(float(value)):
        raise ParameterError(param, value, f"must be a finite number{span}",
                             f"Pass a number{span}.")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise ParameterError(param, value, f"must be a real number{span}", f"Pass a number{span}.")
    v = float(value)
    bad_low = low is not None and (v <= low if low_open else v < low)
    bad_high = high is not None and (v >= high if high_open else v > high)
    if bad_low or bad_high:
        raise ParameterError(param, value, f"must be a real number{span}", f"Pass a number{span}.")
    return v


def check_bool(param: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if hasattr(value, "dtype") and getattr(value, "shape", None) == () and value.dtype == bool:
        return bool(value)
    raise ParameterError(param, value, "must be True or False", f"Pass {param}=True or False.")


def _range(low: int | float | None, high: int | float | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def resolve_device(device: Any) -> Any:
    """Turn ``device`` (str or ``torch.device``) into a usable ``torch.device`` or raise clearly."""
    import torch

    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise ParameterError("device", device, "expected 'cpu', 'cuda', 'cuda:N' or 'mps'",
                                 "Pass device='cpu' to train on the CPU.") from None
    else:
        raise ParameterError("device", device, "expected a string or torch.device",
                             "Pass device='cpu' or device='cuda'.")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError("device", device, "CUDA was requested but torch sees no GPU here "
                                 f"(torch {torch.__version__}, cuda available: False)",
                                 "Pass device='cpu', or install a CUDA build of torch on a GPU machine.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ParameterError("device", device,
                                 f"only {torch.cuda.device_count()} GPU(s) are visible",
                                 "Pass an index below that, e.g. device='cuda:0'.")
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ParameterError("device", device, "MPS is not available on this machine",
                                 "Pass device='cpu'.")
    elif dev.type != "cpu":
        raise ParameterError("device", device, "expected 'cpu', 'cuda', 'cuda:N' or 'mps'",
                             "Pass device='cpu'.")
    return dev


_DTYPES = {"float32": "float32", "float64": "float64", "float16": "float16", "bfloat16": "bfloat16"}


def resolve_dtype(dtype: Any) -> Any:
    """Accept 'float32'/'float64'/numpy/torch dtypes; return the ``torch.dtype``."""
    import numpy as np
    import torch

    if isinstance(dtype, torch.dtype):
        if dtype.is_floating_point:
            return dtype
    elif isinstance(dtype, str) and dtype in _DTYPES:
        return getattr(torch, _DTYPES[dtype])
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = ""
        if name in _DTYPES:
            return getattr(torch, name)
    raise ParameterError("dtype", dtype, "allowed values are 'float32', 'float64', 'float16', "
                         "'bfloat16' (or the numpy/torch equivalents)", "Pass dtype='float32'.")


def estimate_bytes(shapes: Sequence[Sequence[int]], itemsize: int) -> int:
    """Bytes taken by tensors of the given shapes."""
    total = 0
    for shape in shapes:
        n = 1
        for d in shape:
            n *= int(d)
        total += n
    return total * itemsize


def check_memory(param: str, value: Any, needed_bytes: int, device: Any = "cpu") -> None:
    """Refuse, before allocating, a model whose parameters/buffers would not fit in memory."""
    available = available_bytes(device)
    if available is not None and needed_bytes > 0.8 * available:
        raise ParameterError(
            param, value,
            f"this network needs about {format_bytes(needed_bytes)} for its parameters, gradients and "
            f"optimizer state, but only {format_bytes(available)} is available on {device}",
            "Use narrower or fewer hidden layers.",
        )


def available_bytes(device: Any) -> int | None:
    """Free memory on ``device`` in bytes (None when the system does not say)."""
    dev = str(device)
    if dev.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(dev))
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"


def check_random_state_param(value: Any) -> Any:
    """sklearn's ``check_random_state``, with an error that names ``random_state``."""
    from sklearn.utils import check_random_state

    try:
        return check_random_state(value)
    except (ValueError, TypeError):
        raise ParameterError("random_state", value, "None, an int in [0, 2**32 - 1] or a "
                             "numpy RandomState", "Pass e.g. random_state=0.") from None


# solvers that divide by sqrt(second moment) + epsilon, the moment kept in the model's dtype
EPSILON_SOLVERS = ("adam", "adamw", "rmsprop", "adagrad")


def check_epsilon_fits_dtype(solver: str, epsilon: float, dtype: Any,
                             param: str = "epsilon") -> None:
    """Refuse, before training, an ``epsilon`` that rounds to 0 in a half-precision ``dtype``
    for a solver that divides by ``sqrt(second moment) + epsilon``.

    The second moment is kept in the model's dtype, where a small squared gradient underflows
    to 0 (float16 holds nothing below 6e-8); the step is then about ``lr * gradient /
    epsilon``, and with ``epsilon=1e-8`` (0 in float16) training diverges at once, where
    ``epsilon=1e-4`` trains as float32 does. bfloat16 has float32's range: 1e-8 is fine there.
    """
    if solver not in EPSILON_SOLVERS or str(dtype) not in ("torch.float16", "torch.bfloat16"):
        return
    if not _rounds_to_zero(epsilon, dtype):
        return
    name = str(dtype).replace("torch.", "")
    raise ParameterError(param, epsilon,
                         f"solver={solver!r} with dtype={name!r} needs an {param} that {name} "
                         f"can hold, and {epsilon:g} rounds to 0 there (the smallest positive "
                         f"{name} is {_smallest(dtype):.2g}); {solver} keeps its second moment "
                         f"in {name}, where small squared gradients underflow to 0, so each "
                         f"step would be about learning_rate * gradient / {param} and training "
                         "diverges",
                         f"Pass {param}=1e-4 (or larger) with dtype={name!r}, or train in "
                         "dtype='float32'.")


def check_epsilon_fits_params(solver: str, epsilon: float, params: Sequence[Any],
                              param: str = "eps") -> None:
    """:func:`check_epsilon_fits_dtype` for the dtype of every tensor in ``params`` (where an
    optimizer is built from the tensors themselves)."""
    for dtype in dict.fromkeys(p.dtype for p in params):
        check_epsilon_fits_dtype(solver, epsilon, dtype, param=param)


def _smallest(dtype: Any) -> float:
    """The smallest positive value ``dtype`` holds (a subnormal where it has them)."""
    import torch

    return float(torch.nextafter(torch.zeros((), dtype=dtype), torch.ones((), dtype=dtype)))


def _rounds_to_zero(value: float, dtype: Any) -> bool:
    import torch

    return bool(torch.tensor(value, dtype=dtype) == 0)


def check_writable_folder(param: str, path: Any, fix: str) -> None:
    """``path`` must be a folder lamina can create (its nearest existing ancestor a writable
    folder) or write into; refused by name before any work that would write there."""
    import os
    from pathlib import Path

    folder = Path(path)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise ParameterError(param, str(path), "a folder lamina can create or write into "
                             f"({str(probe)!r} is "
                             + ("not a folder" if not probe.is_dir() else "not writable") + ")",
                             fix)
