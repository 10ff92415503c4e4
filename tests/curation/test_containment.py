"""Containment: a copy is judged only against kept, earlier text; its original is always kept."""
from __future__ import annotations

import numpy as np
import pytest

from curation.containment import BloomFilter, containment_fractions
from curation.minhash import ngram_sets
from curation.dedup import dedup_documents
from curation.dedup_config import ContainmentConfig, DedupConfig

CONFIG = ContainmentConfig(ngram=5, threshold=0.5, min_ngrams=5)
ONLY_CONTAINMENT = DedupConfig(exact=False, fuzzy=False, containment=CONFIG)


def _articles(shared_data, n: int) -> list[str]:
    paths = sorted((shared_data / "general" / "bbc-news" / "politics").glob("*.txt"))[:n]
    return [" ".join(p.read_text(encoding="latin-1").split()) for p in paths]


def _judge(texts: list[str], config: ContainmentConfig = CONFIG) -> tuple[np.ndarray, np.ndarray]:
    grams = ngram_sets(texts, config.ngram)
    return containment_fractions(grams, config, BloomFilter(sum(g.size for g in grams), config.bloom_false_positive_rate))


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
    bloom = BloomFilter(len(members), 1e-3)
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
    expected = containment_fractions(grams, CONFIG, BloomFilter(10_000, 1e-6), batch_docs=1)
    for batch_docs in (3, 7, 1024):
        got = containment_fractions(grams, CONFIG, BloomFilter(10_000, 1e-6), batch_docs=batch_docs)
        np.testing.assert_array_equal(got[1], expected[1])
        np.testing.assert_allclose(got[0], expected[0], atol=1e-6)
    assert expected[1].sum() >= 8
