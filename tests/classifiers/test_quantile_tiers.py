"""Quality tiers by share of the corpus: the fitted cuts, and a classifiers run that uses them."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from label_corpus import make_documents, write_curated
from pydantic import ValidationError

from sciloom.classifiers.config import ClassifiersConfig, TierThresholds
from sciloom.classifiers.default_models import PACKAGED_DIR
from sciloom.classifiers.label_step import Labeller
from sciloom.classifiers.pipeline import REPORT_FILE, fitted_cuts, run_classification
from sciloom.classifiers.quantile_tiers import (SAMPLE_DIR, ScoreSample, fit_cuts, id_fraction, sample_task,
                                                 share_drift, tier_shares, with_cuts)
from sciloom.classifiers.tiers import HIGH, LOW, MEDIUM, l1_cap, quality_tier
from sciloom.curation.executor import Task, _output_record, settings_path, tasks_dir
from sciloom.curation.rules import RulesConfig, RulesStep
from sciloom.report.page import tier_cuts_sentence


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
@pytest.mark.parametrize(("high_share", "low_share"), [(0.3, 0.2), (0.1, 0.0), (0.5, 0.5), (0.05, 0.9)])
def test_cuts_leave_the_asked_shares_on_either_side(n, high_share, low_share):
    scores_N = np.random.default_rng(n).random(n)
    tiers = TierThresholds(mode="quantile", high_share=high_share, low_share=low_share)
    medium_min, high_min = fit_cuts(ScoreSample.of(scores_N), tiers)
    high = int((scores_N >= high_min).sum())
    low = int((scores_N < medium_min).sum())
    assert high == max(1, round(high_share * n))
    # where the two cuts meet (shares summing to 1, or one document), the high tier takes the document
    assert low == min(round(low_share * n), n - high)
    assert medium_min <= high_min


def test_tied_scores_stay_in_one_tier():
    scores_N = np.array([0.1, 0.5, 0.5, 0.5, 0.5, 0.9])
    medium_min, high_min = fit_cuts(ScoreSample.of(scores_N),
                                    TierThresholds(mode="quantile", high_share=0.5, low_share=0.2))
    assert (medium_min, high_min) == (0.5, 0.5)  # the tie at 0.5 is high as a whole, not split by position


@pytest.mark.parametrize("seed", range(6))
def test_cuts_leave_the_asked_shares_in_the_tiers_the_rule_assigns_under_level1_results(seed):
    # Level-1 results make some documents low and bar others from high, whatever their score: the shares are
    # those of the tiers quality_tier gives, not of the scores.
    rng = np.random.default_rng(seed)
    n = 400
    scores_N = rng.random(n)
    l1_scores = rng.choice([1.0, 0.95, 0.8, 0.5], size=n, p=[0.7, 0.1, 0.1, 0.1]).tolist()
    l1_flags = [["fineweb:char_dup_ratio"] if flagged else [] for flagged in rng.random(n) < 0.1]
    tiers = TierThresholds(mode="quantile", high_share=0.3, low_share=0.2)
    sample = ScoreSample.of(scores_N, [l1_cap(tiers, s, f) for s, f in zip(l1_scores, l1_flags)])
    assert sample.forced_low_N.sum() > 0 and (sample.barred_high_N & ~sample.forced_low_N).sum() > 0

    rule = with_cuts(tiers, *fit_cuts(sample, tiers))

    assigned = [quality_tier(float(q), rule, l1_score=s, l1_flags=f) for q, s, f in zip(scores_N, l1_scores, l1_flags)]
    assert assigned.count(HIGH) == round(0.3 * n) and assigned.count(LOW) == round(0.2 * n)
    assert tier_shares(sample, rule) == (assigned.count(LOW) / n, assigned.count(HIGH) / n)
    # Cut over the scores alone, the high tier would lose the barred documents above the cut.
    naive = with_cuts(tiers, *fit_cuts(ScoreSample.of(scores_N), tiers))
    naive_high = sum(quality_tier(float(q), naive, l1_score=s, l1_flags=f) == HIGH
                     for q, s, f in zip(scores_N, l1_scores, l1_flags))
    assert naive_high < round(0.3 * n)


def test_real_papers_flagged_by_the_science_rules_still_fill_the_high_tier(shared_data, benchmark):
    # The 49 unarXive papers as the science rules and the packaged quality model see them: the rules flag about a
    # third of the papers they keep (repeated short lines, braces), and cut over every score the flagged papers
    # above the high cut left the tier at about half its share.
    papers = list(benchmark("eval_science_rules").unarxive_papers())
    rules = RulesStep(RulesConfig(profile="science"))
    kept = [doc for doc in ({"text": text} for text in papers) if rules.apply(doc) is None]
    tiers = TierThresholds(mode="quantile", high_share=0.3, low_share=0.2)
    quality_N = Labeller(PACKAGED_DIR, ClassifiersConfig(tiers=tiers)).score(
        [doc["text"] for doc in kept], disciplines=False).quality_N.astype(np.float64)
    caps = [l1_cap(tiers, doc["l1_score"], doc["l1_flags"]) for doc in kept]
    n = len(kept)
    assert n >= 40 and caps.count(MEDIUM) >= 10

    def high_count(sample: ScoreSample) -> int:
        rule = with_cuts(tiers, *fit_cuts(sample, tiers))
        return sum(quality_tier(float(q), rule, l1_score=doc["l1_score"], l1_flags=doc["l1_flags"]) == HIGH
                   for q, doc in zip(quality_N, kept))

    assert high_count(ScoreSample.of(quality_N, caps)) == round(0.3 * n)
    assert high_count(ScoreSample.of(quality_N)) < 0.6 * round(0.3 * n)


def test_where_level1_leaves_no_choice_the_cuts_do_what_they_can():
    tiers = TierThresholds(mode="quantile", high_share=0.5, low_share=0.1)
    # 3 of 10 documents may be high (all of them are then high); 4 are made low (more than the 10% asked).
    caps = [None] * 3 + [MEDIUM] * 3 + [LOW] * 4
    scores_N = np.linspace(0.05, 0.95, 10)
    sample = ScoreSample.of(scores_N, caps)
    medium_min, high_min = fit_cuts(sample, tiers)
    assert high_min == pytest.approx(scores_N[0]) and medium_min <= high_min
    assert tier_shares(sample, with_cuts(tiers, medium_min, high_min)) == (0.4, 0.3)


def test_quantile_settings_are_validated():
    with pytest.raises(ValidationError, match="high_min cannot be set with mode quantile"):
        TierThresholds(mode="quantile", high_min=0.8)
    with pytest.raises(ValidationError, match="must not exceed 1"):
        TierThresholds(mode="quantile", high_share=0.6, low_share=0.5)
    with pytest.raises(ValidationError, match="mode"):
        TierThresholds(mode="percent")
    with pytest.raises(ValidationError, match="discipline_cuts cannot be set with mode quantile"):
        TierThresholds(mode="quantile", discipline_cuts={"physics": {"medium_min": 0.2, "high_min": 0.9}})
    with pytest.raises(ValidationError, match="must not exceed high_min"):
        TierThresholds(discipline_cuts={"physics": {"medium_min": 0.9, "high_min": 0.2}})
    with pytest.raises(ValidationError, match="names astrology, not in the taxonomy"):
        ClassifiersConfig(tiers=TierThresholds(discipline_cuts={"astrology": {"medium_min": 0.2, "high_min": 0.9}}))


def test_a_discipline_with_cuts_of_its_own_is_tiered_by_them_and_the_others_by_the_corpus_cuts():
    tiers = TierThresholds(medium_min=0.3, high_min=0.7, discipline_cuts={"physics": {"medium_min": 0.9,
                                                                                      "high_min": 0.95}})
    assert quality_tier(0.92, tiers, discipline="physics") == MEDIUM
    assert quality_tier(0.92, tiers, discipline="biology") == HIGH
    assert quality_tier(0.92, tiers) == HIGH
    # Shares and their drift, by hand: physics' scores 0.1..1.0, biology's the same.
    scores_N = np.array([i / 10 for i in range(1, 11)] * 2)
    sample = ScoreSample.of(scores_N, disciplines=["physics"] * 10 + ["biology"] * 10)
    # physics: low below 0.9 (8 of 10), high from 0.95 (1); biology: low below 0.3 (2), high from 0.7 (4).
    assert tier_shares(sample, tiers) == (10 / 20, 5 / 20)
    corpus = TierThresholds(medium_min=0.3, high_min=0.7)
    # Over the corpus: low 0.5 vs 0.2, high 0.25 vs 0.4; over physics alone: low 0.8 vs 0.2.
    assert share_drift(sample, tiers, corpus) == pytest.approx(0.6)


def _distinct_documents(per_discipline: int) -> list[dict]:
    # A numbered closing sentence makes every text its own (the tiny test models still tie some scores).
    return [{**d, "text": f"{d['text']} This is record {i} of the collection."}
            for i, d in enumerate(make_documents(per_discipline, seed=11, with_boilerplate=3 * per_discipline))]


def _labelled(out):
    return pq.read_table(sorted((out / "labelled").glob("part-*.parquet")),
                         columns=["id", "quality_score", "quality_tier"]).to_pylist()


def test_a_run_in_quantile_mode_tiers_the_asked_shares_and_resumes(tmp_path, ray_session, small_config,
                                                                   bootstrapped_models):
    docs = _distinct_documents(6)
    curated = tmp_path / "curated"
    write_curated(curated, docs, parts=2, flag_every=0)
    out = tmp_path / "classifiers"
    config = small_config.model_copy(update={"models_dir": bootstrapped_models,
                                             "tiers": TierThresholds(mode="quantile", high_share=0.3, low_share=0.2)})

    summary = run_classification(config, curated, out)

    rows = _labelled(out)
    n = len(rows)
    assert n == len(docs)
    ranked = sorted((r["quality_score"] for r in rows), reverse=True)
    by_tier = {tier: sorted(r["quality_score"] for r in rows if r["quality_tier"] == tier) for tier in (HIGH, MEDIUM, LOW)}
    # The tiers are the ranking cut at the shares: high is every document scoring at least the k-th best score of
    # k = 30% of the corpus (more than k only where scores tie at that cut), low every one below the score of
    # rank 20% from the bottom.
    high_k, low_k = round(0.3 * n), round(0.2 * n)
    assert by_tier[HIGH] == sorted(s for s in ranked if s >= ranked[high_k - 1])
    assert by_tier[LOW] == sorted(s for s in ranked if s < ranked[n - 1 - low_k])
    assert high_k <= len(by_tier[HIGH]) <= high_k + ranked.count(ranked[high_k - 1]) - 1
    assert 0 < len(by_tier[LOW]) <= low_k and by_tier[MEDIUM]
    assert summary["tiers"][HIGH] == pytest.approx(len(by_tier[HIGH]) / n, abs=1e-4)
    # Every document was scored for the fit, with the score labelling gave it.
    sample = pq.read_table(out / SAMPLE_DIR).to_pylist()
    assert {r["id"]: r["quality_score"] for r in sample} == {r["id"]: r["quality_score"] for r in rows}
    report = json.loads((out / REPORT_FILE).read_text())["quantile_tiers"]
    assert (report["sample_rate"], report["sampled"]) == (1.0, n)
    assert summary["tier_cuts"] == {"medium_min": report["medium_min"], "high_min": report["high_min"]}

    assert run_classification(config, curated, out) == summary
    for stage in ("labelled", SAMPLE_DIR):
        assert json.loads((out / f"_{stage}" / "stats.json").read_text())["tasks_resumed_from_earlier_run"] == 2

    # Another share gives other cuts, and the labels follow them.
    wider = config.model_copy(update={"tiers": TierThresholds(mode="quantile", high_share=0.5, low_share=0.2)})
    widened = run_classification(wider, curated, out)
    assert widened["tier_cuts"]["high_min"] < summary["tier_cuts"]["high_min"]
    assert sorted(r["quality_score"] for r in _labelled(out) if r["quality_tier"] == HIGH) == \
        sorted(s for s in ranked if s >= ranked[round(0.5 * n) - 1])

    # Back to fixed thresholds: the sample goes, as if the run had never been in quantile mode.
    fixed = run_classification(small_config.model_copy(update={"models_dir": bootstrapped_models}), curated, out)
    assert fixed["tier_cuts"] == {"medium_min": 0.35, "high_min": 0.7}
    assert not (out / SAMPLE_DIR).exists() and not (out / f"_{SAMPLE_DIR}").exists()


def test_a_run_keeps_the_shares_where_level1_results_make_documents_low_or_bar_them_from_high(
        tmp_path, ray_session, small_config, bootstrapped_models):
    docs = _distinct_documents(6)
    for i, doc in enumerate(docs):
        if i % 8 and i % 4 == 1:  # flagged by a flag-only check: may not be high (every 8th is made low)
            doc.update(l1_score=0.95, l1_flags=["fineweb:char_dup_ratio"])
    curated = tmp_path / "curated"
    write_curated(curated, docs, parts=2, flag_every=8)
    out = tmp_path / "classifiers"
    config = small_config.model_copy(update={"models_dir": bootstrapped_models,
                                             "tiers": TierThresholds(mode="quantile", high_share=0.3, low_share=0.2)})

    run_classification(config, curated, out)

    rows = _labelled(out)
    n = len(rows)
    forced_low = {d["id"] for i, d in enumerate(docs) if i % 8 == 0}
    barred = forced_low | {d["id"] for d in docs if d.get("l1_flags")}
    assert len(forced_low) < round(0.2 * n) and len(barred - forced_low) > 5
    # high: the best round(30%) of the documents that may be high; low: the ones made low, and the worst of the
    # others up to round(20%) in all.
    may_be_high = sorted((r["quality_score"] for r in rows if r["id"] not in barred), reverse=True)
    high_cut = may_be_high[round(0.3 * n) - 1]
    not_forced = sorted(r["quality_score"] for r in rows if r["id"] not in forced_low)
    low_cut = not_forced[round(0.2 * n) - len(forced_low)]
    for row in rows:
        score = row["quality_score"]
        expected = (LOW if row["id"] in forced_low or score < low_cut else
                    HIGH if row["id"] not in barred and score >= high_cut else MEDIUM)
        assert row["quality_tier"] == expected, row
    tiers = [r["quality_tier"] for r in rows]
    assert tiers.count(HIGH) == round(0.3 * n) and tiers.count(LOW) == round(0.2 * n)
    report = json.loads((out / REPORT_FILE).read_text())["quantile_tiers"]
    assert report["level1_caps"] == {"low": len(forced_low), "not_high": len(barred - forced_low)}
    assert report["sample_shares"] == {"low": tiers.count(LOW) / n, "high": tiers.count(HIGH) / n}
    assert (f"level-1 results made {len(forced_low)} sampled documents low and kept {len(barred - forced_low)} "
            "from high") in tier_cuts_sentence(report, None)


def test_a_sample_written_without_the_level1_column_is_scored_again(tmp_path, ray_session, small_config,
                                                                     bootstrapped_models):
    # As an earlier sciloom left it: no l1_cap column, and the stage's settings did not name the columns.
    docs = _distinct_documents(3)
    curated = tmp_path / "curated"
    write_curated(curated, docs, parts=2)
    out = tmp_path / "classifiers"
    config = small_config.model_copy(update={"models_dir": bootstrapped_models,
                                             "tiers": TierThresholds(mode="quantile")})
    first = run_classification(config, curated, out)
    for marker in tasks_dir(out / SAMPLE_DIR).glob("*.json"):
        record = json.loads(marker.read_text())
        for name in record["outputs"]:
            pq.write_table(pq.read_table(out / name).drop(["l1_cap"]), out / name)
            record["outputs"][name] = _output_record(out / name)
        marker.write_text(json.dumps(record))
    recorded = settings_path(out / SAMPLE_DIR)
    recorded.write_text(json.dumps({k: v for k, v in json.loads(recorded.read_text()).items() if k != "columns"}))

    assert run_classification(config, curated, out) == first
    assert "l1_cap" in pq.read_schema(sorted((out / SAMPLE_DIR).glob("part-*.parquet"))[0]).names
    stats = json.loads((out / f"_{SAMPLE_DIR}" / "stats.json").read_text())
    assert stats["tasks_resumed_from_earlier_run"] == 0


def test_a_large_corpus_is_cut_on_a_sample_by_id_hash(tmp_path, ray_session, small_config, bootstrapped_models):
    docs = _distinct_documents(30)  # 240 documents, a sample of about 100
    curated = tmp_path / "curated"
    write_curated(curated, docs, parts=3, flag_every=0)
    out = tmp_path / "classifiers"
    tiers = TierThresholds(mode="quantile", high_share=0.3, low_share=0.2, sample_size=100)
    config = small_config.model_copy(update={"models_dir": bootstrapped_models, "tiers": tiers})

    summary = run_classification(config, curated, out)

    rate = 100 / len(docs)
    rows = _labelled(out)
    chosen = {r["id"]: r["quality_score"] for r in rows if id_fraction(r["id"]) < rate}
    sample = pq.read_table(out / SAMPLE_DIR).to_pylist()
    assert {r["id"]: r["quality_score"] for r in sample} == chosen
    assert 70 <= len(chosen) <= 130
    # The cuts are the sample's order statistics, and the corpus lands near the asked shares.
    medium_min, high_min = fit_cuts(ScoreSample.of(list(chosen.values())), tiers)
    assert summary["tier_cuts"] == {"medium_min": medium_min, "high_min": high_min}
    assert summary["tiers"][HIGH] == pytest.approx(0.3, abs=0.1)
    assert summary["tiers"][LOW] == pytest.approx(0.2, abs=0.1)


def test_a_share_config_round_trips_through_json():
    config = ClassifiersConfig(tiers=TierThresholds(mode="quantile", high_share=0.25))
    assert ClassifiersConfig.model_validate_json(config.model_dump_json()) == config


def test_labelling_before_the_cuts_are_fitted_is_refused(small_config, bootstrapped_models):
    config = small_config.model_copy(update={"tiers": TierThresholds(mode="quantile")})
    labeller = Labeller(bootstrapped_models, config)  # scores alone (the sample's) need no cuts
    assert labeller.score(["The catalyst lowers the activation energy."]).quality_N.shape == (1,)
    with pytest.raises(ValueError, match="cut points fitted"):
        labeller.annotate([{"id": "a", "text": "The catalyst lowers the activation energy."}])


def test_a_corpus_without_text_is_labelled_as_in_threshold_mode(tmp_path, ray_session, small_config,
                                                                 bootstrapped_models):
    curated = tmp_path / "curated"
    write_curated(curated, [{"id": f"blank-{n}", "text": " \n"} for n in range(3)], parts=1)
    config = small_config.model_copy(update={"models_dir": bootstrapped_models,
                                             "tiers": TierThresholds(mode="quantile")})
    summary = run_classification(config, curated, tmp_path / "out")
    assert summary["documents"] == 0 and summary["tier_cuts"] == {"medium_min": 0.35, "high_min": 0.7}


def test_the_sample_task_decodes_each_row_group_once(tmp_path, monkeypatch, small_config, bootstrapped_models):
    # Row groups of 60 documents scored 16 at a time: a batch that asked for its own rows' text would decode
    # a row group again for every batch that falls in it.
    docs = _distinct_documents(15)
    texts = [d["text"] for d in docs]
    part = tmp_path / "part-0000.parquet"
    pq.write_table(pa.table({"id": [d["id"] for d in docs], "text": texts}), part, row_group_size=60)
    reads: list[int] = []
    read_row_group = pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "read_row_group",
                        lambda self, group, **kwargs: reads.append(group) or read_row_group(self, group, **kwargs))
    config = small_config.model_copy(update={"models_dir": bootstrapped_models,
                                             "tiers": TierThresholds(mode="quantile")})

    [stats] = sample_task(str(bootstrapped_models), config.model_dump_json(), None, 1.0)(
        Task("sample", (str(part),)), tmp_path / "stage")

    groups = pq.ParquetFile(part).num_row_groups
    assert groups == -(-len(docs) // 60) > 1 and config.batch_size < 60
    assert sorted(reads) == list(range(groups))
    sample = pq.read_table(tmp_path / "stage").to_pylist()
    quality_model = Labeller(bootstrapped_models, config).quality
    expected_N = quality_model.predict_proba(texts)[:, quality_model.labels.index("high")]
    assert [r["id"] for r in sample] == [d["id"] for d in docs]
    assert [r["quality_score"] for r in sample] == pytest.approx(expected_N.tolist(), abs=1e-6)
    assert stats.docs_in == stats.docs_out == len(docs)


@pytest.mark.parametrize(("tolerance", "kept"), [(0.5, True), (0.0, False)])
def test_an_added_input_keeps_the_cuts_while_the_tiers_stay_within_the_tolerance(
        tmp_path, ray_session, small_config, bootstrapped_models, tolerance, kept):
    docs = _distinct_documents(12)
    curated = tmp_path / "curated"
    write_curated(curated, docs[:-24], parts=3, flag_every=0)
    out = tmp_path / "classifiers"
    tiers = TierThresholds(mode="quantile", high_share=0.3, low_share=0.2, share_tolerance=tolerance)
    config = small_config.model_copy(update={"models_dir": bootstrapped_models, "tiers": tiers})
    first = run_classification(config, curated, out)
    earlier = _labelled(out)
    write_curated(tmp_path / "added", docs[-24:], parts=1, flag_every=0)
    (tmp_path / "added" / "part-0000.parquet").rename(curated / "part-0003.parquet")

    second = run_classification(config, curated, out)

    report = json.loads((out / REPORT_FILE).read_text())["quantile_tiers"]
    stats = json.loads((out / "_labelled" / "stats.json").read_text())
    fitted = (report["fitted"]["medium_min"], report["fitted"]["high_min"])
    assert fitted != (first["tier_cuts"]["medium_min"], first["tier_cuts"]["high_min"])  # the input moved them
    assert report["kept_earlier_cuts"] is kept
    rows = _labelled(out)
    if kept:
        # The added part alone is labelled; the others keep their labels, cut where they were.
        assert second["tier_cuts"] == first["tier_cuts"]
        assert stats["tasks_resumed_from_earlier_run"] == 3
        assert [r for r in rows if r["id"] in {e["id"] for e in earlier}] == earlier
    else:
        assert second["tier_cuts"] == {"medium_min": fitted[0], "high_min": fitted[1]}
        assert stats["tasks_resumed_from_earlier_run"] == 0
    low, high = tier_shares(ScoreSample.read(out / SAMPLE_DIR, by_discipline=False),
                            TierThresholds(**second["tier_cuts"]))
    assert (report["sample_shares"]["low"], report["sample_shares"]["high"]) == (low, high)
    # The run report says which cuts labelled, and where cuts fitted now would be.
    sentence = tier_cuts_sentence(report, None)
    assert (f"leave {high:.1%} high and {low:.1%} low" in sentence) is kept
    assert len(rows) == len(docs)


def test_quantiles_by_discipline_cut_each_discipline_at_its_own_shares(tmp_path, ray_session, small_config,
                                                                        bootstrapped_models):
    # 30 documents of most disciplines, 120 general ones, 12 of mathematics and of physics (too few for cuts of
    # their own at discipline_min_sample 20).
    docs = [d for d in _distinct_documents(30)
            if not (d["id"].startswith(("mathematics-", "physics-")) and int(d["id"].rsplit("-", 1)[1]) >= 12)]
    curated = tmp_path / "curated"
    write_curated(curated, docs, parts=3, flag_every=0)
    out = tmp_path / "classifiers"
    tiers = TierThresholds(mode="quantile", high_share=0.3, low_share=0.2, quantiles_by="discipline",
                           discipline_min_sample=20)
    config = small_config.model_copy(update={"models_dir": bootstrapped_models, "tiers": tiers})

    summary = run_classification(config, curated, out)

    rows = pq.read_table(out / "labelled", columns=["id", "discipline", "quality_score", "quality_tier"]).to_pylist()
    sample = {r["id"]: r["discipline"] for r in pq.read_table(out / SAMPLE_DIR).to_pylist()}
    assert sample == {r["id"]: r["discipline"] for r in rows}  # the sample's disciplines are the labels'
    by_discipline: dict[str, list[dict]] = {}
    for row in rows:
        by_discipline.setdefault(row["discipline"], []).append(row)
    own = {name for name, group in by_discipline.items() if len(group) >= 20}
    assert set(summary["tier_cuts"]["discipline_cuts"]) == own and 2 <= len(own) < len(by_discipline)
    for name, group in by_discipline.items():
        # A discipline with its own cuts: its documents ranked among themselves, cut at the shares; the others
        # at the corpus's cuts.
        ranked = sorted((r["quality_score"] for r in (group if name in own else rows)), reverse=True)
        n = len(ranked)
        high_cut, low_cut = ranked[round(0.3 * n) - 1], ranked[n - 1 - round(0.2 * n)]
        for row in group:
            expected = HIGH if row["quality_score"] >= high_cut else LOW if row["quality_score"] < low_cut else MEDIUM
            assert row["quality_tier"] == expected, (name, row)
    report = json.loads((out / REPORT_FILE).read_text())["quantile_tiers"]
    assert report["quantiles_by"] == "discipline"
    assert report["discipline_cuts"] == summary["tier_cuts"]["discipline_cuts"]
    assert "each discipline's quantiles" in tier_cuts_sentence(report, None)
    assert f"{len(own)} disciplines with cuts of their own" in tier_cuts_sentence(report, None)
    # A rerun keeps them; `sciloom label --tiers-from` reads them back.
    assert run_classification(config, curated, out) == summary
    assert fitted_cuts(out, tiers).discipline_cuts == TierThresholds(**summary["tier_cuts"]).discipline_cuts
