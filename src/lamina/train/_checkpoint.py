"""Per-epoch checkpoints: weights (safetensors) + history (JSON lines), written atomically."""

from __future__ import annotations

from pathlib import Path

import torch

from ._history import History, atomic_write_bytes


def save_checkpoint(directory: str | Path, model: torch.nn.Module, history: History) -> None:
    """Write ``weights.safetensors`` and ``history.jsonl`` into ``directory`` (atomically)."""
    from safetensors.torch import save

    path = Path(directory)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write_bytes(path / "weights.safetensors", save(state))
    history.save(path / "history.jsonl")


def load_checkpoint(directory: str | Path, model: torch.nn.Module) -> History:
    """Load the weights saved by :func:`save_checkpoint` into ``model``; return its History."""
    from safetensors.torch import load_file

    path = Path(directory)
    device = next(model.parameters()).device
    model.load_state_dict(load_file(str(path / "weights.safetensors"), device=str(device)))
    return History.load(path / "history.jsonl")
