"""Quality tiers by share of the corpus (`tiers.mode: quantile`, Nemotron-CC's percentile buckets).

A quality model trained to tell curated text from raw crawl puts nearly all of a curated corpus above any fixed
cut (the shipped model scores most of the demo's curated documents at 0.7 or more), so fixed thresholds put almost
everything in one tier and the mixer's tier epochs have nothing to choose between. In quantile mode the cut points
are the corpus's own quantiles of the combined score (classifiers.tiers): `high_share` of the documents are high
and `low_share` low.

1. Sample: a Ray stage over the curated parts (`<classifiers>/quality_sample/`, a Parquet dataset of id, quality
   score, combined score and the best tier the document's level-1 results allow) scores the documents whose id
   hash falls below min(1, sample_size / documents), reading each part's ids and then the text of the row groups
   that hold the chosen rows. A corpus of up to sample_size documents is scored whole, so its cuts are exact; a
   larger one gets a fixed-size sample, whose quantile is off by about sqrt(p(1 - p) / n) of the corpus (0.13
   points at 100,000 for p = 0.2).
2. Cuts: the driver reads the sample (at most about sample_size documents) and takes the order statistics of the
   combined scores that leave the asked shares in the tiers as the rule assigns them. Level-1 results bar some
   documents from high (a flag, a level-1 score below l1_high_min) and make some low (below l1_low_below) whatever
   their score, so the high cut is taken among the documents that may be high, and the low cut among those not
   already low. Cut over every score, the high tier would lose the flagged documents above the cut: the science
   rules flag 17 of the 46 unarXive papers they keep, and those papers' high tier held 13% instead of 30%.
   With `quantiles_by: discipline` the sample also holds each document's predicted discipline, and each
   discipline with enough sampled documents gets its own cuts: the quality model scores some disciplines' text
   higher than others', and a corpus-wide cut would drop a different share of each expert's data.
3. The labelling stage applies the threshold rule with the cuts. They are part of its settings: other cuts label
   every part again. A rerun whose models and settings are those the parts were labelled with keeps their cuts
   while, on the new sample, they leave each tier within `share_tolerance` (0.01) of the fitted cuts' share: an
   input added to a large corpus moves the fitted cuts a little, and labels its own documents alone.

A tier holds more or less than its share only where scores tie across a cut, or where level-1 results leave too
few documents that may be high (all of them are then high) or make more than low_share low.
"""
from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from sciloom.classifiers.config import ClassifiersConfig, TierThresholds
from sciloom.classifiers.judge_stage import read_verdicts
from sciloom.classifiers.label_step import Labeller
from sciloom.classifiers.tiers import LOW, combined_quality, l1_cap
from sciloom.curation.document import BASE_COLUMNS, iter_values_at, parquet_columns, schema_for
from sciloom.curation.executor import Task, bookkeeping_dir, recorded_settings, run_stage, settings_would_redo
from sciloom.curation.map_stage import part_path
from sciloom.curation.part_writer import PartWriter
from sciloom.curation.stats import StepStats

SAMPLE_DIR = "quality_sample"
SAMPLE_COLUMNS = {"id": BASE_COLUMNS["id"], "quality_score": pa.float64(), "combined_quality": pa.float64(),
                  "discipline": pa.string(),  # null unless the tiers are cut by discipline
                  "l1_cap": pa.string()}  # the best tier level-1 results allow: low, medium; null: any
L1_COLUMNS = ("l1_score", "l1_flags")
STEP = "quality_sample"


def id_fraction(doc_id: str) -> float:
    """A document id's place in [0, 1): a personalised hash, independent of the other id samples of a run."""
    digest = hashlib.blake2b(doc_id.encode(), digest_size=8, person=b"sciloom-tiers").digest()
    return int.from_bytes(digest, "big") / 2**64


def sample_rate(parts: list[Path], sample_size: int) -> float:
    """The share of documents to score: all of them up to sample_size (row counts come from the parts' footers)."""
    documents = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
    return min(1.0, sample_size / documents) if documents else 1.0


@dataclass(frozen=True)
class ScoreSample:
    """The sampled documents' combined scores, what their level-1 results allow, and (cut by discipline) their
    predicted disciplines."""
    combined_N: np.ndarray
    forced_low_N: np.ndarray  # level-1 makes it low
    barred_high_N: np.ndarray  # level-1 does not let it be high (true where forced low too)
    disciplines_N: np.ndarray | None = None

    @classmethod
    def of(cls, combined: Sequence[float], caps: Sequence[str | None] | None = None,
           disciplines: Sequence[str] | None = None) -> ScoreSample:
        caps = caps if caps is not None else [None] * len(combined)
        return cls(np.asarray(combined, dtype=np.float64), np.array([cap == LOW for cap in caps], dtype=bool),
                   np.array([cap is not None for cap in caps], dtype=bool),
                   None if disciplines is None else np.asarray(disciplines, dtype=object))

    @classmethod
    def read(cls, sample_dir: Path, by_discipline: bool) -> ScoreSample:
        table = pq.read_table(sorted(sample_dir.glob("part-*.parquet")),
                              columns=["combined_quality", "l1_cap", "discipline"])
        return cls.of(table.column("combined_quality").to_numpy(), table.column("l1_cap").to_pylist(),
                      table.column("discipline").to_pylist() if by_discipline else None)

    @property
    def size(self) -> int:
        return self.combined_N.size

    def where(self, mask_N: np.ndarray) -> ScoreSample:
        return ScoreSample(self.combined_N[mask_N], self.forced_low_N[mask_N], self.barred_high_N[mask_N],
                           None if self.disciplines_N is None else self.disciplines_N[mask_N])


def fit_cuts(sample: ScoreSample, tiers: TierThresholds) -> tuple[float, float]:
    """(medium_min, high_min): order statistics of the combined scores such that, as the tier rule assigns them,
    round(high_share * n) documents are high (at or above high_min, among those level-1 lets be high) and
    round(low_share * n) low (below medium_min, or made low by level-1); fewer where scores tie across a cut,
    and other shares where level-1 leaves no choice."""
    if sample.size == 0:
        raise ValueError("no document to fit quantile tiers on")
    n = sample.size
    high = max(1, round(tiers.high_share * n))
    may_be_high = np.sort(sample.combined_N[~sample.barred_high_N])
    pool = may_be_high if may_be_high.size else np.sort(sample.combined_N)  # none may be high: the cut is moot
    high_min = float(pool[max(pool.size - high, 0)])
    low = round(tiers.low_share * n) - int(sample.forced_low_N.sum())
    not_forced = np.sort(sample.combined_N[~sample.forced_low_N])
    medium_min = float(not_forced[max(low, 0)]) if low < not_forced.size else high_min
    return min(medium_min, high_min), high_min


def with_cuts(tiers: TierThresholds, medium_min: float, high_min: float,
              discipline_cuts: dict[str, Any] | None = None) -> TierThresholds:
    """The threshold rule with these cuts (and these disciplines' own) and the rest of `tiers` (judge weight,
    level-1 limits)."""
    return TierThresholds(mode="threshold", high_min=high_min, medium_min=medium_min,
                          discipline_cuts=discipline_cuts or {},
                          **tiers.model_dump(include={"judge_weight", "l1_low_below", "l1_high_min", "high_max_flags"}))


def fit_tiers(sample: ScoreSample, tiers: TierThresholds) -> TierThresholds:
    """The threshold rule at the sample's quantiles: the corpus's, and with quantiles_by discipline each
    discipline's of at least discipline_min_sample sampled documents (the others keep the corpus's: their own
    quantiles would be noise)."""
    if sample.size == 0:
        # No document with text (every one will be rejected as no_text): nothing to cut, the defaults stand.
        defaults = TierThresholds()
        return with_cuts(tiers, defaults.medium_min, defaults.high_min)
    by_discipline: dict[str, dict[str, float]] = {}
    if tiers.quantiles_by == "discipline" and sample.disciplines_N is not None:
        for name in np.unique(sample.disciplines_N).tolist():
            of_name = sample.where(sample.disciplines_N == name)
            if of_name.size >= tiers.discipline_min_sample:
                medium_min, high_min = fit_cuts(of_name, tiers)
                by_discipline[name] = {"medium_min": medium_min, "high_min": high_min}
    return with_cuts(tiers, *fit_cuts(sample, tiers), by_discipline)


def sample_task(models_dir: str, config_json: str, judged_path: str | None,
                 rate: float) -> Callable[[Task, Path], list[StepStats]]:
    def run(task: Task, stage_dir: Path) -> list[StepStats]:
        config = ClassifiersConfig.model_validate_json(config_json)
        labeller = Labeller(Path(models_dir), config)
        verdicts = read_verdicts(Path(judged_path)) if judged_path else {}
        by_discipline = config.tiers.quantiles_by == "discipline"
        stats = StepStats(STEP)
        part = task.inputs[0]
        # The ids first, then the text of the chosen rows alone: of a large corpus, the row groups they fall in.
        ids = pq.read_table(part, columns=["id"]).column("id").to_pylist()
        stats.docs_in = len(ids)
        chosen = [row for row, doc_id in enumerate(ids) if id_fraction(doc_id) < rate]
        l1_columns = [name for name in L1_COLUMNS if name in parquet_columns(part)]
        # Documents labelling rejects as no_text are not part of the labelled corpus's quantiles.
        texts = ((row, values) for row, values in iter_values_at(part, chosen, ["text", *l1_columns])
                 if isinstance(values[0], str) and values[0].strip())
        with PartWriter(part_path(stage_dir, task.task_id), schema_for(SAMPLE_COLUMNS)) as out:
            while scored := list(islice(texts, config.batch_size)):
                batch = [values[0] for _, values in scored]
                with stats.timer():
                    scores = labeller.score(batch, disciplines=by_discipline)
                    disciplines = (labeller.discipline_names(scores.disciplines_NL) if by_discipline
                                   else [None] * len(batch))
                for (row, values), quality, discipline in zip(scored, scores.quality_N, disciplines):
                    judged = verdicts.get(ids[row], {}).get("judge_score")
                    l1 = dict(zip(l1_columns, values[1:]))
                    out.write({"id": ids[row], "quality_score": float(quality), "discipline": discipline,
                               "combined_quality": combined_quality(float(quality), judged, config.tiers),
                               "l1_cap": l1_cap(config.tiers, l1.get("l1_score"), l1.get("l1_flags"))})
                stats.docs_out += len(scored)
        return [stats]

    return run


def tier_shares(sample: ScoreSample, tiers: TierThresholds) -> tuple[float, float]:
    """(low, high): the shares of the sampled documents the rule makes low and high (with a document's
    discipline's cuts where `tiers` has them)."""
    medium_min_N = np.full(sample.combined_N.shape, tiers.medium_min)
    high_min_N = np.full(sample.combined_N.shape, tiers.high_min)
    if sample.disciplines_N is not None:
        for name, cuts in tiers.discipline_cuts.items():
            of_name = sample.disciplines_N == name
            medium_min_N[of_name], high_min_N[of_name] = cuts.medium_min, cuts.high_min
    low_N = (sample.combined_N < medium_min_N) | sample.forced_low_N
    high_N = (sample.combined_N >= high_min_N) & ~sample.barred_high_N & ~low_N
    return float(np.mean(low_N)), float(np.mean(high_N))


def share_drift(sample: ScoreSample, earlier: TierThresholds, fitted: TierThresholds) -> float:
    """The largest difference between the tier shares the two rules give, over the corpus and, where either
    cuts by discipline, over each such discipline's documents."""
    groups = [np.ones(sample.combined_N.shape, dtype=bool)]
    if sample.disciplines_N is not None:
        groups += [sample.disciplines_N == name for name in sorted({*earlier.discipline_cuts,
                                                                    *fitted.discipline_cuts})]
    drift = 0.0
    for group in groups:
        if group.any():
            of_group = sample.where(group)
            drift = max(drift, *np.abs(np.subtract(tier_shares(of_group, earlier),
                                                   tier_shares(of_group, fitted))).tolist())
    return drift


def earlier_tiers(labelled_dir: Path, settings: dict[str, Any], config: ClassifiersConfig) -> TierThresholds | None:
    """The tier rule the labelled parts were made with, when all else they were made with (models, judge verdicts,
    every other setting) is as now; else None."""
    recorded = recorded_settings(labelled_dir)
    try:
        tiers = TierThresholds.model_validate(recorded["classifiers"]["tiers"])
    except (KeyError, TypeError, ValidationError):
        return None
    labelling = {**settings, "classifiers": config.model_copy(update={"tiers": tiers}).model_dump(mode="json")}
    return None if settings_would_redo(labelled_dir, labelling) else tiers


def _cuts(tiers: TierThresholds) -> dict[str, Any]:
    return tiers.model_dump(include={"medium_min", "high_min", "discipline_cuts"})


def fit_quantile_tiers(config: ClassifiersConfig, tasks: list[Task], out_dir: Path, labelled_dir: Path,
                       models_dir: Path, judged_path: str | None,
                       settings: dict[str, Any]) -> tuple[ClassifiersConfig, dict[str, Any]]:
    """Score the sample (a resumable stage) and fit the cuts, or keep the cuts `labelled_dir` was labelled with
    while they stay within `share_tolerance` of the fitted ones; returns the config to label with (mode threshold,
    the cuts chosen) and the report's account of the fit."""
    tiers = config.tiers
    rate = sample_rate([Path(task.inputs[0]) for task in tasks], tiers.sample_size)
    sample_dir = out_dir / SAMPLE_DIR
    score = sample_task(str(models_dir), config.model_dump_json(), judged_path, rate)
    stage = run_stage(STEP, sample_dir, tasks, score,
                      num_cpus_per_task=config.num_cpus_per_task,
                      # the columns are settings: a sample written by code that recorded fewer is scored again
                      settings={**settings, "rate": rate, "columns": sorted(SAMPLE_COLUMNS)})
    sample = ScoreSample.read(sample_dir, by_discipline=tiers.quantiles_by == "discipline")
    fitted = fit_tiers(sample, tiers)
    chosen, kept = fitted, False
    earlier = earlier_tiers(labelled_dir, settings, config) if sample.size else None
    if earlier is not None and earlier != fitted:
        # An input added to a large corpus moves the fitted cuts a little; labelling everything again for that
        # would cost the whole classification pass, so the earlier cuts stay while the tiers stay near the shares.
        kept = bool(share_drift(sample, earlier, fitted) <= tiers.share_tolerance)
        chosen = earlier if kept else fitted
    low_share, high_share = tier_shares(sample, chosen) if sample.size else (0.0, 0.0)
    report = {"mode": "quantile", "quantiles_by": tiers.quantiles_by, "high_share": tiers.high_share,
              "low_share": tiers.low_share, "sample_rate": rate, "sampled": sample.size,
              "sample_dir": str(sample_dir), **_cuts(chosen), "kept_earlier_cuts": kept, "fitted": _cuts(fitted),
              "sample_shares": {"low": low_share, "high": high_share},
              "level1_caps": {"low": int(sample.forced_low_N.sum()),
                              "not_high": int((sample.barred_high_N & ~sample.forced_low_N).sum())},
              "stage": stage.to_dict()}
    return config.model_copy(update={"tiers": chosen}), report


def remove_sample(out_dir: Path) -> None:
    """Remove the sample of an earlier run in quantile mode: a run in threshold mode has none."""
    sample_dir = out_dir / SAMPLE_DIR
    for folder in (sample_dir, bookkeeping_dir(sample_dir)):
        shutil.rmtree(folder, ignore_errors=True)
