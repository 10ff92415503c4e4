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


class _SegmentSwiGLU(torch.autograd.Function):
    """Each expert's matmuls on its row segment, written in place into whole-P buffers, forward and backward.

    Plain autograd through `x_PD[start:stop]` slices would materialise a zero-filled gradient of the whole input for
    every expert (E per layer). Here every matmul writes its rows of one preallocated buffer (`out=`), so nothing is
    zero-filled, and the SwiGLU elementwise work runs once over all P rows. Measured on CPU (E=64, K=8, 1,024
    tokens): MKL runs these ~P/E-row products as fast per flop as one torch.bmm over segments padded to the
    longest, and they skip the ~20% padding rows, the pad scatter and the gather back (fwd+bwd ~1.5x faster).
    """

    @staticmethod
    def forward(ctx, x_PD: Tensor, gate_up_EIH: Tensor, down_EHI: Tensor, tokens_per_expert_E: Tensor) -> Tensor:
        intermediate_size = down_EHI.shape[2]
        segments = _segments(tokens_per_expert_E)
        gate_up_PI = x_PD.new_empty(x_PD.shape[0], 2 * intermediate_size)
        for expert, start, stop in segments:
            torch.mm(x_PD[start:stop], gate_up_EIH[expert].t(), out=gate_up_PI[start:stop])
        gate_PI, up_PI = gate_up_PI.split(intermediate_size, dim=1)
        hidden_PI = F.silu(gate_PI) * up_PI
        y_PD = x_PD.new_empty(x_PD.shape[0], down_EHI.shape[1])
        for expert, start, stop in segments:
            torch.mm(hidden_PI[start:stop], down_EHI[expert].t(), out=y_PD[start:stop])
        ctx.segments = segments
        ctx.save_for_backward(x_PD, gate_up_PI, gate_up_EIH, down_EHI)
        return y_PD

    @staticmethod
    def backward(ctx, grad_y_PD: Tensor) -> tuple[Tensor | None, Tensor, Tensor, None]:
        x_PD, gate_up_PI, gate_up_EIH, down_EHI = ctx.saved_tensors
        segments = ctx.segments
        intermediate_size = down_EHI.shape[2]
        grad_y_PD = grad_y_PD.contiguous()
        gate_PI, up_PI = gate_up_PI.split(intermediate_size, dim=1)
        sigmoid_PI = torch.sigmoid(gate_PI)
        silu_PI = gate_PI * sigmoid_PI
        hidden_PI = silu_PI * up_PI
        grad_hidden_PI = torch.empty_like(hidden_PI)
        grad_down_EHI = _zeros_for_empty_experts(down_EHI, segments)
        for expert, start, stop in segments:
            torch.mm(grad_y_PD[start:stop], down_EHI[expert], out=grad_hidden_PI[start:stop])
            torch.mm(grad_y_PD[start:stop].t(), hidden_PI[start:stop], out=grad_down_EHI[expert])
        # d silu(g)/dg = sigmoid(g) * (1 + g * (1 - sigmoid(g)))
        grad_gate_up_PI = torch.cat(
            (grad_hidden_PI * up_PI * (sigmoid_PI + silu_PI * (1 - sigmoid_PI)), grad_hidden_PI * silu_PI), dim=1
        )
        grad_gate_up_EIH = _zeros_for_empty_experts(gate_up_EIH, segments)
        grad_x_PD = torch.empty_like(x_PD) if ctx.needs_input_grad[0] else None
        for expert, start, stop in segments:
            torch.mm(grad_gate_up_PI[start:stop].t(), x_PD[start:stop], out=grad_gate_up_EIH[expert])
            if grad_x_PD is not None:
                torch.mm(grad_gate_up_PI[start:stop], gate_up_EIH[expert], out=grad_x_PD[start:stop])
        return grad_x_PD, grad_gate_up_EIH, grad_down_EHI, None


def _segments(tokens_per_expert_E: Tensor) -> list[tuple[int, int, int]]:
    """(expert, start row, stop row) of every non-empty expert segment."""
    segments = []
    start = 0
    for expert, count in enumerate(tokens_per_expert_E.tolist()):
        if count:
            segments.append((expert, start, start + count))
            start += count
    return segments


def _zeros_for_empty_experts(weight_EXY: Tensor, segments: list[tuple[int, int, int]]) -> Tensor:
    # Experts with tokens get their gradient written whole by a matmul; only the others need zeros.
    grad_EXY = torch.empty_like(weight_EXY, memory_format=torch.contiguous_format)
    used = {expert for expert, _, _ in segments}
    for expert in range(weight_EXY.shape[0]):
        if expert not in used:
            grad_EXY[expert].zero_()
    return grad_EXY


def _experts_segment_mm(x_PD: Tensor, gate_up_EIH: Tensor, down_EHI: Tensor, tokens_per_expert_E: Tensor) -> Tensor:
    # Weights follow the activations' dtype, as autocast does for an ordinary matmul. Autocast itself is off
    # inside: the matmuls write into preallocated buffers (`out=`), which autocast refuses to recast.
    with torch.autocast(x_PD.device.type, enabled=False):
        return _SegmentSwiGLU.apply(
            x_PD.contiguous(), gate_up_EIH.to(x_PD.dtype), down_EHI.to(x_PD.dtype), tokens_per_expert_E
        )


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
        return routed_experts(x_PD, self.gate_up_proj, self.down_proj, tokens_per_expert_E)


def routed_experts(x_PD: Tensor, gate_up_EIH: Tensor, down_EHI: Tensor, tokens_per_expert_E: Tensor) -> Tensor:
    """Expert e's SwiGLU on its segment of the expert-ordered rows, in the autocast dtype when autocast is on."""
    device_type = x_PD.device.type
    if torch.is_autocast_enabled(device_type):
        # The residual stream stays float32 under autocast (RMSNorm returns its input dtype), so the rows
        # arrive in float32; an ordinary Linear would compute in the autocast dtype, and so do the experts
        # (it is also what makes the CUDA grouped_mm path reachable).
        x_PD = x_PD.to(torch.get_autocast_dtype(device_type))
    intermediate_size = down_EHI.shape[2]
    experts_impl = _experts_grouped_mm if grouped_mm_usable(x_PD, intermediate_size) else _experts_segment_mm
    return experts_impl(x_PD, gate_up_EIH, down_EHI, tokens_per_expert_E)
