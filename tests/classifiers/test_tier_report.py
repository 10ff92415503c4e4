"""The tier report merged from per-part Ray tasks, against the same numbers computed from every row at once."""
from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.tier_report import tier_report
from sciloom.classifiers.tiers import TIERS


def _write_labelled(folder, parts: int, per_part: int, disciplines: tuple[str, ...]) -> list[dict]:
    folder.mkdir()
    rng = np.random.default_rng(3)
    every = []
    for p in range(parts):
        rows = [{"id": f"doc-{p}-{i}", "text": f"text of document {p}-{i}",
                 "discipline": str(rng.choice(disciplines[:-2])),  # two disciplines with no document at all
                 "science_score": float(rng.random()), "quality_score": float(rng.random()),
                 "quality_tier": str(rng.choice(TIERS, p=[0.2, 0.5, 0.3]))} for i in range(per_part)]
        pq.write_table(pa.Table.from_pylist(rows), folder / f"part-{p:04d}.parquet", row_group_size=7)
        every += rows
    return every


def test_merged_counts_and_examples_match_one_pass_over_every_row(tmp_path, ray_session):
    config = ClassifiersConfig(examples_per_tier=4)
    disciplines = config.taxonomy.disciplines
    rows = _write_labelled(tmp_path / "labelled", parts=5, per_part=40, disciplines=disciplines)

    report = tier_report(tmp_path / "labelled", config)

    counts = Counter((r["discipline"], r["quality_tier"]) for r in rows)
    assert report["documents"] == len(rows)
    for tier in TIERS:
        overall = sum(n for (_, t), n in counts.items() if t == tier)
        assert report["tiers"][tier] == {"count": overall, "share": round(overall / len(rows), 4)}
    for discipline in disciplines:
        entry = report["per_discipline"][discipline]
        assert entry["documents"] == sum(counts[discipline, t] for t in TIERS)
        assert [entry[t]["count"] for t in TIERS] == [counts[discipline, t] for t in TIERS]
    assert report["per_discipline"][disciplines[-1]] == {"documents": 0, **{t: {"count": 0, "share": 0.0} for t in TIERS}}
    # Each tier's examples: its documents with the smallest id hashes over the whole folder, their own labels and text.
    for tier in TIERS:
        smallest = sorted((r for r in rows if r["quality_tier"] == tier),
                          key=lambda r: hashlib.blake2b(r["id"].encode(), digest_size=8).digest())[:4]
        assert report["examples"][tier] == [
            {"id": r["id"], "discipline": r["discipline"], "science_score": round(r["science_score"], 3),
             "quality_score": round(r["quality_score"], 3), "text": r["text"]} for r in smallest]
