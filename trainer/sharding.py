"""FSDP2 for a training stage: the model's weights, gradients and AdamW state sharded over every rank.

Layout (torchtitan's): one FSDP unit per decoder block, one for the rest (embeddings, final norm, lm_head), over
a 1-D device mesh of all ranks. The routed experts are expert-parallel over the same ranks
(trainer/expert_parallel.py: each rank keeps E/N experts whole and tokens travel to them by all-to-all), not
all-gathered by FSDP. On CUDA the units all-gather bf16 weights and reduce-scatter float32 gradients (float32
master weights stay sharded), blocks are recomputed in backward (activation checkpointing), and `cpu_offload`
keeps the sharded state in host memory (the memory plan, trainer/memory_plan.py, decides when). On CPU (gloo)
everything stays float32, which is what the tests run.

A stage trains a sharded *copy*: the copy is built on the meta device, sharded, materialised only as this rank's
shards and loaded from the stage's model, a plain one or a meta-device one whose weights are files
(trainer/weights_source.py: the upcycled MoE is never built in memory). At the end every rank writes its shards
of the trained weights as a checkpoint; a meta-device model then points at it and a plain one (the dense
model and its induced copies, which each rank holds whole) reads it back.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     set_model_state_dict)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, OffloadPolicy, fully_shard
from torch.distributed.tensor import DTensor

from sciloom.trainer.checkpoint import save_sharded
from sciloom.trainer.config import ParallelConfig
from sciloom.trainer.distributed import ParallelContext
from sciloom.trainer.expert_parallel import ExpertParallelExperts
from sciloom.trainer.weights_source import WeightsSource, on_disk, source_of


def sharded_copy(model: nn.Module, ctx: ParallelContext, parallel: ParallelConfig, offload: bool = False) -> nn.Module:
    """An FSDP2-sharded model holding `model`'s weights (from memory, or from its weights source when `model` is
    on the meta device); `model` itself is left untouched."""
    cuda = ctx.device.type == "cuda"
    mesh = init_device_mesh(ctx.device.type, (ctx.world_size,))
    precision = (MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if cuda
                 else MixedPrecisionPolicy())
    placement = CPUOffloadPolicy() if offload else OffloadPolicy()
    with torch.device("meta"):
        shadow = type(model)(model.config)
    if uses_expert_parallel(model, ctx, parallel) and not offload:  # FSDP's offload moves only what FSDP manages
        for layer in shadow.model.layers:
            layer.mlp.experts = ExpertParallelExperts.sharded(layer.mlp.experts, mesh)
    local_experts = {p for layer in shadow.model.layers
                     if isinstance(getattr(layer.mlp, "experts", None), ExpertParallelExperts)
                     for p in layer.mlp.experts.parameters()}
    for layer in shadow.model.layers:
        fully_shard(layer, mesh=mesh, mp_policy=precision, offload_policy=placement,
                    ignored_params=local_experts & set(layer.parameters()))
    fully_shard(shadow, mesh=mesh, mp_policy=precision, offload_policy=placement, ignored_params=local_experts)
    shadow.to_empty(device="cpu" if offload else ctx.device)
    source = source_of(model)
    if source is not None:
        source.load_into(shadow.state_dict())  # each rank reads only its slices from the files
    else:
        # Every rank holds the full weights here, so each keeps its own slice: no broadcast needed.
        set_model_state_dict(shadow, model.state_dict(), options=StateDictOptions(full_state_dict=True))
    shadow.activation_checkpointing = parallel.activation_checkpointing and cuda
    return shadow


def runnable(model: nn.Module, ctx: ParallelContext, parallel: ParallelConfig) -> nn.Module:
    """A model that can run forward passes: `model` itself, or a sharded copy of a meta-device one (every rank
    must then run the same forward passes, as evaluation on the shared held-out batches does)."""
    return sharded_copy(model, ctx, parallel) if source_of(model) is not None else model


def uses_expert_parallel(model: nn.Module, ctx: ParallelContext, parallel: ParallelConfig) -> bool:
    """Experts split over all ranks when asked and when they divide evenly (else FSDP shards them like the rest)."""
    moe = model.config.moe
    return parallel.expert_parallel and moe is not None and ctx.world_size > 1 and moe.num_experts % ctx.world_size == 0


def save_trained(shadow: nn.Module, model: nn.Module, folder: Path) -> None:
    """Collective: the trained weights as a sharded checkpoint in `folder` (each rank writes its own shards), then
    into `model`: a meta-device model takes the folder as its weights source, a plain one reads them whole."""
    save_sharded(folder, get_model_state_dict(shadow))
    take_final(model, folder)


def take_final(model: nn.Module, folder: Path) -> None:
    """Give `model` the weights of a sharded final checkpoint (collective when a process group is up)."""
    source = WeightsSource(folder, "checkpoint")
    if source_of(model) is not None:
        on_disk(model, source)
    else:
        dcp.load(model.state_dict(), storage_reader=dcp.FileSystemReader(str(folder)))


def local_value(value: torch.Tensor) -> torch.Tensor:
    """A DTensor's full value (e.g. the gradient norm clip_grad_norm_ returns over sharded gradients)."""
    return value.full_tensor() if isinstance(value, DTensor) else value
