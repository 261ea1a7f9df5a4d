"""``HiddenSpec``: the ordered hidden layers of a network, and parsing it from what users write.

Accepted forms
--------------
* a tuple/list of widths: ``(256, 128)`` (sklearn's ``hidden_layer_sizes``), or a single int;
* a string: ``"256:tanh-128:relu"``, ``"conv(32,3)-pool-dense(128)"``;
* layer dataclasses, or a list mixing them with ints;
* a ``HiddenSpec`` (returned unchanged).

Grammar of the string form::

    spec   := layer ("-" layer)*
    layer  := head (":" option)*
    head   := INT | NAME | NAME "(" arg ("," arg)* ")"
    option := ACTIVATION | KEY "=" VALUE

``str(parse(s)) == s`` for every canonical string.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._errors import ParameterError, SpecError, did_you_mean
from ._activations import ACTIVATION_ALIASES, ACTIVATIONS
from ._dense import DenseSpec
from ._registry import kind_class, kinds


@dataclass(frozen=True)
class HiddenSpec:
    """The hidden layers of a network, in order (input side first)."""

    layers: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return "-".join(str(layer) for layer in self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.layers)

    def __getitem__(self, i: int) -> Any:
        return self.layers[i]

    @property
    def is_dense(self) -> bool:
        """True when every hidden layer is a :class:`DenseSpec`."""
        return all(isinstance(layer, DenseSpec) for layer in self.layers)

    def to_list(self) -> list[dict[str, Any]]:
        return [layer.to_dict() for layer in self.layers]

    def to_json(self) -> str:
        return json.dumps(self.to_list())

    @classmethod
    def from_list(cls, items: list[dict[str, Any]]) -> HiddenSpec:
        layers = []
        for item in items:
            item = dict(item)
            name = item.pop("kind", None)
            klass = kind_class(name) if isinstance(name, str) else None
            if klass is None:
                raise SpecError("spec", name, "unknown layer kind in a saved spec; known kinds: "
                                + ", ".join(sorted(kinds())), "Re-create the spec.")
            layers.append(klass(**item))
        return cls(tuple(layers))


_TOKEN = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z_0-9]*|\d+)(?:\((?P<args>[^()]*)\))?$")


def _split_layers(text: str) -> list[str]:
    """Split on '-' at paren depth 0, except inside numbers such as 1e-3."""
    tokens, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "-" and depth == 0:
            prev = text[i - 1] if i else ""
            before = text[i - 2] if i >= 2 else ""
            if prev in "eE" and (before.isdigit() or before == "."):
                continue  # exponent of a float: dropout=1e-3
            if prev == "=":
                continue  # a negative value (dropout=-0.1): its option's check refuses it
            tokens.append(text[start:i])
            start = i + 1
    tokens.append(text[start:])
    return tokens


def _parse_token(token: str, defaults: dict[str, Any]) -> Any:
    raw = token.strip()
    if not raw:
        raise SpecError("spec", token, "an empty layer (two '-' in a row, or a leading/trailing "
                        "'-')", "Write layers as e.g. '256-128'.")
    head, *opts = raw.split(":")
    m = _TOKEN.match(head.strip())
    if not m:
        raise SpecError("spec", raw, "a layer must start with a width (e.g. '128') or a kind name "
                        "(e.g. 'dense(128)'); allowed kinds: " + ", ".join(sorted(kinds())),
                        "Check the spelling and parentheses.")
    name, args_text = m.group("name"), m.group("args")
    if name.isdigit():
        klass: type | None = DenseSpec
        args = [name]
        if args_text is not None:
            raise SpecError("spec", raw, "a width cannot take arguments", "Write e.g. '128'.")
    else:
        klass = kind_class(name)
        if klass is None:
            hint = did_you_mean(name, list(kinds()))
            raise SpecError("spec", raw, f"unknown layer kind {name!r}; allowed kinds: "
                            + ", ".join(sorted(kinds())) + " (or a plain width such as 128)",
                            (hint.strip() + " ") if hint else "Check the spelling.")
        args = [a.strip() for a in args_text.split(",")] if args_text else []
        if args_text is not None and any(a == "" for a in args):
            raise SpecError("spec", raw, "empty argument inside parentheses",
                            "Write e.g. 'dense(128)'.")
    options: dict[str, str] = {}
    for opt in opts:
        opt = opt.strip()
        if "=" in opt:
            key, _, value = opt.partition("=")
            key = key.strip()
            if key == "act":                  # act=NAME, as conv/attn/rnn layers take it
                key = "activation"
            if key == "activation":
                value = value.strip().lower()
        elif opt.lower() in ACTIVATIONS or opt.lower() in ACTIVATION_ALIASES:
            key, value = "activation", opt.lower()       # ReLU, TANH: names are not cased
        else:
            key = ""
        if key and key in options:        # '256:tanh:relu' would silently keep one of them
            raise SpecError("spec", raw, f"{key} is given twice ({options[key]!r} and "
                            f"{value.strip()!r})", "Give each option once, e.g. '256:tanh'.")
        if key:
            options[key] = value.strip()
        if not key:
            hint = did_you_mean(opt, ACTIVATIONS)
            raise SpecError("spec", raw, f"unknown option {opt!r}; an option is an activation ("
                            + ", ".join(ACTIVATIONS) + ") or key=value",
                            (hint.strip() + " ") if hint else "Write e.g. '128:tanh'.")
    assert klass is not None
    return klass.from_token(args, options, raw, defaults)  # type: ignore[attr-defined]


def parse_spec(spec: Any, *, param: str = "spec", activation: str | None = None,
               init: str | None = None) -> HiddenSpec:
    """Parse any accepted form of a hidden-layer spec into a :class:`HiddenSpec`.

    Parameters
    ----------
    spec : tuple of int, str, layer dataclass(es) or HiddenSpec
    param : str
        Name of the parameter to quote in errors (e.g. ``hidden_layer_sizes``).
    activation, init : str, optional
        Defaults for layers that do not name their own (sklearn's ``activation=``).

    Examples
    --------
    >>> str(parse_spec((256, 128), activation="tanh"))
    '256:tanh-128:tanh'
    >>> str(parse_spec("64:relu:dropout=0.2-32:gelu"))
    '64:relu:dropout=0.2-32:gelu'
    """
    defaults: dict[str, Any] = {}
    if activation is not None:
        defaults["activation"] = activation
    if init is not None:
        defaults["init"] = init
    if isinstance(spec, HiddenSpec):
        return spec
    try:
        if isinstance(spec, str):
            if not spec.strip():
                raise SpecError(param, spec, "an empty string names no layer",
                                "Write e.g. '256-128', or pass () for no hidden layer.")
            tokens = _split_layers(spec)
            if any(not t.strip() for t in tokens):
                negative = re.match(r"\s*-\s*(\d+)", spec)
                if negative:            # '-5': a minus sign, not a separator ('64--32' reads
                    # as a doubled separator)
                    raise SpecError(param, spec, f"widths must be positive integers, got "
                                    f"-{negative.group(1)}", "Write positive widths, e.g. "
                                    "'256-128'.")
                raise SpecError(param, spec, "an empty layer (two '-' in a row, or a leading or "
                                "trailing '-')", "Write layers as e.g. '256-128'.")
            return HiddenSpec(tuple(_parse_token(t, defaults) for t in tokens))
        if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
            spec = (spec,)
        if isinstance(spec, Iterable) and not isinstance(spec, (bytes, dict)):
            layers = []
            for item in spec:
                if isinstance(item, bool) or (isinstance(item, numbers.Real)
                                              and not isinstance(item, numbers.Integral)):
                    raise SpecError(param, spec, f"widths must be positive integers, got {item!r}",
                                    "Pass e.g. (256, 128).")
                if isinstance(item, numbers.Integral):
                    if item < 1:
                        raise SpecError(param, spec, f"widths must be positive integers, got "
                                        f"{int(item)}", "Pass e.g. (256, 128).")
                    layers.append(DenseSpec(int(item), **defaults))
                elif isinstance(item, str):
                    layers.extend(parse_spec(item, param=param, activation=activation,
                                             init=init).layers)
                elif hasattr(item, "kind") and hasattr(item, "to_dict"):
                    layers.append(item)
                else:
                    raise SpecError(param, spec, f"cannot use {item!r} as a hidden layer; allowed: "
                                    "positive ints, spec strings, layer dataclasses",
                                    "Pass e.g. (256, 128).")
            return HiddenSpec(tuple(layers))
    except ParameterError as err:  # SpecError, or a field check of a layer dataclass
        if isinstance(err, SpecError) and err.param == param:
            raise
        raise SpecError(param, spec, f"{err.param}={err.value!r}: {err.allowed}", err.fix) from None
    raise SpecError(param, spec, "expected a tuple of widths, a spec string such as "
                    "'256:tanh-128', or layer dataclasses", "Pass e.g. (256, 128).")
