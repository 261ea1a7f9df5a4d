"""Autoencoders: an encoder of named hidden layers ending in a bottleneck code, and a decoder."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._errors import ParameterError, SpecError
from .._validation import check_int
from ..spec import DenseSpec, HiddenSpec, canonical_activation, parse_spec
from ._activations import make_activation
from ._build import build
from ._net import HiddenNet


class Autoencoder(nn.Module):
    """``decode(encode(x))`` with named hidden layers on both sides.

    ``encoder`` is a :class:`HiddenNet` without a head whose last hidden layer
    (``encoder.hidden.<k>``, see :attr:`code_name`) is the bottleneck: its units *are* the code.
    ``decoder`` is a :class:`HiddenNet` from the code to ``prod(in_shape)`` outputs, reshaped to
    ``in_shape`` and passed through ``output_activation`` (``identity`` for standardised data,
    ``sigmoid`` for data in [0, 1]).
    """

    def __init__(self, encoder: HiddenNet, decoder: HiddenNet, in_shape: tuple[int, ...],
                 output_activation: str = "identity") -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.in_shape = tuple(in_shape)
        self.output_activation = canonical_activation(output_activation, "output_activation")
        self.output = make_activation(self.output_activation)

    @property
    def code_size(self) -> int:
        """Number of bottleneck units."""
        return math.prod(self.encoder.feature_shape)

    @property
    def code_name(self) -> str:
        """Module name of the bottleneck layer, e.g. ``'encoder.hidden.2'``."""
        return f"encoder.{self.encoder.hidden_names[-1]}"

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)                           # (B, code)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        flat = self.output(self.decoder(code))           # (B, prod(in_shape))
        return flat.reshape(-1, *self.in_shape)          # (B, *in_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))               # (B, *in_shape) reconstruction

    def config(self) -> dict[str, Any]:
        """JSON-able description; :meth:`from_config` rebuilds the architecture."""
        return {"encoder": self.encoder.config(), "decoder": self.decoder.config(),
                "in_shape": list(self.in_shape), "output_activation": self.output_activation}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Autoencoder:
        return cls(HiddenNet.from_config(config["encoder"]),
                   HiddenNet.from_config(config["decoder"]), tuple(config["in_shape"]),
                   config["output_activation"])


def _bottleneck_layer(bottleneck: Any, activation: str) -> DenseSpec:
    if isinstance(bottleneck, DenseSpec):
        return bottleneck
    if isinstance(bottleneck, int) and not isinstance(bottleneck, bool):
        if bottleneck < 1:
            raise ParameterError("bottleneck", bottleneck, "the code size must be >= 1",
                                 "Pass e.g. bottleneck=2.")
        return DenseSpec(bottleneck, canonical_activation(activation, "bottleneck_activation"))
    if isinstance(bottleneck, str):
        layers = parse_spec(bottleneck, param="bottleneck").layers
        if len(layers) == 1 and isinstance(layers[0], DenseSpec):
            return layers[0]
    raise ParameterError("bottleneck", bottleneck, "an int code size, a single dense layer such as "
                         "'32:tanh', or a DenseSpec", "Pass e.g. bottleneck=32.")


def build_autoencoder(encoder_spec: Any, bottleneck: Any, decoder_spec: Any = "mirror",
                      in_features: int | None = None, *, in_shape: tuple[int, ...] | None = None,
                      activation: str | None = None, bottleneck_activation: str = "identity",
                      output_activation: str = "identity", seed: int | None = None,
                      dtype: Any = "float32", device: Any = "cpu") -> Autoencoder:
    """Build an :class:`Autoencoder`.

    Parameters
    ----------
    encoder_spec : spec
        Hidden layers before the bottleneck, e.g. ``"256-64"`` or ``(256, 64)``; ``()`` for none.
    bottleneck : int, str or DenseSpec
        The code: its size (a dense layer with ``bottleneck_activation``, identity by default),
        or a dense layer token such as ``"32:tanh"``.
    decoder_spec : spec or "mirror"
        Hidden layers from the code to the output head. ``"mirror"`` reverses the encoder's dense
        layers (``"256-64"`` -> ``"64-256"``); it needs an all-dense encoder.
    in_features, in_shape : int or tuple
        The input size (flat) or shape (e.g. ``(1, 28, 28)`` for a conv encoder).
    activation : str, optional
        Default activation of layers that do not name one.
    output_activation : str
        Applied to the reconstruction: ``identity`` or e.g. ``sigmoid`` for data in [0, 1].
    seed : int, optional
        Seeds both halves (the decoder with ``seed + 1``) without touching the global RNG.

    Examples
    --------
    >>> ae = build_autoencoder("32-16", bottleneck=2, in_features=64, seed=0)
    >>> str(ae.encoder.spec), str(ae.decoder.spec), ae.code_name
    ('32:relu-16:relu-2:identity', '16:relu-32:relu', 'encoder.hidden.2')
    """
    encoder_layers = parse_spec(encoder_spec, param="encoder_spec", activation=activation).layers
    code = _bottleneck_layer(bottleneck, bottleneck_activation)
    if isinstance(decoder_spec, str) and decoder_spec == "mirror":
        if not all(isinstance(layer, DenseSpec) for layer in encoder_layers):
            raise SpecError("decoder_spec", "mirror", "mirroring needs an all-dense encoder; this "
                            "encoder has " + ", ".join(sorted({layer.kind for layer in
                                                              encoder_layers} - {"dense"}))
                            + " layers", "Give the decoder's dense layers, e.g. "
                            "decoder_spec='128-256' (the head reshapes to in_shape).")
        decoder = HiddenSpec(tuple(reversed(encoder_layers)))
    else:
        decoder = parse_spec(decoder_spec, param="decoder_spec", activation=activation)
    if in_shape is None:
        if in_features is None:
            raise ParameterError("in_features", None, "the input size is needed to build an "
                                 "autoencoder", "Pass in_features=N or in_shape=(C, H, W).")
        in_shape = (check_int("in_features", in_features, 1),)
    enc = build(HiddenSpec(tuple(encoder_layers) + (code,)), in_shape=tuple(in_shape), out=None,
                seed=seed, dtype=dtype, device=device)
    dec = build(decoder, in_features=code.width, out=math.prod(in_shape),
                seed=None if seed is None else seed + 1, dtype=dtype, device=device)
    return Autoencoder(enc, dec, tuple(in_shape), output_activation)


__all__ = ["Autoencoder", "build_autoencoder"]
