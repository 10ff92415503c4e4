"""Stage 3's objective on a real (tiny) MoE model: its units, its value against a float64 reference computed from
the model's own router logits, and that training the routers alone with it puts every top-K slot in the group."""
from __future__ import annotations

import math

import pytest
import torch

from sciloom.trainer.evaluate import routing_accuracy
from sciloom.trainer.innovator import is_router_parameter
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MoEConfig
from sciloom.trainer.objectives import RoutingWarmup

VOCAB = 24
GENERAL = 3  # disciplines 0, 1, 2 own two experts each; 3 owns none
GROUP_E = torch.tensor([0, 0, 1, 1, 2, 2])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny matrices: two threads on a shared machine are ~40x slower than one (measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model() -> CausalLM:
    torch.manual_seed(0)
    moe = MoEConfig(num_experts=6, top_k=2, expert_intermediate_size=8, shared_expert_intermediate_size=16)
    return CausalLM(ModelConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=32, num_layers=2,
                                num_attention_heads=2, num_key_value_heads=1, moe=moe))


def _batch(seed: int) -> dict[str, torch.Tensor]:
    """Two documents per row; a document of discipline d (general: 3) uses tokens 6d .. 6d+5 only."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(4):
        cut = int(torch.randint(4, 12, (1,), generator=g))
        d1, d2 = torch.randint(0, 4, (2,), generator=g).tolist()
        discipline_L = torch.tensor([d1] * cut + [d2] * (16 - cut))
        rows.append((discipline_L * 6 + torch.randint(0, 6, (16,), generator=g), torch.tensor([0] * cut + [1] * (16 - cut)),
                     discipline_L))
    tokens, segments, disciplines = (torch.stack(parts) for parts in zip(*rows))
    return {"tokens": tokens, "segment_ids": segments.int(), "discipline_ids": disciplines,
            "loss_mask": torch.ones_like(tokens, dtype=torch.bool)}


def _reference(router_logits_NE: torch.Tensor, disciplines_N: torch.Tensor) -> float:
    probs = torch.softmax(router_logits_NE.detach().double(), dim=-1)
    total = 0.0
    for n, d in enumerate(disciplines_N.tolist()):
        if d == GENERAL:
            continue
        members = (GROUP_E == d).nonzero().flatten().tolist()
        outside = float(probs[n, GROUP_E != d].sum().detach())
        total += sum(-math.log(float(probs[n, g]) / (float(probs[n, g]) + outside)) for g in members) / len(members)
    return total


def test_units_count_the_input_tokens_of_disciplines_that_own_experts() -> None:
    batch = _batch(1)
    inputs = batch["discipline_ids"][:, :-1]
    assert RoutingWarmup(GROUP_E).units(batch) == int((inputs != GENERAL).sum())
    assert 0 < RoutingWarmup(GROUP_E).units(batch) < inputs.numel()


def test_value_is_the_mean_over_moe_layers_of_the_per_token_sum() -> None:
    model, batch = _model(), _batch(2)
    with torch.no_grad():
        for layer in model.model.layers:  # a trained-looking router: distinct, sizeable logits
            layer.mlp.gate.weight.normal_(0, 1.0)
    summed, regulariser, _ = RoutingWarmup(GROUP_E)(model, batch)
    out = model(batch["tokens"][:, :-1], batch["segment_ids"][:, :-1])
    disciplines_N = batch["discipline_ids"][:, :-1].reshape(-1)
    expected = sum(_reference(logits, disciplines_N) for logits in out.router_logits) / len(out.router_logits)
    assert summed.item() == pytest.approx(expected, rel=1e-5)
    assert regulariser.item() == 0


def test_training_only_the_routers_puts_both_top_k_slots_in_the_group() -> None:
    model = _model()
    objective = RoutingWarmup(GROUP_E)
    for name, param in model.named_parameters():
        param.requires_grad_(is_router_parameter(name))
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
    disciplines = ["a", "b", "c", "general"]
    before = routing_accuracy(model, [_batch(99)], GROUP_E, disciplines)["accuracy"]
    for step in range(30):
        batch = _batch(step)
        optimizer.zero_grad()
        summed, _, _ = objective(model, batch)
        (summed / objective.units(batch)).backward()
        optimizer.step()
    after = routing_accuracy(model, [_batch(99)], GROUP_E, disciplines)
    assert before < 0.5 and after["accuracy"] == 1.0, after
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
