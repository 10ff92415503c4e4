"""Where a model's weights live when no process holds them whole: safetensors files or a sharded checkpoint.

In sharded training (more than one process) the upcycled MoE is never built in memory: trainer/innovator.py
writes it layer by layer to safetensors files, and every stage after that leaves its weights as a
torch.distributed.checkpoint folder written by all ranks. Such a model is a `CausalLM` on the meta device with a
`WeightsSource` beside it; `load_into` fills a (sharded) state dict collectively, each rank reading only its
slices, and `read` gives one process the full tensors it names (a layer at a time, for the expert split and
the Hugging Face export).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import torch
import torch.distributed.checkpoint as dcp
from safetensors import safe_open
from torch import Tensor, nn

WEIGHTS_SOURCE_ATTRIBUTE = "weights_source"


@dataclass(frozen=True)
class WeightsSource:
    path: Path
    kind: Literal["safetensors", "checkpoint"]  # a folder of *.safetensors, or a torch.distributed.checkpoint folder

    @cached_property
    def _safetensors_files(self) -> dict[str, Path]:
        """Tensor name -> its file (the folder's files are written once, before any source points at them)."""
        names: dict[str, Path] = {}
        for file in sorted(self.path.glob("*.safetensors")):
            with safe_open(file, "pt") as handle:
                names.update({name: file for name in handle.keys()})
        return names

    def read(self, names: list[str]) -> dict[str, Tensor]:
        """The full tensors `names`, read by this process alone (no collective)."""
        if self.kind == "safetensors":
            out = {}
            for file in sorted({self._safetensors_files[name] for name in names}):
                with safe_open(file, "pt") as handle:
                    out.update({name: handle.get_tensor(name) for name in names
                                if self._safetensors_files[name] == file})
            return out
        metadata = dcp.FileSystemReader(str(self.path)).read_metadata().state_dict_metadata
        out = {name: torch.empty(tuple(metadata[name].size), dtype=metadata[name].properties.dtype) for name in names}
        dcp.load(out, storage_reader=dcp.FileSystemReader(str(self.path)), no_dist=True)
        return out

    def load_into(self, state_dict: dict[str, Tensor]) -> None:
        """Collective: fill `state_dict` (DTensors or plain tensors) in place, each rank reading what it holds."""
        reader = (dcp.HuggingFaceStorageReader(str(self.path)) if self.kind == "safetensors"
                  else dcp.FileSystemReader(str(self.path)))
        dcp.load(state_dict, storage_reader=reader)

    def fingerprint(self) -> str:
        """sha256 over the bytes of the weight files (what a stage trained from this source depends on)."""
        files = (self.path.glob("*.safetensors") if self.kind == "safetensors"
                 else (p for p in self.path.rglob("*") if p.is_file()))
        digest = hashlib.sha256()
        for file in sorted(files):
            digest.update(str(file.relative_to(self.path)).encode())
            with file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 24), b""):
                    digest.update(block)
        return digest.hexdigest()


def source_of(model: nn.Module) -> WeightsSource | None:
    """The files holding a meta-device model's weights (None for a model that holds its own)."""
    return getattr(model, WEIGHTS_SOURCE_ATTRIBUTE, None)


def on_disk(model: nn.Module, source: WeightsSource) -> nn.Module:
    setattr(model, WEIGHTS_SOURCE_ATTRIBUTE, source)
    return model


def tensors(model: nn.Module, names: list[str]) -> dict[str, Tensor]:
    """Full tensors of a model by name, from memory or from its weights source."""
    source = source_of(model)
    if source is not None:
        return source.read(names)
    state = model.state_dict()
    return {name: state[name].detach() for name in names}
