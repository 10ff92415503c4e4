"""Routed experts evaluated over expert-contiguous row segments (the output of `trainer.routing.permute`).

Parameter layout is transformers' fused Qwen2-MoE layout (`Qwen2MoeExperts` in transformers 5.x):
- `gate_up_proj` [E, 2I, H]: rows [0, I) are the gate projection, rows [I, 2I) the up projection
  (transformers does `linear(x, gate_up_proj[e]).chunk(2, dim=-1)` and names the chunks `gate, up`).
- `down_proj` [E, H, I].
Expert e computes down_e(silu(gate_e x) * up_e x).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _experts_loop(x_PD: Tensor, gate_up_EIH: Tensor, down_EHI: Tensor, tokens_per_expert_E: Tensor) -> Tensor:
    outputs = []
    start = 0
    for expert, count in enumerate(tokens_per_expert_E.tolist()):
        if count == 0:
            continue
        gate_SI, up_SI = F.linear(x_PD[start : start + count], gate_up_EIH[expert]).chunk(2, dim=-1)
        outputs.append(F.linear(F.silu(gate_SI) * up_SI, down_EHI[expert]))
        start += count
    if not outputs:
        return x_PD.new_zeros(0, down_EHI.shape[1])
    return torch.cat(outputs, dim=0)


def _experts_grouped_mm(x_PD: Tensor, gate_up_EIH: Tensor, down_EHI: Tensor, tokens_per_expert_E: Tensor) -> Tensor:
    offsets_E = tokens_per_expert_E.cumsum(0).to(torch.int32)
    # Weights follow the activations' dtype, as autocast does for an ordinary matmul.
    gate_up_EHI = gate_up_EIH.to(x_PD.dtype).transpose(-2, -1)
    gate_PI, up_PI = torch._grouped_mm(x_PD, gate_up_EHI, offs=offsets_E).chunk(2, dim=-1)
    return torch._grouped_mm(F.silu(gate_PI) * up_PI, down_EHI.to(x_PD.dtype).transpose(-2, -1), offs=offsets_E)


def grouped_mm_usable(x_PD: Tensor, intermediate_size: int) -> bool:
    # torch._grouped_mm's CPU fallback has no backward (torch 2.13), so it only serves CUDA, where its kernels
    # take bf16 operands whose rows are 16-byte aligned.
    return (
        x_PD.is_cuda
        and hasattr(torch, "_grouped_mm")
        and x_PD.dtype == torch.bfloat16
        and x_PD.shape[1] % 8 == 0
        and intermediate_size % 8 == 0
    )


class GroupedExperts(nn.Module):
    def __init__(self, num_experts: int, hidden_size: int, intermediate_size: int, init_std: float = 0.02) -> None:
        super().__init__()
        if min(num_experts, hidden_size, intermediate_size) < 1:
            raise ValueError(
                f"num_experts, hidden_size and intermediate_size must be >= 1, got "
                f"{num_experts}, {hidden_size}, {intermediate_size}"
            )
        self.num_experts = num_experts
        self.init_std = init_std
        self.gate_up_proj = nn.Parameter(torch.empty(num_experts, 2 * intermediate_size, hidden_size))
        self.down_proj = nn.Parameter(torch.empty(num_experts, hidden_size, intermediate_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same scheme as transformers' Qwen2-MoE initialisation: normal(0, initializer_range).
        nn.init.normal_(self.gate_up_proj, std=self.init_std)
        nn.init.normal_(self.down_proj, std=self.init_std)

    def forward(self, x_PD: Tensor, tokens_per_expert_E: Tensor) -> Tensor:
        if tokens_per_expert_E.shape != (self.num_experts,):
            raise ValueError(
                f"tokens_per_expert_E must have shape ({self.num_experts},), got {tuple(tokens_per_expert_E.shape)}"
            )
        num_rows = int(tokens_per_expert_E.sum())
        if x_PD.shape[0] != num_rows:
            raise ValueError(f"x_PD has {x_PD.shape[0]} rows but tokens_per_expert_E sums to {num_rows}")
        intermediate_size = self.down_proj.shape[2]
        experts_impl = _experts_grouped_mm if grouped_mm_usable(x_PD, intermediate_size) else _experts_loop
        return experts_impl(x_PD, self.gate_up_proj, self.down_proj, tokens_per_expert_E)
