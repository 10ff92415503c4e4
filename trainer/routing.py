"""Token routing for the MoE layer: router scores, top-K selection, and the expert-contiguous permutation.

One public API, two backends: the PyTorch reference (`trainer.routing_reference`, what runs on CPU) and fused
Triton kernels (`trainer.routing_triton`). `backend="auto"` picks Triton for CUDA tensors when Triton imports,
the reference otherwise; `backend="triton"` on CPU tensors works only under `TRITON_INTERPRET=1` (the tests).

Conventions shared by both backends:
- Top-K is chosen on the router logits upcast to float32 (softmax is monotonic: top-K of the probabilities);
  exact ties go to the lower expert index, so selection is deterministic.
- `topk_then_softmax` weights are the softmax over the K selected logits; `renormalize` is then a no-op.
- Flat slot index of (token t, slot k) is t*K + k; rows of the permuted tensor are sorted by expert and, within
  an expert, by token (a token never selects the same expert twice).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from sciloom.trainer.routing_reference import permute_rows_reference, route_reference, unpermute_rows_reference

ScoreOrder = Literal["softmax_then_topk", "topk_then_softmax"]
Backend = Literal["auto", "reference", "triton"]
SCORE_ORDERS: tuple[str, ...] = ("softmax_then_topk", "topk_then_softmax")
BACKENDS: tuple[str, ...] = ("auto", "reference", "triton")


@dataclass(frozen=True)
class Routing:
    weights_TK: Tensor  # combine weights (dtype of the logits), differentiable w.r.t. the router logits
    experts_TK: Tensor  # int64 expert index per (token, slot)
    tokens_per_expert_E: Tensor  # int64 counts, no grad
    # The statistics below are float32 (float64 for float64 logits).
    probs_mean_E: Tensor  # mean softmax probability per expert over tokens, differentiable
    aux_loss: Tensor  # E * sum_e f_e * P_e with f_e = count_e / (T*K)
    z_loss: Tensor  # mean over tokens of logsumexp(logits)^2


@dataclass(frozen=True)
class Permutation:
    token_of_P: Tensor  # int64 [T*K]: source token of each permuted row
    slot_of_P: Tensor  # int64 [T*K]: flat slot t*K+k of each permuted row
    row_of_TK: Tensor  # int64 [T, K]: permuted row holding (token, slot)


def _triton_interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _resolve_backend(backend: str, tensor: Tensor) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    triton_importable = importlib.util.find_spec("triton") is not None
    if backend == "auto":
        return "triton" if tensor.is_cuda and triton_importable else "reference"
    if backend == "triton":
        if not triton_importable:
            raise RuntimeError("backend='triton' requested but triton is not installed")
        if not tensor.is_cuda and not _triton_interpreting():
            raise RuntimeError(
                "backend='triton' needs CUDA tensors, or TRITON_INTERPRET=1 (set before triton is imported) "
                "to run the kernels on CPU tensors in the interpreter"
            )
    return backend


def _check_router_logits(router_logits_TE: Tensor, top_k: int, score_order: str) -> None:
    if router_logits_TE.dim() != 2:
        raise ValueError(f"router_logits_TE must be 2-D [tokens, experts], got shape {tuple(router_logits_TE.shape)}")
    if not router_logits_TE.is_floating_point():
        raise ValueError(f"router_logits_TE must be floating point, got {router_logits_TE.dtype}")
    num_tokens, num_experts = router_logits_TE.shape
    if num_tokens == 0:
        raise ValueError("router_logits_TE has no tokens; routing statistics are undefined for an empty batch")
    if not 1 <= top_k <= num_experts:
        raise ValueError(f"top_k must be in [1, {num_experts}] (number of experts), got {top_k}")
    if score_order not in SCORE_ORDERS:
        raise ValueError(f"score_order must be one of {SCORE_ORDERS}, got {score_order!r}")


def load_balancing_loss(tokens_per_expert_E: Tensor, probs_mean_E: Tensor) -> Tensor:
    """Switch/GShard auxiliary loss E * sum_e f_e * P_e; equals 1 under perfectly uniform routing."""
    num_experts = probs_mean_E.shape[0]
    # count_e / sum(counts) is count_e / (T*K): every token fills K slots.
    fraction_E = tokens_per_expert_E.to(probs_mean_E.dtype) / tokens_per_expert_E.sum()
    return num_experts * (fraction_E * probs_mean_E).sum()


def route(
    router_logits_TE: Tensor,
    top_k: int,
    *,
    score_order: ScoreOrder = "softmax_then_topk",
    renormalize: bool = False,
    backend: Backend = "auto",
) -> Routing:
    _check_router_logits(router_logits_TE, top_k, score_order)
    renormalize = renormalize or score_order == "topk_then_softmax"
    route_impl = route_reference
    if _resolve_backend(backend, router_logits_TE) == "triton":
        from sciloom.trainer.routing_triton import route_triton as route_impl  # imported on use: triton may be absent
    weights_TK, experts_TK, tokens_per_expert_E, probs_mean_E, z_loss = route_impl(
        router_logits_TE, top_k, score_order=score_order, renormalize=renormalize
    )
    return Routing(
        weights_TK=weights_TK,
        experts_TK=experts_TK,
        tokens_per_expert_E=tokens_per_expert_E,
        probs_mean_E=probs_mean_E,
        aux_loss=load_balancing_loss(tokens_per_expert_E, probs_mean_E),
        z_loss=z_loss,
    )


def permutation_for(experts_TK: Tensor, num_experts: int) -> tuple[Permutation, Tensor]:
    """The expert-contiguous order of all (token, slot) pairs and the per-expert counts (shared by both backends)."""
    num_tokens, top_k = experts_TK.shape
    experts_P = experts_TK.reshape(-1)
    # A stable sort keeps flat order t*K+k inside each expert, i.e. rows sorted by token.
    tokens_per_expert_E = torch.bincount(experts_P, minlength=num_experts)  # rejects negative indices itself
    if tokens_per_expert_E.shape[0] != num_experts:
        raise ValueError(f"experts_TK holds indices outside [0, {num_experts})")
    slot_of_P = torch.argsort(experts_P, stable=True)
    row_of_slot = torch.empty_like(slot_of_P)
    row_of_slot[slot_of_P] = torch.arange(slot_of_P.numel(), device=slot_of_P.device)
    perm = Permutation(
        token_of_P=slot_of_P // top_k, slot_of_P=slot_of_P, row_of_TK=row_of_slot.view(num_tokens, top_k)
    )
    return perm, tokens_per_expert_E


def permute(
    x_TD: Tensor, experts_TK: Tensor, num_experts: int, *, backend: Backend = "auto"
) -> tuple[Tensor, Tensor, Permutation]:
    """Rows x_PD[row_of_TK[t, k]] = x_TD[t], expert-contiguous; returns (x_PD, tokens_per_expert_E, perm)."""
    if experts_TK.dim() != 2 or experts_TK.dtype != torch.int64:
        raise ValueError(f"experts_TK must be int64 [tokens, top_k], got {experts_TK.dtype} {tuple(experts_TK.shape)}")
    if x_TD.dim() != 2 or x_TD.shape[0] != experts_TK.shape[0]:
        raise ValueError(
            f"x_TD must be [tokens, dim] matching experts_TK {tuple(experts_TK.shape)}, got {tuple(x_TD.shape)}"
        )
    perm, tokens_per_expert_E = permutation_for(experts_TK, num_experts)
    permute_rows = permute_rows_reference
    if _resolve_backend(backend, x_TD) == "triton":
        from sciloom.trainer.routing_triton import permute_rows_triton as permute_rows
    return permute_rows(x_TD, perm.token_of_P, perm.row_of_TK), tokens_per_expert_E, perm


def unpermute(y_PD: Tensor, weights_TK: Tensor, perm: Permutation, *, backend: Backend = "auto") -> Tensor:
    """y_TD[t] = sum_k weights_TK[t, k] * y_PD[row_of_TK[t, k]], in the dtype of y_PD."""
    if weights_TK.shape != perm.row_of_TK.shape:
        raise ValueError(f"weights_TK shape {tuple(weights_TK.shape)} != routing shape {tuple(perm.row_of_TK.shape)}")
    if y_PD.dim() != 2 or y_PD.shape[0] != perm.token_of_P.numel():
        raise ValueError(f"y_PD must be [{perm.token_of_P.numel()}, dim], got {tuple(y_PD.shape)}")
    unpermute_rows = unpermute_rows_reference
    if _resolve_backend(backend, y_PD) == "triton":
        from sciloom.trainer.routing_triton import unpermute_rows_triton as unpermute_rows
    return unpermute_rows(y_PD, weights_TK, perm.token_of_P, perm.slot_of_P, perm.row_of_TK)
