"""Stage 1's product on disk: each discipline's induced FFN weights in one safetensors file, read back per layer.

Expert induction trains one copy of the dense model per discipline; what the expert split needs of it is only the
FFN of every layer. Writing that to disk in bf16 (the storage dtype of the published Qwen checkpoints) lets
each discipline run as its own job and lets the split read one layer of every discipline at a time instead of
holding all the induced FFNs (about 150 GB in float32 for 8 disciplines of Qwen2.5-7B).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from sciloom.curation.atomic_write import atomic_path
from sciloom.trainer.upcycle import FFN_KEYS

STORAGE_DTYPE = torch.bfloat16


def _key(layer: int, projection: str) -> str:
    return f"model.layers.{layer}.mlp.{projection}.weight"


def write_induced_ffn(model: torch.nn.Module, path: Path) -> Path:
    """The dense model's FFN weights of every layer, in bf16."""
    state = model.state_dict()
    tensors = {_key(i, proj): state[_key(i, proj)].detach().to(STORAGE_DTYPE).contiguous().cpu()
               for i in range(model.config.num_layers) for proj in FFN_KEYS}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata={"format": "pt", "num_layers": str(model.config.num_layers)})
    return path


class InducedFFNFile(Sequence):
    """Per layer, {gate_proj, up_proj, down_proj} in float32, read from the file only when that layer is asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with safe_open(path, "pt") as handle:
            self.num_layers = int(handle.metadata()["num_layers"])

    def __len__(self) -> int:
        return self.num_layers

    def __getitem__(self, layer: int) -> dict[str, torch.Tensor]:
        if not 0 <= layer < self.num_layers:
            raise IndexError(f"{self.path}: layer {layer} of {self.num_layers}")
        with safe_open(self.path, "pt") as handle:
            return {proj: handle.get_tensor(_key(layer, proj)).float() for proj in FFN_KEYS}
