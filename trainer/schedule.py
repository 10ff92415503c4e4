"""Learning-rate multipliers: warmup + cosine, or warmup-stable-decay."""
from __future__ import annotations

import math

from sciloom.trainer.optim_config import OptimConfig


def lr_multiplier(step: int, config: OptimConfig) -> float:
    """Multiplier of the peak learning rate for the optimizer step about to be taken (0-based)."""
    total, warmup, floor = max(config.steps, 1), config.warmup_steps, config.min_lr_ratio
    if step < warmup:
        return (step + 1) / warmup
    if config.schedule == "cosine":
        progress = (step - warmup) / max(total - warmup, 1)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    decay_start = total - int(round(config.decay_fraction * total))
    if step < decay_start:
        return 1.0
    progress = (step - decay_start + 1) / max(total - decay_start, 1)
    return 1.0 - (1.0 - floor) * min(progress, 1.0)
