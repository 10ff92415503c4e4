from __future__ import annotations

import pytest
from pydantic import ValidationError

from sciloom.classifiers.config import TierThresholds
from sciloom.classifiers.tiers import HIGH, LOW, MEDIUM, combined_quality, quality_tier

T = TierThresholds(high_min=0.7, medium_min=0.35, judge_weight=0.6, l1_low_below=0.6, l1_high_min=0.9, high_max_flags=0)


@pytest.mark.parametrize(("quality", "l1_score", "flags", "judge", "tier"), [
    (0.9, None, None, None, HIGH),          # level 2 alone decides when nothing else is known
    (0.5, None, None, None, MEDIUM),
    (0.2, None, None, None, LOW),
    (0.9, 0.5, [], None, LOW),              # failed too many level-1 checks
    (0.9, 0.8, [], None, MEDIUM),           # passes, but not cleanly enough for high
    (0.9, 1.0, ["short_lines"], None, MEDIUM),  # a fired rule keeps it out of high
    (0.9, 1.0, [], None, HIGH),
    (0.9, 1.0, [], 0, MEDIUM),              # judge 0: 0.6 * 0 + 0.4 * 0.9 = 0.36, just above medium_min
    (0.8, 1.0, [], 0, LOW),                 # 0.32 < 0.35
    (0.5, 1.0, [], 5, HIGH),                # judge 5: 0.6 + 0.2 = 0.8
])
def test_rule_table(quality, l1_score, flags, judge, tier):
    assert quality_tier(quality, T, l1_score=l1_score, l1_flags=flags, judge_score=judge) == tier


def test_judge_mix_and_boundaries():
    assert combined_quality(0.5, None, T) == 0.5
    assert combined_quality(0.5, 5, T) == pytest.approx(0.6 + 0.2)
    assert quality_tier(0.2, T, judge_score=5) == MEDIUM  # 0.6 + 0.08 = 0.68 < high_min
    assert quality_tier(0.7, T) == HIGH and quality_tier(0.35, T) == MEDIUM
    assert quality_tier(0.3499, T) == LOW


def test_thresholds_are_validated():
    with pytest.raises(ValidationError, match="must not exceed high_min"):
        TierThresholds(high_min=0.3, medium_min=0.5)
    with pytest.raises(ValidationError, match="extra"):
        TierThresholds(hihg_min=0.5)
