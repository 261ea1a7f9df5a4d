"""Names of the activation functions a hidden unit can use."""

from __future__ import annotations

from .._validation import check_choice

ACTIVATIONS: tuple[str, ...] = (
    "relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "identity",
)
# sklearn's names map onto ours; canonical specs always use ours.
ACTIVATION_ALIASES: dict[str, str] = {"logistic": "sigmoid", "swish": "silu", "linear": "identity"}


def canonical_activation(name: object, param: str = "activation") -> str:
    """Return the canonical activation name, accepting sklearn's aliases (``logistic``)."""
    if isinstance(name, str) and name in ACTIVATION_ALIASES:
        return ACTIVATION_ALIASES[name]
    return check_choice(param, name, ACTIVATIONS + tuple(ACTIVATION_ALIASES))
