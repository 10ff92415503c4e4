"""The judge inside run_classification, against a real `transformers serve` process on loopback.

The served model is one of the loopback server's tiny random Qwen2 models whose generation config lets it say
exactly one of two answers (score 4 or score 1) and then stop: which one depends on the document through the
random weights, so the judge's labels are a real, deterministic, per-document mix that no heuristic predicts.
A quality model that agrees with them can only have learnt them from the judge.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest
from label_corpus import make_documents, write_curated
from loopback_llm_server import FaultInjectingProxy, TransformersServeProcess, free_port
from tokenizers import Tokenizer

from sciloom.classifiers.config import ClassifiersConfig, TierThresholds
from sciloom.classifiers.fasttext_model import QUALITY, LabelModel
from sciloom.classifiers.judge import JUDGE_FIELDS, JudgeConfig, JudgeEndpointDown
from sciloom.classifiers.judge_stage import JUDGE_DIR, JUDGED_FILE, MODELS_DIR, TRAINING_FILE, JudgeLabelsUnusable
from sciloom.classifiers.label_step import JUDGE_COLUMNS
from sciloom.classifiers.pipeline import LABELLED_DIR, REPORT_FILE, run_classification
from sciloom.classifiers.quantile_tiers import SAMPLE_DIR
from sciloom.classifiers.tiers import combined_quality, quality_tier
from sciloom.classifiers.train import split_of

HIGH_ANSWER = '{"score": 4, "reason": "Teaches a scientific topic clearly.", "discipline": "physics"}'
LOW_ANSWER = '{"score": 1, "reason": "Little scientific value.", "discipline": "general"}'
SAMPLE_SIZE = 36


def _two_answer_model(forced_folder: Path, folder: Path) -> Path:
    """A copy of a forced-answer model that may say either answer, once, and then only end-of-text."""
    shutil.copytree(forced_folder, folder)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    high, low = tokenizer.token_to_id(HIGH_ANSWER), tokenizer.token_to_id(LOW_ANSWER)
    generation = json.loads((folder / "generation_config.json").read_text())
    allowed = {high, low, generation["eos_token_id"]}
    generation["suppress_tokens"] = [t for t in range(tokenizer.get_vocab_size(with_added_tokens=True))
                                     if t not in allowed]
    generation["bad_words_ids"] = [[high, low], [low, high]]  # one answer, not both
    (folder / "generation_config.json").write_text(json.dumps(generation))
    return folder


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FaultInjectingProxy, dict[str, Path]]]:
    root = tmp_path_factory.mktemp("judge-pipeline-llm")
    server = TransformersServeProcess(root, {"high": HIGH_ANSWER, "low": LOW_ANSWER})
    try:
        server.start()
        model = _two_answer_model(server.models["high"], root / "either")
        proxy = FaultInjectingProxy(server.url)
        proxy.start()
        try:
            yield proxy, {**server.models, "either": model}
        finally:
            proxy.stop()
    finally:
        server.stop()


def _with_judge(config: ClassifiersConfig, **judge: object) -> ClassifiersConfig:
    settings = {"concurrency": 2, "batch_size": 16, "timeout_s": 60.0, "max_retries": 1, "retry_backoff_s": 0.05,
                "max_output_tokens": 16, "sample_size": SAMPLE_SIZE, "sample_seed": 3, "score_threshold": 3}
    return ClassifiersConfig(**{**config.model_dump(), "judge": JudgeConfig(**{**settings, **judge})})


def test_judged_sample_trains_the_quality_model_and_labels_carry_verdicts(
        tmp_path, ray_session, small_config, endpoint):
    proxy, models = endpoint
    docs = make_documents(4, seed=7, with_boilerplate=8)
    blank = [{"id": f"blank-{n}", "text": "  \n "} for n in range(4)]
    curated = tmp_path / "curated"
    write_curated(curated, docs + blank, parts=2)
    out = tmp_path / "classifiers"
    config = _with_judge(small_config, base_url=proxy.base_url, model=str(models["either"]))
    proxy.reset()

    summary = run_classification(config, curated, out)

    judged = pq.read_table(out / JUDGE_DIR / JUDGED_FILE).to_pylist()
    texts = {d["id"]: d["text"] for d in docs + blank}
    assert len(judged) == SAMPLE_SIZE == len({row["id"] for row in judged}) and set(texts) >= {r["id"] for r in judged}
    scored = [row for row in judged if row["judge_error"] is None]
    for row in judged:
        if texts[row["id"]].strip():
            assert (row["judge_score"], row["judge_discipline"]) in ((4, "physics"), (1, "general")), row
        else:
            assert (row["judge_score"], row["judge_error"]) == (None, "no_text")
    labels = Counter("high" if row["judge_score"] >= 3 else "low" for row in scored)
    assert labels["high"] >= 3 and labels["low"] >= 3, f"the two-answer model gave {labels}"
    assert proxy.received == proxy.forwarded == len(scored), "one request per judged document with text"

    # The judge's labels, and nothing else, trained the quality model the documents were labelled with.
    training = [json.loads(line) for line in (out / JUDGE_DIR / TRAINING_FILE).read_text().splitlines()]
    assert Counter(example["label"] for example in training) == labels
    judge_models = out / JUDGE_DIR / MODELS_DIR
    assert summary["models_dir"] == str(judge_models)
    evaluation = json.loads((judge_models / f"{QUALITY}_eval.json").read_text())
    assert sum(evaluation["split"].values()) == len(scored)
    quality_by_judge = LabelModel.load(judge_models, QUALITY, config.taxonomy)
    quality_by_bootstrap = LabelModel.load(out / "models", QUALITY, config.taxonomy)
    trained_on = [(e["text"], e["label"]) for e in training
                  if split_of(e["text"], 0.2, config.bootstrap.calibration_fraction, config.fasttext.max_tokens)
                  == "train"]

    def agreement(model: LabelModel) -> float:
        high_N = model.predict_proba([text for text, _ in trained_on])[:, model.labels.index("high")]
        return sum((p >= 0.5) == (label == "high") for p, (_, label) in zip(high_N, trained_on)) / len(trained_on)

    assert agreement(quality_by_judge) >= 0.9 > agreement(quality_by_bootstrap)
    # The judge's discipline labels replaced the seed labeller's in the bootstrap of the discipline model.
    bootstrap_report = json.loads((out / "models" / "bootstrap_report.json").read_text())
    assert bootstrap_report["known_labels"] == {"given": len(scored), "used": len(scored), "not_in_taxonomy": 0,
                                                "not_in_corpus": 0}

    rows = pq.read_table(sorted((out / LABELLED_DIR).glob("part-*.parquet"))).to_pylist()
    assert len(rows) == len(docs)  # the blank documents are rejected as no_text
    schema = pq.read_schema(next((out / LABELLED_DIR).glob("part-*.parquet")))
    assert all(schema.field(name).type == dtype for name, dtype in JUDGE_COLUMNS.items())
    verdicts = {row["id"]: row for row in judged}
    high_N = quality_by_judge.predict_proba([row["text"] for row in rows])[:, quality_by_judge.labels.index("high")]
    for row, high in zip(rows, high_N):
        expected = verdicts.get(row["id"], dict.fromkeys(JUDGE_FIELDS))
        assert {name: row[name] for name in JUDGE_FIELDS} == {name: expected[name] for name in JUDGE_FIELDS}
        assert row["quality_score"] == pytest.approx(float(high), abs=1e-5)
        assert row["quality_tier"] == quality_tier(row["quality_score"], config.tiers, l1_score=row["l1_score"],
                                                   l1_flags=row["l1_flags"], judge_score=row["judge_score"])
    assert sum(row["judge_score"] is not None for row in rows) == len(scored)


    report = json.loads((out / REPORT_FILE).read_text())["judge"]
    errors = Counter(row["judge_error"] for row in judged if row["judge_error"] is not None)
    assert report["errors"] == summary["judge"]["errors"] == dict(errors)
    assert report["labels"] == dict(labels) and report["requests"] == len(scored)
    assert report["quality_model"] == evaluation
    examples = [e for tier in json.loads((out / REPORT_FILE).read_text())["examples"].values() for e in tier]
    assert examples and all(e["judge_score"] == verdicts.get(e["id"], {}).get("judge_score") for e in examples)

    # A rerun asks the endpoint nothing (cached answers), keeps the judge-trained model and comes to the same result.
    trained_at = (judge_models / f"{QUALITY}.bin").stat().st_mtime_ns
    assert run_classification(config, curated, out) == summary
    assert (judge_models / f"{QUALITY}.bin").stat().st_mtime_ns == trained_at
    assert proxy.received == len(scored)
    assert pq.read_table(out / JUDGE_DIR / JUDGED_FILE).to_pylist() == judged
    assert json.loads((out / REPORT_FILE).read_text())["judge"]["cache_hits"] == len(scored)
    # The rewritten verdicts file is byte for byte the same, so no label is redone.
    stage = json.loads((out / REPORT_FILE).read_text())["stage"]
    assert stage["redone_settings_changed"] == [] and stage["tasks_resumed_from_earlier_run"] == stage["tasks_total"]

    # Quantile tiers cut the combined score: a judged document's place in the ranking includes its verdict.
    by_share = config.model_copy(update={"tiers": TierThresholds(mode="quantile", high_share=0.4, low_share=0.3)})
    cuts = run_classification(by_share, curated, out)["tier_cuts"]
    fitted = TierThresholds(high_min=cuts["high_min"], medium_min=cuts["medium_min"])
    sample = {row["id"]: row for row in pq.read_table(out / SAMPLE_DIR).to_pylist()}
    rows = pq.read_table(sorted((out / LABELLED_DIR).glob("part-*.parquet"))).to_pylist()
    assert set(sample) == {row["id"] for row in rows}
    for row in rows:
        assert sample[row["id"]]["combined_quality"] == combined_quality(row["quality_score"], row["judge_score"], fitted)
        assert row["quality_tier"] == quality_tier(row["quality_score"], fitted, l1_score=row["l1_score"],
                                                   l1_flags=row["l1_flags"], judge_score=row["judge_score"])
    assert {row["quality_tier"] for row in rows} == {"high", "medium", "low"}
    assert proxy.received == len(scored), "the judge's cache answered"


def test_an_unreachable_endpoint_stops_the_run_before_labelling(tmp_path, small_config):
    curated = tmp_path / "curated"
    write_curated(curated, make_documents(1, seed=5), parts=1)
    config = _with_judge(small_config, base_url=f"http://127.0.0.1:{free_port()}/v1", model="nobody", max_retries=0)
    out = tmp_path / "out"
    with pytest.raises(JudgeEndpointDown, match="none of the 9 judge requests got an answer"):
        run_classification(config, curated, out)
    assert not (out / LABELLED_DIR).exists() and not (out / "models").exists()
    assert not (out / JUDGE_DIR / JUDGED_FILE).exists()


def test_a_judge_that_gives_one_label_only_stops_the_run_before_labelling(tmp_path, small_config, endpoint):
    proxy, models = endpoint
    curated = tmp_path / "curated"
    write_curated(curated, make_documents(1, seed=5), parts=1)
    config = _with_judge(small_config, base_url=proxy.base_url, model=str(models["high"]), sample_size=4)
    out = tmp_path / "out"
    with pytest.raises(JudgeLabelsUnusable, match=r"no low document \(4 scored of 4"):
        run_classification(config, curated, out)
    assert not (out / LABELLED_DIR).exists() and not (out / "models").exists()
