from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from label_corpus import make_documents
from typer.testing import CliRunner

from sciloom.classifiers.config import ClassifiersConfig, TierThresholds
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, LabelModel
from sciloom.classifiers.tiers import quality_tier
from sciloom.classifiers_commands import register


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_label_one_record_per_input_line_in_order(app, bootstrapped_models, small_config, monkeypatch):
    monkeypatch.setenv("SCILOOM_MODELS", str(bootstrapped_models))  # the default models folder
    docs = make_documents(1, seed=31)
    lines = [json.dumps({"id": d["id"], "text": d["text"]}) for d in docs]
    lines[3:3] = ["{not json", json.dumps({"id": "empty", "text": "  "}), json.dumps(["a list"])]
    result = CliRunner().invoke(app, ["label"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = _records(result.stdout)
    assert len(out) == len(lines)
    assert [r["id"] for r in out[3:6]] == [None, "empty", None]
    assert [r["error"] for r in out[3:6]] == ["malformed_json", "empty_text", "not_a_json_object"]
    labelled = out[:3] + out[6:]
    assert [r["id"] for r in labelled] == [d["id"] for d in docs]

    discipline = LabelModel.load(bootstrapped_models, DISCIPLINE, small_config.taxonomy)
    quality = LabelModel.load(bootstrapped_models, QUALITY, small_config.taxonomy)
    texts = [d["text"] for d in docs]
    expected_NL = discipline.predict_proba(texts)
    expected_q = quality.predict_proba(texts)[:, quality.labels.index("high")]
    default = ClassifiersConfig()  # `sciloom label` without --recipe
    for record, probs_L, q in zip(labelled, expected_NL, expected_q):
        assert list(record["discipline_scores"]) == list(discipline.labels)
        np.testing.assert_allclose(list(record["discipline_scores"].values()), probs_L, atol=1e-4)
        assert record["discipline"] == discipline.labels[int(probs_L.argmax())]
        assert record["science_score"] == pytest.approx(1 - probs_L[-1], abs=1e-4)
        assert record["quality_score"] == pytest.approx(float(q), abs=1e-4)
        assert record["quality_tier"] == quality_tier(record["quality_score"], default.tiers)
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["records"] == len(lines)
    assert summary["unreadable"] == {"malformed_json": 1, "empty_text": 1, "not_a_json_object": 1}


def test_label_refuses_a_recipe_with_quantile_tiers(app, bootstrapped_models):
    # The demo recipe cuts tiers at its corpus's quantiles: a stream cannot know them, and labelling with the
    # threshold defaults instead would tier nearly every curated document high without a word.
    demo = Path(__file__).parents[2] / "recipes" / "demo.yaml"
    result = CliRunner().invoke(app, ["label", "--models", str(bootstrapped_models), "--recipe", str(demo)],
                                input=json.dumps({"id": 1, "text": "Photons scatter off electrons."}) + "\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert "classifiers.tiers.mode is quantile" in result.stderr and "--tiers-from RUN_DIR" in result.stderr


def test_label_cuts_tiers_where_a_run_cut_them(app, bootstrapped_models, small_config, tmp_path):
    docs = make_documents(2, seed=8, with_boilerplate=4)
    run_dir = tmp_path / "run"
    (run_dir / "classifiers").mkdir(parents=True)
    # Cuts a run fitted, as its report keeps them (chosen here to fall among these documents' scores).
    quality = LabelModel.load(bootstrapped_models, QUALITY, small_config.taxonomy)
    scores = sorted(float(q) for q in quality.predict_proba([d["text"] for d in docs])[:, quality.labels.index("high")])
    cuts = {"medium_min": (scores[3] + scores[4]) / 2, "high_min": (scores[-6] + scores[-5]) / 2}
    assert min(scores[4] - scores[3], scores[-5] - scores[-6]) > 1e-4, "the cuts must fall clear of any score"
    (run_dir / "classifiers" / "classifiers_report.json").write_text(json.dumps({"quantile_tiers": cuts}))
    demo = Path(__file__).parents[2] / "recipes" / "demo.yaml"
    lines = "".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs)
    result = CliRunner().invoke(app, ["label", "--models", str(bootstrapped_models), "--recipe", str(demo),
                                      "--tiers-from", str(run_dir)], input=lines)
    assert result.exit_code == 0, result.output
    fitted = TierThresholds(**cuts)
    records = _records(result.stdout)
    assert [r["quality_tier"] for r in records] == [quality_tier(r["quality_score"], fitted) for r in records]
    assert {r["quality_tier"] for r in records} == {"high", "medium", "low"}
    bare = CliRunner().invoke(app, ["label", "--models", str(bootstrapped_models), "--tiers-from", str(tmp_path)],
                              input=lines)
    assert bare.exit_code == 2 and "no classifiers_report.json" in bare.stderr


def test_train_with_a_label_mapping_file_writes_model_and_report(app, tmp_path):
    short = {"mathematics": "MATH", "physics": "PHYS", "chemistry": "CHEM", "biology": "BIO", "medicine": "MED",
             "computer_science": "CS", "earth_environment": "GEO", "materials_engineering": "ENG", "general": "NEWS"}
    data = tmp_path / "labelled.jsonl"
    rows = [{"body": d["text"], "tag": short[d["truth"]]} for d in make_documents(14, seed=5)]
    rows += [{"body": "Some text with a tag nobody maps.", "tag": "ASTROLOGY"}, {"body": "", "tag": "MATH"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({v: k for k, v in short.items()}))
    out = tmp_path / "models"
    result = CliRunner().invoke(app, ["classifiers", "train", "--data", str(data), "--out", str(out),
                                      "--label-map", str(mapping), "--text-field", "body", "--label-field", "tag"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["skipped"] == {"unmapped_label": 1, "empty_body": 1}
    report = json.loads((out / "discipline_eval.json").read_text())
    assert sum(report["split"].values()) == len(rows) - 2
    assert report["accuracy"] == summary["accuracy"] >= 0.8
    assert len(report["confusion_matrix"]) == 9 and 0 <= report["ece"] <= 1
    assert (out / "discipline.bin").exists()

    bad = CliRunner().invoke(app, ["classifiers", "train", "--data", str(data), "--out", str(out),
                                   "--label-map", "arxiv", "--kind", "quality"])
    assert bad.exit_code == 2 and "cannot label a quality model" in bad.stderr


def test_train_on_unusable_data_is_one_message_and_exit_2(app, tmp_path):
    data = tmp_path / "few.jsonl"
    data.write_text('{"text": "an atom", "label": "physics"}\n{broken\n{"text": "x", "label": "astrology"}\n')
    few = CliRunner().invoke(app, ["classifiers", "train", "--data", str(data), "--out", str(tmp_path / "m")])
    assert few.exit_code == 2
    assert "too few examples (1)" in few.stderr and "'malformed_json': 1" in few.stderr
    missing = CliRunner().invoke(app, ["classifiers", "train", "--data", str(tmp_path / "none.jsonl"),
                                       "--out", str(tmp_path / "m")])
    assert missing.exit_code == 2 and "Invalid value for '--data'" in missing.stderr
    no_corpus = CliRunner().invoke(app, ["classifiers", "bootstrap", "--corpus", str(tmp_path / "none")])
    assert no_corpus.exit_code == 2 and "Invalid value for '--corpus'" in no_corpus.stderr


def test_bootstrap_command_then_label_with_its_models(app, tmp_path, small_config):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n"
                              for d in make_documents(6, seed=13, with_boilerplate=6)) + "oops\n")
    recipe_free_out = tmp_path / "boot"
    result = CliRunner().invoke(app, ["classifiers", "bootstrap", "--corpus", str(corpus), "--out", str(recipe_free_out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["corpus_documents"] == 9 * 6 + 6 and summary["skipped"] == {"malformed_json": 1}
    renamed = tmp_path / "renamed.jsonl"  # a corpus whose records name their fields otherwise
    renamed.write_text("".join(json.dumps({"paper_id": r["id"], "body": r["text"]}) + "\n"
                               for r in map(json.loads, corpus.read_text().splitlines()[:-1])))
    other = CliRunner().invoke(app, ["classifiers", "bootstrap", "--corpus", str(renamed), "--out",
                                     str(tmp_path / "boot2"), "--text-field", "body", "--id-field", "paper_id"])
    assert other.exit_code == 0, other.output
    assert json.loads(other.stdout.strip().splitlines()[-1])["corpus_documents"] == 9 * 6 + 6
    labelled = CliRunner().invoke(app, ["label", "--models", str(recipe_free_out)],
                                  input=json.dumps({"id": 1, "text": make_documents(1, seed=2)[0]["text"]}) + "\n")
    assert labelled.exit_code == 0 and _records(labelled.stdout)[0]["id"] == 1


def test_label_reads_bytes_that_are_not_utf8_and_answers_every_line(app, bootstrapped_models):
    docs = make_documents(1, seed=37)[:3]
    good = [json.dumps({"id": d["id"], "text": d["text"]}).encode() for d in docs]
    broken = b'{"id": "bytes", "text": "caf\xff\xfe: the heat equation describes how temperature diffuses in a rod."}'
    lines = [good[0], broken, b"", good[1], b"   ", good[2]]
    result = CliRunner().invoke(app, ["label", "--models", str(bootstrapped_models)], input=b"\n".join(lines) + b"\n")
    assert result.exit_code == 0, result.output
    out = _records(result.stdout)
    assert len(result.stdout.splitlines()) == len(lines)  # blank lines answered too
    assert [r["id"] for r in out] == [docs[0]["id"], "bytes", None, docs[1]["id"], None, docs[2]["id"]]
    assert "discipline" in out[1] and "error" not in out[1]
    assert [r.get("error") for r in out if r["id"] is None] == ["blank_line", "blank_line"]
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["notes"] == {"decoded:invalid_bytes_replaced": 1} and summary["unreadable"] == {"blank_line": 2}


def test_label_with_rules_names_the_check_that_rejects_each_document(app, bootstrapped_models):
    """The quality model reads words, not repetition; `--rules` adds the level-1 verdict `sciloom run` applies,
    computed by the same rules (checked here against RulesStep itself)."""
    from sciloom.curation.rules import RulesConfig, RulesStep

    texts = {"salad": " ".join(["the of and to in is that it was for on with as"] * 30),
             "repeated": "Buy cheap watches online today at the best price.\n" * 50,
             "prose": " ".join(d["text"] for d in make_documents(1, seed=5)[:3])}
    lines = [json.dumps({"id": key, "text": text}) for key, text in texts.items()]
    result = CliRunner().invoke(app, ["label", "--models", str(bootstrapped_models), "--rules", "stock"],
                                input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = {record["id"]: record for record in _records(result.stdout)}
    rules = RulesStep(RulesConfig(profile="stock"))
    for key, text in texts.items():
        assert out[key]["rules_rejection"] == rules.rejection(rules.evaluate(text)[0])
    assert out["salad"]["rules_rejection"] and out["repeated"]["rules_rejection"]
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert sum(summary["rules"].values()) == len(texts)
    plain = CliRunner().invoke(app, ["label", "--models", str(bootstrapped_models)], input=lines[0] + "\n")
    assert "rules_rejection" not in _records(plain.stdout)[0] and "rules" not in plain.stderr


def test_label_reads_the_fields_a_dataset_uses(app, shared_data):
    """unarXive's papers keep their text in `body_text` paragraphs and their id in `paper_id`: every line was
    answered `missing_text_field`, with no id."""
    path = shared_data / "disciplines" / "unarxive-sample" / "unarXive_data_sample" / "arXiv_src_2212_086.jsonl"
    papers = path.read_text(encoding="utf-8").splitlines()[:6]
    result = CliRunner().invoke(app, ["label", "--text-field", "body_text", "--id-field", "paper_id"],
                                input="\n".join(papers) + "\n")
    assert result.exit_code == 0, result.output
    out = _records(result.stdout)
    assert [r["id"] for r in out] == [json.loads(p)["paper_id"] for p in papers]
    assert all("error" not in r for r in out)
    # Their arXiv categories (math.PR, ...) name the discipline most of them get.
    mathematics = [r["discipline"] for r, p in zip(out, papers)
                   if json.loads(p)["metadata"]["categories"].startswith("math")]
    assert mathematics and mathematics.count("mathematics") >= len(mathematics) / 2
    default = CliRunner().invoke(app, ["label"], input=papers[0] + "\n")
    assert _records(default.stdout) == [{"id": None, "error": "missing_text_field"}]
