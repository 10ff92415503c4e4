"""Containment: a document goes when one document that outranks it holds most of its n-grams; its verdict does
not depend on the input order, on the partitioning, or on unrelated documents sharing common phrases."""
from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sciloom.curation.containment import BloomFilter, rank_keys, read_contained
from sciloom.curation.dedup import dedup_documents, run_dedup
from sciloom.curation.dedup_config import ContainmentConfig, DedupConfig
from sciloom.curation.minhash import ngram_sets
from sciloom.curation.normalize import normalized_words

CONFIG = ContainmentConfig(ngram=5, threshold=0.5, min_ngrams=5)
ONLY_CONTAINMENT = DedupConfig(exact=False, fuzzy=False, containment=CONFIG)


def _articles(shared_data, n: int, topic: str = "politics") -> list[str]:
    paths = sorted((shared_data / "general" / "bbc-news" / topic).glob("*.txt"))[:n]
    return [" ".join(p.read_text(encoding="latin-1").split()) for p in paths]


def _verdicts(docs: list[tuple[str, str]], config: DedupConfig = ONLY_CONTAINMENT) -> dict:
    return {v.id: v for v in dedup_documents(config, [d[0] for d in docs], [d[1] for d in docs])}


def _word_ngrams(text: str, n: int = CONFIG.ngram) -> set[tuple[str, ...]]:
    words = normalized_words(text)
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_excerpt_is_removed_into_its_source_in_every_order(shared_data) -> None:
    source, other = _articles(shared_data, 2)
    docs = [("source", source), ("other", other), ("excerpt", " ".join(source.split()[40:160]))]
    for order in itertools.permutations(docs):
        verdicts = _verdicts(list(order))
        assert [verdicts[i].reason for i in ("source", "other", "excerpt")] == [None, None, "contained"]
        assert verdicts["excerpt"].duplicate_of == "source"
        assert verdicts["excerpt"].containment == pytest.approx(1.0)


def test_of_two_identical_documents_the_same_one_goes_in_either_order(shared_data) -> None:
    """DCLM issue #71: a filter holding both copies removes both. Here exactly one goes, whichever comes first."""
    a, b = _articles(shared_data, 2)
    first = _verdicts([("p", a), ("q", a), ("r", b)])
    second = _verdicts([("r", b), ("q", a), ("p", a)])
    removed = [i for i in "pqr" if first[i].reason]
    assert len(removed) == 1 and removed[0] in "pq"
    assert {i: v.reason for i, v in first.items()} == {i: v.reason for i, v in second.items()}


def test_of_two_overlapping_documents_the_one_with_less_own_text_goes(shared_data) -> None:
    (source,) = _articles(shared_data, 1)
    words = source.split()
    for size in (30, len(words) * 3 // 4):
        excerpt = " ".join(words[:size])
        for docs in ([("excerpt", excerpt), ("source", source)], [("source", source), ("excerpt", excerpt)]):
            verdicts = _verdicts(docs)
            assert (verdicts["excerpt"].reason, verdicts["source"].reason) == ("contained", None)


def test_shared_text_counts_per_document_not_summed_over_documents(shared_data) -> None:
    """A patchwork of three articles shares a third with each: no one document holds most of it, so it stays
    (a union over all earlier text, the order-dependent definition, would call it 100% seen). Mostly one
    article with a little of another goes, into the one it copies."""
    a, b, c = _articles(shared_data, 3)
    even = " ".join(a.split()[:60] + b.split()[:60] + c.split()[:60])
    mostly_a = " ".join(a.split()[:150] + b.split()[200:240])
    verdicts = _verdicts([("a", a), ("b", b), ("c", c), ("even", even), ("mostly_a", mostly_a)])
    assert verdicts["even"].reason is None and 0.25 < verdicts["even"].containment < 0.4
    assert verdicts["mostly_a"].reason == "contained" and verdicts["mostly_a"].duplicate_of == "a"
    assert [verdicts[i].reason for i in "abc"] == [None, None, None]


def test_phrases_common_to_many_documents_are_not_evidence_of_copying(shared_data) -> None:
    """Six pages carrying the same long notice and 40 words of their own: the notice is most of each page. Held by
    six documents, it is evidence of copying when the cap allows six, and a common phrase when it does not."""
    notice = " ".join(_articles(shared_data, 1, "tech")[0].split()[:80])
    own = [" ".join(t.split()[:40]) for t in _articles(shared_data, 6, "sport")]
    docs = [(f"page{i}", f"{notice} {text}") for i, text in enumerate(own)]
    capped = DedupConfig(exact=False, fuzzy=False, containment=CONFIG.model_copy(update={"max_ngram_documents": 5}))
    assert sum(v.reason == "contained" for v in _verdicts(docs).values()) == 5
    assert all(v.reason is None and v.containment == 0.0 for v in _verdicts(docs, capped).values())


def _copies(shared_data, n_sources: int, n_copies: int, seed: int) -> list[tuple[str, str]]:
    """Real articles and copies of them: excerpts, excerpts padded with text of another article, patchworks."""
    articles = _articles(shared_data, n_sources, "business")
    rng = np.random.default_rng(seed)
    docs = [(f"src{i:03d}", t) for i, t in enumerate(articles)]
    for k in range(n_copies):
        base = articles[rng.integers(len(articles))].split()
        start = int(rng.integers(0, max(1, len(base) - 80)))
        pad = articles[rng.integers(len(articles))].split()
        at = int(rng.integers(0, max(1, len(pad) - 80)))
        docs.append((f"copy{k:03d}", " ".join(base[start:start + 80] + pad[at:at + int(rng.integers(0, 120))])))
    return docs


def test_verdicts_equal_a_python_reference_with_word_ngram_sets(shared_data) -> None:
    """The definition computed with Python sets of word tuples (no hashing, no shuffle): for each document, the
    largest share of its n-grams held by one outranking document, n-grams held by more than the cap left out."""
    docs = _copies(shared_data, 15, 40, seed=3)
    config = CONFIG.model_copy(update={"max_ngram_documents": 4})
    grams = [_word_ngrams(t) for _, t in docs]
    holders: dict[tuple, int] = {}
    for g in grams:
        for gram in g:
            holders[gram] = holders.get(gram, 0) + 1
    ranks = rank_keys(np.array([len(g) for g in grams]), np.full(len(docs), np.nan), [d[0] for d in docs])
    outranks = lambda e, d: (ranks[e], -e) > (ranks[d], -d)  # noqa: E731 - ties: the earlier row
    got = _verdicts(docs, DedupConfig(exact=False, fuzzy=False, containment=config))
    removed = 0
    for d, (doc_id, _) in enumerate(docs):
        counted = {gram for gram in grams[d] if holders[gram] <= config.max_ngram_documents}
        best = max(((len(counted & grams[e]), -e) for e in range(len(docs)) if e != d and outranks(e, d)),
                   default=(0, 0))
        fraction = best[0] / len(grams[d])
        assert got[doc_id].containment == pytest.approx(fraction, abs=1e-6), doc_id
        expected = fraction >= config.threshold and len(grams[d]) >= config.min_ngrams
        assert (got[doc_id].reason == "contained") == expected, doc_id
        if expected:
            removed += 1
            assert got[doc_id].duplicate_of is not None  # the document its text ends in (chains followed)
    assert 10 < removed < 40
    again = _verdicts(docs[::-1], DedupConfig(exact=False, fuzzy=False, containment=config))
    assert ({i: (v.reason, v.containment) for i, v in again.items()}
            == {i: (v.reason, v.containment) for i, v in got.items()})


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
    assert [v.reason for v in _verdicts([("a", text), ("b", text)]).values()] == [None, None]  # 2 n-grams < min_ngrams


def _write_parts(folder: Path, docs: list[tuple[str, str]], n_parts: int) -> None:
    folder.mkdir(parents=True)
    for k in range(n_parts):
        chunk = docs[k::n_parts]
        pq.write_table(pa.table({"id": [d[0] for d in chunk], "text": [d[1] for d in chunk],
                                 "url": pa.nulls(len(chunk), pa.string()), "source": ["test"] * len(chunk),
                                 "lang": ["en"] * len(chunk)}), folder / f"part-{k:05d}.parquet")


def _stage_verdicts(tmp_path: Path, name: str, docs, n_parts: int, partitions: int) -> dict:
    # one partition of the chains' rounds per move, up to `partitions`
    config = DedupConfig(exact=False, fuzzy=False, num_partitions=partitions, edges_per_partition=1,
                         containment=CONFIG)
    _write_parts(tmp_path / f"in-{name}", docs, n_parts)
    reports = run_dedup(config, tmp_path / f"in-{name}", tmp_path / f"work-{name}", tmp_path / f"out-{name}",
                        show_progress=False)
    rows = pq.read_table(tmp_path / f"_out-{name}" / "rejected").to_pylist() + \
        pq.read_table(tmp_path / f"out-{name}").to_pylist()
    verdict = next(r for r in reports if r.stage == "dedup_containment").steps[0]
    assert verdict.docs_in == len(docs)  # documents, each judged once
    return {r["id"]: (r.get("reject_reason"), r["duplicate_of"], round(r["containment"], 6)) for r in rows}


def test_ray_stages_decide_the_same_at_any_partitioning_and_part_order(ray_session, shared_data, tmp_path) -> None:
    docs = _copies(shared_data, 20, 30, seed=5)
    one = _stage_verdicts(tmp_path, "one", docs, n_parts=3, partitions=1)
    assert one == _stage_verdicts(tmp_path, "five", docs, n_parts=3, partitions=5)
    assert one == _stage_verdicts(tmp_path, "reversed", docs[::-1], n_parts=4, partitions=3)
    memory = _verdicts(docs)
    assert one == {i: (f"dedup:{v.reason}" if v.reason else None, v.duplicate_of, round(v.containment, 6))
                   for i, v in memory.items()}
    assert 5 < sum(r is not None for r, _, _ in one.values()) < 30
    # chains were followed: some containers are contained in turn (their documents end further on)
    verdicts = pa.concat_tables([pq.read_table(f) for f in sorted((tmp_path / "work-one" / "containment").glob("*.parquet"))])
    contained = [v for v in verdicts.to_pylist() if v["contained"]]
    assert {v["id"] for v in contained} & {v["duplicate_of"] for v in contained}
    # each partition's pair file holds only its hash range's pairs; each part's verdicts only its documents
    files = sorted((tmp_path / "work-five" / "containment").glob("part-*.parquet"))
    assert sum(pq.read_table(f).num_rows for f in files) == len(docs)


def test_each_part_reads_the_contained_documents_its_removals_follow(ray_session, shared_data, tmp_path) -> None:
    # part 0: a source; part 1: most of it with sentences of its own (contained); part 2: an exact copy of the
    # excerpt, removed into the excerpt's cluster. The copy must follow the excerpt to the source, though part 2
    # holds no contained document.
    source, other = _articles(shared_data, 2)
    excerpt = " ".join(source.split()[20:170] + other.split()[:40])
    docs = [("s", source), ("e1", excerpt), ("e2", excerpt)]
    _write_parts(tmp_path / "in", docs, n_parts=3)
    config = DedupConfig(num_partitions=2, containment=CONFIG)
    reports = run_dedup(config, tmp_path / "in", tmp_path / "work", tmp_path / "out", show_progress=False)
    rejected = pq.read_table(tmp_path / "_out" / "rejected").to_pylist()
    got = {r["id"]: (r["reject_reason"], r["duplicate_of"]) for r in rejected}
    assert got == {"e1": ("dedup:contained", "s"), "e2": ("dedup:exact_duplicate", "s")}
    memory = {v.id: (f"dedup:{v.reason}" if v.reason else None, v.duplicate_of)
              for v in dedup_documents(config, [d[0] for d in docs], [d[1] for d in docs])}
    assert memory == {"s": (None, None), **got}
    # where each removed document's text ends is split by part: each filter task reads only its own documents',
    # the exact copy's through the excerpt it duplicates (a chain over two parts), the source's part nothing
    # (two moves: the chains take one partition of the rounds)
    batches = [read_contained(tmp_path / "work" / "contained_by_part", 1, k).to_pylist() for k in range(3)]
    assert batches[0] == []
    assert batches[1:] == [[{"id": "e1", "final": "s"}], [{"id": "e2", "final": "s"}]]
    # without fuzzy dedup the exact step's own moves carry the copy along
    exact_only = config.model_copy(update={"fuzzy": False})
    run_dedup(exact_only, tmp_path / "in", tmp_path / "work-exact", tmp_path / "out-exact", show_progress=False)
    rejected = pq.read_table(tmp_path / "_out-exact" / "rejected").to_pylist()
    assert {r["id"]: (r["reject_reason"], r["duplicate_of"]) for r in rejected} == got
    # the index of this run's kept text holds the source's n-grams, not the excerpt's own sentences
    index = next(r for r in reports if r.stage == "dedup_containment_index")
    assert sum(step.notes["kept_ngrams"] for step in index.steps) == ngram_sets([source], CONFIG.ngram)[0].size


def test_a_later_run_drops_a_copy_of_an_earlier_runs_kept_document(ray_session, shared_data, tmp_path: Path) -> None:
    articles = _articles(shared_data, 8)
    _write_parts(tmp_path / "in1", [(f"old{i}", t) for i, t in enumerate(articles[:5])], 1)
    first = DedupConfig(num_partitions=2)
    run_dedup(first, tmp_path / "in1", tmp_path / "work1", tmp_path / "out1", show_progress=False)
    assert pq.read_table(tmp_path / "out1" / "part-00000.parquet").num_rows == 5  # run 1 keeps the source
    index = tmp_path / "work1" / "containment_index"
    run_dedup(first, tmp_path / "in1", tmp_path / "work1b", tmp_path / "out1b", show_progress=False)
    assert (tmp_path / "work1b" / "containment_index" / "meta.json").read_text() == (index / "meta.json").read_text()

    # a near copy: most of article 2 with sentences of its own (not a MinHash near-duplicate: Jaccard < 0.8)
    source = articles[2].split()
    copy = " ".join(source[20:170] + articles[7].split()[:60])
    new_docs = [("new-copy", copy), ("new-a", articles[5]), ("new-b", articles[6])]
    _write_parts(tmp_path / "in2", new_docs, 1)
    for partitions in (1, 3):  # the earlier index has 2 hash ranges: each partition reads those it overlaps
        second = DedupConfig(num_partitions=partitions, containment={"reference_indexes": [index]})
        run_dedup(second, tmp_path / "in2", tmp_path / f"work2-{partitions}", tmp_path / f"out2-{partitions}",
                  show_progress=False)
        rejected = pq.read_table(tmp_path / f"_out2-{partitions}" / "rejected" / "part-00000.parquet").to_pylist()
        assert [(r["id"], r["reject_reason"]) for r in rejected] == [("new-copy", "dedup:contained")]
        grams = _word_ngrams(copy)
        exact_fraction = len(grams & _word_ngrams(articles[2])) / len(grams)
        assert rejected[0]["containment"] == pytest.approx(exact_fraction, abs=0.02)
        assert sorted(pq.read_table(tmp_path / f"out2-{partitions}").column("id").to_pylist()) == ["new-a", "new-b"]
    assert exact_fraction > 0.6 > DedupConfig().containment.threshold
    # without the earlier index the copy is new text; the in-memory filter reads the index the same way
    ids, texts = [d[0] for d in new_docs], [d[1] for d in new_docs]
    assert [v.reason for v in dedup_documents(first, ids, texts)] == [None, None, None]
    assert [v.reason for v in dedup_documents(second, ids, texts)] == ["contained", None, None]

    with pytest.raises(ValueError, match=r"reference_indexes\[0\].*built with.*'ngram': 5.*this run uses.*'ngram': 4"):
        run_dedup(DedupConfig(containment={"ngram": 4, "reference_indexes": [index]}), tmp_path / "in2",
                  tmp_path / "work3", tmp_path / "out3", show_progress=False)
    damaged = tmp_path / "damaged"
    shutil.copytree(index, damaged)
    for bits in damaged.glob("bloom-*.bin"):
        bits.write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match=r"reference_indexes\[0\].*does not match the checksum"):
        dedup_documents(DedupConfig(containment={"reference_indexes": [damaged]}), ids, texts)
    with pytest.raises(ValueError, match="reference_indexes needs enabled"):
        DedupConfig(containment={"enabled": False, "reference_indexes": [index]})
