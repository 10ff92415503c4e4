"""Quality tiers by share of the corpus (`tiers.mode: quantile`, Nemotron-CC's percentile buckets).

A quality model trained to tell curated text from raw crawl puts nearly all of a curated corpus above any fixed
cut (the shipped model scores most of the demo's curated documents at 0.7 or more), so fixed thresholds put almost
everything in one tier and the mixer's tier epochs have nothing to choose between. In quantile mode the cut points
are the corpus's own quantiles of the combined score (classifiers.tiers): the top `high_share` of the documents
are at or above the high cut, the bottom `low_share` below the low cut.

1. Sample: a Ray stage over the curated parts (`<classifiers>/quality_sample/`, a Parquet dataset of id, quality
   score and combined score) scores the documents whose id hash falls below min(1, sample_size / documents),
   reading each part's ids and then the text of the row groups that hold the chosen rows. A
   corpus of up to sample_size documents is scored whole, so its cuts are exact; a larger one gets a fixed-size
   sample, whose quantile is off by about sqrt(p(1 - p) / n) of the corpus (0.13 points at 100,000 for p = 0.2).
2. Cuts: the driver reads the sample's combined scores (at most about sample_size of them) and takes the order
   statistics that leave the asked shares on either side. With `quantiles_by: discipline` the sample also holds
   each document's predicted discipline, and each discipline with enough sampled documents gets its own cuts:
   the quality model scores some disciplines' text higher than others', and a corpus-wide cut would drop a
   different share of each expert's data.
3. The labelling stage applies the threshold rule with the cuts. They are part of its settings: other cuts label
   every part again. A rerun whose models and settings are those the parts were labelled with keeps their cuts
   while, on the new sample, they leave each tier within `share_tolerance` (0.01) of the fitted cuts' share: an
   input added to a large corpus moves the fitted cuts a little, and labels its own documents alone.

Level-1 results still demote a document as the rule says, so the high tier can hold less than high_share.
"""
from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
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
from sciloom.classifiers.tiers import combined_quality
from sciloom.curation.document import BASE_COLUMNS, iter_values_at, schema_for
from sciloom.curation.executor import Task, bookkeeping_dir, recorded_settings, run_stage, settings_would_redo
from sciloom.curation.map_stage import part_path
from sciloom.curation.part_writer import PartWriter
from sciloom.curation.stats import StepStats

SAMPLE_DIR = "quality_sample"
SAMPLE_COLUMNS = {"id": BASE_COLUMNS["id"], "quality_score": pa.float64(), "combined_quality": pa.float64(),
                  "discipline": pa.string()}  # null unless the tiers are cut by discipline
STEP = "quality_sample"


def id_fraction(doc_id: str) -> float:
    """A document id's place in [0, 1): a personalised hash, independent of the other id samples of a run."""
    digest = hashlib.blake2b(doc_id.encode(), digest_size=8, person=b"sciloom-tiers").digest()
    return int.from_bytes(digest, "big") / 2**64


def sample_rate(parts: list[Path], sample_size: int) -> float:
    """The share of documents to score: all of them up to sample_size (row counts come from the parts' footers)."""
    documents = sum(pq.ParquetFile(part).metadata.num_rows for part in parts)
    return min(1.0, sample_size / documents) if documents else 1.0


def fit_cuts(combined_N: np.ndarray, tiers: TierThresholds) -> tuple[float, float]:
    """(medium_min, high_min): the order statistics of the combined scores that leave round(low_share * n) scores
    below medium_min and round(high_share * n) at or above high_min (fewer where scores tie across a cut)."""
    if combined_N.size == 0:
        raise ValueError("no document to fit quantile tiers on")
    sorted_N = np.sort(combined_N)
    n = sorted_N.size
    low = round(tiers.low_share * n)
    high = max(1, round(tiers.high_share * n))
    high_min = float(sorted_N[n - high])
    medium_min = float(sorted_N[low]) if low < n else high_min
    return min(medium_min, high_min), high_min


def with_cuts(tiers: TierThresholds, medium_min: float, high_min: float,
              discipline_cuts: dict[str, Any] | None = None) -> TierThresholds:
    """The threshold rule with these cuts (and these disciplines' own) and the rest of `tiers` (judge weight,
    level-1 limits)."""
    return TierThresholds(mode="threshold", high_min=high_min, medium_min=medium_min,
                          discipline_cuts=discipline_cuts or {},
                          **tiers.model_dump(include={"judge_weight", "l1_low_below", "l1_high_min", "high_max_flags"}))


def fit_tiers(combined_N: np.ndarray, disciplines_N: np.ndarray | None, tiers: TierThresholds) -> TierThresholds:
    """The threshold rule at the sample's quantiles: the corpus's, and with quantiles_by discipline each
    discipline's of at least discipline_min_sample sampled documents (the others keep the corpus's: their own
    quantiles would be noise)."""
    if combined_N.size == 0:
        # No document with text (every one will be rejected as no_text): nothing to cut, the defaults stand.
        defaults = TierThresholds()
        return with_cuts(tiers, defaults.medium_min, defaults.high_min)
    by_discipline: dict[str, dict[str, float]] = {}
    if tiers.quantiles_by == "discipline" and disciplines_N is not None:
        for name in np.unique(disciplines_N).tolist():
            scores_N = combined_N[disciplines_N == name]
            if scores_N.size >= tiers.discipline_min_sample:
                medium_min, high_min = fit_cuts(scores_N, tiers)
                by_discipline[name] = {"medium_min": medium_min, "high_min": high_min}
    return with_cuts(tiers, *fit_cuts(combined_N, tiers), by_discipline)


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
        # Documents labelling rejects as no_text are not part of the labelled corpus's quantiles.
        texts = ((row, text) for row, text in iter_values_at(part, chosen, "text")
                 if isinstance(text, str) and text.strip())
        with PartWriter(part_path(stage_dir, task.task_id), schema_for(SAMPLE_COLUMNS)) as out:
            while scored := list(islice(texts, config.batch_size)):
                batch = [text for _, text in scored]
                with stats.timer():
                    scores = labeller.score(batch, disciplines=by_discipline)
                    disciplines = (labeller.discipline_names(scores.disciplines_NL) if by_discipline
                                   else [None] * len(batch))
                for (row, _), quality, discipline in zip(scored, scores.quality_N, disciplines):
                    judged = verdicts.get(ids[row], {}).get("judge_score")
                    out.write({"id": ids[row], "quality_score": float(quality), "discipline": discipline,
                               "combined_quality": combined_quality(float(quality), judged, config.tiers)})
                stats.docs_out += len(scored)
        return [stats]

    return run


def tier_shares(combined_N: np.ndarray, tiers: TierThresholds,
                disciplines_N: np.ndarray | None = None) -> tuple[float, float]:
    """(low, high): the shares of the scores below their cut medium_min and at or above their high_min (a
    document's discipline's cuts where `tiers` has them)."""
    medium_N = np.full(combined_N.shape, tiers.medium_min)
    high_N = np.full(combined_N.shape, tiers.high_min)
    if disciplines_N is not None:
        for name, cuts in tiers.discipline_cuts.items():
            of_name = disciplines_N == name
            medium_N[of_name], high_N[of_name] = cuts.medium_min, cuts.high_min
    return float(np.mean(combined_N < medium_N)), float(np.mean(combined_N >= high_N))


def share_drift(combined_N: np.ndarray, disciplines_N: np.ndarray | None, earlier: TierThresholds,
                fitted: TierThresholds) -> float:
    """The largest difference between the tier shares the two rules give, over the corpus and, where either
    cuts by discipline, over each such discipline's documents."""
    groups = [np.ones(combined_N.shape, dtype=bool)]
    if disciplines_N is not None:
        groups += [disciplines_N == name for name in sorted({*earlier.discipline_cuts, *fitted.discipline_cuts})]
    drift = 0.0
    for group in groups:
        if group.any():
            names = disciplines_N[group] if disciplines_N is not None else None
            drift = max(drift, *np.abs(np.subtract(tier_shares(combined_N[group], earlier, names),
                                                   tier_shares(combined_N[group], fitted, names))).tolist())
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
                      num_cpus_per_task=config.num_cpus_per_task, settings={**settings, "rate": rate})
    sample = pq.read_table(sorted(sample_dir.glob("part-*.parquet")), columns=["combined_quality", "discipline"])
    combined_N = sample.column("combined_quality").to_numpy()
    disciplines_N = (np.asarray(sample.column("discipline").to_pylist(), dtype=object)
                     if tiers.quantiles_by == "discipline" else None)
    fitted = fit_tiers(combined_N, disciplines_N, tiers)
    chosen, kept = fitted, False
    earlier = earlier_tiers(labelled_dir, settings, config) if combined_N.size else None
    if earlier is not None and earlier != fitted:
        # An input added to a large corpus moves the fitted cuts a little; labelling everything again for that
        # would cost the whole classification pass, so the earlier cuts stay while the tiers stay near the shares.
        kept = bool(share_drift(combined_N, disciplines_N, earlier, fitted) <= tiers.share_tolerance)
        chosen = earlier if kept else fitted
    low_share, high_share = tier_shares(combined_N, chosen, disciplines_N) if combined_N.size else (0.0, 0.0)
    report = {"mode": "quantile", "quantiles_by": tiers.quantiles_by, "high_share": tiers.high_share,
              "low_share": tiers.low_share, "sample_rate": rate, "sampled": int(combined_N.size),
              "sample_dir": str(sample_dir), **_cuts(chosen), "kept_earlier_cuts": kept, "fitted": _cuts(fitted),
              "sample_shares": {"low": low_share, "high": high_share}, "stage": stage.to_dict()}
    return config.model_copy(update={"tiers": chosen}), report


def remove_sample(out_dir: Path) -> None:
    """Remove the sample of an earlier run in quantile mode: a run in threshold mode has none."""
    sample_dir = out_dir / SAMPLE_DIR
    for folder in (sample_dir, bookkeeping_dir(sample_dir)):
        shutil.rmtree(folder, ignore_errors=True)
