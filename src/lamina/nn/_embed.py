"""``EmbedLayer``: integer ids -> learned vectors (token sequences or categorical columns)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._errors import DataError, SpecError
from .._validation import check_memory
from ..spec import EmbedSpec
from ._registry import register_module
from ._sequence import lengths_from_padding

Shape = tuple[int, ...]
_TRAINING_COPIES = 4  # parameters + gradients + two Adam moments, as lamina.build counts


class EmbedLayer(nn.Module):
    """Looks up each id in a table; id 0 (padding / unknown) gives the zero vector.

    Token mode (one table): ``(B, T)`` ids -> ``(B, T, dim)``. Categorical mode (one table per
    column): ``(B, k)`` ids -> ``(B, k, dim)``. A unit is a feature of the vectors (last axis).
    """

    unit_axis = -1

    def __init__(self, in_shape: Shape, spec: EmbedSpec) -> None:
        super().__init__()
        assert spec.vocab is not None  # the factory refuses a missing vocabulary
        self.spec = spec
        self.width = in_shape[0]
        self.vocab = spec.vocab
        self.tables = nn.ModuleList(nn.Embedding(n, spec.dim, padding_idx=0) for n in spec.vocab)
        self.dropout = nn.Dropout(spec.dropout) if spec.dropout else nn.Identity()
        # token sequences keep their time axis (and lengths); categorical columns are fixed
        self.sequence_role = "keep" if spec.token_mode else None

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = self._check_ids(ids)                                           # (B, T) int64
        if len(self.tables) == 1:
            vectors = self.tables[0](ids)                                    # (B, T, dim)
        else:
            vectors = torch.stack([table(ids[:, j]) for j, table in enumerate(self.tables)],
                                  dim=1)                                     # (B, k, dim)
        # id 0 reads its (zero, frozen) row; multiplying by the mask keeps it exactly zero even
        # if a user edits the table, and makes the function match its gradient (gradcheck)
        return self.dropout(vectors * (ids != 0).unsqueeze(-1).to(vectors.dtype))

    def next_lengths(self, ids: torch.Tensor, lengths: Any) -> Any:
        """Lengths for the layers after this one: as given, or (token mode, none given) the
        position after each sequence's last non-padding id, at least 1."""
        if lengths is not None or len(self.tables) != 1:
            return lengths
        return lengths_from_padding(torch.as_tensor(ids))

    def _check_ids(self, ids: Any) -> torch.Tensor:
        ids = torch.as_tensor(ids)
        layout = "(B, T) token ids" if len(self.tables) == 1 else f"(B, {self.width}) column ids"
        if ids.dim() != 2 or (len(self.tables) > 1 and ids.shape[1] != self.width):
            raise DataError(f"{self.spec} expects {layout}; got a tensor of shape "
                            f"{tuple(ids.shape)}. Pass integer ids, one row per example.")
        if ids.dtype.is_floating_point:
            if not bool(torch.all(ids == ids.round())):   # NaN fails this too
                raise DataError(f"{self.spec} expects integer ids; got non-integer values "
                                f"(e.g. {ids[ids != ids.round()][0].item()!r}). Encode categories "
                                "and tokens as integers 1..vocab-1 (0 = padding/unknown).")
            ids = ids.long()
        elif ids.dtype == torch.bool or ids.dtype.is_complex:
            raise DataError(f"{self.spec} expects integer ids; got dtype {ids.dtype}.")
        else:
            ids = ids.long()
        limits = torch.tensor(self.vocab, device=ids.device)                 # (tables,)
        too_big = ids >= limits if len(self.tables) > 1 else ids >= self.vocab[0]
        bad = too_big | (ids < 0)
        if bool(bad.any()):
            b, j = (int(i) for i in bad.nonzero()[0])
            n = self.vocab[j if len(self.tables) > 1 else 0]
            raise DataError(f"{self.spec}: id {int(ids[b, j])} at row {b}, position {j} is "
                            f"outside [0, {n}) (vocab={n}, id 0 = padding/unknown). Map unseen "
                            "ids to 0, or rebuild with a larger vocab.")
        return ids


def _embed_factory(spec: EmbedSpec, in_shape: Shape,
                   generator: torch.Generator | None) -> tuple[nn.Module, Shape]:
    if spec.vocab is None:
        raise SpecError("spec", str(spec), "an embed layer needs its vocabulary size, which "
                        "comes from the data", "Write e.g. 'embed(64):vocab=5000' (ids 0..4999, "
                        "0 = padding) or fill it with lamina.spec.with_vocab(spec, vocab).")
    if len(in_shape) != 1:
        raise SpecError("spec", str(spec), f"an embed layer reads integer ids of shape (T,) or "
                        f"(columns,), but its input has shape {tuple(in_shape)}",
                        "Put embed first and pass in_shape=(T,) (token ids padded to T) or "
                        "(columns,) for categorical ids.")
    if len(spec.vocab) > 1 and len(spec.vocab) != in_shape[0]:
        raise SpecError("spec", str(spec), f"categorical mode needs one vocab size per input "
                        f"column: {len(spec.vocab)} sizes for {in_shape[0]} columns",
                        f"Give {in_shape[0]} sizes, e.g. vocab=944,1683, or one shared size.")
    n_params = sum(spec.vocab) * spec.dim
    check_memory("vocab", spec.vocab[0] if len(spec.vocab) == 1 else spec.vocab,
                 n_params * 4 * _TRAINING_COPIES, "cpu")
    return EmbedLayer(in_shape, spec), (in_shape[0], spec.dim)


register_module("embed", _embed_factory)

__all__ = ["EmbedLayer"]
