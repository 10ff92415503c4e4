"""The quality-tier rule: level-1 rule results, level-2 quality score and (where present) level-3 judge score
become one `quality_tier` in {high, medium, low}.

1. Combined score q: the level-2 quality score; where the judge scored the document (0-5), q is the mix
   `judge_weight * judge_score / 5 + (1 - judge_weight) * quality_score` (the judge is the better signal
   but judges only a sample, so documents it did not see fall back to level 2 alone).
   The cuts are high_min and medium_min, or the document's discipline's in `discipline_cuts`.
2. low    if q < medium_min, or the level-1 score (fraction of rule checks passed) is below l1_low_below.
3. high   if q >= high_min, the level-1 score (when curation computed one) is at least l1_high_min, and at
          most high_max_flags level-1 rules fired.
4. medium otherwise.
Level-1 results are optional (text labelled outside a curation run has none) and then do not constrain.
"""
from __future__ import annotations

from collections.abc import Sequence

from sciloom.classifiers.config import TierThresholds

HIGH, MEDIUM, LOW = "high", "medium", "low"
TIERS = (HIGH, MEDIUM, LOW)
JUDGE_MAX = 5


def combined_quality(quality_score: float, judge_score: int | None, thresholds: TierThresholds) -> float:
    if judge_score is None:
        return quality_score
    w = thresholds.judge_weight
    return w * judge_score / JUDGE_MAX + (1 - w) * quality_score


def l1_cap(thresholds: TierThresholds, l1_score: float | None = None,
           l1_flags: Sequence[str] | None = None) -> str | None:
    """The best tier the level-1 results allow a document: LOW, MEDIUM (not high) or None (any)."""
    if l1_score is not None and l1_score < thresholds.l1_low_below:
        return LOW
    if (l1_score is not None and l1_score < thresholds.l1_high_min) or len(l1_flags or ()) > thresholds.high_max_flags:
        return MEDIUM
    return None


def quality_tier(quality_score: float, thresholds: TierThresholds, *, l1_score: float | None = None,
                 l1_flags: Sequence[str] | None = None, judge_score: int | None = None,
                 discipline: str | None = None) -> str:
    q = combined_quality(quality_score, judge_score, thresholds)
    cuts = thresholds.discipline_cuts.get(discipline)
    medium_min, high_min = (cuts.medium_min, cuts.high_min) if cuts else (thresholds.medium_min, thresholds.high_min)
    cap = l1_cap(thresholds, l1_score, l1_flags)
    if q < medium_min or cap == LOW:
        return LOW
    if q >= high_min and cap is None:
        return HIGH
    return MEDIUM
