"""Per-epoch checkpoints that a fit can resume from exactly (``Trainer.fit(resume=True)``).

Layout of a checkpoint directory::

    checkpoint.json          {"format": "lamina-checkpoint", "latest": "epoch-000005", ...}
    epoch-000005/
        weights.safetensors  the model's state_dict
        history.jsonl        the History so far
        trainer.safetensors  optimizer moments, generator states, rules' best weights
        trainer.json         counters, optimizer scalars, rules' counters (see ``_resume``)

Each epoch is written into a fresh folder, every file atomically; only then is
``checkpoint.json`` switched to it (atomically), and older folders are removed. A crash at any
moment leaves ``checkpoint.json`` naming a complete folder. No pickle anywhere.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from .._errors import ParameterError
from ._history import History, atomic_write_bytes, atomic_write_text

FORMAT = "lamina-checkpoint"


def save_checkpoint(directory: str | Path, model: torch.nn.Module, history: History,
                    trainer_state: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None
                    ) -> Path:
    """Write the model's weights, ``history`` and (for resuming) the trainer's state as the
    latest checkpoint in ``directory``; returns the epoch folder."""
    from safetensors.torch import save

    root = Path(directory)
    name = f"epoch-{len(history):06d}"
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write_bytes(folder / "weights.safetensors", save(state))
    history.save(folder / "history.jsonl")
    if trainer_state is not None:
        tensors, info = trainer_state
        atomic_write_bytes(folder / "trainer.safetensors", save(tensors))
        atomic_write_text(folder / "trainer.json", json.dumps(info))
    atomic_write_text(root / "checkpoint.json", json.dumps(
        {"format": FORMAT, "latest": name, "epoch": len(history)}))
    for old in root.glob("epoch-*"):
        if old.is_dir() and old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def latest_checkpoint(directory: str | Path) -> Path:
    """The folder of the newest complete checkpoint in ``directory``."""
    root = Path(directory)
    pointer = root / "checkpoint.json"
    if pointer.is_file():
        try:
            meta = json.loads(pointer.read_text(encoding="utf-8"))
            folder = root / str(meta["latest"])
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            meta, folder = None, root
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or not folder.is_dir():
            raise ParameterError("checkpoint_dir", str(root), "a folder whose checkpoint.json "
                                 "names a complete epoch folder; this one is damaged",
                                 "Pass the folder a Trainer(checkpoint_dir=...) wrote.")
        return folder
    if (root / "weights.safetensors").is_file():
        return root                                    # the flat layout of earlier versions
    raise ParameterError("checkpoint_dir", str(root), "a folder holding a checkpoint "
                         "(checkpoint.json); none is there",
                         "Train with Trainer(checkpoint_dir=...) first, or point to its folder.")


def load_checkpoint(directory: str | Path, model: torch.nn.Module) -> History:
    """Load the weights of the latest checkpoint in ``directory`` into ``model``; return its
    History."""
    from safetensors.torch import load_file

    folder = latest_checkpoint(directory)
    device = next(model.parameters()).device
    model.load_state_dict(load_file(str(folder / "weights.safetensors"), device=str(device)))
    return History.load(folder / "history.jsonl")


def load_trainer_state(directory: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The trainer state saved with the latest checkpoint (for ``Trainer.fit(resume=True)``)."""
    from safetensors.torch import load_file

    folder = latest_checkpoint(directory)
    if not (folder / "trainer.json").is_file():
        raise ParameterError("checkpoint_dir", str(directory), "a checkpoint written by "
                             "Trainer.fit, with the trainer's state (trainer.json); this one "
                             "holds weights only", "Resume from a Trainer's checkpoint_dir.")
    info = json.loads((folder / "trainer.json").read_text(encoding="utf-8"))
    # fresh allocations: tensors read from the file can sit at unaligned offsets, which changes
    # the summation order of vectorised reductions (L-BFGS's dot products) in the last bit
    tensors = {k: v.clone() for k, v in load_file(str(folder / "trainer.safetensors")).items()}
    return tensors, info
