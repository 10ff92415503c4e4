"""PyTorch reference backend of `trainer.routing`: what runs on CPU, and the oracle for the Triton kernels.

Vectorised over tokens and experts (sort, gather, bincount, batched matmul); no Python loop over experts.
Functions here work on plain tensors; `trainer.routing` validates inputs and wraps the results.
"""
from __future__ import annotations

import torch
from torch import Tensor


def topk_lower_index(router_logits_TE: Tensor, top_k: int) -> Tensor:
    """Indices of the K largest logits per row, descending; exact ties go to the lower expert index."""
    # A stable descending sort keeps equal values in index order; torch.topk makes no such promise.
    return torch.sort(router_logits_TE.detach(), dim=-1, descending=True, stable=True).indices[:, :top_k]


def route_reference(
    router_logits_TE: Tensor, top_k: int, *, score_order: str, renormalize: bool
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Returns (weights_TK, experts_TK, tokens_per_expert_E, probs_mean_E, z_loss)."""
    num_experts = router_logits_TE.shape[1]
    # Statistics in at least float32 (bf16 logits are upcast); float64 stays float64 for gradient checks.
    logits_TE = router_logits_TE.to(torch.promote_types(router_logits_TE.dtype, torch.float32))
    probs_TE = torch.softmax(logits_TE, dim=-1)
    experts_TK = topk_lower_index(logits_TE, top_k)
    if score_order == "topk_then_softmax":
        weights_TK = torch.softmax(logits_TE.gather(1, experts_TK), dim=-1)
    else:
        weights_TK = probs_TE.gather(1, experts_TK)
        if renormalize:
            weights_TK = weights_TK / weights_TK.sum(dim=-1, keepdim=True)
    tokens_per_expert_E = torch.bincount(experts_TK.reshape(-1), minlength=num_experts)
    probs_mean_E = probs_TE.mean(dim=0)
    z_loss = torch.logsumexp(logits_TE, dim=-1).square().mean()
    return weights_TK.to(router_logits_TE.dtype), experts_TK, tokens_per_expert_E, probs_mean_E, z_loss


def permute_rows_reference(x_TD: Tensor, token_of_P: Tensor, row_of_TK: Tensor) -> Tensor:
    return x_TD.index_select(0, token_of_P)


def unpermute_rows_reference(y_PD: Tensor, weights_TK: Tensor, token_of_P: Tensor, row_of_TK: Tensor) -> Tensor:
    num_tokens, top_k = row_of_TK.shape
    y_TKD = y_PD.index_select(0, row_of_TK.reshape(-1)).view(num_tokens, top_k, -1)
    # A gather plus a [1,K]x[K,D] product per token: each output row is written once, no scatter collisions.
    return torch.bmm(weights_TK.to(y_PD.dtype).unsqueeze(1), y_TKD).squeeze(1)
