"""A small labelled corpus in the classifiers' output format, with text that differs by discipline."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

WORDS = {
    "general": "the match film market election minister weather holiday city music team season".split(),
    "physics": "quantum field energy particle momentum photon spin lattice gravity plasma".split(),
    "mathematics": "theorem lemma proof integral manifold group ring prime matrix topology".split(),
}
SOURCES = {"general": ["web", "news"], "physics": ["arxiv", "web"], "mathematics": ["arxiv", "web"]}
TIERS = ["high", "medium", "low"]


def write_labelled_corpus(folder: Path, parts: int = 3, docs_per_part: int = 60, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    every = []
    for p in range(parts):
        rows = []
        for i in range(docs_per_part):
            discipline = list(WORDS)[i % 3]
            words = rng.choice(WORDS[discipline], size=int(rng.integers(20, 120)))
            rows.append({"id": f"doc-{p}-{i}", "text": " ".join(words) + ".", "url": None,
                         "source": SOURCES[discipline][int(rng.integers(0, 2))], "lang": "en",
                         "discipline": discipline, "quality_tier": TIERS[int(rng.integers(0, 3))],
                         "quality_score": float(rng.random())})
        rows.append({"id": f"empty-{p}", "text": "", "url": None, "source": "web", "lang": "en",
                     "discipline": "general", "quality_tier": "high", "quality_score": 0.5})
        pq.write_table(pa.Table.from_pylist(rows), folder / f"part-{p:05d}.parquet")
        every += rows
    return every
