"""The judge's sample of a curated folder: the documents with the smallest seeded id hashes."""
from __future__ import annotations

import hashlib

from label_corpus import make_documents, write_curated

from sciloom.classifiers.judge_stage import sampled_records


def _reference(docs: list[dict], size: int, seed: int) -> list[str]:
    """The sample by its definition, from every document at once (the sampler sees one id at a time)."""
    digest = {d["id"]: hashlib.blake2b(f"{seed}\x00{d['id']}".encode(), digest_size=8).digest() for d in docs}
    return sorted(digest, key=digest.get)[:size]


def test_the_sample_is_the_smallest_seeded_hashes_with_their_texts(tmp_path, ray_session):
    docs = make_documents(10, seed=4, with_boilerplate=10)  # 90 documents over 3 parts
    write_curated(tmp_path / "curated", docs, parts=3)
    text_of = {d["id"]: d["text"] for d in docs}
    for size, seed in [(7, 0), (7, 1), (30, 5), (90, 2), (500, 3)]:
        sample = list(sampled_records(tmp_path / "curated", size, seed))
        assert sorted(r["id"] for r in sample) == sorted(_reference(docs, size, seed))
        assert all(r["text"] == text_of[r["id"]] for r in sample)
        # in part and row order, as a stream of the folder would give them
        order = {d["id"]: (i % 3, i // 3) for i, d in enumerate(docs)}
        assert [r["id"] for r in sample] == sorted((r["id"] for r in sample), key=order.get)
    assert {r["id"] for r in sampled_records(tmp_path / "curated", 7, 0)} != \
        {r["id"] for r in sampled_records(tmp_path / "curated", 7, 1)}
