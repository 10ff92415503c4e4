"""PyTorch reference backend of `trainer.routing`: what runs on CPU, and the oracle for the Triton kernels.

Vectorised over tokens and experts (top-K, gathers, bincount); no Python loop over experts. Every data movement
is a gather, forward and backward (a permutation never needs a scatter): gathers parallelise, need no zero fill
and are deterministic. Functions here work on plain tensors; `trainer.routing` validates inputs and wraps them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def topk_lower_index(router_logits_TE: Tensor, top_k: int) -> Tensor:
    """Indices of the K largest logits per row, descending; exact ties go to the lower expert index."""
    logits_TE = router_logits_TE.detach()
    probe = min(top_k + 1, logits_TE.shape[1])
    values_TJ, experts_TJ = torch.topk(logits_TE, probe, dim=-1)
    experts_TK = experts_TJ[:, :top_k]
    # torch.topk leaves the order of equal values unspecified: rows where a tie can change the answer (equal
    # neighbours among the K+1 largest) are re-ranked by a stable sort, which keeps equal values in index order.
    tied_T = (values_TJ[:, 1:] == values_TJ[:, :-1]).any(dim=-1)
    if bool(tied_T.any()):
        rows = tied_T.nonzero().squeeze(1)
        ranked = torch.sort(logits_TE[rows], dim=-1, descending=True, stable=True).indices[:, :top_k]
        experts_TK = experts_TK.index_put((rows,), ranked)
    return experts_TK


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


class _PermuteRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_TD: Tensor, token_of_P: Tensor, row_of_TK: Tensor) -> Tensor:
        ctx.save_for_backward(row_of_TK)
        return x_TD.index_select(0, token_of_P)

    @staticmethod
    def backward(ctx, grad_PD: Tensor) -> tuple[Tensor, None, None]:
        (row_of_TK,) = ctx.saved_tensors
        # Each token sums the gradients of its K rows.
        return F.embedding_bag(row_of_TK, grad_PD.contiguous(), mode="sum"), None, None


class _UnpermuteRows(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx, y_PD: Tensor, weights_TK: Tensor, token_of_P: Tensor, slot_of_P: Tensor, row_of_TK: Tensor
    ) -> Tensor:
        weights_TK = weights_TK.to(y_PD.dtype)
        ctx.save_for_backward(y_PD, weights_TK, token_of_P, slot_of_P, row_of_TK)
        return F.embedding_bag(row_of_TK, y_PD.contiguous(), per_sample_weights=weights_TK, mode="sum")

    @staticmethod
    def backward(ctx, grad_TD: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:
        y_PD, weights_TK, token_of_P, slot_of_P, row_of_TK = ctx.saved_tensors
        grad_PD = grad_TD.index_select(0, token_of_P)
        grad_weights_TK = None
        if ctx.needs_input_grad[1]:
            # d y_TD[t] / d w[t,k] = y_PD[row(t,k)]: one dot product per row, read back in (token, slot) order.
            dot_P = torch.bmm(grad_PD.unsqueeze(1), y_PD.unsqueeze(2)).view(-1)
            grad_weights_TK = dot_P.index_select(0, row_of_TK.view(-1)).view_as(row_of_TK)
        grad_y_PD = None
        if ctx.needs_input_grad[0]:
            grad_y_PD = grad_PD.mul_(weights_TK.reshape(-1).index_select(0, slot_of_P).unsqueeze(1))
        return grad_y_PD, grad_weights_TK, None, None, None


def permute_rows_reference(x_TD: Tensor, token_of_P: Tensor, row_of_TK: Tensor) -> Tensor:
    return _PermuteRows.apply(x_TD, token_of_P, row_of_TK)


def unpermute_rows_reference(
    y_PD: Tensor, weights_TK: Tensor, token_of_P: Tensor, slot_of_P: Tensor, row_of_TK: Tensor
) -> Tensor:
    return _UnpermuteRows.apply(y_PD, weights_TK, token_of_P, slot_of_P, row_of_TK)
