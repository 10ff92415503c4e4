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
