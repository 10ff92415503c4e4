from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from label_corpus import make_documents, write_curated

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.fasttext_model import TaxonomyMismatch
from sciloom.classifiers.label_step import LABEL_COLUMNS
from sciloom.classifiers.pipeline import REPORT_FILE, run_classification
from sciloom.classifiers.taxonomy import Taxonomy
from sciloom.classifiers.tiers import TIERS, quality_tier
from sciloom.curation.document import values_at


def test_bootstraps_labels_every_document_and_reports_tiers(tmp_path, ray_session, small_config, no_packaged_models):
    docs = make_documents(8, seed=7, with_boilerplate=6)
    curated = tmp_path / "curated"
    write_curated(curated, docs, parts=2)
    out = tmp_path / "classifiers"

    summary = run_classification(small_config, curated, out)

    rows = pq.read_table(sorted((out / "labelled").glob("part-*.parquet"))).to_pylist()
    assert len(rows) == len(docs) == summary["documents"]
    schema = pq.read_schema(next((out / "labelled").glob("part-*.parquet")))
    for name, dtype in LABEL_COLUMNS.items():
        assert schema.field(name).type == dtype
    truth = {d["id"]: d["truth"] for d in docs}
    general = small_config.taxonomy.general_label
    correct = 0
    science = [r for r in rows if truth[r["id"]] != "boilerplate"]
    for row in rows:
        scores = {entry["label"]: entry["score"] for entry in row["discipline_scores"]}
        assert set(scores) == set(small_config.taxonomy.disciplines)
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)
        assert row["discipline"] == max(scores, key=scores.get)
        assert row["science_score"] == pytest.approx(1.0 - scores[general], abs=1e-5)
        assert 0.0 <= row["quality_score"] <= 1.0
        assert row["quality_tier"] == quality_tier(row["quality_score"], small_config.tiers, l1_score=row["l1_score"],
                                                   l1_flags=row["l1_flags"])
        correct += row["discipline"] == truth[row["id"]]
    # bootstrapped without labels on 70 documents: most written-from-discipline documents land right
    assert correct / len(science) >= 0.8

    report = json.loads((out / REPORT_FILE).read_text())
    assert report["bootstrap"]["corpus_documents"] == len(docs)
    assert sum(report["tiers"][t]["count"] for t in TIERS) == len(docs)
    for entry in report["per_discipline"].values():
        if entry["documents"]:
            assert sum(entry[t]["share"] for t in TIERS) == pytest.approx(1.0, abs=1e-3)
    for tier in TIERS:
        assert len(report["examples"][tier]) <= small_config.examples_per_tier
        assert all(e["id"] in truth for e in report["examples"][tier])
        # Each example's text is its own document's (read back from the row it came from).
        text_of = {r["id"]: r["text"] for r in rows}
        assert all(text_of[e["id"]].startswith(e["text"]) and e["text"] for e in report["examples"][tier])
    # boilerplate must not be rated above the scientific documents on average
    quality = {r["id"]: r["quality_score"] for r in rows}
    boiler = [quality[i] for i, t in truth.items() if t == "boilerplate"]
    assert sum(boiler) / len(boiler) < sum(r["quality_score"] for r in science) / len(science)

    again = run_classification(small_config, curated, out)
    assert again == summary
    stats = json.loads((out / "_labelled" / "stats.json").read_text())
    assert stats["tasks_resumed_from_earlier_run"] == 2


def test_models_for_another_taxonomy_are_refused_before_labelling(tmp_path, ray_session, small_config, bootstrapped_models):
    curated = tmp_path / "curated"
    write_curated(curated, make_documents(1, seed=3), parts=1)
    other = Taxonomy(disciplines=("physics", "general"), arxiv={}, mag={}, mmlu={})
    config = ClassifiersConfig(**{**small_config.model_dump(), "taxonomy": other, "models_dir": bootstrapped_models})
    with pytest.raises(TaxonomyMismatch, match="retrain or bootstrap"):
        run_classification(config, curated, tmp_path / "out")
    assert not (tmp_path / "out" / "labelled").exists()


def test_empty_curated_folder_is_a_clear_error(tmp_path, small_config):
    (tmp_path / "curated").mkdir()
    with pytest.raises(FileNotFoundError, match="no curated parts"):
        run_classification(small_config, tmp_path / "curated", tmp_path / "out")


def test_example_text_is_read_from_the_row_group_that_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "part-00000.parquet"
    pq.write_table(pa.table({"text": [f"text {i}" for i in range(7)]}), path, row_group_size=3)
    assert [values_at(path, [row], "text")[0] for row in range(7)] == [f"text {i}" for i in range(7)]
    # Any order, repeats, rows spread over several row groups: each value comes back where it was asked.
    assert values_at(path, [6, 0, 4, 0, 3], "text") == ["text 6", "text 0", "text 4", "text 0", "text 3"]
    with pytest.raises(IndexError):
        values_at(path, [2, 7], "text")
