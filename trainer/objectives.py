"""The loss function each stage trains with, in the shape the training loop takes."""
from __future__ import annotations

import torch

from trainer.losses import masked_cross_entropy, next_token_targets, routing_supervision_loss


def language_modeling(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """Next-token loss plus the model's own auxiliary losses (load balancing, router z-loss; zero when dense)."""
    inputs_BT, targets_BT, valid_BT = next_token_targets(batch)
    out = model(inputs_BT, batch["segment_ids"][:, :-1])
    ce = masked_cross_entropy(out.logits_BTV, targets_BT, valid_BT)
    return ce + out.aux_loss, {"ce": ce.item(), "aux_loss": float(out.aux_loss)}


def routing_warmup(expert_group_E: torch.Tensor):
    """Stage 3 objective: only the routers learn, supervised by each token's discipline.

    Tokens labelled `general` (or any discipline without experts) are not supervised: the shared expert is
    what carries general text, and their routed choice is left to the router (an open choice in Innovator).
    """

    def loss_fn(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        inputs_BT, _, _ = next_token_targets(batch)
        out = model(inputs_BT, batch["segment_ids"][:, :-1])
        disciplines_N = batch["discipline_ids"][:, :-1].reshape(-1).long()
        supervised_N = torch.isin(disciplines_N, expert_group_E)
        losses = [routing_supervision_loss(logits_NE, disciplines_N, expert_group_E, supervised_N)
                  for logits_NE in out.router_logits]
        loss = torch.stack(losses).mean()
        return loss, {"routing_loss": loss.item()}

    return loss_fn
