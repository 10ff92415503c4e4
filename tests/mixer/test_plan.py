"""The planner meets targets within 1% when the data allows, respects epochs and caps, and names shortages."""
from __future__ import annotations

import pytest

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY
from sciloom.mixer.config import MixerConfig
from sciloom.mixer.plan import Bucket, InfeasiblePlan, plan_mixture

DISCIPLINES = DEFAULT_TAXONOMY.disciplines
HELD_OUT = {"share": 0.05}
BUCKETS = [
    Bucket("web", "general", "high", 100, 400_000, 100_000),
    Bucket("web", "general", "medium", 300, 1_200_000, 300_000),
    Bucket("news", "general", "high", 50, 200_000, 50_000),
    Bucket("arxiv", "physics", "high", 20, 160_000, 40_000),
    Bucket("arxiv", "physics", "medium", 20, 160_000, 40_000),
    Bucket("web", "physics", "medium", 40, 240_000, 60_000),
    Bucket("web", "physics", "low", 40, 240_000, 60_000),
    Bucket("arxiv", "mathematics", "high", 10, 80_000, 20_000),
    Bucket("web", "mathematics", "medium", 30, 120_000, 30_000),
]


def config(**stage) -> MixerConfig:
    mix = {"token_budget": 200_000, "general_ratio": 0.6,
           "discipline_weights": {"physics": 3, "mathematics": 1}, **stage}
    return MixerConfig(tokenizer={"train_bpe": {}}, held_out=HELD_OUT, integration=mix)


def totals(stream, axis: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, tokens in stream.take.items():
        out[key[axis]] = out.get(key[axis], 0) + tokens
    return out


def test_hybrid_stream_meets_targets_and_epoch_limits() -> None:
    plan = plan_mixture(config(), BUCKETS, DISCIPLINES)
    plan.raise_if_infeasible()
    (stream,) = plan.streams
    assert stream.targets == pytest.approx({"general": 0.6, "physics": 0.3, "mathematics": 0.1})
    assert sum(stream.take.values()) == pytest.approx(200_000)
    achieved = stream.achieved()
    for discipline, target in stream.targets.items():
        assert abs(achieved[discipline] - target) <= 0.01
    epochs = {"high": 2, "medium": 1, "low": 0}
    by_key = {b.key: b for b in BUCKETS}
    for key, tokens in stream.take.items():
        assert tokens <= by_key[key].tokens * epochs[key[2]] + 1e-6
    assert ("web", "physics", "low") not in stream.take
    # within one discipline a high-tier document is repeated twice as often as a medium-tier one
    assert stream.repeats[("arxiv", "physics", "high")] == pytest.approx(2 * stream.repeats[("arxiv", "physics", "medium")])


def test_source_cap_is_respected_and_others_fill_in() -> None:
    plan = plan_mixture(config(source_caps={"web": 0.4}), BUCKETS, DISCIPLINES)
    plan.raise_if_infeasible()
    (stream,) = plan.streams
    assert totals(stream, 0)["web"] <= 0.4 * 200_000 * (1 + 1e-6)
    for discipline, target in stream.targets.items():
        assert abs(stream.achieved()[discipline] - target) <= 0.01
    assert sum(stream.take.values()) == pytest.approx(200_000)


def test_infeasible_target_is_reported_with_numbers_before_tokenizing() -> None:
    plan = plan_mixture(config(token_budget=1_000_000), BUCKETS, DISCIPLINES)
    with pytest.raises(InfeasiblePlan) as error:
        plan.raise_if_infeasible()
    message = str(error.value)
    # physics: 30% of 1M = 300,000 wanted; capacity 2*40k + 40k + 60k = 180,000
    assert "'physics' needs 300,000 tokens but its buckets give at most 180,000" in message
    assert "(arxiv, high): 40,000 tokens x max 2 epochs" in message
    assert "(web, low): 60,000 tokens x max 0 epochs" in message
    assert "'mathematics' needs 100,000" in message
    assert "'general'" not in message  # general: 600,000 wanted of 1,050,000 allowed


def test_expert_induction_has_one_stream_per_weighted_discipline() -> None:
    mix = {"token_budget": 40_000, "general_ratio": 0.1, "discipline_weights": {"physics": 1, "mathematics": 1,
                                                                               "chemistry": 0}}
    plan = plan_mixture(MixerConfig(tokenizer={"train_bpe": {}}, held_out=HELD_OUT, expert_induction=mix), BUCKETS, DISCIPLINES)
    plan.raise_if_infeasible()
    assert [s.folder for s in plan.streams] == ["expert_induction/physics", "expert_induction/mathematics"]
    for stream in plan.streams:
        assert set(totals(stream, 1)) == {"general", stream.name}
        assert totals(stream, 1)[stream.name] == pytest.approx(36_000)


def test_unknown_discipline_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"\['astrology'\] are not taxonomy disciplines"):
        plan_mixture(config(discipline_weights={"astrology": 1}), BUCKETS, DISCIPLINES)


def test_shrink_lowers_the_budget_to_what_the_data_allows_and_keeps_proportions() -> None:
    plan = plan_mixture(config(token_budget=1_000_000, when_short="shrink",
                               discipline_weights={"physics": 3, "mathematics": 1, "chemistry": 1}),
                        BUCKETS, DISCIPLINES)
    plan.raise_if_infeasible()
    (stream,) = plan.streams
    # chemistry has no data and leaves (general keeps 60%, physics:mathematics stays 3:1); then physics
    # (capacity 2*40k + 40k + 60k = 180k at 30%) limits the budget to 600k
    assert "chemistry" not in stream.targets
    assert stream.budget == pytest.approx(600_000, rel=1e-5)
    assert sum(stream.take.values()) == pytest.approx(stream.budget, rel=1e-6)
    for discipline, target in {"general": 0.6, "physics": 0.3, "mathematics": 0.1}.items():
        assert abs(stream.achieved()[discipline] - target) <= 0.01
    assert plan.notes[0].startswith("integration: shrunk from 1,000,000 tokens (general 60%, physics 24%, mathematics 8%, "
                                    "chemistry 8%) to 599,99")


def test_shrink_drops_an_expert_stream_without_data() -> None:
    mix = {"token_budget": 10_000, "general_ratio": 0.0, "when_short": "shrink",
           "discipline_weights": {"physics": 1, "chemistry": 1}}
    plan = plan_mixture(MixerConfig(tokenizer={"train_bpe": {}}, held_out=HELD_OUT, expert_induction=mix), BUCKETS, DISCIPLINES)
    plan.raise_if_infeasible()
    physics, chemistry = plan.streams
    assert sum(physics.take.values()) == pytest.approx(10_000)
    assert chemistry.take == {} and chemistry.notes[0].startswith("dropped: no usable data")


def test_shrink_never_drops_a_whole_stage() -> None:
    """A corpus with nothing for a stage used to plan it away silently: the run ended with no shards and exit 0."""
    mix = {"token_budget": 10_000, "general_ratio": 0.0, "when_short": "shrink",
           "discipline_weights": {"chemistry": 1, "biology": 1}}
    plan = plan_mixture(MixerConfig(tokenizer={"train_bpe": {}}, held_out=HELD_OUT, expert_induction=mix), BUCKETS,
                        DISCIPLINES)
    assert all(not stream.take for stream in plan.streams)
    with pytest.raises(InfeasiblePlan, match="every stream of stage 'expert_induction' was dropped"):
        plan.raise_if_infeasible()
    empty = plan_mixture(config(when_short="shrink"), [], DISCIPLINES)  # a curation that kept nothing
    with pytest.raises(InfeasiblePlan, match="every stream of stage 'integration' was dropped"):
        empty.raise_if_infeasible()
