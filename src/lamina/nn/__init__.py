"""Torch modules for hidden layers: ``HiddenNet``, each layer kind, ``build``."""

from ._activations import make_activation
from ._attention import AttentionBlock, SeqPool, sinusoidal_positions
from ._autoencoder import Autoencoder, build_autoencoder
from ._build import build
from ._conv import ConvLayer, FlattenLayer, GlobalAvgPool, PoolLayer
from ._dense import DenseLayer
from ._embed import EmbedLayer
from ._init import init_linear
from ._net import DenseStep, HiddenNet
from ._recurrent import RecurrentLayer
from ._registry import make_layer, register_module
from ._seq2seq import Seq2Seq, Seq2SeqConfig

__all__ = ["HiddenNet", "DenseLayer", "DenseStep", "build", "make_activation", "init_linear",
           "make_layer", "register_module",
           "ConvLayer", "PoolLayer", "FlattenLayer", "GlobalAvgPool", "RecurrentLayer",
           "AttentionBlock", "SeqPool", "sinusoidal_positions", "EmbedLayer",
           "Autoencoder", "build_autoencoder", "Seq2Seq", "Seq2SeqConfig"]
