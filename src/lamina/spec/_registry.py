"""Registry of hidden-layer kinds: the name used in spec strings -> its spec dataclass.

A kind is a frozen dataclass with a ``kind`` class attribute, ``__str__`` giving its canonical
token, ``to_dict()`` and a ``from_token(args, options, token, defaults)`` classmethod. Other
packages (and users) add kinds with :func:`register_kind`.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._dense import DenseSpec


class LayerSpec(Protocol):
    kind: str

    def to_dict(self) -> dict[str, Any]: ...


_KINDS: dict[str, type] = {}


def register_kind(cls: type) -> type:
    """Register a layer-spec class under ``cls.kind`` (usable as a class decorator)."""
    name = getattr(cls, "kind", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"{cls!r} needs a class attribute kind='name' (an identifier)")
    _KINDS[name] = cls
    return cls


def kinds() -> dict[str, type]:
    """The registered kinds, name -> spec class."""
    return dict(_KINDS)


def kind_class(name: str) -> type | None:
    return _KINDS.get(name)


register_kind(DenseSpec)
