"""Under torchrun: shard a small MoE with trainer/sharding.py, take one AdamW step, and write what this rank holds.

usage: run_sharded_state.py OUT_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from sciloom.trainer.config import ParallelConfig
from sciloom.trainer.distributed import init_from_environment, shut_down
from sciloom.trainer.model import CausalLM, ModelConfig, MoEConfig
from sciloom.trainer.sharding import save_trained, sharded_copy


def main() -> None:
    out_dir = Path(sys.argv[1])
    ctx = init_from_environment()
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, moe=MoEConfig(num_experts=4, top_k=2, expert_intermediate_size=16))
    model = CausalLM(config)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    shadow = sharded_copy(model, ctx, ParallelConfig())
    optimizer = torch.optim.AdamW(shadow.parameters(), lr=1e-2)
    torch.manual_seed(1 + ctx.rank)
    shadow(torch.randint(0, 64, (2, 8))).logits_BTV.sum().backward()
    optimizer.step()
    held = {name: list(p.to_local().shape) for name, p in shadow.named_parameters()}
    adam = {name: list(optimizer.state[p]["exp_avg"].to_local().shape) for name, p in shadow.named_parameters()}
    save_trained(shadow, model, out_dir / "final")
    after = model.state_dict()
    record = {"held": held, "adam": adam, "full": {k: list(v.shape) for k, v in after.items()},
              "untouched_model_changed": any(not torch.equal(before[k], after[k]) for k in before)}
    (out_dir / f"rank{ctx.rank}.json").write_text(json.dumps(record))
    torch.save(after, out_dir / f"gathered-rank{ctx.rank}.pt")
    shut_down(ctx)


if __name__ == "__main__":
    main()
