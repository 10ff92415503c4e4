"""Triton routing kernels (run by the interpreter on CPU tensors, TRITON_INTERPRET=1 from conftest) against the
PyTorch reference: outputs and gradients, with ties, E=64 / K=8, and token counts that are not block multiples."""
from __future__ import annotations

import pytest
import torch

from sciloom.trainer.routing import permute, route, unpermute
from sciloom.trainer.routing_triton import ROW_BLOCK, route_triton

CASES = [
    ("softmax_then_topk", False),
    ("softmax_then_topk", True),
    ("topk_then_softmax", False),
]


def tied_logits(num_tokens: int, num_experts: int, gen: torch.Generator) -> torch.Tensor:
    logits_TE = torch.randn(num_tokens, num_experts, generator=gen)
    # A third of the rows take few distinct values, so ties straddle the top-K boundary and fill the top-K.
    tied_rows = torch.arange(0, num_tokens, 3)
    logits_TE[tied_rows] = torch.randint(0, 3, (len(tied_rows), num_experts), generator=gen).float()
    return logits_TE


def routed_outputs_and_grads(logits_TE: torch.Tensor, run, gen_seed: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    logits_TE = logits_TE.clone().requires_grad_()
    weights_TK, experts_TK, counts_E, probs_mean_E, z_loss = run(logits_TE)
    gen = torch.Generator().manual_seed(gen_seed)
    grad_weights_TK = torch.randn(weights_TK.shape, generator=gen)
    grad_probs_mean_E = torch.randn(probs_mean_E.shape, generator=gen)
    ((weights_TK * grad_weights_TK).sum() + (probs_mean_E * grad_probs_mean_E).sum() + 0.7 * z_loss).backward()
    return [weights_TK, experts_TK, counts_E, probs_mean_E, z_loss], logits_TE.grad


@pytest.mark.parametrize("score_order,renormalize", CASES)
def test_router_kernel_matches_reference_e64_k8_with_ties(score_order: str, renormalize: bool) -> None:
    gen = torch.Generator().manual_seed(100 + CASES.index((score_order, renormalize)))
    logits_TE = tied_logits(37, 64, gen)  # 37 tokens over blocks of 16: three programs, the last partial

    def triton_route(x: torch.Tensor):
        return route_triton(x, 8, score_order=score_order, renormalize=renormalize, block_t=16)

    def reference_route(x: torch.Tensor):
        r = route(x, 8, score_order=score_order, renormalize=renormalize, backend="reference")
        return r.weights_TK, r.experts_TK, r.tokens_per_expert_E, r.probs_mean_E, r.z_loss

    (w, e, c, p, z), grad = routed_outputs_and_grads(logits_TE, triton_route, 7)
    (w_ref, e_ref, c_ref, p_ref, z_ref), grad_ref = routed_outputs_and_grads(logits_TE, reference_route, 7)
    assert torch.equal(e, e_ref)
    assert torch.equal(c, c_ref) and c.dtype == torch.int64
    torch.testing.assert_close(w, w_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(p, p_ref, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(z, z_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-4, atol=1e-6)


def test_router_through_public_api_with_aux_loss_only_gradient() -> None:
    # E=10 is not a power of two (masked columns); only aux + z losses reach the logits (no weight gradient).
    logits_TE = torch.randn(5, 10, generator=torch.Generator().manual_seed(11))
    grads = []
    for backend in ("triton", "reference"):
        x = logits_TE.clone().requires_grad_()
        r = route(x, 3, renormalize=True, backend=backend)
        (r.aux_loss + 0.1 * r.z_loss).backward()
        grads.append((r.experts_TK, r.aux_loss.detach(), x.grad))
    assert torch.equal(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(grads[0][2], grads[1][2], rtol=1e-5, atol=1e-7)


def test_router_bf16_logits_select_like_float32() -> None:
    logits_TE = torch.randn(9, 12, generator=torch.Generator().manual_seed(12)).bfloat16()
    got = route(logits_TE, 4, backend="triton")
    want = route(logits_TE, 4, backend="reference")
    assert got.weights_TK.dtype == torch.bfloat16
    assert torch.equal(got.experts_TK, want.experts_TK)
    torch.testing.assert_close(got.weights_TK, want.weights_TK)


def test_permute_unpermute_kernels_match_reference() -> None:
    gen = torch.Generator().manual_seed(13)
    num_tokens, num_experts, top_k, dim = ROW_BLOCK + 9, 64, 8, 200  # tokens, rows and dim all span partial blocks
    experts_TK = route(tied_logits(num_tokens, num_experts, gen), top_k).experts_TK
    x_TD = torch.randn(num_tokens, dim, generator=gen)
    y_PD = torch.randn(num_tokens * top_k, dim, generator=gen)
    weights_TK = torch.rand(num_tokens, top_k, generator=gen)
    grad_x_PD = torch.randn(num_tokens * top_k, dim, generator=gen)
    grad_y_TD = torch.randn(num_tokens, dim, generator=gen)
    results = {}
    for backend in ("triton", "reference"):
        x, y, w = (t.clone().requires_grad_() for t in (x_TD, y_PD, weights_TK))
        x_PD, counts_E, perm = permute(x, experts_TK, num_experts, backend=backend)
        out_TD = unpermute(y, w, perm, backend=backend)
        ((x_PD * grad_x_PD).sum() + (out_TD * grad_y_TD).sum()).backward()
        results[backend] = (x_PD, counts_E, out_TD, x.grad, y.grad, w.grad)
    for got, want in zip(results["triton"], results["reference"]):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
