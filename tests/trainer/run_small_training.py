"""A tiny dense training run, as its own process: tests kill it, resume it, or start it under torchrun.

usage: run_small_training.py STREAM_DIR OUT_DIR STEPS BATCH [SECONDS_PER_STEP]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from sciloom.mixer.shard_reader import PackedShardDataset
from sciloom.trainer.batches import BatchStream
from sciloom.trainer.distributed import init_from_environment
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.objectives import LanguageModeling
from sciloom.trainer.optim_config import OptimConfig
from sciloom.trainer.train_loop import train_stage

TINY = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=64)


def main() -> None:
    stream_dir, out_dir, steps, batch = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    ctx = init_from_environment()
    torch.manual_seed(0)
    model = CausalLM(TINY)

    class SlowLanguageModeling(LanguageModeling):
        def __call__(self, m, b):
            time.sleep(pause)  # gives the killing test a window; changes no number
            return super().__call__(m, b)

    stream = BatchStream(PackedShardDataset(stream_dir), batch, seed=3, rank=ctx.rank, world_size=ctx.world_size)
    config = OptimConfig(steps=steps, batch_size=batch, lr=2e-2, warmup_steps=2, checkpoint_every=3)
    train_stage("tiny", model, lambda name: True, stream, SlowLanguageModeling(), config, out_dir, ctx=ctx, show_progress=False)
    if ctx.world_size > 1:
        torch.save({k: v.clone() for k, v in model.state_dict().items()}, out_dir / f"weights-rank{ctx.rank}.pt")


if __name__ == "__main__":
    main()
