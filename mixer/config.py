"""The mixer section of a recipe: tokenizer, packing, and one mixture per training stage."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sciloom.mixer.checksums import DEFAULT_BLOCK_SIZE

STAGE_NAMES = ("expert_induction", "routing_warmup", "integration")


class BpeTrainConfig(BaseModel):
    """A small byte-level BPE trained on the run's own labelled corpus (the demo has no target model)."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(8000, ge=300, le=65000, description="Vocabulary size including byte and special tokens.")
    min_frequency: int = Field(2, ge=1, description="Minimum pair frequency for a merge.")
    max_training_bytes: int = Field(50_000_000, ge=1, description="Train on at most this many bytes of text "
                                                                 "(documents in a stable order).")


class TokenizerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path | None = Field(None, description="The target model's tokenizer.json (Hugging Face tokenizers). "
                                                "A tokenizer_config.json beside it supplies bos/eos conventions.")
    train_bpe: BpeTrainConfig | None = Field(None, description="Train a byte-level BPE instead of loading one.")
    bos_token: str | None = Field(None, description="Token put before every document; default: tokenizer_config.json "
                                                    "when it sets add_bos_token, else none (Qwen2 convention).")
    eos_token: str | None = Field(None, description="Token put after every document; default: tokenizer_config.json's "
                                                    "eos_token, else <|endoftext|>.")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> TokenizerConfig:
        if (self.path is None) == (self.train_bpe is None):
            raise ValueError("give exactly one of tokenizer.path (a local tokenizer.json) or tokenizer.train_bpe")
        return self


class StageMixConfig(BaseModel):
    """The mixture of one training stage. Proportions are of tokens; weights need not sum to 1."""

    model_config = ConfigDict(extra="forbid")

    token_budget: int = Field(gt=0, description="Tokens per stream: for expert_induction each discipline's stream "
                                                "gets this many; hybrid stages have one stream of this size.")
    general_ratio: float = Field(ge=0, le=1, description="Fraction of each stream's tokens from `general` text.")
    discipline_weights: dict[str, float] = Field(
        description="Relative weight of each science discipline (taxonomy ids); expert_induction makes one stream "
                    "per discipline listed with weight > 0, hybrid stages split the science share by weight.")
    tier_epochs: dict[str, float] = Field(
        default_factory=lambda: {"high": 2.0, "medium": 1.0, "low": 0.0},
        description="Most epochs a document of each quality tier may be repeated (0 = never used). Data is drawn "
                    "in proportion to tokens x epochs, so higher tiers are upsampled.")
    source_caps: dict[str, float] = Field(
        default_factory=dict, description="Largest fraction of a stream's tokens any one source may supply.")
    when_short: Literal["error", "shrink"] = Field(
        "error", description="When the data cannot meet the budget: 'error' stops before tokenization with the "
                             "numbers; 'shrink' drops disciplines without usable data and lowers the stream's budget "
                             "until every remaining target is met (noted in the plan).")

    @model_validator(mode="after")
    def _valid_numbers(self) -> StageMixConfig:
        bad = {k: v for k, v in {**self.discipline_weights, **self.tier_epochs}.items() if v < 0}
        if bad:
            raise ValueError(f"weights and epochs must be >= 0, got {bad}")
        caps = {k: v for k, v in self.source_caps.items() if not 0 < v <= 1}
        if caps:
            raise ValueError(f"source_caps are fractions in (0, 1], got {caps}")
        if self.general_ratio < 1 and not any(w > 0 for w in self.discipline_weights.values()):
            raise ValueError("general_ratio < 1 needs at least one discipline weight > 0")
        return self


class HeldOutConfig(BaseModel):
    """Documents kept out of every training stream and written once, as the `held_out/` stream, for evaluation."""

    model_config = ConfigDict(extra="forbid")

    share: float = Field(gt=0, le=0.25, description="Fraction of the documents held out: those whose id hash falls "
                                                    "in the lowest `share` of the hash range (so the same documents "
                                                    "whatever the input order, Ray task layout or seed).")
    min_documents_per_label: int = Field(1, ge=0, description="Every discipline label (general included) with at least "
                                         "twice this many documents has at least this many held out: the share alone "
                                         "misses rare labels. No label ever loses more than half its documents.")


class MixerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokenizer: TokenizerConfig = Field(description="Which tokenizer encodes the shards.")
    held_out: HeldOutConfig = Field(description="The held-out documents evaluation reads (one set for the whole "
                                                "mixture; plans and budgets use the remaining documents).")
    seq_len: int = Field(2048, ge=2, description="Tokens per packed sequence.")
    expert_induction: StageMixConfig | None = Field(None, description="Stage 1: one stream per discipline.")
    routing_warmup: StageMixConfig | None = Field(None, description="Stage 3: hybrid stream (per-token discipline ids).")
    integration: StageMixConfig | None = Field(None, description="Stage 4: hybrid general + science stream.")
    block_size: int = Field(DEFAULT_BLOCK_SIZE, ge=512, description="Bytes per crc32 block in manifests (how "
                                                                    "precisely corruption is located).")
    sample_docs_per_bucket: int = Field(64, ge=1, description="Documents tokenized per bucket to estimate its "
                                                              "tokens per byte before planning.")

    @model_validator(mode="after")
    def _some_stage(self) -> MixerConfig:
        if not self.stages():
            raise ValueError(f"configure at least one of {', '.join(STAGE_NAMES)}")
        return self

    def stages(self) -> dict[str, StageMixConfig]:
        return {name: stage for name in STAGE_NAMES if (stage := getattr(self, name)) is not None}
