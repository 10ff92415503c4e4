"""LSH candidate pairs are checked against the threshold before union-find (datasketch as the reference)."""
from __future__ import annotations

import json

import datasketch
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from sciloom.curation.dedup import dedup_documents, run_dedup
from sciloom.curation.dedup_config import ContainmentConfig, DedupConfig
from sciloom.curation.lsh import band_keys, shared_buckets, verified_pairs
from sciloom.curation.shuffle import read_partition
from sciloom.curation.minhash import MinHasher, word_shingles

# threshold 0.5 uses 25 bands of 5 rows: documents with Jaccard ~0.4 often share a band
CONFIG = DedupConfig(threshold=0.5, exact=False, containment=ContainmentConfig(enabled=False))


def test_each_bucket_is_covered_by_centres() -> None:
    """Bucket {0,1,2,3} (in every band): 0~1 and 2~3 agree, the two groups do not."""
    base_P = np.arange(10, dtype=np.uint32)
    sig_NP = np.stack([base_P, np.r_[base_P[:8], 90, 91], np.r_[base_P[:2], np.arange(50, 58)],
                       np.r_[base_P[:2], np.arange(50, 57), 99]]).astype(np.uint32)
    buckets = shared_buckets(np.zeros(4, np.uint16), np.full(4, 7, np.uint64), np.array([3, 1, 0, 2]))
    u, v, ok, unverified = verified_pairs(buckets, buckets.node, sig_NP, threshold=0.5, max_centres=64)
    assert unverified == 0
    # centre 0: 1 passes (0.8), 2 and 3 fail (0.2); centre 2 (smallest unmatched) checks 1 and 3
    assert list(zip(u.tolist(), v.tolist(), ok.tolist())) == [
        (0, 1, True), (0, 2, False), (0, 3, False), (1, 2, False), (2, 3, True)]
    one_member = shared_buckets(np.array([0, 1]), np.array([7, 7], np.uint64), np.array([0, 1]))
    assert one_member.node.size == 0


def test_a_bucket_of_dissimilar_collisions_is_verified_in_bounded_rounds() -> None:
    """200 documents share one band key but no other slot: each round makes one centre that matches nobody."""
    k, rounds = 200, 8
    sig_NP = (np.arange(k * 10, dtype=np.uint32).reshape(k, 10) + 1000)
    sig_NP[:, 0] = 7
    buckets = shared_buckets(np.zeros(k, np.uint16), np.full(k, 7, np.uint64), np.arange(k))
    u, v, ok, unverified = verified_pairs(buckets, buckets.node, sig_NP, threshold=0.5, max_centres=rounds)
    assert not ok.any()
    assert unverified == k - rounds  # the members never made centres nor matched
    assert len(u) == sum(k - 1 - r for r in range(rounds))  # each round: its centre against every other pending
    assert set(u.tolist()) == set(range(rounds))
    _, _, _, none_left = verified_pairs(buckets, buckets.node, sig_NP, threshold=0.5, max_centres=k)
    assert none_left == 0


def _overlapping_windows(shared_data) -> list[str]:
    """Windows of 150 words every 60 words over real articles (neighbours: Jaccard ~0.4, below 0.5),
    plus a near copy of one window (Jaccard ~0.95)."""
    paths = sorted((shared_data / "general" / "bbc-news" / "tech").glob("*.txt"))[:10]
    texts = []
    for path in paths:
        words = path.read_text(encoding="latin-1").split()
        texts += [" ".join(words[i * 60:i * 60 + 150]) for i in range(4)]
    texts.append(texts[5].replace(" the ", " a ", 2))
    return texts


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == label).tolist()) for label in np.unique(labels)}


def _exact_jaccard(a: str, b: str) -> float:
    x, y = set(word_shingles(a, CONFIG.ngram)), set(word_shingles(b, CONFIG.ngram))
    return len(x & y) / len(x | y)


def test_clusters_equal_datasketch_lsh_candidates_checked_with_its_jaccard(shared_data) -> None:
    texts = _overlapping_windows(shared_data)
    n = len(texts)
    sig_NP = MinHasher(CONFIG.num_perm, CONFIG.seed, CONFIG.ngram).signatures(texts)
    sketches = [datasketch.LeanMinHash(seed=CONFIG.seed, hashvalues=row, scheme="affine32") for row in sig_NP]
    index = datasketch.MinHashLSH(threshold=CONFIG.threshold, num_perm=CONFIG.num_perm)
    for i, sketch in enumerate(sketches):
        index.insert(i, sketch)
    candidates = {(min(i, j), max(i, j)) for i in range(n) for j in index.query(sketches[i]) if i != j}
    reference = {pair for pair in candidates if sketches[pair[0]].jaccard(sketches[pair[1]]) >= CONFIG.threshold}
    rejected = candidates - reference
    assert len(rejected) >= 3 and len(reference) >= 1  # the corpus really has false candidates

    keys_NB = band_keys(sig_NP, CONFIG.lsh.bands, CONFIG.lsh.rows)
    buckets = shared_buckets(np.tile(np.arange(CONFIG.lsh.bands), n), keys_NB.reshape(-1),
                             np.repeat(np.arange(n), CONFIG.lsh.bands))
    u, v, ok, _ = verified_pairs(buckets, buckets.node, sig_NP, CONFIG.threshold, CONFIG.max_centres_per_bucket)
    compared = dict(zip(zip(u.tolist(), v.tolist()), ok.tolist()))
    assert set(compared) <= candidates
    assert {pair for pair, good in compared.items() if good} <= reference
    assert {pair for pair, good in compared.items() if not good} <= rejected

    def components(pairs: set[tuple[int, int]]) -> set[frozenset[int]]:
        rows, cols = zip(*pairs) if pairs else ((), ())
        return _partition(scipy_components(coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)))[1])

    verdicts = dedup_documents(CONFIG, [f"d{i:02d}" for i in range(n)], texts)
    ours = _partition(np.array([int(v.cluster[1:]) for v in verdicts]))
    assert ours == components(reference)
    assert ours != components(candidates)  # without the check, false candidates merge clusters
    assert max(len(c) for c in components(candidates)) > max(len(c) for c in ours)
    for a, b in reference:  # the signature estimate against exact shingle Jaccard (128 slots: sd <= 0.045)
        assert _exact_jaccard(texts[a], texts[b]) > CONFIG.threshold - 0.15
    for a, b in rejected:
        assert _exact_jaccard(texts[a], texts[b]) < CONFIG.threshold + 0.15


@pytest.mark.parametrize("partitions", [1, 2, 5])
def test_ray_stages_count_rejected_pairs_and_match_the_in_memory_decisions(ray_session, shared_data, tmp_path,
                                                                           partitions: int) -> None:
    """Overlapping windows chain into components that span partitions (one edge per partition of the rounds, up to
    `partitions`); one partition finds them in one task."""
    texts = _overlapping_windows(shared_data)
    ids = [f"d{i:02d}" for i in range(len(texts))]
    parts = [list(range(k, len(texts), 3)) for k in range(3)]
    (tmp_path / "in").mkdir()
    for k, rows in enumerate(parts):
        pq.write_table(pa.table({"id": [ids[i] for i in rows], "text": [texts[i] for i in rows],
                                 "url": pa.nulls(len(rows), pa.string()), "source": ["test"] * len(rows),
                                 "lang": ["en"] * len(rows)}), tmp_path / "in" / f"part-{k:05d}.parquet")
    config = CONFIG.model_copy(update={"num_partitions": partitions, "edges_per_partition": 1})
    reports = run_dedup(config, tmp_path / "in", tmp_path / "work", tmp_path / "curated", show_progress=False)
    rejected = pq.read_table(tmp_path / "_curated" / "rejected" / "part-00000.parquet")
    for k in (1, 2):
        rejected = pa.concat_tables([rejected, pq.read_table(tmp_path / "_curated" / "rejected" / f"part-{k:05d}.parquet")])
    got = dict(zip(rejected.column("id").to_pylist(), rejected.column("dedup_cluster").to_pylist()))
    expected = {i: v.cluster for i, v in zip(ids, dedup_documents(config, ids, texts)) if v.reason}
    assert got == expected and got

    steps = {s["name"]: s for s in json.loads((tmp_path / "work" / "_components" / "stats.json").read_text())["steps"]}
    fuzzy = steps["fuzzy_pairs"]["notes"]
    # every pair check of every partition, copies of one pair included
    names = [f"{k:05d}" for k in range(partitions)]
    edges = pa.concat_tables([read_partition(tmp_path / "work" / "lsh_pairs", names, k) for k in range(partitions)])
    distinct = set(zip(edges.column("u").to_pylist(), edges.column("v").to_pylist(), edges.column("verified").to_pylist()))
    assert fuzzy["candidate_pairs_rejected"] == sum(not ok for *_, ok in distinct) >= 3
    assert fuzzy["candidate_pairs_verified"] == sum(ok for *_, ok in distinct) >= 1
    # The documents of the verified pairs, and no other, got a component; each component keeps one of them.
    components = next(r for r in reports if r.stage == "dedup_components")
    labels = next(s for s in components.steps if s.name == "components_labels").notes
    in_pairs = {node for u, v, ok in distinct if ok for node in (u, v)}
    assert labels["nodes"] == len(in_pairs)
    assert labels["components"] == len(in_pairs) - len(got)
