"""Fuzzy dedup with MinHash-LSH on Ray: band buckets (hash-partitioned) → shared buckets → signatures of
their members → verified pairs → components.

Documents are nodes `part_position << 32 | row` over the ordered index parts (this run's, then earlier
runs'). Each index part writes its band keys split into `num_partitions` files by key; each partition task
keeps the (band, key) buckets holding two or more documents; each index part then reads its signatures
once and hands each partition those of its members; each partition task checks its candidate pairs
against the threshold (`lsh.verified_pairs`: a band collision of two dissimilar documents would otherwise
chain unrelated clusters together); one task then labels connected components of the verified pairs and
keeps one document per component. Exact duplicates already removed are left
out of the buckets. The fuzzy step's notes count the distinct candidate pairs verified and rejected.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sciloom.curation.components import connected_components
from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.exact_dedup import (DECISION_SCHEMA, DECISIONS_DIR, FUZZY_DUPLICATE, IndexPart,
                                          group_removals, index_rows, read_decisions, write_decisions,
                                          write_table_atomic)
from sciloom.curation.executor import Task
from sciloom.curation.lsh import SharedBuckets, band_keys, shared_buckets, verified_pairs
from sciloom.curation.shuffle import read_partition, write_partitions, write_shuffle
from sciloom.curation.stats import StepStats

_BUCKET_SCHEMA = pa.schema([("band", pa.uint16()), ("key", pa.uint64()), ("node", pa.int64())])


def bucket_task(config: DedupConfig, parts: list[IndexPart], exact_decisions: Path | None,
                task: Task, stage_dir: Path) -> list[StepStats]:
    stats = StepStats("lsh_buckets")
    with stats.timer():
        position = [p.name for p in parts].index(task.task_id)
        part = parts[position]
        index = pq.read_table(part.path, columns=["id", "signature"])
        sig_NP = index.column("signature").combine_chunks().flatten().to_numpy().reshape(-1, config.num_perm)
        keep = np.ones(index.num_rows, dtype=bool)
        if exact_decisions is not None and not part.reference:
            removed = read_decisions(exact_decisions, part.name, ["id"]).column("id").combine_chunks()
            keep = ~pc.is_in(index.column("id").cast(pa.string()), value_set=removed).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(keep)
        params = config.lsh
        keys_NB = band_keys(sig_NP[rows], params.bands, params.rows)
        band = np.broadcast_to(np.arange(params.bands, dtype=np.uint16), keys_NB.shape).reshape(-1)
        node = np.repeat((np.int64(position) << 32) | rows, params.bands)
        keys = keys_NB.reshape(-1)
        partition = ((keys >> np.uint64(40)) % np.uint64(config.num_partitions)).astype(np.int64)
        entries = pa.table({"band": band, "key": keys, "node": node}, schema=_BUCKET_SCHEMA)
        write_partitions(stage_dir, task.task_id, entries, partition, config.num_partitions)
        stats.docs_in = stats.docs_out = len(rows)
    return [stats]


def shared_task(bucket_dir: Path, parts: list[IndexPart], task: Task, stage_dir: Path) -> list[StepStats]:
    """The entries of one partition's buckets that hold at least two documents."""
    stats = StepStats("lsh_shared")
    with stats.timer():
        partition = int(task.task_id)
        table = read_partition(bucket_dir, [p.name for p in parts], partition)
        buckets = shared_buckets(table.column("band").to_numpy(), table.column("key").to_numpy(),
                                 table.column("node").to_numpy())
        write_table_atomic(_shared_file(stage_dir, partition), pa.table(
            {"node": buckets.node, "bucket_start": buckets.bucket_start}))
        # The distinct nodes, sorted, shuffled by their part: a part's signature task reads only its own batch of
        # each partition's file, not every partition's whole list.
        nodes = np.unique(buckets.node)
        write_partitions(stage_dir, task.task_id, pa.table({"node": nodes}), nodes >> 32, len(parts))
        # Documents, not bucket entries: each document has one entry per band, spread over the partitions,
        # and is counted in the partition that holds its band-0 entry (so the stage's sum is the corpus). None
        # is removed here; the entries are notes.
        band = table.column("band").to_numpy()
        stats.docs_in = stats.docs_out = int(np.count_nonzero(band == 0))
        stats.notes["bucket_entries"] += table.num_rows
        stats.notes["bucket_entries_shared"] += len(buckets.node)
    return [stats]


def signatures_task(config: DedupConfig, shared_dir: Path, parts: list[IndexPart], task: Task,
                    stage_dir: Path) -> list[StepStats]:
    """One index part's signatures of the documents in shared buckets, split by the partitions that need
    them (each index part is read once, each partition then reads only what it compares)."""
    stats = StepStats("lsh_signatures")
    with stats.timer():
        position = [p.name for p in parts].index(task.task_id)
        needed = [read_partition(shared_dir, [f"{k:05d}"], position).column("node").to_numpy()
                  for k in range(config.num_partitions)]
        rows = np.unique(np.concatenate(needed) & 0xFFFFFFFF)
        signature = pa.FixedSizeListArray.from_arrays(pa.array([], pa.uint32()), config.num_perm)
        if rows.size:
            column = pq.read_table(parts[position].path, columns=["signature"]).column("signature").combine_chunks()
            signature = column.take(pa.array(rows))
        write_shuffle(stage_dir, task.task_id, [pa.table(
            {"node": nodes, "signature": signature.take(pa.array(np.searchsorted(rows, nodes & 0xFFFFFFFF)))})
            for nodes in needed])
        stats.docs_in = stats.docs_out = int(rows.size)
    return [stats]


def pairs_task(config: DedupConfig, shared_dir: Path, signature_dir: Path, parts: list[IndexPart], task: Task,
               stage_dir: Path) -> list[StepStats]:
    """Candidate pairs of every shared bucket of one partition, each marked verified or not."""
    stats = StepStats("lsh_pairs")
    with stats.timer():
        partition = int(task.task_id)
        shared = pq.read_table(_shared_file(shared_dir, partition))
        buckets = SharedBuckets(shared.column("node").to_numpy(), shared.column("bucket_start").to_numpy())
        signatures = read_partition(signature_dir, [p.name for p in parts], partition)
        nodes = signatures.column("node").to_numpy()  # sorted: parts in position order, rows sorted
        sig_NP = signatures.column("signature").combine_chunks().flatten().to_numpy().reshape(-1, config.num_perm)
        u, v, verified, unverified = verified_pairs(buckets, np.searchsorted(nodes, buckets.node), sig_NP,
                                                    config.threshold, config.max_centres_per_bucket)
        write_table_atomic(stage_dir / f"edges-{task.task_id}.parquet", pa.table({"u": u, "v": v, "verified": verified}))
        # Pair checks, not documents, are this step's work (a pair sharing buckets in two partitions is checked
        # in each; the fuzzy step counts distinct pairs): documents go on to the components step unchanged.
        stats.notes["pair_checks"] += len(u)
        stats.notes["pair_checks_passed"] += int(verified.sum())
        if unverified:
            stats.notes["bucket_entries_unverified"] += unverified
    return [stats]


def _shared_file(stage_dir: Path, partition: int) -> Path:
    return stage_dir / f"shared-{partition:05d}.parquet"


def components_task(parts: list[IndexPart], pairs_dir: Path, exact_decisions: Path | None,
                    task: Task, stage_dir: Path) -> list[StepStats]:
    """Components of the candidate graph; one document kept per component; exact duplicates re-pointed
    to their group's final representative."""
    stats = StepStats("fuzzy_dedup")
    with stats.timer():
        edges = pa.concat_tables([pq.read_table(p) for p in sorted(pairs_dir.glob("edges-*.parquet"))])
        # a pair colliding in bands of different partitions was checked in each (with the same verdict)
        pairs = np.unique(np.stack([edges.column(c).to_numpy().astype(np.int64) for c in ("u", "v", "verified")],
                                   axis=1).reshape(-1, 3), axis=0)
        verified = pairs[:, 2].astype(bool)
        u, v = pairs[verified, 0], pairs[verified, 1]
        stats.notes["candidate_pairs_verified"] += int(verified.sum())
        stats.notes["candidate_pairs_rejected"] += int((~verified).sum())
        # Only documents with a verified near-duplicate can be removed: the graph, and what this task reads and
        # holds, is theirs (a document alone in its component keeps itself).
        nodes = np.unique(np.concatenate([u, v]))
        table = index_rows(parts, nodes, ["id", "quality"])
        part_of = nodes >> 32
        labels = connected_components(len(nodes), np.searchsorted(nodes, u), np.searchsorted(nodes, v))
        fuzzy, removed, _ = group_removals(labels, table, part_of, parts, FUZZY_DUPLICATE)
        # Exact duplicates were not in the graph: they follow their kept copy into its component. One part's
        # exact removals at a time, matched in Arrow: the task holds the near-duplicated documents' decisions,
        # not every exact duplicate of the corpus.
        fuzzy = fuzzy.sort_by("part")
        fuzzy_ids, fuzzy_parts = fuzzy.column("id").combine_chunks(), fuzzy.column("part").to_numpy(zero_copy_only=False)
        exact_removed = 0
        for part in parts:
            if part.reference:
                continue
            exact = read_decisions(exact_decisions, part.name) if exact_decisions is not None else \
                DECISION_SCHEMA.empty_table()
            followed = fuzzy.column("cluster").take(pc.index_in(exact.column("cluster"), value_set=fuzzy_ids))
            exact = exact.set_column(3, "cluster", pc.coalesce(followed, exact.column("cluster")))
            start, end = np.searchsorted(fuzzy_parts, part.name, "left"), np.searchsorted(fuzzy_parts, part.name, "right")
            write_decisions(stage_dir / DECISIONS_DIR, [part], pa.concat_tables([fuzzy.slice(start, end - start), exact]))
            exact_removed += exact.num_rows
        indexed = sum(pq.ParquetFile(p.path).metadata.num_rows for p in parts if not p.reference)
        stats.docs_in = indexed - exact_removed
        stats.docs_out = stats.docs_in - len(removed)
        stats.rejected[FUZZY_DUPLICATE] += len(removed)
    return [stats]
