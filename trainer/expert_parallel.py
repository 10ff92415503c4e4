"""Expert parallelism: the routed experts of every MoE layer split over the ranks of a process group.

Rank r of an expert-parallel group of size ep holds experts [r*E/ep, (r+1)*E/ep) of each layer whole (the layout
of Megatron-Core and torchtitan). Every rank routes its own tokens; `trainer.routing.permute` already orders the
routed rows by expert, and experts are rank-contiguous, so the rows bound for each rank are one contiguous
block. One all-to-all of the per-expert counts tells every rank what it will receive, one all-to-all moves the
rows (dispatch), the local experts run on them, and the reverse all-to-all brings the results home (combine).
Both row exchanges are differentiable (functional collectives), so backward sends the gradients the same way.

Received rows arrive grouped by source rank, then by expert; the local experts want them grouped by expert,
so they are reordered before and restored after (an index_select each way).

Shape suffixes: P routed rows on this rank, R rows received, D hidden, E experts in all, L = E/ep local experts,
S = ep source ranks.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch.distributed._functional_collectives import all_to_all_single_autograd
from torch import Tensor, nn

from sciloom.trainer.experts import GroupedExperts


class ExpertParallelExperts(nn.Module):
    def __init__(self, local: GroupedExperts, num_experts: int, group: dist.ProcessGroup | None = None) -> None:
        super().__init__()
        self.group = group if group is not None else dist.group.WORLD
        self.ep = dist.get_world_size(group)
        if num_experts % self.ep:
            raise ValueError(f"{num_experts} experts cannot be split evenly over {self.ep} expert-parallel ranks")
        if local.num_experts != num_experts // self.ep:
            raise ValueError(f"this rank should hold {num_experts // self.ep} experts, got {local.num_experts}")
        self.num_experts = num_experts
        self.local = local

    @classmethod
    def from_full(cls, experts: GroupedExperts, group: dist.ProcessGroup | None = None) -> ExpertParallelExperts:
        """This rank's slice of a layer's full experts (the weights are copied, the full module can be dropped)."""
        ep, rank = dist.get_world_size(group), dist.get_rank(group)
        L = experts.num_experts // ep
        hidden, intermediate = experts.down_proj.shape[1], experts.down_proj.shape[2]
        local = GroupedExperts(L, hidden, intermediate, experts.init_std).to(experts.down_proj.device)
        with torch.no_grad():
            local.gate_up_proj.copy_(experts.gate_up_proj[rank * L:(rank + 1) * L])
            local.down_proj.copy_(experts.down_proj[rank * L:(rank + 1) * L])
        return cls(local, experts.num_experts, group)

    def forward(self, x_PD: Tensor, tokens_per_expert_E: Tensor) -> Tensor:
        S, L = self.ep, self.num_experts // self.ep
        send_SL = tokens_per_expert_E.view(S, L).contiguous()
        recv_SL = torch.empty_like(send_SL)
        dist.all_to_all_single(recv_SL, send_SL, group=self.group)
        send_splits, recv_splits = send_SL.sum(1).tolist(), recv_SL.sum(1).tolist()

        x_RD = all_to_all_single_autograd(x_PD.contiguous(), recv_splits, send_splits, self.group)
        by_expert_R = _source_major_to_expert_major(recv_SL)
        y_RD = self.local(x_RD.index_select(0, by_expert_R), recv_SL.sum(0))
        y_RD = y_RD.index_select(0, torch.argsort(by_expert_R))
        return all_to_all_single_autograd(y_RD.contiguous(), send_splits, recv_splits, self.group)


def _source_major_to_expert_major(counts_SL: Tensor) -> Tensor:
    """Row order that turns rows grouped (source, expert) into rows grouped (expert, source)."""
    S, L = counts_SL.shape
    starts_SL = (counts_SL.reshape(-1).cumsum(0) - counts_SL.reshape(-1)).view(S, L)
    pieces = [torch.arange(int(starts_SL[s, e]), int(starts_SL[s, e] + counts_SL[s, e]), device=counts_SL.device)
              for e in range(L) for s in range(S)]
    return torch.cat(pieces) if pieces else counts_SL.new_zeros(0)


def apply_expert_parallel(model: nn.Module, group: dist.ProcessGroup | None = None) -> nn.Module:
    """Replace every MoE layer's experts by this rank's expert-parallel slice of them, in place."""
    from sciloom.trainer.moe import MoEBlock

    for layer in model.model.layers:
        if isinstance(layer.mlp, MoEBlock):
            layer.mlp.experts = ExpertParallelExperts.from_full(layer.mlp.experts, group)
    return model
