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
    """Sum over supervised tokens of the mean, over the experts g of the token's discipline group, of
    -log(p_g / (p_g + P_out)) = softplus(logsumexp(out-of-group logits) - logit_g).

    Innovator's science-aware routing warmup: tokens of discipline d should route into d's experts. What
    routing accuracy asks (top-K all in the group; K = G in Innovator) holds exactly when *every* expert of the
    group outscores every expert outside it, so each group member is separated from the out-of-group mass on
    its own: the term is a smooth upper bound of "g loses to an outside expert" (>= log 2 when it does).
    Group members are never compared with each other, which leaves the router free to balance load among them.
    (The group's total probability mass, -log sum_g p_g, is minimised by one strong member alone; its gradient
    favours the member already ahead, so a second top-K slot can go outside the group while the mass is ~1.)
    """
    # At least float32 (bf16 logits are upcast); float64 stays float64 for gradient checks.
    logits_NE = router_logits_NE.to(torch.promote_types(router_logits_NE.dtype, torch.float32))
    in_group_NE = expert_group_E.unsqueeze(0) == disciplines_N.unsqueeze(1)
    keep_N = supervised_N & in_group_NE.any(dim=-1) & (~in_group_NE).any(dim=-1)
    # Rows that are not scored take the logsumexp over every expert instead: over an empty set it is -inf, and
    # its gradient NaN, even when the row is multiplied by zero afterwards.
    outside_NE = ~in_group_NE | ~keep_N.unsqueeze(1)
    outside_log_mass_N = torch.logsumexp(logits_NE.masked_fill(~outside_NE, float("-inf")), dim=-1)
    losses_NE = F.softplus(outside_log_mass_N.unsqueeze(1) - logits_NE)
    scored_NE = in_group_NE & keep_N.unsqueeze(1)
    per_token_N = (losses_NE * scored_NE).sum(dim=-1) / scored_NE.sum(dim=-1).clamp(min=1)
    return per_token_N.sum()


def routing_group_mass_sum(router_logits_NE: torch.Tensor, disciplines_N: torch.Tensor,
                           expert_group_E: torch.Tensor, supervised_N: torch.Tensor) -> torch.Tensor:
    """Sum over supervised tokens of -log(sum over the token's discipline group of softmax(logits)_g).

    The routing warmup's earlier loss, kept as an ablation option (RoutingWarmup(loss="group_mass")): it is
    satisfied by one strong group member alone (see routing_supervision_sum).
    """
    logits_NE = router_logits_NE.to(torch.promote_types(router_logits_NE.dtype, torch.float32))
    in_group_NE = expert_group_E.unsqueeze(0) == disciplines_N.unsqueeze(1)
    keep_N = supervised_N & in_group_NE.any(dim=-1)
    # Unscored rows take every expert (log-mass 0) so that no -inf enters the graph.
    log_mass_N = torch.logsumexp(logits_NE.masked_fill(~(in_group_NE | ~keep_N.unsqueeze(1)), float("-inf")), dim=-1)
    return ((torch.logsumexp(logits_NE, dim=-1) - log_mass_N) * keep_N).sum()


def group_load_balancing_loss(router_logits_NE: torch.Tensor, experts_NK: torch.Tensor,
                              expert_group_E: torch.Tensor) -> torch.Tensor:
    """Switch-style load balancing *within* expert groups, 1.0 at perfect balance (like the model's own loss).

    Each token belongs to the group that holds most of its router probability (no label is read). Inside
    group g: f_e = share of the group's tokens' top-K slots that land on e (among slots landing in g),
    P_e = mean over those tokens of p_e / p(g), and loss_g = |g| * sum_e f_e P_e. The result is the token-weighted
    mean over groups. Renormalising inside the group leaves the gradient on how mass is split *between*
    groups at zero: unlike balancing over all experts, it never pushes a discipline's tokens out of its group.
    """
    probs_NE = torch.softmax(router_logits_NE.to(torch.promote_types(router_logits_NE.dtype, torch.float32)), dim=-1)
    owners = expert_group_E.unique()
    member_GE = owners.unsqueeze(1) == expert_group_E.unsqueeze(0)
    mass_NG = probs_NE @ member_GE.T.to(probs_NE.dtype)
    group_N = mass_NG.argmax(dim=-1)
    total = probs_NE.new_zeros(())
    for g in range(len(owners)):
        tokens = group_N == g
        if not tokens.any():
            continue
        members = member_GE[g]
        inside_NE = probs_NE[tokens][:, members] / mass_NG[tokens, g].unsqueeze(1)
        slots = experts_NK[tokens].reshape(-1)
        slots = slots[members[slots]]
        if slots.numel() == 0:
            continue
        counts_E = torch.bincount(slots, minlength=len(expert_group_E))[members].to(probs_NE.dtype)
        f_E = counts_E / counts_E.sum()
        total = total + int(tokens.sum()) * int(members.sum()) * (f_E * inside_NE.mean(dim=0)).sum()
    return total / len(group_N)
