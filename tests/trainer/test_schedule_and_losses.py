"""Learning-rate schedules and training objectives against direct float64 computations."""
from __future__ import annotations

import math

import pytest
import torch

from trainer.losses import cross_entropy_sum, next_token_targets, routing_supervision_sum
from trainer.optim_config import OptimConfig
from trainer.schedule import lr_multiplier


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


def test_routing_supervision_rewards_probability_mass_in_the_group() -> None:
    torch.manual_seed(1)
    logits = torch.randn(6, 4, dtype=torch.float64)
    group = torch.tensor([0, 0, 3, 3])  # experts 0-1 belong to discipline 0, experts 2-3 to discipline 3
    disciplines = torch.tensor([0, 3, 3, 0, 8, 8])  # 8 = general: not supervised
    supervised = torch.isin(disciplines, group)
    probs = torch.softmax(logits, dim=-1)
    expected = -sum(math.log(probs[i, :2].sum() if disciplines[i] == 0 else probs[i, 2:].sum()) for i in range(4))
    logits.requires_grad_(True)
    got = routing_supervision_sum(logits, disciplines, group, supervised)
    assert got.item() == pytest.approx(expected, rel=1e-6)  # the loss computes in float32
    got.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad[4:].abs().max() == 0
