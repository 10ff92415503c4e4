"""The run report's dedup examples, read with early stops, against their definition over every row."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.report.collect import EXAMPLE_CLUSTERS, _dedup_examples

REASONS = ("dedup:exact_duplicate", "dedup:fuzzy_duplicate", "dedup:contained")


def _write(folder, name, rows, schema=None):
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / name, row_group_size=4)


def test_dedup_examples_are_the_first_of_each_reason_with_the_text_they_duplicate(tmp_path):
    curation = tmp_path / "curation"
    kept = {p: [{"id": f"k-{p}-{i}", "text": f"kept text {p}-{i}"} for i in range(30)] for p in range(4)}
    for p, rows in kept.items():
        _write(curation / "curated", f"part-{p:04d}.parquet", rows)
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("reject_reason", pa.string()),
                        ("duplicate_of", pa.string())])
    removed = [
        # rejected by something else first (no duplicate): not an example
        [{"id": f"x-{i}", "text": "short", "reject_reason": "rules:short_doc", "duplicate_of": None} for i in range(9)],
        # then exact duplicates of the last kept part, one of a document that is in no part
        [{"id": f"e-{i}", "text": f"removed {i}", "reject_reason": REASONS[0], "duplicate_of": f"k-3-{i}"}
         for i in range(20)] + [{"id": "e-gone", "text": "gone", "reject_reason": REASONS[1], "duplicate_of": "k-9-9"}],
        # past the first 50 rows with a duplicate: never read
        [{"id": f"c-{i}", "text": f"contained {i}", "reject_reason": REASONS[2], "duplicate_of": f"k-1-{i}"}
         for i in range(40)],
    ]
    for p, rows in enumerate(removed):
        _write(curation / "_curated" / "rejected", f"part-{p:04d}.parquet", rows, schema)

    examples = _dedup_examples(curation)

    with_duplicate = [r for rows in removed for r in rows if r["duplicate_of"] is not None][:50]
    first: dict[str, dict] = {}
    for row in with_duplicate:
        first.setdefault(row["reject_reason"], row)
    text_of = {r["id"]: r["text"] for rows in kept.values() for r in rows}
    expected = [{**r, "kept_text": text_of.get(r["duplicate_of"], "")} for r in list(first.values())[:EXAMPLE_CLUSTERS]]
    assert examples == expected
    assert [e["reject_reason"] for e in examples] == [REASONS[0], REASONS[1], REASONS[2]]
    assert examples[0]["kept_text"] == "kept text 3-0" and examples[1]["kept_text"] == ""


def test_the_score_sample_takes_rows_from_every_part(tmp_path):
    from sciloom.report.collect import _column_sample

    for p in range(5):  # parts of 100 rows, each part's scores in its own range
        _write(tmp_path / "labelled", f"part-{p:04d}.parquet", [{"quality_score": p + i / 100} for i in range(100)])
    sample = _column_sample(tmp_path / "labelled", "quality_score", 50)
    assert len(sample) == 50 and sorted({int(v) for v in sample}) == [0, 1, 2, 3, 4]
    assert sample[:10] == [i / 100 for i in range(10)]  # each part's first rows
    assert len(_column_sample(tmp_path / "labelled", "quality_score", 10_000)) == 500
    assert _column_sample(tmp_path / "labelled", "no_such_column", 50) == []


def test_sources_are_counted_over_every_batch_of_every_part(tmp_path):
    from sciloom.report.collect import _value_counts

    sources = ["arxiv", "bbc", None, "pmc"]
    rows = [{"source": sources[(i * 7 + i // 3) % 4], "text": "x" * (i % 50)} for i in range(3000)]
    for p in range(3):  # parts of many row groups, so the counts span batches
        pq.write_table(pa.Table.from_pylist(rows[p * 1000:(p + 1) * 1000]), tmp_path / f"part-{p:04d}.parquet",
                       row_group_size=64)
    expected = {str(s): sum(r["source"] == s for r in rows) for s in sources}
    assert _value_counts(tmp_path, "source") == expected and sum(expected.values()) == 3000


def test_the_dedup_section_counts_the_duplicate_graph_of_a_stopped_run(ray_session, shared_data, tmp_path):
    """A run that stopped after dedup: the report reads the dedup stages' own statistics, the components' rounds as
    one stage, and names the graph's counts."""
    from sciloom.curation.dedup import run_dedup
    from sciloom.curation.dedup_config import DedupConfig
    from sciloom.report import page
    from sciloom.report.collect import collect

    paths = sorted((shared_data / "general" / "bbc-news" / "tech").glob("*.txt"))[:12]
    texts = [" ".join(p.read_text(encoding="latin-1").split()) for p in paths]
    words = texts[1].split()
    docs = [(f"s{i:02d}", t) for i, t in enumerate(texts)] + [
        ("x-exact", texts[0].upper()), ("x-near", " ".join(words[:-3] + ["and", "one", "more", "line"]))]
    curation = tmp_path / "curation"
    for k in range(2):
        _write(curation / "extract", f"part-{k:05d}.parquet",
               [{"id": i, "text": t, "source": "bbc"} for i, t in docs[k::2]])
    run_dedup(DedupConfig(num_partitions=2), curation / "extract", curation / "dedup", curation / "curated",
              show_progress=False)

    facts = collect(tmp_path)
    stages = [s["stage"] for s in facts.curation]
    assert "dedup_components" in stages and not any("_large_" in s or "_start" in s for s in stages)
    html = page.dedup(facts)
    # the exact copy with s00 and the near copy with s01: 4 documents in 2 clusters, one verified candidate pair
    for name, count in (("documents with an exact or near duplicate", 4), ("clusters", 2),
                        ("candidate pairs verified", 1)):
        assert f"<td>{name}</td><td>{count}</td>" in html, name
    assert "rounds to find the clusters" in html
