"""Torch modules for hidden layers: ``HiddenNet``, each layer kind, ``build``."""

from ._activations import make_activation
from ._build import build
from ._dense import DenseLayer
from ._init import init_linear
from ._net import DenseStep, HiddenNet
from ._registry import make_layer, register_module

__all__ = ["HiddenNet", "DenseLayer", "DenseStep", "build", "make_activation", "init_linear",
           "make_layer", "register_module"]
