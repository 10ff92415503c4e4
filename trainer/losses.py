"""Training objectives: next-token loss over packed sequences, and science-aware routing supervision.

Losses are returned as sums with the number of units they sum over, so the training loop can average over
every micro-batch of every data-parallel rank at once: the step is then the same whatever the split.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def next_token_targets(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs_BT, targets_BT, valid_BT): a target counts when the mixer's loss mask allows it and it belongs to
    the same document as the token that predicts it (never predict across a packing boundary)."""
    tokens_BL = batch["tokens"].long()
    segments_BL = batch["segment_ids"]
    valid_BT = batch["loss_mask"][:, 1:].bool() & (segments_BL[:, 1:] == segments_BL[:, :-1])
    return tokens_BL[:, :-1], tokens_BL[:, 1:], valid_BT


def cross_entropy_sum(logits_BTV: torch.Tensor, targets_BT: torch.Tensor, valid_BT: torch.Tensor) -> torch.Tensor:
    losses_BT = F.cross_entropy(logits_BTV.float().flatten(0, 1), targets_BT.flatten(), reduction="none")
    return (losses_BT * valid_BT.flatten()).sum()


def routing_supervision_sum(router_logits_NE: torch.Tensor, disciplines_N: torch.Tensor,
                            expert_group_E: torch.Tensor, supervised_N: torch.Tensor) -> torch.Tensor:
    """Sum over supervised tokens of -log(router probability mass in the token's discipline group).

    Innovator's science-aware routing warmup: tokens of discipline d should route into d's experts. Summing
    probabilities over a group (rather than a per-expert target) leaves the router free to balance load
    among the group's fine-grained experts.
    """
    log_probs_NE = torch.log_softmax(router_logits_NE.float(), dim=-1)
    in_group_NE = expert_group_E.unsqueeze(0) == disciplines_N.unsqueeze(1)
    keep_N = supervised_N & in_group_NE.any(dim=-1)
    # Rows that are not scored sum over every expert instead: an empty group's log-mass is -inf, and its
    # gradient NaN, even when the row is multiplied by zero afterwards.
    in_group_NE = in_group_NE | ~keep_N.unsqueeze(1)
    group_log_prob_N = torch.logsumexp(log_probs_NE.masked_fill(~in_group_NE, float("-inf")), dim=-1)
    return -(group_log_prob_N * keep_N).sum()
