"""Containment: a copy is judged only against kept, earlier text; its original is always kept."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sciloom.curation.containment import BloomFilter, containment_fractions
from sciloom.curation.minhash import ngram_sets
from sciloom.curation.dedup import dedup_documents, run_dedup
from sciloom.curation.dedup_config import ContainmentConfig, DedupConfig
from sciloom.curation.normalize import normalized_words

CONFIG = ContainmentConfig(ngram=5, threshold=0.5, min_ngrams=5)
ONLY_CONTAINMENT = DedupConfig(exact=False, fuzzy=False, containment=CONFIG)


def _articles(shared_data, n: int) -> list[str]:
    paths = sorted((shared_data / "general" / "bbc-news" / "politics").glob("*.txt"))[:n]
    return [" ".join(p.read_text(encoding="latin-1").split()) for p in paths]


def _judge(texts: list[str], config: ContainmentConfig = CONFIG) -> tuple[np.ndarray, np.ndarray]:
    grams = ngram_sets(texts, config.ngram)
    return containment_fractions(grams, config, BloomFilter.sized(sum(g.size for g in grams), config.bloom_false_positive_rate))


def test_excerpt_after_its_source_is_removed_and_the_source_kept(shared_data) -> None:
    source, other = _articles(shared_data, 2)
    excerpt = " ".join(source.split()[40:160])
    fractions, contained = _judge([source, other, excerpt])
    assert contained.tolist() == [False, False, True]
    assert fractions[2] == pytest.approx(1.0)


def test_identical_pair_loses_exactly_the_later_copy_in_either_order(shared_data) -> None:
    """DCLM issue #71: a filter holding both copies removes both. Here only the later one goes."""
    a, b = _articles(shared_data, 2)
    for order in ([a, b, a], [b, a, a]):
        _, contained = _judge(order)
        assert contained.tolist() == [False, False, True]


def test_source_after_its_excerpt_is_judged_by_the_fraction_it_repeats(shared_data) -> None:
    (source,) = _articles(shared_data, 1)
    words = source.split()
    small, large = " ".join(words[:30]), " ".join(words[:len(words) * 3 // 4])
    for excerpt, source_removed in ((small, False), (large, True)):
        fractions, contained = _judge([excerpt, source])
        assert contained.tolist() == [False, source_removed]
        # Either way exactly one copy of the repeated text survives: the excerpt is never removed.
        assert 0.0 < fractions[1] < 1.0


def test_patchwork_of_two_kept_documents_is_removed_and_both_sources_kept(shared_data) -> None:
    a, b = _articles(shared_data, 2)
    patchwork = " ".join(a.split()[:100] + b.split()[:100])
    _, contained = _judge([a, b, patchwork])
    assert contained.tolist() == [False, False, True]


def test_removed_documents_are_only_judged_against_kept_earlier_text(shared_data) -> None:
    """Exact reference with Python sets: a removed document's n-grams are found in *kept, earlier*
    documents; text that only a removed document brought never counts."""
    articles = _articles(shared_data, 12)
    rng = np.random.default_rng(3)
    texts = list(articles)
    for _ in range(20):  # copies of copies: excerpts of any earlier text, some padded with fresh words
        base = texts[rng.integers(len(texts))].split()
        start = int(rng.integers(0, max(1, len(base) - 60)))
        pad = [f"fresh{rng.integers(10**6)}" for _ in range(int(rng.integers(0, 60)))]
        texts.append(" ".join(base[start:start + 80] + pad))
    verdicts = dedup_documents(ONLY_CONTAINMENT, [f"d{i:03d}" for i in range(len(texts))], texts)
    seen: set[int] = set()
    removed = 0
    for text, verdict in zip(texts, verdicts):
        grams = set(ngram_sets([text], CONFIG.ngram)[0].tolist())
        exact_fraction = len(grams & seen) / len(grams)
        assert verdict.containment == pytest.approx(exact_fraction, abs=0.02)
        assert (verdict.reason == "contained") == (exact_fraction >= CONFIG.threshold and len(grams) >= CONFIG.min_ngrams)
        if verdict.reason is None:
            seen |= grams
        removed += verdict.reason == "contained"
    assert 0 < removed < 20
    assert all(v.reason is None for v in verdicts[:12])  # distinct originals all kept


def test_result_depends_only_on_the_order(shared_data) -> None:
    texts = _articles(shared_data, 5)
    texts += [" ".join(t.split()[10:90]) for t in texts]
    first = _judge(texts)
    again = _judge(list(texts))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_bloom_filter_has_no_false_negatives_and_about_its_false_positive_rate() -> None:
    rng = np.random.default_rng(0)
    members = rng.integers(0, 2**63, 20_000, dtype=np.int64).astype(np.uint64)
    others = rng.integers(0, 2**63, 200_000, dtype=np.int64).astype(np.uint64) | np.uint64(1 << 63)
    bloom = BloomFilter.sized(len(members), 1e-3)
    assert not bloom.contains(members).any()
    bloom.add(members)
    assert bloom.contains(members).all()
    assert bloom.contains(others).mean() < 3e-3


def test_short_documents_are_never_judged() -> None:
    text = "one two three four five six"
    _, contained = _judge([text, text])
    assert contained.tolist() == [False, False]  # 2 n-grams < min_ngrams


def test_batched_pass_equals_one_document_at_a_time(shared_data) -> None:
    texts = _articles(shared_data, 8)
    texts += [" ".join(t.split()[i:i + 70]) for t in texts for i in (0, 50)]  # copies inside one batch
    grams = ngram_sets(texts, CONFIG.ngram)
    expected = containment_fractions(grams, CONFIG, BloomFilter.sized(10_000, 1e-6), batch_docs=1)
    for batch_docs in (3, 7, 1024):
        got = containment_fractions(grams, CONFIG, BloomFilter.sized(10_000, 1e-6), batch_docs=batch_docs)
        np.testing.assert_array_equal(got[1], expected[1])
        np.testing.assert_allclose(got[0], expected[0], atol=1e-6)
    assert expected[1].sum() >= 8


def _write_part(folder: Path, docs: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [d[0] for d in docs], "text": [d[1] for d in docs],
                             "url": pa.nulls(len(docs), pa.string()), "source": ["test"] * len(docs),
                             "lang": ["en"] * len(docs)}), folder / "part-00000.parquet")


def test_a_later_run_drops_a_copy_of_an_earlier_runs_kept_document(ray_session, shared_data, tmp_path: Path) -> None:
    articles = _articles(shared_data, 8)
    _write_part(tmp_path / "in1", [(f"old{i}", t) for i, t in enumerate(articles[:5])])
    first = DedupConfig(num_partitions=1)
    run_dedup(first, tmp_path / "in1", tmp_path / "work1", tmp_path / "out1", show_progress=False)
    assert pq.read_table(tmp_path / "out1" / "part-00000.parquet").num_rows == 5  # run 1 keeps the source
    index = tmp_path / "work1" / "containment" / "index"
    run_dedup(first, tmp_path / "in1", tmp_path / "work1b", tmp_path / "out1b", show_progress=False)
    assert (tmp_path / "work1b" / "containment" / "index" / "meta.json").read_text() == (index / "meta.json").read_text()

    # a near copy: most of article 2 with sentences of its own (not a MinHash near-duplicate: Jaccard < 0.8)
    source = articles[2].split()
    copy = " ".join(source[20:170] + articles[7].split()[:60])
    new_docs = [("new-copy", copy), ("new-a", articles[5]), ("new-b", articles[6])]
    _write_part(tmp_path / "in2", new_docs)
    second = DedupConfig(num_partitions=1, containment={"reference_indexes": [index]})
    run_dedup(second, tmp_path / "in2", tmp_path / "work2", tmp_path / "out2", show_progress=False)
    rejected = pq.read_table(tmp_path / "_out2" / "rejected" / "part-00000.parquet").to_pylist()
    assert [(r["id"], r["reject_reason"]) for r in rejected] == [("new-copy", "dedup:contained")]
    grams = {tuple(g) for g in _word_ngrams(copy)}
    exact_fraction = len(grams & {tuple(g) for g in _word_ngrams(articles[2])}) / len(grams)
    assert rejected[0]["containment"] == pytest.approx(exact_fraction, abs=0.02)
    assert exact_fraction > 0.6 > DedupConfig().containment.threshold
    assert sorted(pq.read_table(tmp_path / "out2" / "part-00000.parquet").column("id").to_pylist()) == ["new-a", "new-b"]
    # without the earlier index the copy is new text; the in-memory filter reads the index the same way
    ids, texts = [d[0] for d in new_docs], [d[1] for d in new_docs]
    assert [v.reason for v in dedup_documents(first, ids, texts)] == [None, None, None]
    assert [v.reason for v in dedup_documents(second, ids, texts)] == ["contained", None, None]

    with pytest.raises(ValueError, match=r"reference_indexes\[0\].*built with.*'ngram': 5.*this run uses.*'ngram': 4"):
        run_dedup(DedupConfig(containment={"ngram": 4, "reference_indexes": [index]}), tmp_path / "in2",
                  tmp_path / "work3", tmp_path / "out3", show_progress=False)
    damaged = tmp_path / "damaged"
    shutil.copytree(index, damaged)
    (damaged / "bloom.bin").write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match=r"reference_indexes\[0\].*does not match the checksum"):
        dedup_documents(DedupConfig(containment={"reference_indexes": [damaged]}), ids, texts)
    with pytest.raises(ValueError, match="reference_indexes needs enabled"):
        DedupConfig(containment={"enabled": False, "reference_indexes": [index]})


def _word_ngrams(text: str) -> list[list[str]]:
    words = normalized_words(text)
    return [words[i:i + CONFIG.ngram] for i in range(len(words) - CONFIG.ngram + 1)]
