"""Resumable checkpoints: weights, optimizer, sampler position and RNG, written atomically.

A checkpoint folder appears complete or not at all (written under a temporary name, then renamed), so a
run killed while writing resumes from the previous one. One process writes weights as safetensors and the
optimizer with torch.save; a sharded (FSDP2) run writes every rank's shards of both with
torch.distributed.checkpoint into the same kind of folder, each rank its own files, never gathering the model.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from safetensors.torch import load_model, save_model
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

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
    _keep_last(root, keep_last)
    return final


def save_sharded_checkpoint(root: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                            state: dict[str, Any], keep_last: int = 2) -> Path:
    """Collective: every rank writes its shards of the model and optimizer, and its own RNG and `state` (each rank's
    sampler has its own position), into one folder."""
    final = checkpoint_path(root, step)
    model_state, optimizer_state = get_state_dict(model, optimizer)

    def extras(folder: Path) -> None:
        rank = dist.get_rank()
        torch.save(torch.get_rng_state(), folder / f"rng-rank{rank}.pt")
        (folder / f"state-rank{rank}.json").write_text(json.dumps({"step": step, **state}, indent=2))

    save_sharded(final, {"model": model_state, "optimizer": optimizer_state}, extras)
    if dist.get_rank() == 0:
        _keep_last(root, keep_last)
    return final


def save_sharded(final: Path, state: dict[str, Any], extras: Callable[[Path], None] | None = None) -> None:
    """Collective torch.distributed.checkpoint save into a folder that appears complete or not at all: rank 0
    commits it once every rank has written its files; no rank goes on before."""
    if dist.get_rank() == 0:
        with atomic_dir(final) as tmp:
            dist.broadcast_object_list([str(tmp)])
            _write_shards(tmp, state, extras)
    else:
        folder = [None]
        dist.broadcast_object_list(folder)
        _write_shards(Path(folder[0]), state, extras)
    dist.barrier()


def _write_shards(folder: Path, state: dict[str, Any], extras: Callable[[Path], None] | None) -> None:
    dcp.save(state, checkpoint_id=folder)
    if extras is not None:
        extras(folder)
    dist.barrier()  # every rank's files are in before rank 0 commits the folder


def _keep_last(root: Path, keep_last: int) -> None:
    for old in sorted(p for p in root.glob(f"{PREFIX}*") if p.is_dir())[:-keep_last]:
        shutil.rmtree(old)


def is_sharded_checkpoint(path: Path) -> bool:
    return (path / ".metadata").is_file()


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict[str, Any]:
    """Restore weights (and optimizer + RNG when given); returns the saved state dict (step, sampler, ...)."""
    sharded_model = dist.is_initialized() and dist.get_world_size() > 1
    if is_sharded_checkpoint(path) != sharded_model:
        kinds = {True: "sharded", False: "single-process"}
        raise ValueError(f"checkpoint {path} was written by a {kinds[is_sharded_checkpoint(path)]} run and cannot "
                         f"resume a {kinds[sharded_model]} one: resume with the same number of processes")
    if sharded_model:
        assert optimizer is not None, "a sharded checkpoint is resumed with its optimizer"
        model_state, optimizer_state = get_state_dict(model, optimizer)
        loaded = {"model": model_state, "optimizer": optimizer_state}
        dcp.load(loaded, checkpoint_id=path)
        set_state_dict(model, optimizer, model_state_dict=loaded["model"], optim_state_dict=loaded["optimizer"])
        torch.set_rng_state(torch.load(path / f"rng-rank{dist.get_rank()}.pt"))
        return json.loads((path / f"state-rank{dist.get_rank()}.json").read_text())
    missing, unexpected = load_model(model, str(path / "model.safetensors"), strict=True)
    if missing or unexpected:
        raise ValueError(f"checkpoint {path} does not match the model: missing {missing}, unexpected {unexpected}")
    if optimizer is not None:
        saved = torch.load(path / "optimizer.pt", weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
    return json.loads((path / "state.json").read_text())
