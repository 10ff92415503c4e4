"""Expert parallelism: the routed experts of every MoE layer split over the ranks of a process group.

Rank r of an expert-parallel group of size ep holds experts [r*E/ep, (r+1)*E/ep) of each layer whole (the layout
of Megatron-Core and torchtitan). Every rank routes its own tokens; `trainer.routing.permute` already orders the
routed rows by expert, and experts are rank-contiguous, so the rows bound for each rank are one contiguous
block. One all-to-all of the per-expert counts tells every rank what it will receive, one all-to-all moves the
rows (dispatch), the local experts run on them, and the reverse all-to-all brings the results home (combine).
Both row exchanges are differentiable (functional collectives), so backward sends the gradients the same way.

Received rows arrive grouped by source rank, then by expert; the local experts want them grouped by expert,
so they are reordered before and restored after (an index_select each way).

The parameters keep the names and the global shapes of `GroupedExperts` (`gate_up_proj [E, 2I, D]`,
`down_proj [E, D, I]`) as DTensors sharded on the expert dimension over the device mesh, so AdamW, gradient
clipping and torch.distributed.checkpoint treat them like every FSDP-sharded weight; FSDP itself leaves them
alone (trainer/sharding.py: they are never all-gathered).

Shape suffixes: P routed rows on this rank, R rows received, D hidden, E experts in all, L = E/ep local experts,
S = ep source ranks.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed._functional_collectives import all_to_all_single_autograd
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.tensor import DTensor, Shard

from sciloom.trainer.experts import GroupedExperts, routed_experts


class _ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, factor: float) -> Tensor:
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return grad * ctx.factor, None


class ExpertParallelExperts(nn.Module):
    def __init__(self, gate_up_EIH: DTensor, down_EHI: DTensor, num_experts: int, mesh: DeviceMesh) -> None:
        super().__init__()
        self.group = mesh.get_group()
        self.ep = mesh.size()
        if num_experts % self.ep:
            raise ValueError(f"{num_experts} experts cannot be split evenly over {self.ep} expert-parallel ranks")
        self.num_experts = num_experts
        self.gate_up_proj = nn.Parameter(gate_up_EIH)
        self.down_proj = nn.Parameter(down_EHI)

    @classmethod
    def sharded(cls, experts: GroupedExperts, mesh: DeviceMesh) -> ExpertParallelExperts:
        """`experts`' weights as DTensor parameters sharded on the expert dimension over the 1-D mesh: this rank
        keeps its E/ep experts (on the meta device nothing is copied; the weights are loaded afterwards)."""
        ep, rank = mesh.size(), mesh.get_local_rank()
        L = experts.num_experts // ep

        def shard(full: Tensor) -> DTensor:
            local = full.detach()[rank * L:(rank + 1) * L].clone()
            return DTensor.from_local(local, mesh, [Shard(0)], run_check=False)

        return cls(shard(experts.gate_up_proj), shard(experts.down_proj), experts.num_experts, mesh)

    def forward(self, x_PD: Tensor, tokens_per_expert_E: Tensor) -> Tensor:
        # The loop scales each rank's loss by the world size and relies on FSDP averaging gradients over ranks;
        # a local expert's gradient is instead the sum of every rank's rows, so it takes the average here.
        gate_up_LIH = _ScaleGrad.apply(self.gate_up_proj.to_local(), 1.0 / self.ep)
        down_LHI = _ScaleGrad.apply(self.down_proj.to_local(), 1.0 / self.ep)
        S, L = self.ep, self.num_experts // self.ep
        send_SL = tokens_per_expert_E.view(S, L).contiguous()
        recv_SL = torch.empty_like(send_SL)
        dist.all_to_all_single(recv_SL, send_SL, group=self.group)
        send_splits, recv_splits = send_SL.sum(1).tolist(), recv_SL.sum(1).tolist()

        x_RD = all_to_all_single_autograd(x_PD.contiguous(), recv_splits, send_splits, self.group)
        by_expert_R = _source_major_to_expert_major(recv_SL)
        y_RD = routed_experts(x_RD.index_select(0, by_expert_R), gate_up_LIH, down_LHI, recv_SL.sum(0))
        y_RD = y_RD.index_select(0, torch.argsort(by_expert_R))
        return all_to_all_single_autograd(y_RD.contiguous(), send_splits, recv_splits, self.group)


def _source_major_to_expert_major(counts_SL: Tensor) -> Tensor:
    """Row order that turns rows grouped (source, expert) into rows grouped (expert, source)."""
    S, L = counts_SL.shape
    starts_SL = (counts_SL.reshape(-1).cumsum(0) - counts_SL.reshape(-1)).view(S, L)
    pieces = [torch.arange(int(starts_SL[s, e]), int(starts_SL[s, e] + counts_SL[s, e]), device=counts_SL.device)
              for e in range(L) for s in range(S)]
    return torch.cat(pieces) if pieces else counts_SL.new_zeros(0)
