"""Training throughput on CPU: our MoE CausalLM vs transformers' Qwen2MoeForCausalLM, same config, weights, batch.

One training step = forward, next-token cross-entropy + the router load-balancing loss (both models: aux
weight 0.01, ours adds its z-loss at weight 0.001), backward, fused AdamW step (what our training loop uses and
what transformers' Trainer defaults to with torch >= 2.8). Steps alternate between the models so that load from
other processes hits all alike; the median step time of each is compared.

Roofline: both models do the same matrix products (same config, same dropless routing). The script counts one
step's FLOPs (torch's FlopCounterMode for the matrix products, plus the attention products, which the counter
does not see inside CPU SDPA), measures the best GEMM rate this core reaches on the step's own matrix shapes, and
prints the floor no implementation can beat on this machine (FLOPs / GEMM rate) and the largest speed-up over
transformers that floor leaves.

Four models run: ours and transformers' eager, and each compiled after warm-up (timed steps come after the first
steps, which pay the compilation): ours with trainer.compile.compile_for_training (the training loop's
`OptimConfig.compile`; dense parts compiled, routed experts eager), transformers' with `model.compile()` (the
whole model, graph breaks where dynamo needs them). `--no-compile` runs the eager pair only.

Run: .venv/bin/python benchmarks/bench_training_throughput.py [--steps N] [--profile] [--no-compile] [--smoke]

`--smoke` runs two eager steps of each (no compilation): seconds, for CI.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from transformers import Qwen2MoeForCausalLM

from sciloom.trainer.compile import compile_for_training
from sciloom.trainer.hf_io import save_hf
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MoEConfig

AUX_WEIGHT = 0.01
# Innovator's regime: fine-grained experts (64 routed, top-8, narrow) next to a shared expert.
CONFIG = ModelConfig(
    vocab_size=2048, hidden_size=256, intermediate_size=1024, num_layers=2,
    num_attention_heads=8, num_key_value_heads=4,
    moe=MoEConfig(num_experts=64, top_k=8, expert_intermediate_size=64, shared_expert_intermediate_size=256,
                  aux_loss_weight=AUX_WEIGHT, z_loss_weight=0.001),
)
BATCH, SEQ = 4, 256


def our_step(model: CausalLM, optimizer: torch.optim.Optimizer, ids_BT: torch.Tensor) -> float:
    out = model(ids_BT[:, :-1])
    loss = F.cross_entropy(out.logits_BTV.flatten(0, 1), ids_BT[:, 1:].flatten()) + out.aux_loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def their_step(model: Qwen2MoeForCausalLM, optimizer: torch.optim.Optimizer, ids_BT: torch.Tensor) -> float:
    out = model(input_ids=ids_BT[:, :-1], output_router_logits=True, use_cache=False)
    loss = F.cross_entropy(out.logits.flatten(0, 1), ids_BT[:, 1:].flatten()) + AUX_WEIGHT * out.aux_loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def step_flops(model: CausalLM, ids_BT: torch.Tensor) -> float:
    """FLOPs of one training step of ours: matrix products as counted by torch, attention products added."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    counter = FlopCounterMode(display=False)
    with counter:
        our_step(model, optimizer, ids_BT)
    batch, seq = ids_BT.shape[0], ids_BT.shape[1] - 1
    head_dim = CONFIG.hidden_size // CONFIG.num_attention_heads
    # QK^T and PV: 2 products of 2*B*H*T*T*d each forward, twice that backward.
    attention = 3 * 2 * 2 * batch * CONFIG.num_attention_heads * seq * seq * head_dim * CONFIG.num_layers
    return counter.get_total_flops() + attention


def best_gemm_rate(tokens: int) -> float:
    """Best FLOP/s over the step's matrix-product shapes (the fastest makes the floor lowest, i.e. the ceiling kind)."""
    moe, hidden = CONFIG.moe, CONFIG.hidden_size
    per_expert_rows = tokens * moe.top_k // moe.num_experts
    shapes = [(tokens, hidden, CONFIG.vocab_size), (tokens, hidden, hidden), (tokens, hidden, 2 * moe.shared_expert_intermediate_size),
              (per_expert_rows, hidden, 2 * moe.expert_intermediate_size), (per_expert_rows, moe.expert_intermediate_size, hidden)]
    rates = []
    for m, k, n in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        repeats = max(3, int(2e9 / (2 * m * k * n)))
        a @ b
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        rates.append(2 * m * k * n * repeats / (time.perf_counter() - start))
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--profile", action="store_true", help="print a torch.profiler table of one step of each")
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled models")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.no_compile = 2, True
    torch.manual_seed(0)
    ours = CausalLM(CONFIG).train()
    with tempfile.TemporaryDirectory() as folder:
        save_hf(ours, folder)
        theirs = Qwen2MoeForCausalLM.from_pretrained(folder).train()
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"transformers: attention={theirs.config._attn_implementation}, experts={theirs.config._experts_implementation}")
    ids_BT = torch.randint(0, CONFIG.vocab_size, (BATCH, SEQ + 1), generator=torch.Generator().manual_seed(1))
    flops = step_flops(copy.deepcopy(ours), ids_BT)
    opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-4, fused=True)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-4, fused=True)
    # Compiled copies start from the same weights, so all four first-step losses are comparable.
    compiled_copies = [] if args.no_compile else [copy.deepcopy(ours), copy.deepcopy(theirs)]
    if args.profile:
        for name, step, model, opt in (("ours", our_step, ours, opt_ours), ("transformers", their_step, theirs, opt_theirs)):
            with torch.profiler.profile() as prof:
                step(model, opt, ids_BT)
            print(f"--- {name}\n" + prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    first = our_step(ours, opt_ours, ids_BT), their_step(theirs, opt_theirs, ids_BT)
    print(f"first-step loss: ours {first[0]:.5f}, transformers {first[1]:.5f}")
    runs = [("ours", our_step, ours, opt_ours), ("transformers", their_step, theirs, opt_theirs)]
    for name, step, compiled in zip(("ours", "transformers"), (our_step, their_step), compiled_copies):
        if name == "ours":
            compile_for_training(compiled)
        else:
            compiled.compile()
        optimizer = torch.optim.AdamW(compiled.parameters(), lr=1e-4, fused=True)
        start = time.perf_counter()
        loss = step(compiled, optimizer, ids_BT)
        print(f"{name} compiled: first step (compiles) {time.perf_counter() - start:.1f} s, loss {loss:.5f}")
        step(compiled, optimizer, ids_BT)  # backward graphs and recompiles settle in the first two steps
        runs.append((f"{name} compiled", step, compiled, optimizer))
    times: dict[str, list[float]] = {name: [] for name, *_ in runs}
    for _ in range(args.steps):
        for name, step, model, opt in runs:
            start = time.perf_counter()
            step(model, opt, ids_BT)
            times[name].append(time.perf_counter() - start)
    tokens = BATCH * SEQ
    gemm_rate = best_gemm_rate(tokens)
    rates = {name: tokens / statistics.median(t) for name, t in times.items()}
    for name, rate in rates.items():
        print(f"{name:>21}: {rate:8.0f} tokens/s (median of {args.steps} steps, {tokens} tokens/step)")
    print(f"ratio ours / transformers (both eager): {rates['ours'] / rates['transformers']:.2f}x")
    floor = flops / gemm_rate
    their_seconds = statistics.median(times["transformers"])
    print(f"roofline: {flops / 1e9:.2f} GFLOP per step; best GEMM rate on this core {gemm_rate / 1e9:.1f} GFLOP/s "
          f"-> no step can take less than {floor * 1e3:.0f} ms; ours takes {statistics.median(times['ours']) * 1e3:.0f} ms, "
          f"transformers {their_seconds * 1e3:.0f} ms; the largest possible speed-up over transformers here is "
          f"{their_seconds / floor:.2f}x")
    if not args.no_compile:
        print(f"ratio ours compiled / ours eager: {rates['ours compiled'] / rates['ours']:.2f}x")
        print(f"ratio ours compiled / transformers eager: {rates['ours compiled'] / rates['transformers']:.2f}x")
        print(f"ratio ours compiled / transformers compiled: "
              f"{rates['ours compiled'] / rates['transformers compiled']:.2f}x")


if __name__ == "__main__":
    main()
