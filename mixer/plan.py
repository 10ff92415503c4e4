"""The planner: how many tokens of each (source, discipline, tier) bucket every training stream takes.

Targets come from the stage mixture (budget, general ratio, discipline weights); what a bucket can give
is its tokens times the epochs its quality tier allows. Within one discipline, buckets are drawn in
proportion to that capacity (so a tier allowed 2 epochs is upsampled 2x against a tier allowed 1), and a
source over its cap is scaled down to the cap with the rest of the discipline filling in. A discipline
whose target exceeds what its buckets can give makes the plan infeasible: the plan lists it with the
numbers, and `raise_if_infeasible` stops the run before any tokenization.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sciloom.mixer.config import MixerConfig, StageMixConfig

_EPS = 1e-9


@dataclass(frozen=True)
class Bucket:
    source: str
    discipline: str
    tier: str
    documents: int
    bytes: int
    tokens: float  # estimated before tokenization (bytes x the bucket's measured tokens per byte)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.source, self.discipline, self.tier


@dataclass
class StreamPlan:
    stage: str
    name: str  # the discipline for expert_induction streams, "mixture" for hybrid stages
    budget: int
    targets: dict[str, float]  # discipline -> target fraction of the stream
    take: dict[tuple[str, str, str], float] = field(default_factory=dict)  # bucket key -> planned tokens
    repeats: dict[tuple[str, str, str], float] = field(default_factory=dict)  # bucket key -> expected copies per doc
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return f"{self.stage}/{self.name}" if self.stage == "expert_induction" else self.stage

    def achieved(self) -> dict[str, float]:
        total = sum(self.take.values())
        by_discipline: dict[str, float] = defaultdict(float)
        for (_, discipline, _), tokens in self.take.items():
            by_discipline[discipline] += tokens
        return {d: (by_discipline[d] / total if total else 0.0) for d in self.targets}

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "stream": self.name, "folder": self.folder, "budget": self.budget,
                "planned_tokens": round(sum(self.take.values())), "targets": self.targets, "achieved": self.achieved(),
                "buckets": [{"source": s, "discipline": d, "tier": t, "tokens": round(v),
                             "repeats": round(self.repeats[(s, d, t)], 4)} for (s, d, t), v in sorted(self.take.items())],
                "problems": self.problems, "notes": self.notes}


class InfeasiblePlan(ValueError):
    """The data cannot meet the mixture; raised before tokenization, listing every short bucket group."""


@dataclass
class MixturePlan:
    streams: list[StreamPlan]
    buckets: list[Bucket]  # what training may draw from: the held-out documents are not in them
    held_out: list[Bucket] = field(default_factory=list)  # written once, untouched by budgets and tier epochs

    def held_out_by_discipline(self) -> dict[str, dict[str, float]]:
        """Held-out documents and estimated tokens per discipline, next to the documents training keeps."""
        table: dict[str, dict[str, float]] = defaultdict(lambda: {"held_out_documents": 0, "held_out_tokens": 0.0,
                                                                  "training_documents": 0})
        for bucket in self.held_out:
            table[bucket.discipline]["held_out_documents"] += bucket.documents
            table[bucket.discipline]["held_out_tokens"] += bucket.tokens
        for bucket in self.buckets:
            table[bucket.discipline]["training_documents"] += bucket.documents
        return {d: {**row, "held_out_tokens": round(row["held_out_tokens"])} for d, row in sorted(table.items())}

    @property
    def problems(self) -> list[str]:
        return [f"{s.folder}: {p}" for s in self.streams for p in s.problems]

    @property
    def notes(self) -> list[str]:
        return [f"{s.folder}: {n}" for s in self.streams for n in s.notes]

    def raise_if_infeasible(self) -> None:
        if self.problems:
            raise InfeasiblePlan("the data cannot meet the mixture (nothing was tokenized):\n  "
                                 + "\n  ".join(self.problems))

    def to_dict(self) -> dict[str, Any]:
        return {"streams": [s.to_dict() for s in self.streams],
                "buckets": [vars(b) for b in self.buckets],
                "held_out": {"by_discipline": self.held_out_by_discipline(),
                             "buckets": [vars(b) for b in self.held_out]},
                "problems": self.problems, "notes": self.notes}


def plan_mixture(config: MixerConfig, buckets: Sequence[Bucket], disciplines: Sequence[str],
                 general_label: str = "general", held_out: Sequence[Bucket] = ()) -> MixturePlan:
    """Plan every training stream from `buckets` (the documents training may use); `held_out` is only reported."""
    streams: list[StreamPlan] = []
    for stage_name, stage in config.stages().items():
        unknown = sorted(set(stage.discipline_weights) - set(disciplines))
        if unknown:
            raise ValueError(f"mixer.{stage_name}.discipline_weights: {unknown} are not taxonomy disciplines "
                             f"{list(disciplines)}")
        for name, targets in _stream_targets(stage_name, stage, general_label).items():
            stream = StreamPlan(stage_name, name, stage.token_budget, targets)
            short = _allocate(stream, stage, buckets)
            if short and stage.when_short == "shrink":
                short = _shrink(stream, stage, buckets, short, general_label)
            stream.problems = [_shortage(d, target, gives, [b for b in buckets if b.discipline == d], stage)
                               for d, (target, gives) in short.items()]
            _grow_to_whole_documents(stream, stage, buckets)
            streams.append(stream)
        stage_streams = [s for s in streams if s.stage == stage_name]
        if not any(s.take or s.problems for s in stage_streams):
            # Shrinking may drop a discipline without data, not a whole stage: training would find no shards for it.
            stage_streams[0].problems.append(f"every stream of stage {stage_name!r} was dropped: the labelled corpus "
                                             f"has no usable document for it ({len(buckets)} bucket(s) in all)")
    return MixturePlan(streams, list(buckets), list(held_out))


def _stream_targets(stage_name: str, stage: StageMixConfig, general_label: str) -> dict[str, dict[str, float]]:
    science = {d: w for d, w in stage.discipline_weights.items() if w > 0 and d != general_label}
    general = {general_label: stage.general_ratio} if stage.general_ratio > 0 else {}
    if stage_name == "expert_induction":
        return {d: {**general, d: 1 - stage.general_ratio} for d in science}
    total = sum(science.values())
    return {"mixture": {**general, **{d: (1 - stage.general_ratio) * w / total for d, w in science.items()}}}


def _allocate(stream: StreamPlan, stage: StageMixConfig, buckets: Sequence[Bucket]) -> dict[str, tuple[float, float]]:
    """Proportional draw within each discipline, with source caps enforced by fixing capped sources.

    Returns the disciplines that fall short: discipline -> (target tokens, most tokens its buckets give).
    """
    budget = stream.budget
    capacity = {b.key: b.tokens * stage.tier_epochs.get(b.tier, 0.0) for b in buckets if b.discipline in stream.targets}
    capacity = {k: c for k, c in capacity.items() if c > 0}
    fixed: dict[tuple[str, str, str], float] = {}
    while True:
        take, short = dict(fixed), {}
        for discipline, fraction in stream.targets.items():
            keys = [k for k in capacity if k[1] == discipline]
            free = [k for k in keys if k not in fixed]
            need = fraction * budget - sum(fixed[k] for k in keys if k in fixed)
            free_capacity = sum(capacity[k] for k in free)
            share = need / free_capacity if free_capacity > 0 else math.inf
            if share > 1 + _EPS and need > _EPS:
                short[discipline] = (need, free_capacity)
            take.update({k: min(share, 1.0) * capacity[k] for k in free})
        newly_fixed = False
        for source, cap in stage.source_caps.items():
            keys = [k for k in take if k[0] == source and k not in fixed]
            total = sum(take[k] for k in take if k[0] == source)
            if keys and total > cap * budget * (1 + _EPS):
                fixed.update({k: take[k] * cap * budget / total for k in keys})
                newly_fixed = True
        if not newly_fixed:
            break
    by_key = {b.key: b for b in buckets}
    stream.take = {k: v for k, v in take.items() if v > 0}
    stream.repeats = {k: v / by_key[k].tokens for k, v in stream.take.items()}
    return {d: (stream.targets[d] * budget, stream.targets[d] * budget - need + free_capacity)
            for d, (need, free_capacity) in short.items()}


def _shrink(stream: StreamPlan, stage: StageMixConfig, buckets: Sequence[Bucket],
            short: dict[str, tuple[float, float]], general_label: str) -> dict[str, tuple[float, float]]:
    """Lower the budget to what the scarcest discipline allows; disciplines with no usable data leave first."""
    requested = f"{stream.budget:,} tokens {_shares(stream.targets)}"
    for _ in range(10):  # each round removes empty disciplines or shrinks; caps can make a further round necessary
        empty = {d for d, (_, gives) in short.items() if gives <= _EPS}
        if empty:
            if stream.stage == "expert_induction" and stream.name in empty:
                stream.targets = {}
            stream.targets = _renormalize({d: f for d, f in stream.targets.items() if d not in empty}, general_label)
        else:
            stream.budget = math.floor(stream.budget * min(gives / target for target, gives in short.values()))
        if not stream.targets or stream.budget <= 0:
            stream.take, stream.repeats, stream.budget = {}, {}, 0
            stream.notes.append(f"dropped: no usable data for {requested}")
            return {}
        short = _allocate(stream, stage, buckets)
        if not short:
            break
    stream.notes.append(f"shrunk from {requested} to {stream.budget:,} tokens {_shares(stream.targets)}: "
                        "the data could not meet the request")
    return short


def _grow_to_whole_documents(stream: StreamPlan, stage: StageMixConfig, buckets: Sequence[Bucket]) -> None:
    """Documents are taken whole: a discipline whose share of a stream is a fraction of one document gets that
    document or, most often, none (an expert with nothing to learn from, a routing stage without science). Such a
    stream is grown, shares kept, until each discipline's share is one document on average, within its tiers' epochs;
    the budget sets the data a stage sees, not its training steps."""
    by_key = {b.key: b for b in buckets}
    documents = {d: sum(stream.repeats[k] * by_key[k].documents for k in stream.take if k[1] == d)
                 for d in stream.targets}
    documents = {d: n for d, n in documents.items() if n > 0}
    if not documents or min(documents.values()) >= 1:
        return
    scarcest = min(documents, key=documents.__getitem__)
    factor = (1 + 1e-9) / documents[scarcest]  # a hair over: a share of exactly one document is one copy
    before = round(sum(stream.take.values()))
    capped = set()
    for k in stream.take:
        epochs = stage.tier_epochs.get(k[2], 0.0)
        if stream.repeats[k] * factor > epochs:
            capped.add(k[1])
        stream.repeats[k] = min(stream.repeats[k] * factor, epochs)
        stream.take[k] = stream.repeats[k] * by_key[k].tokens
    stream.budget = round(sum(stream.take.values()))
    planned = stream.achieved()
    at_cap = "".join(f"; {d} is at its tiers' epochs: {planned[d]:.0%} of the stream for a target of "
                     f"{stream.targets[d]:.0%}" for d in sorted(capped))
    stream.notes.append(f"grown from {before:,} to {stream.budget:,} tokens: {scarcest}'s share was "
                        f"{documents[scarcest]:.2f} of a document, and documents are taken whole{at_cap}")


def _renormalize(targets: dict[str, float], general_label: str) -> dict[str, float]:
    """Shares summing to 1 again, keeping the general share: the general:science ratio is the recipe's first knob."""
    general = targets.get(general_label, 0.0)
    science = {d: f for d, f in targets.items() if d != general_label}
    if not science or general >= 1:
        return {general_label: 1.0} if general > 0 else {}
    total = sum(science.values())
    return {**({general_label: general} if general > 0 else {}),
            **{d: (1 - general) * f / total for d, f in science.items()}}


def _shares(targets: dict[str, float]) -> str:
    return "(" + ", ".join(f"{d} {f:.0%}" for d, f in targets.items()) + ")"


def _shortage(discipline: str, target: float, gives: float, buckets: list[Bucket], stage: StageMixConfig) -> str:
    rows = "; ".join(f"({b.source}, {b.tier}): {b.tokens:,.0f} tokens x max {stage.tier_epochs.get(b.tier, 0):g} epochs"
                     + (f", source capped at {stage.source_caps[b.source]:.0%}" if b.source in stage.source_caps else "")
                     for b in buckets) or "no documents"
    shortfall = f"{target / gives:.2f}x the allowed epochs would be needed" if gives > 0 else "no usable data"
    return (f"discipline {discipline!r} needs {target:,.0f} tokens but its buckets give at most "
            f"{gives:,.0f} ({shortfall}) — buckets: {rows}")
