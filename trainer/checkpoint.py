"""Resumable checkpoints: weights (safetensors), optimizer, sampler position and RNG, written atomically.

A checkpoint folder appears complete or not at all (written under a temporary name, then renamed), so a
run killed while writing resumes from the previous one.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model

from sciloom.curation.atomic_write import atomic_dir

PREFIX = "step-"


def checkpoint_path(root: Path, step: int) -> Path:
    return root / f"{PREFIX}{step:07d}"


def latest_checkpoint(root: Path) -> Path | None:
    found = sorted(p for p in root.glob(f"{PREFIX}*") if p.is_dir()) if root.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(root: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    state: dict[str, Any], keep_last: int = 2) -> Path:
    final = checkpoint_path(root, step)
    with atomic_dir(final) as tmp:
        save_model(model, str(tmp / "model.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "rng": torch.get_rng_state()}, tmp / "optimizer.pt")
        (tmp / "state.json").write_text(json.dumps({"step": step, **state}, indent=2))
    for old in sorted(p for p in root.glob(f"{PREFIX}*") if p.is_dir())[:-keep_last]:
        shutil.rmtree(old)
    return final


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict[str, Any]:
    """Restore weights (and optimizer + RNG when given); returns the saved state dict (step, sampler, ...)."""
    missing, unexpected = load_model(model, str(path / "model.safetensors"), strict=True)
    if missing or unexpected:
        raise ValueError(f"checkpoint {path} does not match the model: missing {missing}, unexpected {unexpected}")
    if optimizer is not None:
        saved = torch.load(path / "optimizer.pt", weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
    return json.loads((path / "state.json").read_text())
