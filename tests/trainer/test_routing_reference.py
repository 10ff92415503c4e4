"""The PyTorch routing reference against naive float64 loops, and its gradients against torch.autograd.gradcheck."""
from __future__ import annotations

import math

import pytest
import torch

from sciloom.trainer.routing import _resolve_backend, permute, route, unpermute
from sciloom.trainer.routing_reference import route_reference


def naive_route(logits: list[list[float]], top_k: int, score_order: str, renormalize: bool) -> dict:
    """Per-token Python loops over experts, in float64; shares no code with the product."""
    num_tokens, num_experts = len(logits), len(logits[0])
    weights, experts, counts, probs_sum, lse_sq_sum = [], [], [0] * num_experts, [0.0] * num_experts, 0.0
    for row in logits:
        peak = max(row)
        exps = [math.exp(v - peak) for v in row]
        total = sum(exps)
        probs = [v / total for v in exps]
        chosen = sorted(range(num_experts), key=lambda e: (-row[e], e))[:top_k]
        if score_order == "topk_then_softmax":
            sel = [math.exp(row[e] - row[chosen[0]]) for e in chosen]
            w = [v / sum(sel) for v in sel]
        else:
            w = [probs[e] for e in chosen]
            if renormalize:
                w = [v / sum(w) for v in w]
        weights.append(w)
        experts.append(chosen)
        for e in chosen:
            counts[e] += 1
        for e in range(num_experts):
            probs_sum[e] += probs[e]
        lse_sq_sum += (peak + math.log(total)) ** 2
    probs_mean = [v / num_tokens for v in probs_sum]
    aux = num_experts * sum(counts[e] / (num_tokens * top_k) * probs_mean[e] for e in range(num_experts))
    z = lse_sq_sum / num_tokens
    return dict(weights=weights, experts=experts, counts=counts, probs_mean=probs_mean, aux=aux, z=z)


def naive_permute(x: torch.Tensor, experts: list[list[int]], num_experts: int) -> tuple[list[torch.Tensor], dict]:
    rows, row_of = [], {}
    for e in range(num_experts):
        for t, chosen in enumerate(experts):
            for k, ek in enumerate(chosen):
                if ek == e:
                    row_of[(t, k)] = len(rows)
                    rows.append(x[t])
    return rows, row_of


CASES = [
    ("softmax_then_topk", False),
    ("softmax_then_topk", True),
    ("topk_then_softmax", False),
]


@pytest.mark.parametrize("score_order,renormalize", CASES)
@pytest.mark.parametrize("tied", [False, True], ids=["random", "ties"])
def test_route_matches_naive_loops(score_order: str, renormalize: bool, tied: bool) -> None:
    gen = torch.Generator().manual_seed(10 * CASES.index((score_order, renormalize)) + tied)
    num_tokens, num_experts, top_k = 23, 12, 4
    if tied:
        # Few distinct values: most rows hold ties that straddle the top-K boundary.
        logits = torch.randint(0, 3, (num_tokens, num_experts), generator=gen).double()
    else:
        logits = torch.randn(num_tokens, num_experts, generator=gen, dtype=torch.float64) * 2
    got = route(logits, top_k, score_order=score_order, renormalize=renormalize, backend="reference")
    want = naive_route(logits.tolist(), top_k, score_order, renormalize)
    assert got.experts_TK.tolist() == want["experts"]
    assert got.tokens_per_expert_E.tolist() == want["counts"]
    assert got.tokens_per_expert_E.dtype == torch.int64
    for name, got_value in (("weights", got.weights_TK), ("probs_mean", got.probs_mean_E)):
        want_value = torch.tensor(want[name], dtype=torch.float64)
        torch.testing.assert_close(got_value, want_value, rtol=1e-12, atol=1e-13)
    assert got.aux_loss.item() == pytest.approx(want["aux"], rel=1e-12)
    assert got.z_loss.item() == pytest.approx(want["z"], rel=1e-12)


def test_uniform_logits_pick_lowest_experts_and_give_unit_aux_loss() -> None:
    got = route(torch.zeros(5, 8), 3, backend="reference")
    assert got.experts_TK.tolist() == [[0, 1, 2]] * 5
    assert got.aux_loss.item() == pytest.approx(1.0, rel=1e-6)


def test_bf16_logits_give_bf16_weights_and_float32_statistics() -> None:
    logits = torch.randn(7, 6).bfloat16()
    got = route(logits, 2, backend="reference")
    assert got.weights_TK.dtype == torch.bfloat16
    assert got.probs_mean_E.dtype == got.aux_loss.dtype == got.z_loss.dtype == torch.float32
    want = route(logits.float(), 2, backend="reference")
    assert torch.equal(got.experts_TK, want.experts_TK)


@pytest.mark.parametrize("score_order,renormalize", CASES)
def test_route_gradients_match_gradcheck(score_order: str, renormalize: bool) -> None:
    logits = torch.randn(6, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    mix_E = torch.randn(7, dtype=torch.float64)

    def outputs(logits_TE: torch.Tensor) -> tuple[torch.Tensor, ...]:
        r = route(logits_TE, 3, score_order=score_order, renormalize=renormalize, backend="reference")
        return r.weights_TK, r.probs_mean_E @ mix_E, r.aux_loss, r.z_loss

    assert torch.autograd.gradcheck(outputs, (logits,))


def test_permute_unpermute_match_naive_loops() -> None:
    gen = torch.Generator().manual_seed(5)
    num_tokens, num_experts, top_k, dim = 19, 9, 3, 5
    experts_TK = torch.stack([torch.randperm(num_experts, generator=gen)[:top_k] for _ in range(num_tokens)])
    x_TD = torch.randn(num_tokens, dim, dtype=torch.float64, generator=gen)
    x_PD, counts_E, perm = permute(x_TD, experts_TK, num_experts, backend="reference")
    rows, row_of = naive_permute(x_TD, experts_TK.tolist(), num_experts)
    assert torch.equal(x_PD, torch.stack(rows))
    assert counts_E.tolist() == [int((experts_TK == e).sum()) for e in range(num_experts)]
    assert perm.row_of_TK.tolist() == [[row_of[(t, k)] for k in range(top_k)] for t in range(num_tokens)]

    y_PD = torch.randn_like(x_PD)
    weights_TK = torch.rand(num_tokens, top_k, dtype=torch.float64, generator=gen)
    want = torch.stack([sum(weights_TK[t, k] * y_PD[row_of[(t, k)]] for k in range(top_k)) for t in range(num_tokens)])
    torch.testing.assert_close(unpermute(y_PD, weights_TK, perm, backend="reference"), want, rtol=1e-12, atol=1e-13)


def test_permute_unpermute_gradients_match_gradcheck() -> None:
    gen = torch.Generator().manual_seed(6)
    num_tokens, num_experts, top_k = 7, 5, 2
    experts_TK = torch.stack([torch.randperm(num_experts, generator=gen)[:top_k] for _ in range(num_tokens)])
    x_TD = torch.randn(num_tokens, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    weights_TK = torch.rand(num_tokens, top_k, dtype=torch.float64, generator=gen, requires_grad=True)
    perm = permute(x_TD, experts_TK, num_experts, backend="reference")[2]
    assert torch.autograd.gradcheck(lambda x: permute(x, experts_TK, num_experts, backend="reference")[0], (x_TD,))
    y_PD = torch.randn(num_tokens * top_k, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda y, w: unpermute(y, w, perm, backend="reference"), (y_PD, weights_TK))


def test_reference_route_is_what_auto_runs_on_cpu() -> None:
    logits = torch.randn(4, 6)
    assert _resolve_backend("auto", logits) == "reference"
    got, want = route(logits, 2), route_reference(logits, 2, score_order="softmax_then_topk", renormalize=False)
    assert torch.equal(got.weights_TK, want[0]) and torch.equal(got.experts_TK, want[1])


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: route(torch.randn(4, 6), 7), "top_k must be in"),
        (lambda: route(torch.randn(4, 6, 2), 2), "must be 2-D"),
        (lambda: route(torch.zeros(0, 6), 2), "no tokens"),
        (lambda: route(torch.randn(4, 6), 2, score_order="sigmoid"), "score_order must be one of"),
        (lambda: route(torch.randn(4, 6), 2, backend="cuda"), "backend must be one of"),
        (lambda: permute(torch.randn(3, 4), torch.tensor([[0], [6], [1]]), 6), "outside"),
        (lambda: permute(torch.randn(2, 4), torch.tensor([[0], [1], [1]]), 6), "matching experts_TK"),
    ],
)
def test_bad_input_raises_clear_errors(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_triton_backend_on_cpu_requires_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        route(torch.randn(4, 6), 2, backend="triton")
