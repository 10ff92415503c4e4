"""Configuration of the classifiers (levels 2 and 3) and of the quality-tier rule, as the recipe writes it."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY, Taxonomy

from sciloom.classifiers.judge import JudgeConfig


class FastTextParams(BaseModel):
    """fastText training and input settings; defaults keep a model file to a few MB."""

    model_config = ConfigDict(extra="forbid")

    dim: int = Field(32, ge=4, le=300, description="Embedding dimension.")
    max_epoch: int = Field(100, ge=1, le=1000, description="Most epochs (small corpora need many passes).")
    min_epoch: int = Field(5, ge=1, description="Fewest epochs (large corpora need few).")
    token_budget: int = Field(20_000_000, ge=1000,
                              description="Training runs as many epochs as fit in this many token updates, "
                                          "clamped to [min_epoch, max_epoch]: seconds of training at any size.")
    lr: float = Field(0.5, gt=0, le=5, description="Learning rate.")
    word_ngrams: int = Field(2, ge=1, le=5, description="Longest word n-gram used as a feature.")
    bucket: int = Field(100_000, ge=1_000, le=2_000_000,
                        description="Hash buckets for n-grams; model size grows as bucket x dim (2M default of "
                                    "fastText would make 100+ MB files).")
    min_count: int = Field(1, ge=1, description="Minimum word count to enter the vocabulary.")
    minn: int = Field(0, ge=0, le=10, description="Shortest character n-gram (0: no subwords). 3-5 helps the "
                                                  "discipline model on short texts (real data: macro-F1 +0.04, "
                                                  "benchmarks/eval_classifiers.py) but slows fitting of tiny "
                                                  "label sets, e.g. a judge-labelled sample of a few dozen docs.")
    maxn: int = Field(0, ge=0, le=10, description="Longest character n-gram (0: no subwords).")
    max_tokens: int = Field(600, ge=16, description="Tokens of a document the model sees.")
    windows: int = Field(1, ge=1, le=16, description="A document longer than max_tokens is read from this many "
                                                     "stretches spread across it (1: its beginning only).")
    words_only: bool = Field(False, description="Leave punctuation marks out of the model's tokens (they say more "
                             "about a source's typesetting than about its discipline).")
    class_balance: float = Field(0.5, ge=0, le=1, description="Oversampling of rarer labels: each example is "
                                 "repeated (largest label count / its label count) ** class_balance times (0: as "
                                 "given, 1: every label equally often). Epochs are counted on the examples as given. "
                                 "Measured on real data, bootstrap discipline macro-F1: 0.39 at 0, 0.48 at 0.5.")
    loss: Literal["ova", "softmax"] = Field("ova", description="fastText loss; probabilities are normalised to sum "
                                                             "to 1 either way.")
    seed: int = Field(0, description="Training seed (single-threaded training is deterministic).")
    seed_features: bool = Field(True, description="Give models the seed-lexicon feature tokens of each document "
                                                  "(measured on real data: discipline macro-F1 0.37 -> 0.50 "
                                                  "with labels).")
    quantize_cutoff: int = Field(0, ge=0, description="When the model is quantised, keep only this many input "
                                 "rows (the words and n-gram buckets of largest norm; 0: keep all). fastText fits "
                                 "its quantisation codebooks to every row, most of them hash buckets and rare words "
                                 "that carry nothing; measured on the discipline model: see default_models.")

    @model_validator(mode="after")
    def _epoch_range(self) -> FastTextParams:
        if self.min_epoch > self.max_epoch:
            raise ValueError(f"min_epoch ({self.min_epoch}) must not exceed max_epoch ({self.max_epoch})")
        return self

    def epochs_for(self, tokens: int) -> int:
        return min(self.max_epoch, max(self.min_epoch, -(-self.token_budget // max(1, tokens))))


class DisciplineCuts(BaseModel):
    """One discipline's two cut points of the combined quality score."""

    model_config = ConfigDict(extra="forbid")

    medium_min: float = Field(ge=0, le=1, description="Below this a document of the discipline is low.")
    high_min: float = Field(ge=0, le=1, description="At or above this a document of the discipline may be high.")

    @model_validator(mode="after")
    def _ordered(self) -> DisciplineCuts:
        if self.medium_min > self.high_min:
            raise ValueError(f"medium_min ({self.medium_min}) must not exceed high_min ({self.high_min})")
        return self


class TierThresholds(BaseModel):
    """The documented quality-tier rule's thresholds (see classifiers.tiers); with `mode: quantile`, the two score
    cut points are fitted to the corpus (see classifiers.quantile_tiers)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["threshold", "quantile"] = Field(
        "threshold", description="threshold: the combined score is cut at high_min and medium_min as written. "
                                 "quantile: the cut points are the corpus quantiles that leave high_share of the "
                                 "documents high and low_share low as the tier rule assigns them, level-1 results "
                                 "included (Nemotron-CC's percentile buckets), fitted on a sample of sample_size "
                                 "documents.")
    high_min: float = Field(0.7, ge=0, le=1, description="Combined quality score at or above which a doc may be high "
                                                        "(mode threshold).")
    medium_min: float = Field(0.35, ge=0, le=1, description="Combined quality score below which a doc is low "
                                                           "(mode threshold).")
    high_share: float = Field(0.3, gt=0, lt=1, description="Share of the corpus in the high tier: the best-scoring "
                                                           "of the documents level-1 lets be high (mode quantile).")
    low_share: float = Field(0.2, ge=0, lt=1, description="Share of the corpus in the low tier: the ones level-1 "
                                                          "makes low and the worst-scoring others (mode quantile).")
    sample_size: int = Field(100_000, ge=100, description="Documents (by id hash) the quantiles are fitted on; a "
                                                          "corpus up to this size is scored whole (mode quantile).")
    quantiles_by: Literal["corpus", "discipline"] = Field(
        "corpus", description="Mode quantile: cut at the quantiles of the whole corpus, or of each discipline's "
                              "documents (high_share of every discipline is high; a discipline with "
                              "fewer than discipline_min_sample sampled documents gets the corpus's cuts).")
    discipline_min_sample: int = Field(100, ge=1, description="Sampled documents a discipline needs for cuts of its "
                                                              "own (mode quantile by discipline).")
    discipline_cuts: dict[str, DisciplineCuts] = Field(
        default_factory=dict, description="Mode threshold: cut points that replace high_min and medium_min for the "
                                          "documents labelled with a discipline (filled by a run in mode quantile "
                                          "by discipline).")
    share_tolerance: float = Field(0.01, ge=0, le=0.5, description=(
        "A rerun keeps the cuts it fitted before while, on its new sample, they leave each tier within this share "
        "of what new cuts would (mode quantile): an input added to the corpus then labels its own documents alone. "
        "0: refit whenever the cuts would move."))
    judge_weight: float = Field(0.6, ge=0, le=1,
                                description="Weight of the judge's score (scaled to [0,1]) against the level-2 "
                                            "quality score when a judge score is present.")
    l1_low_below: float = Field(0.6, ge=0, le=1, description="A level-1 score below this makes a doc low.")
    l1_high_min: float = Field(0.9, ge=0, le=1, description="A high doc needs at least this level-1 score.")
    high_max_flags: int = Field(0, ge=0, description="A high doc may carry at most this many level-1 flags.")

    @model_validator(mode="after")
    def _ordered(self) -> TierThresholds:
        if self.mode == "quantile":
            # Compared with the defaults, not with what was written: a dumped config must validate again.
            written = [name for name in ("high_min", "medium_min")
                       if getattr(self, name) != type(self).model_fields[name].default]
            if written:
                raise ValueError(f"{' and '.join(written)} cannot be set with mode quantile: the cut points are "
                                 "fitted to the corpus from high_share and low_share (or use mode threshold)")
            if self.discipline_cuts:
                raise ValueError("discipline_cuts cannot be set with mode quantile: set quantiles_by: discipline "
                                 "to fit them (or use mode threshold)")
            if self.high_share + self.low_share > 1:
                raise ValueError(f"high_share ({self.high_share}) + low_share ({self.low_share}) must not exceed 1")
        if self.medium_min > self.high_min:
            raise ValueError(f"medium_min ({self.medium_min}) must not exceed high_min ({self.high_min})")
        if self.l1_low_below > self.l1_high_min:
            raise ValueError(f"l1_low_below ({self.l1_low_below}) must not exceed l1_high_min ({self.l1_high_min})")
        return self


class BootstrapConfig(BaseModel):
    """Weak supervision from the project's seed knowledge on the user's own corpus."""

    model_config = ConfigDict(extra="forbid")

    seeds_dir: Path | None = Field(None, description="Folder with vocabulary/<discipline>.txt and quality.json; "
                                                     "None: the seeds shipped with sciloom.")
    max_docs: int = Field(50_000, ge=10, description="Corpus documents read for bootstrapping (first ones).")
    min_hits: float = Field(4.0, gt=0, description="Weighted seed-term hits a doc needs to get a discipline.")
    min_share: float = Field(0.5, gt=0, le=1, description="Share of its science hits the top discipline needs.")
    min_density: float = Field(0.02, ge=0, le=1, description="Science seed hits per token a scientific doc needs.")
    general_max_density: float = Field(0.01, ge=0, le=1,
                                       description="A doc with fewer science hits per token is labelled general.")
    min_tokens: int = Field(20, ge=1, description="Shorter docs are not used as training examples.")
    self_training_rounds: int = Field(1, ge=0, le=5, description="Rounds adding confident model predictions.")
    self_training_min_prob: float = Field(0.8, gt=0, lt=1, description="Probability to adopt a prediction.")
    max_per_class: int = Field(5_000, ge=10, description="Cap on training examples per label (balance).")
    seed_docs_per_class: int = Field(40, ge=0, description="Synthetic seed documents added for a label with too "
                                                           "few confident corpus examples.")
    quality_fraction: float = Field(0.3, gt=0, lt=0.5, description="Top and bottom share of the heuristic quality "
                                                                   "ranking used as high / low examples.")
    calibration_fraction: float = Field(0.15, gt=0, lt=0.5, description="Weak labels held out to fit temperature.")


class ClassifiersConfig(BaseModel):
    """Level-2 models, optional level-3 judge and the quality-tier rule."""

    model_config = ConfigDict(extra="forbid")

    taxonomy: Taxonomy = Field(default_factory=lambda: DEFAULT_TAXONOMY, description="Discipline taxonomy.")
    models_dir: Path | None = Field(None, description="Folder with discipline.bin/quality.bin (+ .json); None: the "
                                                      "packaged models when they fit the taxonomy, else models "
                                                      "bootstrapped from the curated corpus itself.")
    fasttext: FastTextParams = Field(default_factory=FastTextParams, description="fastText settings.")
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig, description="Bootstrap settings.")
    tiers: TierThresholds = Field(default_factory=TierThresholds, description="Quality-tier thresholds.")
    judge: JudgeConfig | None = Field(None, description="Level-3 LLM judge; None: not run.")
    batch_size: int = Field(256, ge=1, description="Documents per fastText prediction call.")
    examples_per_tier: int = Field(3, ge=0, le=50, description="Example documents per tier in the report.")
    num_cpus_per_task: float = Field(1, gt=0, description="CPUs reserved per labelling task.")

    @model_validator(mode="after")
    def _cuts_of_known_disciplines(self) -> ClassifiersConfig:
        unknown = sorted(set(self.tiers.discipline_cuts) - set(self.taxonomy.disciplines))
        if unknown:
            raise ValueError(f"tiers.discipline_cuts names {', '.join(unknown)}, not in the taxonomy "
                             f"({', '.join(self.taxonomy.disciplines)})")
        return self
