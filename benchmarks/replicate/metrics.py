"""What replicate_upcycling.py measures, apart from its driving: parameter and FLOP counts per token, and
document-level routing accuracy on the mixer's held-out stream.

Document-level routing accuracy: per held-out science document, the router's probability mass (softmax over
all routed experts, summed over the experts of each discipline's group, averaged over MoE layers) is summed
over the document's tokens; the document counts as routed to its own discipline when its own group holds the
largest share (`accuracy`) and, stricter, when it holds more than half (`accuracy_over_half`). Documents are
the mixer's: a document that continues across packed sequences is one document (the shard's `.seg` records).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from sciloom.mixer.segments import read_segments, seg_path
from sciloom.mixer.shard_reader import PackedShardDataset
from sciloom.trainer.batches import collate
from sciloom.trainer.losses import next_token_targets
from sciloom.trainer.model import CausalLM
from sciloom.trainer.moe import MoEBlock


def parameter_counts(model: CausalLM) -> dict[str, int]:
    """total; active = what one token uses (all but the E - K routed experts it skips, per MoE layer);
    embedding = the input table (a lookup, no multiply-adds)."""
    total = sum(p.numel() for p in model.parameters())
    skipped = 0
    for layer in model.model.layers:
        if isinstance(layer.mlp, MoEBlock):
            cfg = layer.mlp.config
            per_expert = (layer.mlp.experts.gate_up_proj[0].numel() + layer.mlp.experts.down_proj[0].numel())
            skipped += (cfg.num_experts - cfg.top_k) * per_expert
    return {"total": total, "active": total - skipped, "embedding": model.model.embed_tokens.weight.numel()}


def flops_per_token(model: CausalLM, context: float) -> float:
    """Forward multiply-add FLOPs per token: 2 per active weight that multiplies (every active parameter but the
    embedding table, norm weights and biases), plus attention's scores and weighted sum, 2 x 2 x context x
    heads x head_dim per layer (`context` = positions attended; (seq_len + 1) / 2 on average for causal
    full-length sequences). Training costs about 3x this."""
    counts = parameter_counts(model)
    vectors = sum(p.numel() for name, p in model.named_parameters() if p.ndim == 1)
    cfg = model.config
    attention = 4 * context * cfg.num_attention_heads * cfg.head_dim * cfg.num_layers
    return 2 * (counts["active"] - counts["embedding"] - vectors) + attention


def document_index(dataset: PackedShardDataset) -> list[np.ndarray]:
    """Per sequence of `dataset`, the document number of each of its tokens (unique over the whole stream)."""
    out: list[np.ndarray] = []
    first_document = 0
    seq_len = dataset.seq_len
    for part in dataset.manifest["parts"]:
        if not part["sequences"]:
            continue
        records = read_segments(seg_path(dataset.directory / part["prefix"]), seq_len, part["sequences"] * seq_len,
                                len(dataset.disciplines))
        for local in range(part["sequences"]):
            positions = np.arange(local * seq_len, (local + 1) * seq_len)
            out.append(first_document + np.searchsorted(records["start"], positions, side="right") - 1)
        first_document += len(records)
    assert len(out) == len(dataset), (len(out), len(dataset))
    return out


def document_routing_accuracy(document_N: np.ndarray, discipline_N: np.ndarray, mass_NG: np.ndarray,
                              owners: Sequence[int], names: Sequence[str]) -> dict[str, Any]:
    """Per document, the routing mass of its tokens summed per expert group; scored against its own discipline.

    owners[g] = taxonomy index of the discipline owning group g; documents of disciplines that own no group are
    left out. `majority_baseline`: the score of always answering the most frequent discipline among the documents.
    """
    owners = list(owners)
    keep = np.isin(discipline_N, owners)
    document_N, discipline_N, mass_NG = document_N[keep], discipline_N[keep], mass_NG[keep]
    documents, inverse = np.unique(document_N, return_inverse=True)
    mass_DG = np.zeros((len(documents), len(owners)))
    np.add.at(mass_DG, inverse, mass_NG)
    own_D = np.zeros(len(documents), dtype=np.int64)
    own_D[inverse] = [owners.index(d) for d in discipline_N]
    share_DG = mass_DG / mass_DG.sum(axis=1, keepdims=True)
    hit_D = share_DG.argmax(axis=1) == own_D
    over_half_D = share_DG[np.arange(len(documents)), own_D] > 0.5
    counts = np.bincount(own_D, minlength=len(owners))
    per_discipline = {names[owners[g]]: float(hit_D[own_D == g].mean()) for g in range(len(owners)) if counts[g]}
    share_by_discipline = {names[owners[g]]: share_DG[own_D == g].mean(axis=0).round(4).tolist()
                           for g in range(len(owners)) if counts[g]}
    return {"documents": int(len(documents)), "accuracy": float(hit_D.mean()) if len(documents) else 0.0,
            "accuracy_over_half": float(over_half_D.mean()) if len(documents) else 0.0,
            "majority_baseline": float(counts.max() / max(len(documents), 1)),
            "mean_over_disciplines": float(np.mean(list(per_discipline.values()))) if per_discipline else 0.0,
            "per_discipline": per_discipline, "documents_per_discipline":
                {names[owners[g]]: int(counts[g]) for g in range(len(owners)) if counts[g]},
            "group_owners": [names[d] for d in owners], "mean_group_share_by_discipline": share_by_discipline}


@torch.no_grad()
def document_routing(model: CausalLM, dataset: PackedShardDataset, expert_group_E: torch.Tensor,
                     batch_size: int = 16) -> dict[str, Any]:
    """document_routing_accuracy of `model` over every sequence of `dataset` (the held-out stream)."""
    model.eval()
    owners = expert_group_E.unique()
    member_GE = (owners.unsqueeze(1) == expert_group_E.unsqueeze(0)).float()
    documents = document_index(dataset)
    parts: dict[str, list[np.ndarray]] = {"document": [], "discipline": [], "mass": []}
    for first in range(0, len(dataset), batch_size):
        indices = range(first, min(first + batch_size, len(dataset)))
        batch = collate([dataset[i] for i in indices])
        inputs_BT, _, _ = next_token_targets(batch)
        out = model(inputs_BT, batch["segment_ids"][:, :-1])
        mass_NG = torch.stack([torch.softmax(logits.float(), dim=-1) @ member_GE.T for logits in out.router_logits]).mean(0)
        scored_N = batch["loss_mask"][:, :-1].reshape(-1)
        parts["mass"].append(mass_NG[scored_N].numpy())
        parts["discipline"].append(batch["discipline_ids"][:, :-1].reshape(-1)[scored_N].numpy())
        parts["document"].append(np.stack([documents[i][:-1] for i in indices]).reshape(-1)[scored_N.numpy()])
    return document_routing_accuracy(np.concatenate(parts["document"]), np.concatenate(parts["discipline"]),
                                     np.concatenate(parts["mass"]), owners.tolist(), dataset.disciplines)
