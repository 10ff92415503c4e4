"""Held-out evaluation: loss per discipline, expert load, the discipline × expert routing map, routing accuracy."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from sciloom.curation.atomic_write import atomic_path  # noqa: E402
from sciloom.trainer.losses import next_token_targets  # noqa: E402


@torch.no_grad()
def evaluate_held_out(model: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]],
                      disciplines: Sequence[str]) -> dict[str, Any]:
    """Mean next-token loss per discipline of the target token, and routing statistics when the model is MoE.

    `routing_counts[d][e]` counts, summed over MoE layers, how often tokens of discipline d picked expert e.
    """
    model.eval()
    n_disc = len(disciplines)
    loss_sum_D = torch.zeros(n_disc, dtype=torch.float64)
    count_D = torch.zeros(n_disc, dtype=torch.float64)
    routing_DE: torch.Tensor | None = None
    device = next(model.parameters()).device
    for batch in batches:
        inputs_BT, targets_BT, valid_BT = next_token_targets(batch)
        out = model(inputs_BT.to(device), batch["segment_ids"][:, :-1].to(device))
        losses_N = F.cross_entropy(out.logits_BTV.float().flatten(0, 1), targets_BT.to(device).flatten(),
                                   reduction="none").cpu()
        target_disc_N = batch["discipline_ids"][:, 1:].reshape(-1).long()
        valid_N = valid_BT.flatten()
        loss_sum_D.index_add_(0, target_disc_N[valid_N], losses_N[valid_N].double())
        count_D.index_add_(0, target_disc_N[valid_N], torch.ones(int(valid_N.sum()), dtype=torch.float64))
        input_disc_N = batch["discipline_ids"][:, :-1].reshape(-1).long()
        for experts_NK in (e.cpu() for e in out.experts):
            num_experts = out.router_logits[0].shape[-1]
            if routing_DE is None:
                routing_DE = torch.zeros(n_disc, num_experts, dtype=torch.int64)
            flat = input_disc_N.unsqueeze(1).expand_as(experts_NK) * num_experts + experts_NK
            routing_DE += torch.bincount(flat.reshape(-1), minlength=n_disc * num_experts).view(n_disc, num_experts)
    per_disc = {d: float(loss_sum_D[i] / count_D[i]) for i, d in enumerate(disciplines) if count_D[i] > 0}
    report: dict[str, Any] = {
        "loss": float(loss_sum_D.sum() / count_D.sum().clamp(min=1)),
        "loss_per_discipline": per_disc,
        "tokens_per_discipline": {d: int(count_D[i]) for i, d in enumerate(disciplines) if count_D[i] > 0},
    }
    if routing_DE is not None:
        report["routing_counts"] = routing_DE.tolist()
        report["expert_load"] = routing_DE.sum(0).tolist()
    return report


@torch.no_grad()
def routing_accuracy(model: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]],
                     expert_group_E: torch.Tensor, disciplines: Sequence[str]) -> dict[str, Any]:
    """Fraction of a discipline's tokens whose top-K experts all lie in that discipline's group, per MoE layer.

    Only disciplines that own experts count; `general` tokens are not scored (see objectives.routing_warmup).
    Two numbers put `accuracy` in context: `majority_baseline`, what a router sending every token to the most
    frequent discipline's group would score, and `mean_over_disciplines`, which such a router cannot inflate.
    """
    model.eval()
    hits: dict[int, int] = {}
    totals: dict[int, int] = {}
    layer_hits: list[int] = []
    layer_total = 0
    device = next(model.parameters()).device
    for batch in batches:
        inputs_BT, _, _ = next_token_targets(batch)
        out = model(inputs_BT.to(device), batch["segment_ids"][:, :-1].to(device))
        disc_N = batch["discipline_ids"][:, :-1].reshape(-1).long()
        scored_N = torch.isin(disc_N, expert_group_E)
        if not layer_hits:
            layer_hits = [0] * len(out.experts)
        layer_total += int(scored_N.sum())
        for layer, experts_NK in enumerate(e.cpu() for e in out.experts):
            ok_N = (expert_group_E[experts_NK] == disc_N.unsqueeze(1)).all(dim=1) & scored_N
            layer_hits[layer] += int(ok_N.sum())
            for d in disc_N[scored_N].unique().tolist():
                mask = disc_N == d
                hits[d] = hits.get(d, 0) + int(ok_N[mask].sum())
                totals[d] = totals.get(d, 0) + int(mask.sum())
    n_layers = max(len(layer_hits), 1)
    per_discipline = {disciplines[d]: hits[d] / totals[d] for d in sorted(totals)}
    scored = max(sum(totals.values()), 1)
    return {
        "accuracy": sum(hits.values()) / scored,
        "majority_baseline": max(totals.values(), default=0) / scored,
        "mean_over_disciplines": sum(per_discipline.values()) / max(len(per_discipline), 1),
        "per_layer": [h / max(layer_total, 1) for h in layer_hits],
        "per_discipline": per_discipline,
        "tokens_scored": sum(totals.values()) // n_layers,
    }


def save_routing_heatmap(routing_DE: list[list[int]], disciplines: Sequence[str], path: Path,
                         expert_owners: Sequence[str] | None = None) -> None:
    """Rows: disciplines of the routed tokens; columns: experts, labelled with the discipline that owns them."""
    counts = torch.tensor(routing_DE, dtype=torch.float64)
    keep = counts.sum(1) > 0
    share = counts[keep] / counts[keep].sum(1, keepdim=True)
    labels = [d for d, k in zip(disciplines, keep.tolist()) if k]
    fig, ax = plt.subplots(figsize=(max(6, counts.shape[1] * 0.35), 1 + 0.45 * len(labels)))
    image = ax.imshow(share.numpy(), aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(labels)), labels)
    columns = counts.shape[1]
    ax.set_xticks(range(columns), [f"{e}:{expert_owners[e][:4]}" if expert_owners else str(e) for e in range(columns)],
                  rotation=90, fontsize=7)
    ax.set_xlabel("routed expert (index:owning discipline)" if expert_owners else "routed expert")
    ax.set_ylabel("token discipline")
    ax.set_title("share of each discipline's routed slots per expert\n(held-out tokens, all MoE layers)", fontsize=10)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def save_expert_load_png(expert_load: list[int], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(max(6, len(expert_load) * 0.3), 3))
    ax.bar(range(len(expert_load)), expert_load)
    ax.set_xlabel("routed expert")
    ax.set_ylabel("token slots (held-out)")
    ax.set_title("expert load")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
