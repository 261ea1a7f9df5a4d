"""What is being inspected: a lamina estimator, a ``HiddenNet`` or any ``torch.nn.Module``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from .._errors import DataError, NotFittedError, ParameterError, short_repr


@dataclass(frozen=True)
class Target:
    """The torch module behind ``model`` and what is known about its inputs and outputs."""

    net: nn.Module
    estimator: Any | None          # the lamina/sklearn-style estimator, when one was given
    in_shape: tuple[int, ...] | None   # per-example input shape it was built for, if known
    int_inputs: bool               # reads integer ids (has an embedding): keep ints as ints
    variable_length: bool          # a sequence net whose time axis may differ between batches
    loss: str | None               # estimator's training loss, e.g. "cross_entropy"
    classes: np.ndarray | None     # classifier labels, index i <-> output i

    @property
    def reads_raw(self) -> bool:
        """A deep estimator that reads ``X`` itself (``network_batches``), as its predict does."""
        return self.estimator is not None and callable(
            getattr(self.estimator, "network_batches", None))

    @property
    def label(self) -> str:
        return type(self.estimator if self.estimator is not None else self.net).__name__


def resolve_model(model: Any) -> Target:
    """Accept a fitted lamina estimator, a ``HiddenNet`` or any ``nn.Module``."""
    estimator = None
    if not isinstance(model, nn.Module):
        if hasattr(model, "module_") and isinstance(model.module_, nn.Module):
            estimator, model = model, model.module_
        elif hasattr(getattr(model, "estimator_", None), "module_"):
            raise ParameterError(
                "model", type(model).__name__, "a fitted lamina estimator with a network of its own "
                f"(module_), a HiddenNet or a torch.nn.Module; a {type(model).__name__} scores "
                "with its estimator_'s network", "Inspect that one: model.estimator_ (from the "
                "CLI: the run's estimator/ folder).")
        elif hasattr(model, "fit") and hasattr(model, "get_params"):
            raise NotFittedError(
                f"This {type(model).__name__} instance is not fitted yet (it has no module_). "
                "Call fit(X, y) before inspecting it.")
        else:
            raise ParameterError(
                "model", model, "expected a fitted lamina estimator (MLPClassifier, "
                f"MLPRegressor, ...), a lamina HiddenNet or a torch.nn.Module; got "
                f"{type(model).__name__}",
                "Pass e.g. the estimator after fit(), or net = lamina.build(...).")
    in_shape = getattr(model, "in_shape", None)
    if estimator is not None and in_shape is None and hasattr(estimator, "n_features_in_"):
        in_shape = (int(estimator.n_features_in_),)
    int_inputs = any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules())
    classes = getattr(estimator, "classes_", None) if estimator is not None else None
    loss = getattr(estimator, "_loss", None) if estimator is not None else None
    return Target(
        net=model, estimator=estimator,
        in_shape=tuple(int(d) for d in in_shape) if in_shape is not None else None,
        int_inputs=int_inputs, variable_length=bool(getattr(model, "variable_length", False)),
        loss=loss if isinstance(loss, str) else None,
        classes=np.asarray(classes) if classes is not None else None)


def describe_model(target: Target) -> dict[str, Any]:
    """JSON-able summary for the report and the saved inspection."""
    n_params = sum(p.numel() for p in target.net.parameters())
    info: dict[str, Any] = {"class": target.label, "module": type(target.net).__name__,
                            "n_parameters": int(n_params)}
    spec = getattr(target.net, "spec", None)
    if spec is not None:
        info["spec"] = str(spec)
    if target.in_shape is not None:
        info["in_shape"] = list(target.in_shape)
    if target.classes is not None:
        info["classes"] = [c.item() if hasattr(c, "item") else c for c in target.classes]
    if target.estimator is not None:
        try:
            params = target.estimator.get_params(deep=False)
            info["params"] = {k: short_repr(v) for k, v in params.items()}
        except Exception:  # noqa: BLE001 - a summary must never break inspection
            pass
    return info


def refuse_per_token_loss(target: Target, analysis: str) -> None:
    """Ablation and gradient flow average a loss per example; an estimator whose loss is per
    target token (a Seq2Seq) has none."""
    if getattr(target.estimator, "_per_token_loss", False):
        raise DataError(f"{analysis} needs one loss per example, but {target.label}'s loss is "
                        "one per target token (teacher-forced decoding), so it is not available "
                        "for this model; lamina.inspect's statistics, top examples, CKA and "
                        "probes are.")
