"""Learning-rate schedules and training objectives against direct float64 computations."""
from __future__ import annotations

import math

import pytest
import torch

from sciloom.trainer.losses import cross_entropy_sum, next_token_targets, routing_supervision_sum
from sciloom.trainer.optim_config import OptimConfig
from sciloom.trainer.schedule import lr_multiplier


def test_cosine_warms_up_linearly_then_decays_to_the_floor() -> None:
    cfg = OptimConfig(steps=100, warmup_steps=10, min_lr_ratio=0.1, schedule="cosine")
    assert [lr_multiplier(s, cfg) for s in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert lr_multiplier(10, cfg) == pytest.approx(1.0)
    midway = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 45 / 90))
    assert lr_multiplier(55, cfg) == pytest.approx(midway)
    assert lr_multiplier(100, cfg) == pytest.approx(0.1)


def test_wsd_is_flat_then_decays_linearly_over_its_fraction() -> None:
    cfg = OptimConfig(steps=100, warmup_steps=5, min_lr_ratio=0.0, schedule="wsd", decay_fraction=0.2)
    assert lr_multiplier(50, cfg) == 1.0 and lr_multiplier(79, cfg) == 1.0
    assert lr_multiplier(80, cfg) == pytest.approx(1 - 1 / 20)
    assert lr_multiplier(99, cfg) == pytest.approx(0.0)


def test_warmup_longer_than_the_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="warmup_steps"):
        OptimConfig(steps=5, warmup_steps=10)


def test_targets_never_cross_a_document_boundary() -> None:
    batch = {"tokens": torch.tensor([[1, 2, 3, 9, 4, 5]]), "segment_ids": torch.tensor([[0, 0, 0, 1, 1, 1]]),
             "loss_mask": torch.tensor([[1, 1, 1, 1, 1, 0]], dtype=torch.bool)}
    inputs, targets, valid = next_token_targets(batch)
    assert inputs.tolist() == [[1, 2, 3, 9, 4]] and targets.tolist() == [[2, 3, 9, 4, 5]]
    # 3 → 9 crosses into the next document; 4 → 5 is masked by the mixer.
    assert valid.tolist() == [[True, True, False, True, False]]


def test_cross_entropy_sum_matches_float64_reference() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)
    targets = torch.randint(0, 7, (2, 5))
    valid = torch.rand(2, 5) > 0.3
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    picked = [-log_probs[b, t, targets[b, t]] for b in range(2) for t in range(5) if valid[b, t]]
    assert cross_entropy_sum(logits, targets, valid).item() == pytest.approx(sum(picked).item(), rel=1e-6)


def _separation_reference(logits_NE: torch.Tensor, disciplines_N: torch.Tensor, group_E: torch.Tensor) -> float:
    """Written out in float64: per supervised token, the mean over its group's experts g of
    -log(p_g / (p_g + sum of the probabilities outside the group))."""
    probs_NE = torch.softmax(logits_NE.double(), dim=-1)
    total = 0.0
    for i, d in enumerate(disciplines_N.tolist()):
        members = [e for e in range(len(group_E)) if group_E[e] == d]
        if not members:
            continue
        outside = sum(probs_NE[i, e].item() for e in range(len(group_E)) if group_E[e] != d)
        total += sum(-math.log(probs_NE[i, g].item() / (probs_NE[i, g].item() + outside)) for g in members) / len(members)
    return total


def test_routing_supervision_matches_float64_reference() -> None:
    torch.manual_seed(1)
    logits = torch.randn(7, 6) * 3
    group = torch.tensor([0, 0, 3, 3, 5, 5])  # experts 0-1: discipline 0, 2-3: discipline 3, 4-5: discipline 5
    disciplines = torch.tensor([0, 3, 5, 0, 8, 3, 8])  # 8 = general: not supervised
    supervised = torch.isin(disciplines, group)
    logits.requires_grad_(True)
    got = routing_supervision_sum(logits, disciplines, group, supervised)
    assert got.item() == pytest.approx(_separation_reference(logits.detach(), disciplines, group), rel=1e-5)
    got.backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[[4, 6]].abs().max() == 0 and logits.grad[[0, 1, 2, 3, 5]].abs().min(dim=1).values.gt(0).all()


def test_routing_supervision_gradient_matches_finite_differences() -> None:
    torch.manual_seed(2)
    logits = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    group = torch.tensor([0, 0, 1, 1, 2, 2])
    disciplines = torch.tensor([0, 1, 2, 1, 7])
    supervised = torch.isin(disciplines, group)
    assert torch.autograd.gradcheck(lambda x: routing_supervision_sum(x, disciplines, group, supervised), (logits,))


def test_routing_supervision_bounds_the_all_top_k_in_group_error() -> None:
    """A group member outscored by an outside expert costs at least log(2)/G; a token that costs less than
    that has every member of its group above every outside expert (its top-G are exactly the group)."""
    torch.manual_seed(3)
    G = 2
    group = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    logits = torch.randn(400, 8) * torch.rand(400, 1) * 8
    disciplines = torch.randint(0, 4, (400,))
    per_token = torch.stack([routing_supervision_sum(row[None], d[None], group, torch.tensor([True]))
                             for row, d in zip(logits, disciplines)])
    top_G_in_group = (group[logits.topk(G, dim=-1).indices] == disciplines[:, None]).all(dim=-1)
    below = per_token < math.log(2) / G
    assert below.any() and (~top_G_in_group).any()
    assert top_G_in_group[below].all()
    assert (per_token[~top_G_in_group] >= math.log(2) / G).all()


def test_routing_supervision_penalises_a_weak_group_member_that_the_group_mass_ignores() -> None:
    # Discipline 0 owns experts 0 and 1: its mass is 0.997, yet expert 2 outranks expert 1, so top-2 leaves the group.
    logits = torch.tensor([[6.0, -3.0, 0.0, -6.0]])
    group, disciplines, supervised = torch.tensor([0, 0, 1, 1]), torch.tensor([0]), torch.tensor([True])
    assert torch.softmax(logits, -1)[0, :2].sum() > 0.99
    assert routing_supervision_sum(logits, disciplines, group, supervised).item() > math.log(2) / 2
    fixed = torch.tensor([[6.0, 1.0, 0.0, -6.0]])
    assert routing_supervision_sum(fixed, disciplines, group, supervised).item() < math.log(2) / 2


def test_routing_supervision_is_zero_when_one_discipline_owns_every_expert() -> None:
    logits = torch.randn(3, 4, requires_grad=True)
    group = torch.zeros(4, dtype=torch.long)
    got = routing_supervision_sum(logits, torch.zeros(3, dtype=torch.long), group, torch.ones(3, dtype=torch.bool))
    got.backward()
    assert got.item() == 0 and torch.isfinite(logits.grad).all()
