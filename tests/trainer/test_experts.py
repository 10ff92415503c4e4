"""GroupedExperts against transformers' own Qwen2-MoE experts module on the same weights."""
from __future__ import annotations

import pytest
import torch
from transformers import Qwen2MoeConfig
from transformers.models.qwen2_moe.modeling_qwen2_moe import Qwen2MoeExperts

from sciloom.trainer.experts import GroupedExperts, _experts_grouped_mm, _experts_segment_mm
from sciloom.trainer.routing import permute, route, unpermute

NUM_EXPERTS, HIDDEN, INTERMEDIATE, TOP_K = 6, 16, 8, 2


def hf_experts(ours: GroupedExperts) -> Qwen2MoeExperts:
    config = Qwen2MoeConfig(
        hidden_size=HIDDEN, moe_intermediate_size=INTERMEDIATE, num_experts=NUM_EXPERTS, num_experts_per_tok=TOP_K
    )
    config._experts_implementation = "eager"  # transformers' reference per-expert loop
    theirs = Qwen2MoeExperts(config)
    with torch.no_grad():
        theirs.gate_up_proj.copy_(ours.gate_up_proj)
        theirs.down_proj.copy_(ours.down_proj)
    return theirs


def test_grouped_experts_match_transformers_qwen2moe_experts() -> None:
    torch.manual_seed(0)
    ours = GroupedExperts(NUM_EXPERTS, HIDDEN, INTERMEDIATE, init_std=0.3)
    theirs = hf_experts(ours)
    x_TD = torch.randn(29, HIDDEN)
    # Steer every token away from the last expert so an empty segment is exercised.
    logits_TE = torch.randn(29, NUM_EXPERTS)
    logits_TE[:, -1] = -1e4
    routing = route(logits_TE, TOP_K)
    x_PD, tokens_per_expert_E, perm = permute(x_TD, routing.experts_TK, NUM_EXPERTS)
    assert tokens_per_expert_E[-1] == 0
    ours_TD = unpermute(ours(x_PD, tokens_per_expert_E), routing.weights_TK, perm)
    theirs_TD = theirs(x_TD, routing.experts_TK, routing.weights_TK)
    assert theirs_TD.abs().max() > 1e-2  # the comparison is not between two near-zero tensors
    torch.testing.assert_close(ours_TD, theirs_TD, rtol=1e-5, atol=1e-5)


def test_gate_up_split_order_is_gate_first() -> None:
    ours = GroupedExperts(1, 4, 2)
    with torch.no_grad():
        ours.gate_up_proj.zero_()
        ours.gate_up_proj[0, 0, 0] = 1.0  # gate row 0 reads x[0]
        ours.gate_up_proj[0, 2, 1] = 1.0  # up row 0 reads x[1]
        ours.down_proj.zero_()
        ours.down_proj[0, 0, 0] = 1.0
    x = torch.tensor([[2.0, 3.0, 0.0, 0.0]])
    y = ours(x, torch.tensor([1]))
    assert y[0, 0].item() == pytest.approx(torch.nn.functional.silu(torch.tensor(2.0)).item() * 3.0)


def test_grouped_mm_path_matches_the_segment_mm_path() -> None:
    # torch._grouped_mm has a CPU forward (no backward) in torch 2.13: enough to check offsets and transposes.
    torch.manual_seed(1)
    ours = GroupedExperts(NUM_EXPERTS, HIDDEN, INTERMEDIATE, init_std=0.3)
    counts_E = torch.tensor([3, 0, 5, 1, 0, 7])
    x_PD = torch.randn(int(counts_E.sum()), HIDDEN)
    with torch.no_grad():
        segmented = _experts_segment_mm(x_PD, ours.gate_up_proj, ours.down_proj, counts_E)
        grouped = _experts_grouped_mm(x_PD, ours.gate_up_proj, ours.down_proj, counts_E)
    torch.testing.assert_close(grouped, segmented, rtol=1e-5, atol=1e-6)


def test_gradients_match_gradcheck() -> None:
    ours = GroupedExperts(3, 4, 2, init_std=0.5).double()
    counts_E = torch.tensor([2, 0, 3])
    x_PD = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, gate_up, down: _experts_segment_mm(x, gate_up, down, counts_E), (x_PD, ours.gate_up_proj, ours.down_proj)
    )


def test_no_rows_gives_an_empty_output() -> None:
    ours = GroupedExperts(3, 4, 2)
    assert ours(torch.zeros(0, 4), torch.zeros(3, dtype=torch.int64)).shape == (0, 4)


def test_row_count_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="sums to"):
        GroupedExperts(3, 4, 2)(torch.zeros(4, 4), torch.tensor([1, 1, 1]))


def test_gradients_match_transformers_qwen2moe_experts() -> None:
    torch.manual_seed(2)
    ours = GroupedExperts(NUM_EXPERTS, HIDDEN, INTERMEDIATE, init_std=0.3)
    theirs = hf_experts(ours)
    x_TD = torch.randn(23, HIDDEN)
    routing = route(torch.randn(23, NUM_EXPERTS), TOP_K)
    grad_TD = torch.randn(23, HIDDEN)
    ours_x_TD = x_TD.clone().requires_grad_()
    x_PD, tokens_per_expert_E, perm = permute(ours_x_TD, routing.experts_TK, NUM_EXPERTS)
    unpermute(ours(x_PD, tokens_per_expert_E), routing.weights_TK, perm).backward(grad_TD)
    theirs_x_TD = x_TD.clone().requires_grad_()
    theirs(theirs_x_TD, routing.experts_TK, routing.weights_TK).backward(grad_TD)
    torch.testing.assert_close(ours_x_TD.grad, theirs_x_TD.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.gate_up_proj.grad, theirs.gate_up_proj.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.down_proj.grad, theirs.down_proj.grad, rtol=1e-5, atol=1e-5)


def test_experts_compute_in_the_autocast_dtype_inside_a_float32_model() -> None:
    """Under bf16 autocast the residual stream stays float32; the routed experts must still run in bf16."""
    from sciloom.trainer.model import CausalLM, ModelConfig, MoEConfig

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, moe=MoEConfig(num_experts=4, top_k=2, expert_intermediate_size=16))
    model = CausalLM(config)
    seen: list[tuple[torch.dtype, torch.dtype]] = []
    for layer in model.model.layers:
        layer.mlp.experts.register_forward_hook(lambda module, args, out: seen.append((args[0].dtype, out.dtype)))
    tokens_BT = torch.randint(0, 64, (2, 8))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(tokens_BT)
    # The rows reach the module in float32 (the residual stream's dtype) and its products come out in bf16.
    assert seen == [(torch.float32, torch.bfloat16)] * 2
    out.logits_BTV.float().sum().backward()
    grads = [layer.mlp.experts.gate_up_proj.grad for layer in model.model.layers]
    assert all(g is not None and g.dtype == torch.float32 and g.abs().sum() > 0 for g in grads)


def test_bf16_experts_match_a_float64_reference_on_bf16_operands() -> None:
    torch.manual_seed(0)
    experts = GroupedExperts(NUM_EXPERTS, HIDDEN, INTERMEDIATE, init_std=0.3)
    x_TD = torch.randn(20, HIDDEN)
    routing = route(torch.randn(20, NUM_EXPERTS), TOP_K)
    x_PD, tokens_per_expert_E, _ = permute(x_TD, routing.experts_TK, NUM_EXPERTS)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y_PD = experts(x_PD, tokens_per_expert_E)
    assert y_PD.dtype == torch.bfloat16
    # float64 on the bf16-rounded operands: what remains is bf16 rounding of the intermediate products.
    bf = lambda t: t.detach().to(torch.bfloat16).double()  # noqa: E731
    x64, gate_up64, down64 = bf(x_PD), bf(experts.gate_up_proj), bf(experts.down_proj)
    expected, start = [], 0
    for e, count in enumerate(tokens_per_expert_E.tolist()):
        gate, up = (x64[start:start + count] @ gate_up64[e].T).chunk(2, dim=-1)
        expected.append((torch.nn.functional.silu(gate) * up) @ down64[e].T)
        start += count
    expected_PD = torch.cat(expected)
    error = (y_PD.double() - expected_PD).abs().max() / expected_PD.abs().max()
    assert error < 2e-2, error
