"""Fuzzy dedup with MinHash-LSH on Ray: band buckets (hash-partitioned) → shared buckets → signatures of
their members → verified pairs → components in rounds → members → groups → decisions. No step holds the corpus.

Documents are nodes `part_position << 32 | row` over the ordered index parts (this run's, then earlier
runs'). Each index part writes its band keys split into `num_partitions` files by key; each partition task
keeps the (band, key) buckets holding two or more documents; each index part then reads its signatures
once and hands each partition those of its members; each partition task checks its candidate pairs
against the threshold (`lsh.verified_pairs`: a band collision of two dissimilar documents would otherwise
chain unrelated clusters together). The verified pairs and the exact duplicates (each joined to the copy its
exact group keeps) are the edges of the duplicate graph, whose components are found in rounds of partition tasks
(component_rounds). Each index part then hands its graph's documents (id, quality) to the partition of their
component; each partition keeps one document per component; each input part gathers its removals. Exact
duplicates already removed are left out of the buckets. The first round's notes count the distinct candidate
pairs verified and rejected.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sciloom.curation.component_rounds import node_partition, read_moves, write_moves
from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.exact_dedup import (DECISION_SCHEMA, DECISIONS_DIR, EXACT_DUPLICATE, FUZZY_DUPLICATE,
                                          IndexPart, group_removals, labelled_rows, read_decisions,
                                          send_by_component, write_table_atomic)
from sciloom.curation.executor import Task
from sciloom.curation.map_stage import part_path
from sciloom.curation.lsh import SharedBuckets, band_keys, shared_buckets, verified_pairs
from sciloom.curation.shuffle import partition_names, read_partition, write_partitions, write_shuffle
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
        needed = [read_partition(shared_dir, [name], position).column("node").to_numpy()
                  for name in partition_names(config.num_partitions)]
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
        # Shuffled by u (< v): a pair checked in several partitions (its documents share buckets in each) meets
        # its copies in one partition of the components' first round, which counts distinct pairs.
        write_partitions(stage_dir, task.task_id, pa.table({"u": u, "v": v, "verified": verified}),
                         node_partition(u, config.num_partitions), config.num_partitions)
        # Pair checks, not documents, are this step's work: documents go on to the components unchanged.
        stats.notes["pair_checks"] += len(u)
        stats.notes["pair_checks_passed"] += int(verified.sum())
        if unverified:
            stats.notes["bucket_entries_unverified"] += unverified
    return [stats]


def _shared_file(stage_dir: Path, partition: int) -> Path:
    return stage_dir / f"shared-{partition:05d}.parquet"


def graph_edges(pairs_dir: Path, exact_moves: tuple[Path, list[str]] | None, num_partitions: int, task: Task
                ) -> tuple[np.ndarray, np.ndarray, StepStats]:
    """One partition's edges of the duplicate graph: its verified candidate pairs (each distinct pair counted once,
    verified or rejected) and its exact duplicates, each joined to the copy its group keeps. With those edges an
    exact duplicate's cluster is its component's kept document: no step re-points it through its kept copy's id."""
    stats = StepStats("fuzzy_pairs")
    with stats.timer():
        partition, names = int(task.task_id), partition_names(num_partitions)
        pairs = read_partition(pairs_dir, names, partition)
        u, v = pairs.column("u").to_numpy(), pairs.column("v").to_numpy()
        verified = pairs.column("verified").to_numpy(zero_copy_only=False)
        order = np.lexsort((verified, v, u))
        u, v, verified = u[order], v[order], verified[order]
        distinct = np.ones(len(u), dtype=bool)
        distinct[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])  # a pair's copies all carry its one verdict
        stats.notes["candidate_pairs_verified"] += int(np.count_nonzero(distinct & verified))
        stats.notes["candidate_pairs_rejected"] += int(np.count_nonzero(distinct & ~verified))
        u, v = u[verified], v[verified]
        if exact_moves is not None:
            moved, to = read_moves(*exact_moves, partition)
            u, v = np.concatenate([u, moved]), np.concatenate([v, to])
    return u, v, stats


def members_task(parts: list[IndexPart], labels_dir: Path, exact_decisions: Path | None, num_partitions: int,
                 task: Task, stage_dir: Path) -> list[StepStats]:
    """One index part's documents in the duplicate graph, with their id, quality and whether exact dedup removed
    them, shuffled by their component (the hash of its label)."""
    stats = StepStats("fuzzy_members")
    with stats.timer():
        position, members = labelled_rows(parts, labels_dir, num_partitions, task, ["id", "quality"])
        part, ids = parts[position], members.column("id").cast(pa.string())
        exact_removed = np.zeros(members.num_rows, dtype=bool)
        if exact_decisions is not None and not part.reference:
            removed = read_decisions(exact_decisions, part.name, ["id"]).column("id").combine_chunks()
            exact_removed = pc.is_in(ids, value_set=removed).to_numpy(zero_copy_only=False)
        members = (members.set_column(members.schema.get_field_index("id"), "id", ids)
                   .append_column("position", pa.array(np.full(members.num_rows, position, np.int32)))
                   .append_column("exact_removed", pa.array(exact_removed)))
        send_by_component(stage_dir, task.task_id, members, num_partitions)
        stats.docs_in = stats.docs_out = members.num_rows
    return [stats]


def groups_task(parts: list[IndexPart], members_dir: Path, num_partitions: int, task: Task,
                stage_dir: Path) -> list[StepStats]:
    """One partition's components: the document each keeps (components.representatives) and the removal of the
    others (exact duplicates keep their reason), shuffled by the removed document's part; and the same removals as
    moves, for the containment chains."""
    stats = StepStats("fuzzy_groups")
    with stats.timer():
        table = read_partition(members_dir, [p.name for p in parts], int(task.task_id))
        part_of = table.column("position").to_numpy()
        removals, removed, kept, _ = group_removals(table.column("label").to_numpy(), table, part_of, parts,
                                                    FUZZY_DUPLICATE)
        exact = table.column("exact_removed").to_numpy(zero_copy_only=False)[removed]
        removals = removals.set_column(2, "reason", pa.array(np.where(exact, EXACT_DUPLICATE, FUZZY_DUPLICATE)))
        write_partitions(stage_dir, task.task_id, removals, part_of[removed], len(parts))
        node = table.column("node").to_numpy()
        write_moves(stage_dir, task.task_id, node[removed], node[kept], num_partitions)
        stats.docs_in = table.num_rows
        stats.docs_out = table.num_rows - len(removed)
    return [stats]


def decisions_task(parts: list[IndexPart], groups_dir: Path, num_partitions: int, task: Task,
                   stage_dir: Path) -> list[StepStats]:
    """One input part's removals, exact and fuzzy, gathered from every partition of components."""
    stats = StepStats("fuzzy_dedup")
    with stats.timer():
        position = [p.name for p in parts].index(task.task_id)
        table = read_partition(groups_dir, partition_names(num_partitions), position).cast(DECISION_SCHEMA)
        write_table_atomic(part_path(stage_dir / DECISIONS_DIR, task.task_id), table)
        fuzzy = int(pc.sum(pc.equal(table.column("reason"), FUZZY_DUPLICATE)).as_py() or 0)
        stats.docs_in = pq.ParquetFile(parts[position].path).metadata.num_rows - (table.num_rows - fuzzy)
        stats.docs_out = stats.docs_in - fuzzy
        stats.rejected[FUZZY_DUPLICATE] += fuzzy
    return [stats]
