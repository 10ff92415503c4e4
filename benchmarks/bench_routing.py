"""Router + permute + unpermute, forward and backward: our PyTorch reference path against a naive implementation.

The naive side is what transformers' Qwen2-MoE does: softmax, torch.topk, then a Python loop over experts with
boolean masks, gathering each expert's tokens and index_add-ing the weighted rows back. The expert itself is the
identity on both sides so only routing and data movement are timed; both sides' gradients are checked equal
first. Run:
    .venv/bin/python benchmarks/bench_routing.py [--smoke]
On a machine shared with other jobs, `OMP_NUM_THREADS=1` gives steadier numbers: with oversubscribed cores,
multi-threaded ops stall at their barriers, which hurts the naive side's many small ops most.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sciloom.trainer.routing import permute, route, unpermute  # noqa: E402

SHAPES = [  # (tokens, experts, top_k, dim)
    (4096, 64, 8, 256),
    (4096, 16, 2, 512),
    (1024, 64, 8, 128),
]


def ours(logits_TE: torch.Tensor, x_TD: torch.Tensor, grad_TD: torch.Tensor, top_k: int) -> None:
    routing = route(logits_TE, top_k, backend="reference")
    x_PD, _, perm = permute(x_TD, routing.experts_TK, logits_TE.shape[1], backend="reference")
    y_TD = unpermute(x_PD, routing.weights_TK, perm, backend="reference")
    ((y_TD * grad_TD).sum() + routing.aux_loss + routing.z_loss).backward()


def naive(logits_TE: torch.Tensor, x_TD: torch.Tensor, grad_TD: torch.Tensor, top_k: int) -> None:
    num_tokens, num_experts = logits_TE.shape
    probs_TE = F.softmax(logits_TE, dim=-1, dtype=torch.float)
    weights_TK, experts_TK = torch.topk(probs_TE, top_k, dim=-1)
    y_TD = torch.zeros_like(x_TD)
    with torch.no_grad():
        mask_EKT = F.one_hot(experts_TK, num_classes=num_experts).permute(2, 1, 0)
        tokens_per_expert_E = mask_EKT.sum(dim=(1, 2))
    for expert in range(num_experts):
        slot, token = torch.where(mask_EKT[expert])
        y_TD = y_TD.index_add(0, token, x_TD[token] * weights_TK[token, slot, None])
    aux = num_experts * (tokens_per_expert_E / (num_tokens * top_k) * probs_TE.mean(0)).sum()
    z = torch.logsumexp(logits_TE, dim=-1).square().mean()
    ((y_TD * grad_TD).sum() + aux + z).backward()


def gradients(fn: Callable, logits_TE: torch.Tensor, x_TD: torch.Tensor, grad_TD: torch.Tensor, top_k: int):
    logits_TE.grad = x_TD.grad = None
    fn(logits_TE, x_TD, grad_TD, top_k)
    return logits_TE.grad.clone(), x_TD.grad.clone()


def time_pair_us(first: Callable[[], None], second: Callable[[], None], repeats: int) -> tuple[float, float]:
    """Median µs per call of each; the two alternate so that both see the same load on a shared machine."""
    for _ in range(2):
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, times in zip((first, second), samples):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(samples[0]) * 1e6, statistics.median(samples[1]) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs (CI)")
    smoke = parser.parse_args().smoke
    shapes, repeats = ([(256, 8, 2, 32)], 2) if smoke else (SHAPES, 7)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, forward+backward, median µs per call")
    print(f"{'T':>6} {'E':>4} {'K':>3} {'D':>5} {'ours µs':>10} {'naive µs':>10} {'naive/ours':>11}")
    for num_tokens, num_experts, top_k, dim in shapes:
        logits_TE = torch.randn(num_tokens, num_experts, requires_grad=True)
        x_TD = torch.randn(num_tokens, dim, requires_grad=True)
        grad_TD = torch.randn(num_tokens, dim)
        # Both sides must compute the same thing before their speed means anything.
        ours_grads = gradients(ours, logits_TE, x_TD, grad_TD, top_k)
        for got, want in zip(ours_grads, gradients(naive, logits_TE, x_TD, grad_TD, top_k)):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
        ours_us, naive_us = time_pair_us(
            lambda: ours(logits_TE, x_TD, grad_TD, top_k), lambda: naive(logits_TE, x_TD, grad_TD, top_k), repeats=repeats
        )
        shape = f"{num_tokens:>6} {num_experts:>4} {top_k:>3} {dim:>5}"
        print(f"{shape} {ours_us:>10.0f} {naive_us:>10.0f} {naive_us / ours_us:>10.2f}x")


if __name__ == "__main__":
    main()
