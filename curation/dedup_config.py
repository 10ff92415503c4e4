"""Configuration of deduplication (exact, fuzzy MinHash-LSH, containment), validated with clear messages.

The LSH bands × rows are derived from the Jaccard threshold the way datasketch's `MinHashLSH` derives them
(minimising the weighted false-positive and false-negative areas under the S-curve), so a datasketch
index built with the same threshold, num_perm and weights uses exactly our bands and rows.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sciloom.curation.lsh import LshParams, optimal_bands_rows


class ContainmentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Run the containment stage after fuzzy dedup.")
    ngram: int = Field(5, ge=1, le=64, description="Words per n-gram whose earlier occurrence is looked up.")
    threshold: float = Field(0.3, gt=0.0, le=1.0,
                             description="A document is rejected as `contained` when one document that outranks it "
                                         "(more distinct n-grams, then higher quality) holds at least this fraction "
                                         "of its distinct n-grams. 0.3 with 5-grams catches copy-paste answers that "
                                         "mix in their own sentences (benchmarks/eval_dedup_quality.py); DCLM's "
                                         "conservative web setting is 13-grams at 0.8.")
    min_ngrams: int = Field(20, ge=1, description="Documents with fewer distinct n-grams are never judged "
                                                  "(too short for a reliable fraction).")
    max_ngram_documents: int = Field(32, ge=2, le=4096,
                                     description="An n-gram held by more documents than this is a common phrase, "
                                                 "not evidence of copying: it is never counted as shared (and a "
                                                 "partition task never lists its k^2/2 document pairs).")
    bloom_false_positive_rate: float = Field(1e-3, gt=0.0, lt=0.1,
                                             description="False-positive rate of the index of this run's kept "
                                                         "n-grams written for later runs (sized from the exact "
                                                         "n-gram count of each hash range).")
    reference_indexes: list[Path] = Field(
        default_factory=list, description="`containment_index` folders of earlier runs' dedup work dirs: a "
                                          "document whose n-grams were mostly in an earlier run's kept "
                                          "documents is removed as `contained`. Refused when built with another "
                                          "`ngram` (or hash scheme).")

    @model_validator(mode="after")
    def _check(self) -> ContainmentConfig:
        if self.reference_indexes and not self.enabled:
            raise ValueError("reference_indexes needs enabled: true (containment is what reads them)")
        return self


class DedupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    exact: bool = Field(True, description="Remove documents whose normalised text hash was already kept.")
    fuzzy: bool = Field(True, description="Remove near-duplicates found by MinHash-LSH.")
    num_perm: int = Field(128, ge=8, le=1024, description="MinHash permutations (signature length).")
    ngram: int = Field(5, ge=1, le=32, description="Words per shingle for MinHash.")
    threshold: float = Field(0.8, gt=0.0, lt=1.0, description="Jaccard similarity at which documents are "
                                                             "near-duplicates; bands × rows derive from it.")
    false_positive_weight: float = Field(0.5, ge=0.0, le=1.0, description="Weight of the false-positive area "
                                                                         "when choosing bands × rows.")
    false_negative_weight: float = Field(0.5, ge=0.0, le=1.0, description="Weight of the false-negative area "
                                                                         "when choosing bands × rows.")
    seed: int = Field(1, ge=0, lt=2**32, description="Seed of the permutations (datasketch `MinHash(seed=...)`).")
    shingle_hash: Literal["poly", "sha1"] = Field(
        "poly", description="How a shingle becomes a 32-bit hash before the permutations. `sha1` is datasketch's "
                            "default hashfunc (a plain `MinHash(num_perm, seed)` fed with `minhash.shingle_bytes` "
                            "queries our index); `poly` is several times faster and is queried with "
                            "`MinHash(num_perm, seed, hashfunc=minhash.shingle_hash32)` fed with "
                            "`minhash.word_shingles`.")
    max_centres_per_bucket: int = Field(
        64, ge=1, description="Rounds of candidate verification per LSH bucket (lsh.verified_pairs). A bucket of k "
                              "mutually dissimilar collisions would otherwise cost k^2/2 comparisons and k passes; "
                              "members still unmatched after this many centres are left unmerged through that "
                              "bucket and counted as `bucket_entries_unverified`.")
    batch_docs: int = Field(1024, ge=1, description="Documents per vectorised signature batch.")
    num_partitions: int = Field(8, ge=1, le=4096, description="Hash partitions of the exact hashes and of the "
                                                              "band buckets (one Ray task each): no task holds "
                                                              "the whole corpus's ids.")
    edges_per_partition: int = Field(
        4_000_000, ge=1, description="The duplicate graphs' components (near duplicates, containment chains) are "
                                     "found in rounds over one partition per this many edges (at most "
                                     "num_partitions; an edge costs a task about 100 B): every round reads each "
                                     "partition's batch of every partition's file, so partitions the graph does "
                                     "not need cost time, not memory.")
    reference_signatures: list[Path] = Field(
        default_factory=list, description="`signatures` folders of earlier runs (`<work_dir>/signatures`): "
                                          "documents duplicating one of those are removed; the earlier ones win.")
    containment: ContainmentConfig = Field(default_factory=ContainmentConfig,
                                           description="Containment (excerpt copied into another page) stage.")

    @model_validator(mode="after")
    def _check(self) -> DedupConfig:
        if self.false_positive_weight + self.false_negative_weight <= 0:
            raise ValueError("false_positive_weight + false_negative_weight must be positive")
        return self

    @cached_property
    def lsh(self) -> LshParams:
        return optimal_bands_rows(self.threshold, self.num_perm, self.false_positive_weight,
                                  self.false_negative_weight)
