"""A tiny training run, as its own process: tests kill it, resume it, or start it under torchrun.

usage: run_small_training.py STREAM_DIR OUT_DIR STEPS BATCH [--hold-at-step K] [--moe] [--no-expert-parallel]
"""
from __future__ import annotations

import argparse
import threading
from pathlib import Path

import torch

from sciloom.mixer.shard_reader import PackedShardDataset
from sciloom.trainer.batches import BatchStream
from sciloom.trainer.config import ParallelConfig
from sciloom.trainer.distributed import init_from_environment
from sciloom.trainer.model import CausalLM, ModelConfig, MoEConfig
from sciloom.trainer.objectives import LanguageModeling
from sciloom.trainer.optim_config import OptimConfig
from sciloom.trainer.train_loop import train_stage

TINY = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=64)
# No load-balancing loss: it is computed over each rank's micro-batch (as Megatron does by default), a nonlinear
# function of the tokens seen, so two ranks of 2 sequences cannot equal one process of 4 with it on.
TINY_MOE = TINY.model_copy(update={"moe": MoEConfig(num_experts=4, top_k=2, expert_intermediate_size=16,
                                                    shared_expert_intermediate_size=32, aux_loss_weight=0.0)})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("stream_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("steps", type=int)
    parser.add_argument("batch", type=int)
    parser.add_argument("--hold-at-step", type=int, default=0,
                        help="block for good when step K begins (after step K-1's checkpoint): the test kills it there")
    parser.add_argument("--moe", action="store_true")
    parser.add_argument("--no-expert-parallel", action="store_true")
    args = parser.parse_args()
    ctx = init_from_environment()
    torch.manual_seed(0)
    model = CausalLM(TINY_MOE if args.moe else TINY)

    class HeldLanguageModeling(LanguageModeling):
        calls = 0

        def __call__(self, m, b):
            self.calls += 1  # one micro-batch per step
            if self.calls == args.hold_at_step:
                threading.Event().wait()  # until killed: the kill lands here whatever the machine's speed
            return super().__call__(m, b)

    stream = BatchStream(PackedShardDataset(args.stream_dir), args.batch, seed=3, rank=ctx.rank,
                         world_size=ctx.world_size)
    config = OptimConfig(steps=args.steps, batch_size=args.batch, lr=2e-2, warmup_steps=2, checkpoint_every=3)
    train_stage("tiny", model, lambda name: True, stream, HeldLanguageModeling(), config, args.out_dir, ctx=ctx,
                parallel=ParallelConfig(expert_parallel=not args.no_expert_parallel), show_progress=False)
    if ctx.world_size > 1:
        torch.save({k: v.clone() for k, v in model.state_dict().items()}, args.out_dir / f"weights-rank{ctx.rank}.pt")


if __name__ == "__main__":
    main()
