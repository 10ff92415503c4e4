"""Feed-forward blocks of the decoder: the dense SwiGLU MLP and the Qwen2-MoE block built from it.

MoEBlock computes, exactly as Hugging Face's `Qwen2MoeSparseMoeBlock` does,

    y = sigmoid(shared_expert_gate(x)) * shared_expert(x) + sum_k w_k(x) * expert_{e_k(x)}(x)

but dropless and with the routed experts computed over expert-contiguous token segments: the router
(trainer.routing.route) picks top-K experts per token, trainer.routing.permute gathers the token copies
into expert order, trainer.experts.GroupedExperts runs each expert on its segment, and
trainer.routing.unpermute scatters the weighted results back. No token is ever dropped.

Score orders: `softmax_then_topk` (default; Qwen2-MoE's) keeps the softmax-over-all-experts
probabilities of the chosen experts as weights, optionally renormalised to sum to 1 (`renormalize`,
Hugging Face's `norm_topk_prob`); `topk_then_softmax` (Mixtral's) takes the softmax over the K chosen
logits, which equals softmax-then-top-K with renormalisation.

Shape suffixes: T tokens, D hidden, E experts, K experts per token, P = T*K routed rows, I intermediate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn

from sciloom.trainer.experts import GroupedExperts
from sciloom.trainer.routing import permute, route, unpermute


class MoEConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_experts: int = Field(gt=0)
    top_k: int = Field(gt=0)
    expert_intermediate_size: int = Field(gt=0)
    shared_expert_intermediate_size: int = Field(default=0, ge=0, description="0 = no shared expert")
    score_order: Literal["softmax_then_topk", "topk_then_softmax"] = "softmax_then_topk"
    renormalize: bool = False
    # Both losses are averaged over the MoE layers. The load-balancing loss is Switch/Megatron's, 1.0 at perfect
    # balance; transformers' Qwen2-MoE formula is top_k times it, so the exported router_aux_loss_coef is
    # aux_loss_weight / top_k (trainer/hf_io.py). Megatron-Core sums its per-layer losses, so its
    # moe_aux_loss_coeff / moe_z_loss_coeff are these weights divided by the number of MoE layers.
    aux_loss_weight: float = Field(default=0.01, ge=0)
    z_loss_weight: float = Field(default=0.001, ge=0)
    router_backend: Literal["auto", "reference", "triton"] = "auto"
    learned_routed_scale: bool = Field(default=False, description=(
        "A learnable scalar per MoE layer multiplying the routed experts' sum (starts at 1; folded into the experts' "
        "down_proj on export, so the exported checkpoint is a plain Qwen2-MoE)."))

    @model_validator(mode="after")
    def _check_top_k(self) -> MoEConfig:
        if self.top_k > self.num_experts:
            raise ValueError(f"top_k {self.top_k} exceeds num_experts {self.num_experts}")
        return self

    @property
    def normalizes_top_k(self) -> bool:
        """Whether the K combine weights sum to 1 (Hugging Face's `norm_topk_prob`)."""
        return self.renormalize or self.score_order == "topk_then_softmax"


class MLP(nn.Module):
    """SwiGLU feed-forward: down(silu(gate x) * up x)."""

    def __init__(self, hidden_size: int, intermediate_size: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)

    def forward(self, x_TD: Tensor) -> Tensor:
        return self.down_proj(F.silu(self.gate_proj(x_TD)) * self.up_proj(x_TD))


@dataclass
class MoEOutput:
    y_TD: Tensor
    aux_loss: Tensor  # aux_loss_weight * load-balancing loss + z_loss_weight * router z-loss
    router_logits_TE: Tensor
    experts_TK: Tensor


class MoEBlock(nn.Module):
    def __init__(self, hidden_size: int, config: MoEConfig, init_std: float) -> None:
        super().__init__()
        self.config = config
        self.gate = nn.Linear(hidden_size, config.num_experts, bias=False)  # the router, named as in Qwen2-MoE
        self.experts = GroupedExperts(config.num_experts, hidden_size, config.expert_intermediate_size, init_std)
        self.shared_expert = (
            MLP(hidden_size, config.shared_expert_intermediate_size)
            if config.shared_expert_intermediate_size > 0
            else None
        )
        self.shared_expert_gate = (
            nn.Linear(hidden_size, 1, bias=False) if config.shared_expert_intermediate_size > 0 else None
        )
        # Shape (1,), not a 0-d scalar: FSDP shards every parameter along its first dimension.
        self.routed_scale = nn.Parameter(torch.ones(1)) if config.learned_routed_scale else None

    def forward(self, x_TD: Tensor) -> MoEOutput:
        cfg = self.config
        # Router probabilities in float32 even under bf16, as Qwen2-MoE does.
        router_logits_TE = self.gate(x_TD).float()
        routing = route(
            router_logits_TE,
            cfg.top_k,
            score_order=cfg.score_order,
            renormalize=cfg.renormalize,
            backend=cfg.router_backend,
        )
        x_PD, tokens_per_expert_E, permutation = permute(
            x_TD, routing.experts_TK, cfg.num_experts, backend=cfg.router_backend
        )
        y_PD = self.experts(x_PD, tokens_per_expert_E)
        y_TD = unpermute(y_PD, routing.weights_TK.to(y_PD.dtype), permutation, backend=cfg.router_backend)
        if self.routed_scale is not None:
            y_TD = y_TD * self.routed_scale.to(y_TD.dtype)
        if self.shared_expert is not None:
            y_TD = y_TD + torch.sigmoid(self.shared_expert_gate(x_TD)) * self.shared_expert(x_TD)
        aux_loss = cfg.aux_loss_weight * routing.aux_loss + cfg.z_loss_weight * routing.z_loss
        return MoEOutput(y_TD=y_TD, aux_loss=aux_loss, router_logits_TE=router_logits_TE, experts_TK=routing.experts_TK)
