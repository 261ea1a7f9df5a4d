"""Hidden-layer specs: what the hidden layers of a network are, as data (frozen dataclasses)."""

from ._activations import ACTIVATION_ALIASES, ACTIVATIONS, canonical_activation
from ._attention import POSITIONS, SEQPOOL_MODES, AttentionSpec, SeqPoolSpec
from ._conv import POOL_MODES, ConvSpec, FlattenSpec, GapSpec, PoolSpec
from ._dense import INITS, NORMS, DenseSpec, parse_bool, parse_float, parse_int
from ._embed import EmbedSpec, with_vocab
from ._hidden import HiddenSpec, parse_spec
from ._recurrent import READOUTS, GRUSpec, LSTMSpec, RNNSpec
from ._registry import kind_class, kinds, register_kind
from ._training import LOSSES, OPTIMIZERS, SCHEDULES, OptimizerSpec

__all__ = [
    "ACTIVATIONS", "ACTIVATION_ALIASES", "canonical_activation", "DenseSpec", "INITS", "NORMS",
    "HiddenSpec", "parse_spec", "register_kind", "kinds", "kind_class", "parse_int",
    "parse_float", "parse_bool", "LOSSES", "OPTIMIZERS", "SCHEDULES", "OptimizerSpec",
    "ConvSpec", "PoolSpec", "FlattenSpec", "GapSpec", "POOL_MODES",
    "RNNSpec", "LSTMSpec", "GRUSpec", "READOUTS",
    "AttentionSpec", "SeqPoolSpec", "POSITIONS", "SEQPOOL_MODES",
    "EmbedSpec", "with_vocab",
]
