"""The `trainer` section of a recipe: the dense starting point and Innovator's four stages."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sciloom.trainer.model import ModelConfig
from sciloom.trainer.optim_config import OptimConfig


class DenseStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hf_folder: Path | None = Field(None, description="Local Hugging Face Qwen2 folder (config.json + safetensors) "
                                                     "to start from, e.g. Qwen2.5-7B. Empty: build `model` from scratch.")
    model: ModelConfig | None = Field(None, description="Dense model shape when starting from scratch (the tiny demo).")
    pretrain: OptimConfig | None = Field(None, description="Dense training on the integration stream before "
                                         "upcycling; the demo uses it so that upcycling starts from a model that "
                                         "knows something. Leave empty for a pretrained hf_folder.")

    @model_validator(mode="after")
    def _one_source(self) -> DenseStart:
        if (self.hf_folder is None) == (self.model is None):
            raise ValueError("give exactly one of 'hf_folder' (a pretrained dense model) or 'model' (a shape to build)")
        if self.model is not None and self.model.moe is not None:
            raise ValueError("the starting model must be dense: remove 'moe' from dense.model")
        return self


class InnovatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    granularity: int = Field(ge=1, description="Fine-grained experts per discipline: each induced FFN is split "
                                               "along its intermediate size into this many experts.")
    top_k: int = Field(ge=1, description="Routed experts per token.")
    aux_loss_weight: float = Field(0.01, ge=0, description="Load-balancing loss weight in stage 4.")
    z_loss_weight: float = Field(0.001, ge=0, description="Router z-loss weight in stage 4.")
    expert_induction: OptimConfig = Field(description="Stage 1: one dense-FFN copy trained per discipline stream.")
    routing_warmup: OptimConfig = Field(description="Stage 3: routers only, supervised by discipline ids.")
    integration: OptimConfig = Field(description="Stage 4: everything, on the hybrid stream, with load balancing.")


class ParallelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activation_checkpointing: bool = Field(True, description="Recompute each decoder block in backward instead of "
                                           "keeping its activations (used when training sharded on GPUs).")
    expert_parallel: bool = Field(True, description="Split the routed experts over the ranks (each keeps E/N whole, "
                                  "tokens move by all-to-all) when N divides E; otherwise FSDP shards them.")
    cpu_offload: Literal["auto", "never", "always"] = Field(
        "auto", description="Keep weights, gradients and AdamW state in host memory (FSDP2 CPUOffloadPolicy). "
                            "'auto': only for a stage whose sharded state does not fit on the GPUs "
                            "(trainer/memory_plan.py decides).")


class TrainerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dense: DenseStart = Field(description="Where the dense model comes from.")
    innovator: InnovatorConfig = Field(description="Innovator's four stages.")
    eval_max_sequences: int | None = Field(None, ge=1, description="Evaluate on at most this many sequences of the "
                                           "mixer's held_out stream, spread evenly over it; null: all of it.")
    eval_batch_size: int = Field(8, ge=1, description="Sequences per evaluation batch.")
    parallel: ParallelConfig = Field(default_factory=ParallelConfig, description="How training is sharded.")
    routing_accuracy_target: float = Field(0.9, ge=0, le=1, description="Routing accuracy after stage 3 below "
                                           "which the report flags the warmup as insufficient.")
