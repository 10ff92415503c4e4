"""What each stage minimises, in the shape the training loop takes.

An objective says how many units (valid target tokens, supervised router decisions) a batch holds before
any forward pass, then returns the loss *summed* over them plus a regulariser already averaged per batch.
The loop divides the sums by the units of the whole step, across micro-batches and ranks.
"""
from __future__ import annotations

from typing import Protocol

import torch

from sciloom.trainer.losses import (cross_entropy_sum, group_load_balancing_loss, next_token_targets,
                                    routing_group_mass_sum, routing_supervision_sum)


class Objective(Protocol):
    def units(self, batch: dict[str, torch.Tensor]) -> int: ...

    def __call__(self, model: torch.nn.Module,
                 batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]: ...


class LanguageModeling:
    """Next-token loss; the model's own load-balancing and z-losses (zero when dense) as the regulariser.

    Ablation option: `group_balance=(expert_group_E, weight)` adds weight x load balancing *within* expert groups
    (losses.group_load_balancing_loss, mean over MoE layers); give the model aux_loss_weight 0 with it so that
    balancing over all experts, which pushes against discipline routing, is replaced rather than added to.
    """

    def __init__(self, group_balance: tuple[torch.Tensor, float] | None = None) -> None:
        self.group_balance = group_balance

    def units(self, batch: dict[str, torch.Tensor]) -> int:
        return int(next_token_targets(batch)[2].sum())

    def __call__(self, model, batch):
        inputs_BT, targets_BT, valid_BT = next_token_targets(batch)
        out = model(inputs_BT, batch["segment_ids"][:, :-1])
        regulariser, extra = out.aux_loss, {"aux_loss": float(out.aux_loss.detach())}
        if self.group_balance is not None and out.router_logits:
            group_E, weight = self.group_balance
            group_E = group_E.to(out.router_logits[0].device)
            balance = torch.stack([group_load_balancing_loss(logits_NE, experts_NK, group_E)
                                   for logits_NE, experts_NK in zip(out.router_logits, out.experts)]).mean()
            regulariser = regulariser + weight * balance
            extra["group_balance_loss"] = float(balance.detach())
        return cross_entropy_sum(out.logits_BTV, targets_BT, valid_BT), regulariser, extra


class RoutingWarmup:
    """Stage 3: routers learn to send each token into its discipline's expert group, averaged over MoE layers.

    Tokens labelled `general` (or any discipline without experts) are not supervised: the shared expert is
    what carries general text, and their routed choice is left to the router (an open choice in Innovator).
    `loss`: "separation" (default, losses.routing_supervision_sum) or, as an ablation, "group_mass"
    (losses.routing_group_mass_sum, -log of the group's probability mass).
    """

    LOSSES = {"separation": routing_supervision_sum, "group_mass": routing_group_mass_sum}

    def __init__(self, expert_group_E: torch.Tensor, loss: str = "separation") -> None:
        if loss not in self.LOSSES:
            raise ValueError(f"routing warmup loss {loss!r}: expected one of {', '.join(self.LOSSES)}")
        self.expert_group_E = expert_group_E
        self.loss = self.LOSSES[loss]

    def _supervised(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        disciplines_N = batch["discipline_ids"][:, :-1].reshape(-1).long()
        self.expert_group_E = self.expert_group_E.to(disciplines_N.device)
        return disciplines_N, torch.isin(disciplines_N, self.expert_group_E)

    def units(self, batch: dict[str, torch.Tensor]) -> int:
        return int(self._supervised(batch)[1].sum())

    def __call__(self, model, batch):
        inputs_BT, _, _ = next_token_targets(batch)
        out = model(inputs_BT, batch["segment_ids"][:, :-1])
        disciplines_N, supervised_N = self._supervised(batch)
        per_layer = [self.loss(logits_NE, disciplines_N, self.expert_group_E, supervised_N)
                     for logits_NE in out.router_logits]
        return torch.stack(per_layer).mean(), out.aux_loss.new_zeros(()), {}
