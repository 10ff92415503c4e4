"""The trainer's ablation options (benchmarks/replicate_upcycling.py): the routing warmup's group-mass loss, load
balancing within expert groups, and Innovator's option checks, against direct float64 computations."""
from __future__ import annotations

import math

import pytest
import torch

from sciloom.trainer.innovator import run_stages
from sciloom.trainer.losses import group_load_balancing_loss, routing_group_mass_sum
from sciloom.trainer.model import CausalLM, ModelConfig
from sciloom.trainer.moe import MoEConfig
from sciloom.trainer.objectives import LanguageModeling, RoutingWarmup

GROUP_E = torch.tensor([0, 0, 3, 3, 5, 5])  # experts 0-1: discipline 0, 2-3: discipline 3, 4-5: discipline 5


def test_group_mass_loss_is_minus_log_of_the_groups_probability() -> None:
    torch.manual_seed(1)
    logits = torch.randn(5, 6) * 3
    disciplines = torch.tensor([0, 3, 8, 5, 0])  # 8: no experts, not scored
    supervised = torch.isin(disciplines, GROUP_E)
    probs = torch.softmax(logits.double(), dim=-1)
    expected = sum(-math.log(float(probs[n, GROUP_E == d].sum())) for n, d in enumerate(disciplines.tolist()) if d != 8)
    got = routing_group_mass_sum(logits.requires_grad_(True), disciplines, GROUP_E, supervised)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    got.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad[2].abs().max() == 0


def test_group_balance_is_one_when_balanced_inside_each_group_and_matches_the_formula() -> None:
    # Four tokens in group 0 (experts 0, 1): probabilities inside the group are equal and the slots split 2/2.
    logits = torch.tensor([[2.0, 2.0, 0.0, 0.0, -1.0, -1.0]] * 4)
    experts = torch.tensor([[0, 2], [1, 4], [0, 3], [1, 5]])
    assert group_load_balancing_loss(logits, experts, GROUP_E).item() == pytest.approx(1.0)
    # Unbalanced: two tokens in group 0 (every in-group slot on expert 0), one in group 5 (its slot on expert 4).
    logits = torch.tensor([[3.0, 1.0, 0.0, 0.0, 0.0, 0.0], [2.0, 0.5, 0.0, 0.0, 0.0, 0.0],
                           [0.0, 0.0, 0.0, 0.0, 4.0, 1.0]])
    experts = torch.tensor([[0, 2], [0, 3], [4, 0]])
    p = torch.softmax(logits.double(), dim=-1)
    q0 = p[:2, :2] / p[:2, :2].sum(1, keepdim=True)
    q5 = p[2:, 4:] / p[2:, 4:].sum(1, keepdim=True)
    loss0 = 2 * (1.0 * q0[:, 0].mean())  # f = (1, 0)
    loss5 = 2 * (1.0 * q5[:, 0].mean())
    expected = (2 * loss0 + 1 * loss5) / 3
    assert group_load_balancing_loss(logits, experts, GROUP_E).item() == pytest.approx(float(expected), rel=1e-6)


def test_group_balance_never_moves_mass_between_groups() -> None:
    """Shifting all logits of one group by a constant leaves the loss unchanged: the gradient summed over each
    group's experts is zero for every token (balancing over all experts has no such property)."""
    torch.manual_seed(4)
    logits = (torch.randn(32, 6, dtype=torch.float64) * 2).requires_grad_(True)
    experts = logits.detach().topk(2, dim=-1).indices
    group_load_balancing_loss(logits, experts, GROUP_E).backward()
    for owner in GROUP_E.unique():
        assert logits.grad[:, GROUP_E == owner].sum(dim=1).abs().max() < 1e-12
    assert logits.grad.abs().max() > 1e-4


def _moe_model() -> CausalLM:
    torch.manual_seed(0)
    moe = MoEConfig(num_experts=6, top_k=2, expert_intermediate_size=8, shared_expert_intermediate_size=16,
                    aux_loss_weight=0.0, z_loss_weight=0.0)
    return CausalLM(ModelConfig(vocab_size=24, hidden_size=32, intermediate_size=32, num_layers=2,
                                num_attention_heads=2, num_key_value_heads=1, moe=moe))


def _batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 24, (2, 12), generator=g)
    return {"tokens": tokens, "segment_ids": torch.zeros(2, 12, dtype=torch.int32),
            "discipline_ids": torch.tensor([[0] * 12, [3] * 12]), "loss_mask": torch.ones(2, 12, dtype=torch.bool)}


def test_language_modeling_adds_the_weighted_group_balance_of_every_moe_layer() -> None:
    model, batch = _moe_model(), _batch()
    _, plain, _ = LanguageModeling()(model, batch)
    _, regulariser, extra = LanguageModeling((GROUP_E, 0.5))(model, batch)
    out = model(batch["tokens"][:, :-1], batch["segment_ids"][:, :-1])
    expected = sum(group_load_balancing_loss(lg, ex, GROUP_E) for lg, ex in zip(out.router_logits, out.experts)) / 2
    assert plain.item() == 0.0
    assert regulariser.item() == pytest.approx(0.5 * expected.item(), rel=1e-6)
    assert extra["group_balance_loss"] == pytest.approx(expected.item(), rel=1e-6)


def test_routing_warmup_uses_the_chosen_loss_and_refuses_an_unknown_one() -> None:
    model, batch = _moe_model(), _batch()
    out = model(batch["tokens"][:, :-1], batch["segment_ids"][:, :-1])
    disciplines = batch["discipline_ids"][:, :-1].reshape(-1)
    supervised = torch.isin(disciplines, GROUP_E)
    expected = torch.stack([routing_group_mass_sum(lg, disciplines, GROUP_E, supervised) for lg in out.router_logits]).mean()
    got, _, _ = RoutingWarmup(GROUP_E, loss="group_mass")(model, batch)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="routing warmup loss 'margin'"):
        RoutingWarmup(GROUP_E, loss="margin")


def test_run_stages_refuses_an_unknown_balance_before_training(tmp_path) -> None:
    with pytest.raises(ValueError, match="balance 'sideways'"):
        run_stages(None, None, tmp_path, tmp_path, [], 0, None, lambda: [], balance="sideways")  # type: ignore[arg-type]


def test_a_learned_routed_scale_stays_at_one_in_the_warmup_and_learns_in_integration(tmp_path) -> None:
    from safetensors.torch import load_file
    from streams import VOCAB, write_innovator_streams

    from sciloom.trainer.batches import dataset_batches, held_out_dataset
    from sciloom.trainer.config import TrainerConfig
    from sciloom.trainer.distributed import ParallelContext

    disciplines, science = ["mathematics", "physics", "general"], ["mathematics", "physics"]
    shards = write_innovator_streams(tmp_path / "shards", disciplines, science, documents=16)
    stage = {"batch_size": 4, "warmup_steps": 1, "checkpoint_every": 10}
    config = TrainerConfig.model_validate({
        "dense": {"model": {"vocab_size": VOCAB, "hidden_size": 32, "intermediate_size": 64, "num_layers": 2,
                            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64},
                  "pretrain": {"steps": 1, "lr": 0.01, **stage}},
        "innovator": {"granularity": 2, "top_k": 2, "expert_induction": {"steps": 2, "lr": 0.005, **stage},
                      "routing_warmup": {"steps": 3, "lr": 0.05, **stage},
                      "integration": {"steps": 6, "lr": 0.01, **stage}},
        "eval_batch_size": 4})
    torch.manual_seed(0)
    dense = CausalLM(config.dense.model)
    held = held_out_dataset(shards)
    moe, _ = run_stages(config, dense, shards, tmp_path / "out", disciplines, 0, ParallelContext(),
                        lambda: dataset_batches(held, 4), learned_routed_scale=True)
    warm = load_file(tmp_path / "out" / "3_routing_warmup" / "final.safetensors")
    scales = [name for name in warm if name.endswith("mlp.routed_scale")]
    assert len(scales) == 2 and all(torch.equal(warm[name], torch.ones(1)) for name in scales)
    learned = [layer.mlp.routed_scale.item() for layer in moe.model.layers]
    assert all(value != 1.0 for value in learned)
