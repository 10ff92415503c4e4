"""Opt-in `torch.compile` for training (`OptimConfig.compile`): the dense parts compiled, the routed experts eager.

Compiled: every RMSNorm, attention block (projections, RoPE, SDPA) and SwiGLU MLP (dense layers and the shared
expert), each a fixed-shape graph without breaks, so Inductor fuses their elementwise work forward and backward.
Left eager: routing, permute/unpermute and the routed experts, whose per-expert segment sizes depend on the data
(compiling them means graph breaks and recompiles, measured no faster).

`nn.Module.compile` compiles in place, so parameter names, state dicts and checkpoints stay as they are.
Measured on one CPU thread (OMP_NUM_THREADS=1, the benchmarks/bench_training_throughput.py model): a training step
is 6-7% faster once compiled (also with packed-document masks, as the training loop runs it); the first step pays
15-40 s of compilation. The step stays matmul-bound: about 60% of it is expert and projection matmuls that already
run near the core's peak and that compilation leaves as they are.
"""
from __future__ import annotations

from torch import nn

from sciloom.trainer.model import Attention, RMSNorm
from sciloom.trainer.moe import MLP

COMPILED_MODULE_TYPES = (RMSNorm, Attention, MLP)


def compile_for_training(model: nn.Module) -> nn.Module:
    """Compiles the dense submodules of `model` in place and returns it."""
    for module in model.modules():
        if isinstance(module, COMPILED_MODULE_TYPES):
            module.compile()
    return model
