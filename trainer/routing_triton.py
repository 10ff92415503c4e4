"""Triton backend of `trainer.routing`: a fused router kernel and the permute / unpermute row kernels.

Router: one pass over each block of tokens computes the softmax, the top-K (ties to the lower expert index), the
combine weights (optionally renormalised), the log-sum-exp, and per-block partial sums of the expert counts,
the probabilities and lse^2; the few [num_blocks, E] partials are summed by torch, which keeps the result
deterministic (no atomics). Its backward recomputes the softmax from the saved lse in one pass.
Permutation: the index arithmetic (one stable argsort) is shared with the reference in `trainer.routing`; the
kernels move the rows. Every kernel gathers, so no output row is written twice and nothing needs atomics.

`topk_then_softmax` weights equal the renormalised softmax-then-top-K weights (the softmax over the selected
logits is p_e / sum_selected p), so the kernel implements both with one RENORMALIZE flag.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

ROUTER_TILE_ELEMENTS = 4096  # BLOCK_T * BLOCK_E per router program
ROW_BLOCK = 64  # rows per permute / unpermute program
DIM_BLOCK = 128  # feature columns per inner step of the row kernels


@triton.jit
def _router_fwd_kernel(
    logits_ptr, weights_ptr, experts_ptr, lse_ptr,
    counts_partial_ptr, probs_partial_ptr, lse_sq_partial_ptr,
    T, E,
    K: tl.constexpr, RENORMALIZE: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_T + tl.arange(0, BLOCK_T)
    cols = tl.arange(0, BLOCK_E)
    slots = tl.arange(0, BLOCK_K)
    row_ok = rows < T
    valid = row_ok[:, None] & (cols[None, :] < E)
    logits = tl.load(logits_ptr + rows[:, None].to(tl.int64) * E + cols[None, :], mask=valid, other=float("-inf"))
    logits = logits.to(tl.float32)
    row_max = tl.where(row_ok, tl.max(logits, axis=1), 0.0)
    exps = tl.where(valid, tl.exp(logits - row_max[:, None]), 0.0)
    denom = tl.where(row_ok, tl.sum(exps, axis=1), 1.0)
    probs = exps / denom[:, None]
    lse = row_max + tl.log(denom)

    available = valid
    weights_tile = tl.zeros((BLOCK_T, BLOCK_K), dtype=tl.float32)
    experts_tile = tl.zeros((BLOCK_T, BLOCK_K), dtype=tl.int32)
    for k in tl.static_range(K):
        candidates = tl.where(available, logits, float("-inf"))
        best = tl.max(candidates, axis=1)
        is_best = available & (candidates == best[:, None])
        expert = tl.min(tl.where(is_best, cols[None, :], BLOCK_E), axis=1)  # lowest index among the ties
        chosen = cols[None, :] == expert[:, None]
        weight = tl.sum(tl.where(chosen, probs, 0.0), axis=1)
        weights_tile = tl.where(slots[None, :] == k, weight[:, None], weights_tile)
        experts_tile = tl.where(slots[None, :] == k, expert[:, None], experts_tile)
        available = available & (cols[None, :] != expert[:, None])
    if RENORMALIZE:
        weights_tile = weights_tile / tl.where(row_ok, tl.sum(weights_tile, axis=1), 1.0)[:, None]

    slot_ok = row_ok[:, None] & (slots[None, :] < K)
    slot_offsets = rows[:, None].to(tl.int64) * K + slots[None, :]
    tl.store(weights_ptr + slot_offsets, weights_tile.to(weights_ptr.dtype.element_ty), mask=slot_ok)
    tl.store(experts_ptr + slot_offsets, experts_tile.to(tl.int64), mask=slot_ok)
    tl.store(lse_ptr + rows, lse, mask=row_ok)
    selected = valid & ~available
    tl.store(counts_partial_ptr + pid * E + cols, tl.sum(selected.to(tl.int32), axis=0).to(tl.int64), mask=cols < E)
    tl.store(probs_partial_ptr + pid * E + cols, tl.sum(probs, axis=0), mask=cols < E)
    tl.store(lse_sq_partial_ptr + pid, tl.sum(tl.where(row_ok, lse * lse, 0.0), axis=0))


@triton.jit
def _router_bwd_kernel(
    logits_ptr, lse_ptr, experts_ptr, grad_weights_ptr, grad_probs_mean_ptr, grad_logits_ptr,
    grad_z_ptr, T, E, inv_T,
    K: tl.constexpr, RENORMALIZE: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_E: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid * BLOCK_T + tl.arange(0, BLOCK_T)
    cols = tl.arange(0, BLOCK_E)
    row_ok = rows < T
    valid = row_ok[:, None] & (cols[None, :] < E)
    offsets = rows[:, None].to(tl.int64) * E + cols[None, :]
    logits = tl.load(logits_ptr + offsets, mask=valid, other=0.0).to(tl.float32)
    lse = tl.load(lse_ptr + rows, mask=row_ok, other=0.0)
    probs = tl.where(valid, tl.exp(logits - lse[:, None]), 0.0)

    # Gradient w.r.t. the probabilities: probs_mean contributes grad/T to every expert ...
    grad_probs_mean = tl.load(grad_probs_mean_ptr + cols, mask=cols < E, other=0.0)
    grad_probs = tl.where(valid, grad_probs_mean[None, :] * inv_T, 0.0)
    # ... and each selected slot k its weight gradient g_k; renormalised (w_k = p_k / S, S = sum_j p_j over the
    # selected slots) that becomes dL/dp_k = (g_k - sum_j g_j w_j) / S.
    selected_sum = tl.full((BLOCK_T,), 1.0, dtype=tl.float32)
    mean_grad = tl.zeros((BLOCK_T,), dtype=tl.float32)
    if RENORMALIZE:
        selected_sum = tl.zeros((BLOCK_T,), dtype=tl.float32)
        grad_dot_probs = tl.zeros((BLOCK_T,), dtype=tl.float32)
        for k in tl.static_range(K):
            expert = tl.load(experts_ptr + rows.to(tl.int64) * K + k, mask=row_ok, other=0)
            grad_weight = tl.load(grad_weights_ptr + rows.to(tl.int64) * K + k, mask=row_ok, other=0.0).to(tl.float32)
            prob = tl.sum(tl.where(cols[None, :] == expert[:, None], probs, 0.0), axis=1)
            selected_sum += prob
            grad_dot_probs += grad_weight * prob
        selected_sum = tl.where(row_ok, selected_sum, 1.0)
        mean_grad = grad_dot_probs / selected_sum
    for k in tl.static_range(K):
        expert = tl.load(experts_ptr + rows.to(tl.int64) * K + k, mask=row_ok, other=0)
        grad_weight = tl.load(grad_weights_ptr + rows.to(tl.int64) * K + k, mask=row_ok, other=0.0).to(tl.float32)
        grad_prob = (grad_weight - mean_grad) / selected_sum
        grad_probs += tl.where(cols[None, :] == expert[:, None], grad_prob[:, None], 0.0)
    # Softmax backward, plus z-loss: d mean(lse^2) / d logits = 2 lse p / T.
    inner = tl.sum(probs * grad_probs, axis=1)
    grad_z = tl.load(grad_z_ptr)
    grad_logits = probs * (grad_probs - inner[:, None]) + (2.0 * grad_z * inv_T) * lse[:, None] * probs
    tl.store(grad_logits_ptr + offsets, grad_logits.to(grad_logits_ptr.dtype.element_ty), mask=valid)


def _router_blocks(num_tokens: int, num_experts: int, block_t: int | None) -> tuple[int, int, int]:
    block_e = triton.next_power_of_2(num_experts)
    if block_t is None:
        block_t = max(1, min(triton.next_power_of_2(num_tokens), ROUTER_TILE_ELEMENTS // block_e))
    return block_t, block_e, triton.cdiv(num_tokens, block_t)


class _RouterTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, router_logits_TE: Tensor, top_k: int, renormalize: bool, block_t: int | None):
        logits_TE = router_logits_TE.contiguous()
        num_tokens, num_experts = logits_TE.shape
        block_t, block_e, num_blocks = _router_blocks(num_tokens, num_experts, block_t)
        device = logits_TE.device
        weights_TK = torch.empty(num_tokens, top_k, device=device, dtype=logits_TE.dtype)
        experts_TK = torch.empty(num_tokens, top_k, device=device, dtype=torch.int64)
        lse_T = torch.empty(num_tokens, device=device, dtype=torch.float32)
        counts_partial = torch.empty(num_blocks, num_experts, device=device, dtype=torch.int64)
        probs_partial = torch.empty(num_blocks, num_experts, device=device, dtype=torch.float32)
        lse_sq_partial = torch.empty(num_blocks, device=device, dtype=torch.float32)
        _router_fwd_kernel[(num_blocks,)](
            logits_TE, weights_TK, experts_TK, lse_T, counts_partial, probs_partial, lse_sq_partial,
            num_tokens, num_experts,
            K=top_k, RENORMALIZE=renormalize, BLOCK_T=block_t, BLOCK_E=block_e,
            BLOCK_K=triton.next_power_of_2(top_k),
        )
        ctx.save_for_backward(logits_TE, lse_T, experts_TK)
        ctx.config = (top_k, renormalize, block_t, block_e, num_blocks)
        tokens_per_expert_E = counts_partial.sum(dim=0)
        ctx.mark_non_differentiable(experts_TK, tokens_per_expert_E)
        probs_mean_E = probs_partial.sum(dim=0) / num_tokens
        return weights_TK, experts_TK, tokens_per_expert_E, probs_mean_E, lse_sq_partial.sum() / num_tokens

    @staticmethod
    def backward(ctx, grad_weights_TK, _grad_experts, _grad_counts, grad_probs_mean_E, grad_z_loss):
        logits_TE, lse_T, experts_TK = ctx.saved_tensors
        top_k, renormalize, block_t, block_e, num_blocks = ctx.config
        num_tokens, num_experts = logits_TE.shape
        if grad_weights_TK is None:
            grad_weights_TK = torch.zeros(num_tokens, top_k, device=logits_TE.device, dtype=torch.float32)
        if grad_probs_mean_E is None:
            grad_probs_mean_E = torch.zeros(num_experts, device=logits_TE.device, dtype=torch.float32)
        if grad_z_loss is None:
            grad_z_loss = torch.zeros((), device=logits_TE.device, dtype=torch.float32)
        grad_logits_TE = torch.empty_like(logits_TE)
        _router_bwd_kernel[(num_blocks,)](
            logits_TE, lse_T, experts_TK, grad_weights_TK.contiguous(), grad_probs_mean_E.float().contiguous(),
            grad_logits_TE, grad_z_loss.float().contiguous(), num_tokens, num_experts, 1.0 / num_tokens,
            K=top_k, RENORMALIZE=renormalize, BLOCK_T=block_t, BLOCK_E=block_e,
        )
        return grad_logits_TE, None, None, None


def route_triton(
    router_logits_TE: Tensor, top_k: int, *, score_order: str, renormalize: bool, block_t: int | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Same contract as `route_reference`; `block_t` (tokens per program, a power of two) is exposed for tests."""
    renormalize = renormalize or score_order == "topk_then_softmax"
    return _RouterTriton.apply(router_logits_TE, top_k, renormalize, block_t)


@triton.jit
def _gather_rows_kernel(src_ptr, index_ptr, out_ptr, R, D, BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr):
    """out[r] = src[index[r]]."""
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = rows < R
    source = tl.load(index_ptr + rows, mask=row_ok, other=0)
    for start in range(0, D, BLOCK_D):
        cols = start + tl.arange(0, BLOCK_D)
        mask = row_ok[:, None] & (cols[None, :] < D)
        values = tl.load(src_ptr + source[:, None] * D + cols[None, :], mask=mask, other=0.0)
        tl.store(out_ptr + rows[:, None].to(tl.int64) * D + cols[None, :], values, mask=mask)


@triton.jit
def _combine_rows_kernel(
    src_ptr, row_ptr, weights_ptr, out_ptr, T, D,
    K: tl.constexpr, HAS_WEIGHTS: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr,
):
    """out[t] = sum_k w[t, k] * src[row[t, k]] (w = 1 without weights), accumulated in float32."""
    tokens = tl.program_id(0) * BLOCK_T + tl.arange(0, BLOCK_T)
    token_ok = tokens < T
    for start in range(0, D, BLOCK_D):
        cols = start + tl.arange(0, BLOCK_D)
        mask = token_ok[:, None] & (cols[None, :] < D)
        acc = tl.zeros((BLOCK_T, BLOCK_D), dtype=tl.float32)
        for k in tl.static_range(K):
            row = tl.load(row_ptr + tokens.to(tl.int64) * K + k, mask=token_ok, other=0)
            values = tl.load(src_ptr + row[:, None] * D + cols[None, :], mask=mask, other=0.0).to(tl.float32)
            if HAS_WEIGHTS:
                weight = tl.load(weights_ptr + tokens.to(tl.int64) * K + k, mask=token_ok, other=0.0).to(tl.float32)
                values = values * weight[:, None]
            acc += values
        out_offsets = tokens[:, None].to(tl.int64) * D + cols[None, :]
        tl.store(out_ptr + out_offsets, acc.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _unpermute_bwd_kernel(
    grad_out_ptr, y_ptr, weights_ptr, token_ptr, slot_ptr, grad_y_ptr, grad_weights_ptr, P, D,
    BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr,
):
    """Per permuted row p of (token t, slot s): grad_y[p] = w[s] * grad_out[t], grad_w[s] = <grad_out[t], y[p]>."""
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = rows < P
    token = tl.load(token_ptr + rows, mask=row_ok, other=0)
    slot = tl.load(slot_ptr + rows, mask=row_ok, other=0)
    weight = tl.load(weights_ptr + slot, mask=row_ok, other=0.0).to(tl.float32)
    dot = tl.zeros((BLOCK_R,), dtype=tl.float32)
    for start in range(0, D, BLOCK_D):
        cols = start + tl.arange(0, BLOCK_D)
        mask = row_ok[:, None] & (cols[None, :] < D)
        grad_out = tl.load(grad_out_ptr + token[:, None] * D + cols[None, :], mask=mask, other=0.0).to(tl.float32)
        row_offsets = rows[:, None].to(tl.int64) * D + cols[None, :]
        y = tl.load(y_ptr + row_offsets, mask=mask, other=0.0).to(tl.float32)
        dot += tl.sum(grad_out * y, axis=1)
        tl.store(grad_y_ptr + row_offsets, (grad_out * weight[:, None]).to(grad_y_ptr.dtype.element_ty), mask=mask)
    tl.store(grad_weights_ptr + slot, dot.to(grad_weights_ptr.dtype.element_ty), mask=row_ok)


def _dim_block(dim: int) -> int:
    return min(DIM_BLOCK, triton.next_power_of_2(dim))


def _combine(src_PD: Tensor, row_of_TK: Tensor, weights_TK: Tensor | None, out_dtype: torch.dtype) -> Tensor:
    num_tokens, top_k = row_of_TK.shape
    dim = src_PD.shape[1]
    out_TD = torch.empty(num_tokens, dim, device=src_PD.device, dtype=out_dtype)
    _combine_rows_kernel[(triton.cdiv(num_tokens, ROW_BLOCK),)](
        src_PD.contiguous(), row_of_TK, src_PD if weights_TK is None else weights_TK.contiguous(), out_TD,
        num_tokens, dim,
        K=top_k, HAS_WEIGHTS=weights_TK is not None, BLOCK_T=ROW_BLOCK, BLOCK_D=_dim_block(dim),
    )
    return out_TD


class _PermuteRowsTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_TD: Tensor, token_of_P: Tensor, row_of_TK: Tensor) -> Tensor:
        x_TD = x_TD.contiguous()
        num_rows, dim = token_of_P.numel(), x_TD.shape[1]
        x_PD = torch.empty(num_rows, dim, device=x_TD.device, dtype=x_TD.dtype)
        _gather_rows_kernel[(triton.cdiv(num_rows, ROW_BLOCK),)](
            x_TD, token_of_P, x_PD, num_rows, dim, BLOCK_R=ROW_BLOCK, BLOCK_D=_dim_block(dim)
        )
        ctx.save_for_backward(row_of_TK)
        return x_PD

    @staticmethod
    def backward(ctx, grad_PD: Tensor):
        (row_of_TK,) = ctx.saved_tensors
        return _combine(grad_PD, row_of_TK, None, grad_PD.dtype), None, None


class _UnpermuteRowsTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y_PD: Tensor, weights_TK: Tensor, token_of_P: Tensor, slot_of_P: Tensor, row_of_TK: Tensor):
        y_PD = y_PD.contiguous()
        weights_TK = weights_TK.contiguous()
        ctx.save_for_backward(y_PD, weights_TK, token_of_P, slot_of_P)
        return _combine(y_PD, row_of_TK, weights_TK, y_PD.dtype)

    @staticmethod
    def backward(ctx, grad_TD: Tensor):
        y_PD, weights_TK, token_of_P, slot_of_P = ctx.saved_tensors
        num_rows, dim = y_PD.shape
        grad_y_PD = torch.empty_like(y_PD)
        grad_weights_TK = torch.empty_like(weights_TK)
        _unpermute_bwd_kernel[(triton.cdiv(num_rows, ROW_BLOCK),)](
            grad_TD.contiguous(), y_PD, weights_TK, token_of_P, slot_of_P, grad_y_PD, grad_weights_TK,
            num_rows, dim, BLOCK_R=ROW_BLOCK, BLOCK_D=_dim_block(dim),
        )
        return grad_y_PD, grad_weights_TK, None, None, None


def permute_rows_triton(x_TD: Tensor, token_of_P: Tensor, row_of_TK: Tensor) -> Tensor:
    return _PermuteRowsTriton.apply(x_TD, token_of_P, row_of_TK)


def unpermute_rows_triton(
    y_PD: Tensor, weights_TK: Tensor, token_of_P: Tensor, slot_of_P: Tensor, row_of_TK: Tensor
) -> Tensor:
    return _UnpermuteRowsTriton.apply(y_PD, weights_TK, token_of_P, slot_of_P, row_of_TK)
