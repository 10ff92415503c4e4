"""Under torchrun: expert-parallel experts against the single-rank reference holding all experts.

usage: run_expert_parallel.py OUT_DIR — writes rank{r}.json with the largest differences found.
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from sciloom.trainer.distributed import init_from_environment, shut_down
from torch.distributed.device_mesh import init_device_mesh

from sciloom.trainer.expert_parallel import ExpertParallelExperts
from sciloom.trainer.experts import GroupedExperts
from sciloom.trainer.model import CausalLM, ModelConfig, MoEConfig

E, HIDDEN, INTERMEDIATE = 4, 16, 8


def module_level(rank: int, world: int) -> dict[str, float]:
    """Hand-made uneven counts, with experts that get no row from one rank or from any."""
    torch.manual_seed(0)
    full = GroupedExperts(E, HIDDEN, INTERMEDIATE, init_std=0.3)
    ep = ExpertParallelExperts.sharded(full, init_device_mesh("cpu", (world,)))
    counts_E = torch.tensor([[3, 0, 2, 1], [0, 4, 0, 0]][rank])
    torch.manual_seed(10 + rank)
    x_PD = torch.randn(int(counts_E.sum()), HIDDEN, requires_grad=True)
    x_ref_PD = x_PD.detach().clone().requires_grad_(True)
    upstream_PD = torch.randn(x_PD.shape[0], HIDDEN)
    y_PD, y_ref_PD = ep(x_PD, counts_E), full(x_ref_PD, counts_E)
    (y_PD * upstream_PD).sum().backward()
    (y_ref_PD * upstream_PD).sum().backward()
    L = E // world
    for grad in (full.gate_up_proj.grad, full.down_proj.grad):
        dist.all_reduce(grad)  # the reference's weight gradient over both ranks' rows
    return {
        "output": (y_PD - y_ref_PD).abs().max().item(),
        "input_grad": (x_PD.grad - x_ref_PD.grad).abs().max().item(),
        # a local expert's gradient is the mean over ranks (the loop's convention), the reference's the sum
        "gate_up_grad": (ep.gate_up_proj.grad.to_local() * world
                         - full.gate_up_proj.grad[rank * L:(rank + 1) * L]).abs().max().item(),
        "down_grad": (ep.down_proj.grad.to_local() * world
                      - full.down_proj.grad[rank * L:(rank + 1) * L]).abs().max().item(),
        "scale": y_ref_PD.abs().max().item(),
    }


def model_level(rank: int, world: int) -> dict[str, float]:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, moe=MoEConfig(num_experts=E, top_k=2, expert_intermediate_size=16,
                                                              shared_expert_intermediate_size=32))
    reference = CausalLM(config)
    ep_model = copy.deepcopy(reference)
    mesh = init_device_mesh("cpu", (world,))
    for layer in ep_model.model.layers:
        layer.mlp.experts = ExpertParallelExperts.sharded(layer.mlp.experts, mesh)
    torch.manual_seed(20 + rank)
    ids_BT = torch.randint(0, 64, (2, 12))
    outputs = []
    for model in (ep_model, reference):
        out = model(ids_BT)
        (out.logits_BTV.square().mean() + out.aux_loss).backward()
        outputs.append(out.logits_BTV.detach())
    worst_expert_grad = 0.0
    L = E // world
    for layer_ep, layer_ref in zip(ep_model.model.layers, reference.model.layers):
        for name in ("gate_up_proj", "down_proj"):
            grad_ref = getattr(layer_ref.mlp.experts, name).grad
            dist.all_reduce(grad_ref)
            grad_ep = getattr(layer_ep.mlp.experts, name).grad.to_local() * world  # mean over ranks -> sum
            worst_expert_grad = max(worst_expert_grad, (grad_ep - grad_ref[rank * L:(rank + 1) * L]).abs().max().item())
    reference_params = dict(reference.named_parameters())
    others = [(p.grad - reference_params[name].grad).abs().max().item()
              for name, p in ep_model.named_parameters() if ".experts." not in name]
    return {"logits": (outputs[0] - outputs[1]).abs().max().item(), "expert_grads": worst_expert_grad,
            "other_grads": max(others)}


def main() -> None:
    out_dir = Path(sys.argv[1])
    ctx = init_from_environment()
    record = {"module": module_level(ctx.rank, ctx.world_size), "model": model_level(ctx.rank, ctx.world_size)}
    (out_dir / f"rank{ctx.rank}.json").write_text(json.dumps(record))
    shut_down(ctx)


if __name__ == "__main__":
    main()
