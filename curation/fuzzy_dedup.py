"""Fuzzy dedup with MinHash-LSH on Ray: band buckets (hash-partitioned) → candidate pairs → components.

Documents are nodes `part_position << 32 | row` over the ordered index parts (this run's, then earlier
runs'). Each index part writes its band keys split into `num_partitions` files by key; each partition task
groups equal (band, key) buckets and links every member to the bucket's smallest node (a star has the
same components as the clique, with n-1 edges); one task then labels connected components and keeps one
document per component. Exact duplicates already removed are left out of the buckets.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.components import connected_components, representatives
from curation.dedup_config import DedupConfig
from curation.exact_dedup import (DECISION_SCHEMA, FUZZY_DUPLICATE, IndexPart, load_index_columns,
                                  read_decisions, write_table_atomic)
from curation.executor import Task
from curation.lsh import band_keys, bucket_edges
from curation.stats import StepStats

_BUCKET_SCHEMA = pa.schema([("band", pa.uint16()), ("key", pa.uint64()), ("node", pa.int64())])


def partition_file(stage_dir: Path, task_id: str, partition: int) -> Path:
    return stage_dir / task_id / f"p-{partition:05d}.parquet"


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
            removed = set(read_decisions(exact_decisions, part.name).column("id").to_pylist())
            keep = np.array([i not in removed for i in index.column("id").to_pylist()], dtype=bool)
        rows = np.flatnonzero(keep)
        params = config.lsh
        keys_NB = band_keys(sig_NP[rows], params.bands, params.rows)
        band = np.broadcast_to(np.arange(params.bands, dtype=np.uint16), keys_NB.shape).reshape(-1)
        node = np.repeat((np.int64(position) << 32) | rows, params.bands)
        keys = keys_NB.reshape(-1)
        partition = (keys >> np.uint64(40)) % np.uint64(config.num_partitions)
        for p in range(config.num_partitions):
            sel = partition == p
            write_table_atomic(partition_file(stage_dir, task.task_id, p), pa.table(
                {"band": band[sel], "key": keys[sel], "node": node[sel]}, schema=_BUCKET_SCHEMA))
        stats.docs_in = stats.docs_out = len(rows)
    return [stats]


def pairs_task(bucket_dir: Path, parts: list[IndexPart], task: Task, stage_dir: Path) -> list[StepStats]:
    """Star edges of every bucket of one partition."""
    stats = StepStats("lsh_pairs")
    with stats.timer():
        partition = int(task.task_id)
        tables = [pq.read_table(partition_file(bucket_dir, p.name, partition)) for p in parts]
        table = pa.concat_tables(tables)
        node = table.column("node").to_numpy()
        u, v = bucket_edges(table.column("band").to_numpy(), table.column("key").to_numpy(), node)
        write_table_atomic(stage_dir / f"edges-{task.task_id}.parquet", pa.table({"u": u, "v": v}))
        stats.docs_in = len(node)
        stats.docs_out = len(u)
    return [stats]


def components_task(parts: list[IndexPart], pairs_dir: Path, exact_decisions: Path | None,
                    task: Task, stage_dir: Path) -> list[StepStats]:
    """Components of the candidate graph; one document kept per component; exact duplicates re-pointed
    to their group's final representative."""
    stats = StepStats("fuzzy_dedup")
    with stats.timer():
        edge_tables = [pq.read_table(p) for p in sorted(pairs_dir.glob("edges-*.parquet"))]
        u = np.concatenate([t.column("u").to_numpy() for t in edge_tables]) if edge_tables else np.empty(0, np.int64)
        v = np.concatenate([t.column("v").to_numpy() for t in edge_tables]) if edge_tables else np.empty(0, np.int64)
        table, part_of = load_index_columns(parts, ["id", "quality"])
        # node id (part position << 32 | row in part) → row of the concatenated `table`
        offsets = np.concatenate([[0], np.cumsum(np.bincount(part_of, minlength=len(parts)))])
        labels = connected_components(table.num_rows, offsets[u >> 32] + (u & 0xFFFFFFFF),
                                      offsets[v >> 32] + (v & 0xFFFFFFFF))
        ids = np.asarray(table.column("id").to_pylist(), dtype=object).astype(str)
        quality = table.column("quality").to_numpy(zero_copy_only=False).astype(np.float64)
        preferred = np.array([parts[i].reference for i in part_of], dtype=bool)
        rep = representatives(labels, ids, quality, preferred)
        removed = np.flatnonzero((rep != np.arange(len(rep))) & ~preferred)
        final_cluster = dict(zip(ids[removed].tolist(), ids[rep[removed]].tolist()))
        fuzzy = {"id": ids[removed].tolist(), "part": [parts[i].name for i in part_of[removed]],
                 "reason": [FUZZY_DUPLICATE] * len(removed), "cluster": ids[rep[removed]].tolist()}
        # Exact duplicates were not in the graph: they follow their kept copy into its component.
        exact = read_decisions(exact_decisions).to_pydict() if exact_decisions is not None else \
            {"id": [], "part": [], "reason": [], "cluster": []}
        exact["cluster"] = [final_cluster.get(c, c) for c in exact["cluster"]]
        decisions = pa.table({k: fuzzy[k] + exact[k] for k in DECISION_SCHEMA.names}, schema=DECISION_SCHEMA)
        write_table_atomic(stage_dir / "decisions.parquet", decisions)
        stats.docs_in = int((~preferred).sum()) - len(exact["id"])
        stats.docs_out = stats.docs_in - len(removed)
        stats.rejected[FUZZY_DUPLICATE] += len(removed)
    return [stats]
