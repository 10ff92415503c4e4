"""Components, representative choice, and run_dedup end to end on real Ray (resume, earlier-run index)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciloom.curation.components import connected_components, representatives
from sciloom.curation.exact_dedup import id_ranks
from sciloom.curation.dedup import dedup_documents, run_dedup
from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.normalize import exact_hashes
from sciloom.curation.shuffle import read_partition


def _reference_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Smallest node of each node's component, by depth-first search."""
    adjacent: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in edges:
        adjacent[a].add(b)
        adjacent[b].add(a)
    label = [-1] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        stack, members = [start], []
        label[start] = start
        while stack:
            node = stack.pop()
            members.append(node)
            for nxt in adjacent[node]:
                if label[nxt] < 0:
                    label[nxt] = start
                    stack.append(nxt)
    return label


def test_components_small_exact_cases() -> None:
    assert connected_components(3, np.array([]), np.array([])).tolist() == [0, 1, 2]
    # a chain given from its far end, a self loop, and an isolated node
    assert connected_components(6, np.array([5, 4, 3, 2]), np.array([4, 3, 2, 2])).tolist() == [0, 1, 2, 2, 2, 2]
    assert connected_components(5, np.array([4, 0]), np.array([1, 3])).tolist() == [0, 1, 2, 0, 1]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))))
def test_components_equal_depth_first_search(graph: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = graph
    u = np.array([a for a, _ in edges], dtype=np.int64)
    v = np.array([b for _, b in edges], dtype=np.int64)
    assert connected_components(n, u, v).tolist() == _reference_components(n, edges)


def test_representative_is_earlier_run_then_best_quality_then_smallest_id() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2, 2])
    ids = np.array(["c", "a", "b", "y", "x", "m", "n"])
    quality = np.array([0.9, np.nan, 0.9, np.nan, np.nan, 0.99, 0.1])
    preferred = np.array([False, False, False, False, False, False, True])
    assert representatives(labels, ids, quality, preferred).tolist() == [2, 2, 2, 4, 4, 6, 6]


def _corpus(shared_data) -> list[tuple[str, str]]:
    """Real articles, plus an exact copy (case and punctuation changed), a near copy and an excerpt."""
    paths = sorted((shared_data / "general" / "bbc-news" / "sport").glob("*.txt"))[:45]
    raw = [" ".join(p.read_text(encoding="latin-1").split()) for p in paths]
    by_hash = dict(zip(exact_hashes(raw), raw))
    texts = list(by_hash.values())[:39]  # the BBC set has a few real duplicates: leave them out
    docs = [(f"s{i:03d}", t) for i, t in enumerate(texts)]
    words = texts[1].split()
    docs += [("x-exact", texts[0].upper().replace(".", " !")),
             ("x-near", " ".join(words[:-3] + ["and", "one", "more", "line"])),
             ("x-excerpt", " ".join(texts[3].split()[20:140]))]  # row 41: part 2, after s003 (part 0)
    return docs


def _write_parts(folder: Path, docs: list[tuple[str, str]], n_parts: int, quality: list[float] | None = None) -> None:
    folder.mkdir(parents=True)
    for k in range(n_parts):
        rows = list(range(k, len(docs), n_parts))
        columns = {"id": [docs[i][0] for i in rows], "text": [docs[i][1] for i in rows],
                   "url": [None] * len(rows), "source": ["test"] * len(rows), "lang": ["en"] * len(rows)}
        if quality is not None:
            columns["quality_score"] = pa.array([quality[i] for i in rows], pa.float32())
        pq.write_table(pa.table(columns), folder / f"part-{k:05d}.parquet")


def _read(folder: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))])


def _ordered(docs: list[tuple[str, str]], n_parts: int) -> list[tuple[str, str]]:
    """The documents in run_dedup's order (parts by name, rows in file order): equal ids keep the earlier row."""
    return [docs[i] for k in range(n_parts) for i in range(k, len(docs), n_parts)]


def test_run_dedup_end_to_end_resumes_and_matches_in_memory(ray_session, shared_data, tmp_path: Path) -> None:
    docs = _corpus(shared_data)
    _write_parts(tmp_path / "in", docs, n_parts=3)
    config = DedupConfig(num_partitions=3)
    reports = run_dedup(config, tmp_path / "in", tmp_path / "work", tmp_path / "curated", show_progress=False)
    kept, rejected = _read(tmp_path / "curated"), _read(tmp_path / "_curated" / "rejected")
    reasons = dict(zip(rejected.column("id").to_pylist(), rejected.column("reject_reason").to_pylist()))
    assert reasons == {"x-exact": "dedup:exact_duplicate", "x-near": "dedup:fuzzy_duplicate",
                       "x-excerpt": "dedup:contained"}
    assert kept.num_rows + rejected.num_rows == len(docs)
    clusters = dict(zip(rejected.column("id").to_pylist(), rejected.column("dedup_cluster").to_pylist()))
    assert clusters["x-exact"] == "s000" and clusters["x-near"] == "s001"
    assert kept.column("dedup_cluster").to_pylist() == kept.column("id").to_pylist()
    assert set(kept.schema.names) >= {"exact_hash", "dedup_cluster", "containment"}
    assert all(c is not None for c in kept.column("containment").to_pylist())

    ordered = _ordered(docs, 3)
    verdicts = dedup_documents(config, [d[0] for d in ordered], [d[1] for d in ordered])
    assert {d[0]: f"dedup:{v.reason}" for d, v in zip(ordered, verdicts) if v.reason} == reasons
    assert {d[0]: v.cluster for d, v in zip(ordered, verdicts) if v.reason} == clusters

    lsh = json.loads((tmp_path / "work" / "lsh.json").read_text())
    assert (lsh["bands"], lsh["rows"]) == (config.lsh.bands, config.lsh.rows)
    stats = json.loads((tmp_path / "_curated" / "stats.json").read_text())
    assert stats["steps"][0]["rejected"] == {"contained": 1, "exact_duplicate": 1, "fuzzy_duplicate": 1}
    assert [r.tasks_skipped for r in reports] == [0] * len(reports)
    # Decisions and containment verdicts are kept per part: the task filtering a part reads its own files only.
    for decisions in ("exact_decisions", "fuzzy/decisions"):
        files = sorted((tmp_path / "work" / decisions).glob("part-*.parquet"))
        assert [f.name for f in files] == [f"part-{t:05d}.parquet" for t in range(3)]
        assert all(set(pq.read_table(f).column("part").to_pylist()) <= {f.stem.removeprefix("part-")} for f in files)
    verdicts = [pq.read_table(tmp_path / "work" / "containment" / f"part-{t:05d}.parquet") for t in range(3)]
    assert sum(v.num_rows for v in verdicts) == len(docs) - 2  # all but the exact and the fuzzy duplicate
    # The LSH shuffle counts documents (the exact duplicate no longer takes part), bucket entries as notes.
    shared = next(r.steps[0] for r in reports if r.stage == "dedup_lsh_shared")
    assert shared.docs_in == shared.docs_out == len(docs) - 1
    assert shared.notes["bucket_entries"] == config.lsh.bands * (len(docs) - 1)
    again = run_dedup(config, tmp_path / "in", tmp_path / "work", tmp_path / "curated", show_progress=False)
    assert [r.tasks_skipped for r in again] == [r.tasks_total for r in again]
    assert _read(tmp_path / "curated").equals(kept)


def test_exact_dedup_sharded_by_hash_removes_what_one_task_removes(ray_session, shared_data, tmp_path: Path) -> None:
    base = _corpus(shared_data)[:30]
    # Two more copies of every third article (case and spacing changed: the same normalised text), across parts.
    docs = base + [(f"c{i:03d}-{k}", base[i][1].upper() if k else f"  {base[i][1]} ") for i in range(0, 30, 3)
                   for k in range(2)]
    quality = [float(q) for q in np.random.default_rng(0).choice([0.2, 0.5, 0.9], size=len(docs))]
    _write_parts(tmp_path / "in", docs, n_parts=4, quality=quality)
    removed = {}
    for partitions in (1, 5):
        config = DedupConfig(num_partitions=partitions, fuzzy=False, containment={"enabled": False})
        reports = run_dedup(config, tmp_path / "in", tmp_path / f"work{partitions}", tmp_path / f"curated{partitions}",
                            show_progress=False)
        rejected = _read(tmp_path / f"_curated{partitions}" / "rejected")
        removed[partitions] = sorted(zip(rejected.column("id").to_pylist(), rejected.column("dedup_cluster").to_pylist()))
        exact = next(r for r in reports if r.stage == "dedup_exact")
        assert exact.tasks_total == partitions and exact.steps[0].docs_in == len(docs)
    assert removed[1] == removed[5] and len(removed[5]) == 20
    # Each partition task saw only its own hash range: every group met in one partition.
    keys = tmp_path / "work5" / "exact_keys"
    files = sorted(keys.glob("*.arrow"))
    assert len(files) == 4  # one shuffle file per part, whatever the number of partitions
    for k in range(5):
        hashes = read_partition(keys, [f.stem for f in files], k).column("exact_hash")
        assert all(int(h[:8], 16) % 5 == k for h in hashes.to_pylist())
    assert sum(read_partition(keys, [f.stem for f in files], k).num_rows for k in range(5)) == len(docs)
    # The in-memory path (no shuffle, no Ray) decides the same.
    verdicts = dedup_documents(DedupConfig(fuzzy=False, containment={"enabled": False}), [d[0] for d in docs],
                               [d[1] for d in docs], quality)
    assert removed[5] == sorted((v.id, v.cluster) for v in verdicts if v.reason)


def test_a_corpus_without_near_duplicates_keeps_everything_and_counts_every_document(ray_session, shared_data,
                                                                                   tmp_path: Path) -> None:
    docs = _corpus(shared_data)[:8]
    _write_parts(tmp_path / "in", docs, n_parts=3)
    reports = run_dedup(DedupConfig(num_partitions=2, containment={"enabled": False}), tmp_path / "in",
                        tmp_path / "work", tmp_path / "curated", show_progress=False)
    assert sorted(_read(tmp_path / "curated").column("id").to_pylist()) == sorted(d[0] for d in docs)
    fuzzy = next(r for r in reports if r.stage == "dedup_fuzzy").steps[0]
    assert fuzzy.docs_in == fuzzy.docs_out == len(docs) and fuzzy.rejected["fuzzy_duplicate"] == 0  # an empty graph


def test_best_quality_copy_is_kept(ray_session, shared_data, tmp_path: Path) -> None:
    docs = _corpus(shared_data)[:3] + [("z-copy", _corpus(shared_data)[0][1])]
    _write_parts(tmp_path / "in", docs, n_parts=2, quality=[0.2, 0.5, 0.5, 0.9])
    config = DedupConfig(num_partitions=2, containment={"enabled": False})
    run_dedup(config, tmp_path / "in", tmp_path / "work", tmp_path / "curated", show_progress=False)
    rejected = _read(tmp_path / "_curated" / "rejected")
    assert rejected.column("id").to_pylist() == ["s000"]
    assert rejected.column("dedup_cluster").to_pylist() == ["z-copy"]


def test_an_exact_copy_of_a_near_duplicate_follows_it_to_the_document_its_component_keeps(
        ray_session, shared_data, tmp_path: Path) -> None:
    """y-near is a near copy of s001 and y-exact an exact copy of y-near: exact dedup keeps y-near (better
    quality), fuzzy dedup then removes y-near into s001's component (best quality), and y-exact's decision must
    name s001, not the removed y-near: the components task re-points each part's exact removals."""
    base = _corpus(shared_data)[:6]
    words = base[1][1].split()
    near = " ".join(words[:-3] + ["and", "one", "more", "line"])
    docs = base + [("y-near", near), ("y-exact", near.upper())]
    _write_parts(tmp_path / "in", docs, n_parts=3, quality=[0.5, 0.9, 0.5, 0.5, 0.5, 0.5, 0.7, 0.6])
    config = DedupConfig(num_partitions=2, containment={"enabled": False})
    run_dedup(config, tmp_path / "in", tmp_path / "work", tmp_path / "curated", show_progress=False)
    rejected = _read(tmp_path / "_curated" / "rejected")
    clusters = dict(zip(rejected.column("id").to_pylist(), rejected.column("dedup_cluster").to_pylist()))
    assert clusters == {"y-near": "s001", "y-exact": "s001"}
    reasons = dict(zip(rejected.column("id").to_pylist(), rejected.column("reject_reason").to_pylist()))
    assert reasons == {"y-near": "dedup:fuzzy_duplicate", "y-exact": "dedup:exact_duplicate"}
    ordered = _ordered(docs, 3)
    verdicts = dedup_documents(config, [d[0] for d in ordered], [d[1] for d in ordered],
                               quality=[dict(zip([d[0] for d in docs], [0.5, 0.9, 0.5, 0.5, 0.5, 0.5, 0.7, 0.6]))[d[0]]
                                        for d in ordered])
    assert {d[0]: v.cluster for d, v in zip(ordered, verdicts) if v.reason} == clusters


def test_new_snapshot_is_deduplicated_against_an_earlier_runs_signatures(ray_session, shared_data, tmp_path: Path) -> None:
    docs = _corpus(shared_data)[:20]
    _write_parts(tmp_path / "old", docs, n_parts=2)
    first = DedupConfig(num_partitions=2)
    run_dedup(first, tmp_path / "old", tmp_path / "old_work", tmp_path / "old_curated", show_progress=False)

    words = docs[5][1].split()
    fresh = _corpus(shared_data)[30:33]
    new = fresh + [("n-exact", docs[3][1].lower()), ("n-near", " ".join(words[:-2] + ["plus", "tail"]))]
    _write_parts(tmp_path / "new", new, n_parts=2)
    index_dir = tmp_path / "old_work" / "signatures"
    second = DedupConfig(num_partitions=2, reference_signatures=[index_dir])
    run_dedup(second, tmp_path / "new", tmp_path / "new_work", tmp_path / "new_curated", show_progress=False)
    rejected = _read(tmp_path / "_new_curated" / "rejected")
    got = sorted(zip(rejected.column("id").to_pylist(), rejected.column("reject_reason").to_pylist(),
                     rejected.column("dedup_cluster").to_pylist()))
    assert got == [("n-exact", "dedup:exact_duplicate", "s003"), ("n-near", "dedup:fuzzy_duplicate", "s005")]
    assert sorted(_read(tmp_path / "new_curated").column("id").to_pylist()) == sorted(d[0] for d in fresh)

    with pytest.raises(ValueError, match="reference_signatures\\[0\\].*computed with"):
        run_dedup(DedupConfig(num_perm=64, reference_signatures=[index_dir]), tmp_path / "new",
                  tmp_path / "other_work", tmp_path / "other_curated", show_progress=False)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="threshold"):
        DedupConfig(threshold=1.5)
    with pytest.raises(ValueError, match="extra"):
        DedupConfig(bands=4)
    assert DedupConfig().lsh.bands * DedupConfig().lsh.rows <= 128


def test_every_removal_names_what_it_duplicates_on_clough_stevenson(ray_session, shared_data, tmp_path: Path) -> None:
    """The Ray stages on real plagiarism data (sources first): every removed document names a kept document as
    `duplicate_of` and sits in its cluster, every cluster keeps exactly one document, and the copy-paste ("cut")
    answers sit in their source's cluster. The in-memory path (`sciloom dedup`) gives the same verdicts."""
    import csv

    folder = shared_data / "dedup" / "clough-stevenson-plagiarism" / "data"
    labels = {row["File"]: (row["Task"], row["Category"]) for row in csv.DictReader(open(folder / "file_information.csv"))}
    names = sorted(labels, key=lambda name: (labels[name][1] != "orig", name))
    texts = [(folder / name).read_text(encoding="utf-8", errors="replace") for name in names]
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": names, "text": texts, "source": ["cs"] * len(names)}),
                   tmp_path / "in" / "part-00000.parquet")
    run_dedup(DedupConfig(), tmp_path / "in", tmp_path / "work", tmp_path / "curated", show_progress=False)
    kept, removed = _read(tmp_path / "curated").to_pylist(), _read(tmp_path / "_curated" / "rejected").to_pylist()
    kept_ids = {row["id"] for row in kept}
    assert all(row["dedup_cluster"] == row["id"] and row["duplicate_of"] is None for row in kept)
    assert removed and all(row["duplicate_of"] in kept_ids and row["dedup_cluster"] == row["duplicate_of"]
                           for row in removed)
    source_of = {labels[n][0]: n for n in names if labels[n][1] == "orig"}
    cluster_of = {row["id"]: row["dedup_cluster"] for row in kept + removed}
    cut_with_source = sum(1 for name in names if labels[name][1] == "cut"
                          and cluster_of[name] == cluster_of[source_of[labels[name][0]]])
    assert cut_with_source >= 14  # was 2 of 19 while contained answers formed clusters of their own
    in_memory = {v.id: v for v in dedup_documents(DedupConfig(), names, texts)}
    assert {row["id"]: row["duplicate_of"] for row in removed} == {
        i: v.duplicate_of for i, v in in_memory.items() if v.reason is not None}


def _verdicts(curated: Path) -> tuple[list[str], dict[str, tuple[str, str, str]]]:
    kept = _read(curated).column("id").to_pylist()
    rejected = _read(curated.parent / f"_{curated.name}" / "rejected").to_pylist()
    return sorted(kept), {r["id"]: (r["reject_reason"], r["dedup_cluster"], r["duplicate_of"]) for r in rejected}


def test_an_input_added_to_a_finished_run_gives_the_output_of_a_fresh_run(ray_session, shared_data,
                                                                          tmp_path: Path) -> None:
    """A part added between two finished ones shifts the later part's position: the rerun must not reuse LSH
    buckets, pairs or decisions of the earlier part list (it used to fail with ArrowIndexError, or could compare
    the wrong signatures); it redoes what spans parts and ends equal to a fresh run on every part."""
    docs = _corpus(shared_data)
    _write_parts(tmp_path / "all", docs, n_parts=3)
    (tmp_path / "in").mkdir()
    for name in ("part-00000.parquet", "part-00002.parquet"):
        (tmp_path / "in" / name).write_bytes((tmp_path / "all" / name).read_bytes())
    config = DedupConfig(num_partitions=3)
    run_dedup(config, tmp_path / "in", tmp_path / "work", tmp_path / "curated", show_progress=False)
    (tmp_path / "in" / "part-00001.parquet").write_bytes((tmp_path / "all" / "part-00001.parquet").read_bytes())
    run_dedup(config, tmp_path / "in", tmp_path / "work", tmp_path / "curated", show_progress=False)
    run_dedup(config, tmp_path / "all", tmp_path / "fresh_work", tmp_path / "fresh", show_progress=False)
    resumed, fresh = _verdicts(tmp_path / "curated"), _verdicts(tmp_path / "fresh")
    assert resumed == fresh and len(fresh[0]) + len(fresh[1]) == len(docs)
    assert fresh[1]["x-near"][1] == "s001"  # a pair across the added part was found


def test_id_ranks_order_ids_as_python_compares_strings() -> None:
    """Ranks stand in for id strings when choosing a group's kept row: same order, ties in row order."""
    ids = ["b", "a", "é", "ab", "a", "Z", "", "日本", "b"]
    ranks = id_ranks(pa.chunked_array([ids[:4], ids[4:]]))
    assert sorted(range(len(ids)), key=lambda i: (ids[i], i)) == np.argsort(ranks).tolist()
