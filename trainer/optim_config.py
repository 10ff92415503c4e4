"""How one training stage optimises: steps, batch, learning-rate schedule, clipping, checkpoint cadence."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OptimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(ge=0, description="Optimizer steps of this stage.")
    batch_size: int = Field(8, ge=1, description="Sequences per micro-batch per process.")
    grad_accum: int = Field(1, ge=1, description="Micro-batches accumulated per optimizer step.")
    lr: float = Field(3e-4, gt=0, description="Peak learning rate (AdamW).")
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="Final learning rate as a fraction of the peak.")
    warmup_steps: int = Field(0, ge=0, description="Linear warmup steps from 0 to the peak.")
    schedule: Literal["cosine", "wsd"] = Field("cosine", description="'cosine': warmup then cosine decay; 'wsd': "
                                               "warmup, stable at the peak, then linear decay over decay_fraction.")
    decay_fraction: float = Field(0.2, gt=0, le=1, description="For 'wsd': the final fraction of steps that decays.")
    weight_decay: float = Field(0.1, ge=0, description="AdamW decoupled weight decay (not applied to norms/biases).")
    betas: tuple[float, float] = Field((0.9, 0.95), description="AdamW betas.")
    grad_clip: float = Field(1.0, ge=0, description="Clip the global gradient norm to this (0 = no clipping).")
    checkpoint_every: int = Field(50, ge=1, description="Write a resumable checkpoint every this many steps.")
    log_every: int = Field(1, ge=1, description="Write a metrics line every this many steps.")
    compile: bool = Field(False, description="torch.compile the dense parts (trainer.compile.compile_for_training): "
                          "~7% faster steps on CPU after 15-40 s of compilation.")

    @model_validator(mode="after")
    def _warmup_fits(self) -> OptimConfig:
        if self.steps and self.warmup_steps > self.steps:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) exceeds steps ({self.steps})")
        return self
