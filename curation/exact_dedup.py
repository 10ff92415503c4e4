"""The per-part dedup index (exact hash + MinHash signature per document) and exact-duplicate decisions.

Index parts (`<work_dir>/signatures/part-<task>.parquet`, one row per input row, same order) are what a
later run reuses as `reference_signatures`; `meta.json` beside them records how they were computed.
Decision tables (id, part, reason, cluster) list only removed documents; every later phase reads them.

Exact dedup is a hash shuffle, so no task holds the corpus: each index part splits its (id, exact hash,
quality) rows into `num_partitions` hash partitions, one shuffle file per part (`exact_keys_task`,
curation/shuffle.py); each partition task groups the rows of its own hash range from every part (equal hashes
always meet there) and shuffles its removals by part (`exact_task`); each input part then gathers its own batch
of removals from every partition (`exact_decisions_task`).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sciloom.curation.atomic_write import atomic_path
from sciloom.curation.component_rounds import node_partition, read_labels, write_moves
from sciloom.curation.components import representatives
from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.executor import Task
from sciloom.curation.map_stage import part_path
from sciloom.curation.minhash import MinHasher
from sciloom.curation.normalize import exact_hashes
from sciloom.curation.shuffle import partition_names, read_partition, write_partitions
from sciloom.curation.stats import StepStats

QUALITY_COLUMN = "quality_score"
META_FILE = "meta.json"
EXACT_DUPLICATE, FUZZY_DUPLICATE, CONTAINED = "exact_duplicate", "fuzzy_duplicate", "contained"
DECISIONS_DIR = "decisions"
DECISION_SCHEMA = pa.schema([("id", pa.string()), ("part", pa.string()), ("reason", pa.string()),
                             ("cluster", pa.string())])


@dataclass(frozen=True)
class IndexPart:
    """One index file: `name` is the input part's task id (prefixed for an earlier run's parts)."""

    name: str
    path: Path
    reference: bool


def write_table_atomic(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def signature_meta(config: DedupConfig) -> dict:
    return {"num_perm": config.num_perm, "seed": config.seed, "ngram": config.ngram,
            "shingle_hash": config.shingle_hash, "scheme": "affine32"}


def reference_parts(config: DedupConfig) -> list[IndexPart]:
    """Index parts of earlier runs, checked to be computed exactly as this run computes its own."""
    parts = []
    for i, folder in enumerate(config.reference_signatures):
        meta_path = Path(folder) / META_FILE
        if not meta_path.is_file():
            raise ValueError(f"dedup.reference_signatures[{i}]: {folder} has no {META_FILE}; expected the "
                             f"`signatures` folder of an earlier run's dedup work dir")
        meta = json.loads(meta_path.read_text())
        if meta != signature_meta(config):
            raise ValueError(f"dedup.reference_signatures[{i}]: signatures in {folder} were computed with {meta}, "
                             f"this run uses {signature_meta(config)}; they cannot be compared")
        parts += [IndexPart(f"ref{i}-{p.stem.removeprefix('part-')}", p, True) for p in sorted(Path(folder).glob("part-*.parquet"))]
    return parts


def index_task(config: DedupConfig, task: Task, stage_dir: Path) -> list[StepStats]:
    """Exact hash and MinHash signature of every document of one input part."""
    stats = StepStats("minhash")
    with stats.timer():
        path = task.inputs[0]
        names = pq.read_schema(path).names
        table = pq.read_table(path, columns=["id", "text"] + ([QUALITY_COLUMN] if QUALITY_COLUMN in names else []))
        texts = [t or "" for t in table.column("text").to_pylist()]
        hasher = MinHasher(config.num_perm, config.seed, config.ngram, config.shingle_hash)
        sig_NP = hasher.signature_batches(texts, config.batch_docs)
        quality = (table.column(QUALITY_COLUMN).cast(pa.float32()) if QUALITY_COLUMN in names
                   else pa.nulls(len(texts), pa.float32()))
        signature = pa.FixedSizeListArray.from_arrays(pa.array(sig_NP.reshape(-1), pa.uint32()), config.num_perm)
        index = pa.table({"id": table.column("id"), "exact_hash": pa.array(_batched(exact_hashes, texts, config.batch_docs), pa.string()),
                          "quality": quality, "signature": signature})
        write_table_atomic(stage_dir / f"part-{task.task_id}.parquet", index)
        stats.docs_in = stats.docs_out = len(texts)
        stats.bytes_in = stats.bytes_out = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
    return [stats]


def _batched(fn, texts: list[str], batch: int) -> list:
    return [value for i in range(0, len(texts), batch) for value in fn(texts[i:i + batch])]


def index_rows(parts: list[IndexPart], nodes: np.ndarray, columns: list[str]) -> pa.Table:
    """The given columns of the index rows named by `nodes` (sorted `part position << 32 | row`), in that order:
    each part is read once, and only the named rows are kept."""
    positions = nodes >> 32
    tables = []
    for position in np.unique(positions):
        rows = nodes[positions == position] & 0xFFFFFFFF
        tables.append(pq.read_table(parts[int(position)].path, columns=columns).take(pa.array(rows)))
    if not tables:
        return pa.schema([pq.read_schema(parts[0].path).field(c) for c in columns]).empty_table()
    return pa.concat_tables(tables)


def labelled_rows(parts: list[IndexPart], labels_dir: Path, num_partitions: int, task: Task,
                  columns: list[str]) -> tuple[int, pa.Table]:
    """The index part `task` names (its position) and its documents in a graph whose components `labels_dir` holds
    (component_rounds): their `label`, `node` and `columns` of their index rows, by node."""
    position = [p.name for p in parts].index(task.task_id)
    labels = read_labels(labels_dir, num_partitions, position)
    row_numbers = labels.column("node").to_numpy() & 0xFFFFFFFF
    rows = pq.read_table(parts[position].path, columns=columns).take(pa.array(row_numbers))
    for name in columns:
        labels = labels.append_column(name, rows.column(name))
    return position, labels


def send_by_component(stage_dir: Path, task_id: str, members: pa.Table, num_partitions: int) -> None:
    """Rows with a `label` column, shuffled by the hash of their component's label."""
    write_partitions(stage_dir, task_id, members, node_partition(members.column("label").to_numpy(), num_partitions),
                     num_partitions)


def hash_partitions(hashes: pa.ChunkedArray, num_partitions: int) -> np.ndarray:
    """The partition of each hex `exact_hash`: its first 32 bits modulo `num_partitions`."""
    return np.fromiter((int(h[:8], 16) % num_partitions for h in hashes.to_pylist()), dtype=np.int64, count=len(hashes))


def exact_keys_task(num_partitions: int, parts: list[IndexPart], task: Task, stage_dir: Path) -> list[StepStats]:
    """One index part's (id, exact hash, quality, part position) rows, split into hash partitions."""
    stats = StepStats("exact_keys")
    with stats.timer():
        position = [p.name for p in parts].index(task.task_id)
        table = pq.read_table(parts[position].path, columns=["id", "exact_hash", "quality"])
        table = table.append_column("position", pa.array(np.full(table.num_rows, position, dtype=np.int32)))
        table = table.append_column("row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        write_partitions(stage_dir, task.task_id, table, hash_partitions(table.column("exact_hash"), num_partitions),
                         num_partitions)
        stats.docs_in = stats.docs_out = table.num_rows
    return [stats]


def exact_task(parts: list[IndexPart], keys_dir: Path, num_partitions: int, task: Task,
               stage_dir: Path) -> list[StepStats]:
    """Group one hash partition's rows of every part by exact hash; keep one per group (see
    components.representatives); write the removals, shuffled by part."""
    stats = StepStats("exact_dedup")
    with stats.timer():
        partition = int(task.task_id)
        table = read_partition(keys_dir, [p.name for p in parts], partition)
        part_of = table.column("position").to_numpy()
        # Integers, not Python strings: hashes become dictionary codes, ids their rank in sorted order (within the
        # partition: the same order as over the corpus, so the same documents are kept).
        labels = table.column("exact_hash").combine_chunks().dictionary_encode().indices.to_numpy()
        removals, removed, kept, preferred = group_removals(labels, table, part_of, parts, EXACT_DUPLICATE)
        write_partitions(stage_dir, task.task_id, removals, part_of[removed], len(parts))
        # The same removals as moves (removed node → kept node): edges of the graphs whose components fuzzy dedup
        # and the containment chains find.
        node = (part_of.astype(np.int64) << 32) | table.column("row").to_numpy()
        write_moves(stage_dir, task.task_id, node[removed], node[kept], num_partitions)
        stats.docs_in = int((~preferred).sum())
        stats.docs_out = stats.docs_in - len(removed)
        stats.rejected[EXACT_DUPLICATE] += len(removed)
    return [stats]


def exact_decisions_task(num_partitions: int, parts: list[IndexPart], removals_dir: Path, task: Task,
                         stage_dir: Path) -> list[StepStats]:
    """One input part's exact-duplicate removals, gathered from every partition (its own batch of each partition's
    shuffle file)."""
    stats = StepStats("exact_decisions")
    with stats.timer():
        position = [p.name for p in parts].index(task.task_id)
        table = read_partition(removals_dir, partition_names(num_partitions), position)
        write_table_atomic(part_path(stage_dir, task.task_id), table.cast(DECISION_SCHEMA))
        # The documents whose removal this step hands on (as the LSH shuffle steps count what they pass on).
        stats.docs_in = stats.docs_out = table.num_rows
    return [stats]


def id_ranks(ids: pa.ChunkedArray) -> np.ndarray:
    """Each id's position in the sorted ids (a stable sort: equal ids keep their row order), as int64."""
    order = pc.sort_indices(ids).to_numpy()
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order), dtype=np.int64)
    return ranks


def group_removals(labels: np.ndarray, table: pa.Table, part_of: np.ndarray, parts: list[IndexPart],
                   reason: str) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """Of documents in groups (`labels`; their `id` and `quality` in `table`, each from `parts[part_of[row]]`), the
    ones their group does not keep (components.representatives; a reference part's are never removed):
    (their decision rows, their row numbers, the row each one's group keeps, which rows come from a reference
    part)."""
    quality = table.column("quality").to_numpy(zero_copy_only=False).astype(np.float64)
    preferred = np.array([parts[i].reference for i in part_of], dtype=bool)
    # Ranks among these documents order ids as over the corpus: a group keeps the same one whatever rows it holds.
    rep = representatives(labels, id_ranks(table.column("id")), quality, preferred)
    removed = np.flatnonzero((rep != np.arange(len(rep))) & ~preferred)
    removals = removal_table(table.column("id"), removed, rep[removed], [parts[i].name for i in part_of[removed]], reason)
    return removals, removed, rep[removed], preferred


def removal_table(ids: pa.ChunkedArray, removed: np.ndarray, kept: np.ndarray, parts: list[str], reason: str) -> pa.Table:
    """Decision rows: the removed rows' ids, their parts, the reason and the id of the row each one's group keeps."""
    return pa.table({"id": ids.take(pa.array(removed, pa.int64())).cast(pa.string()), "part": pa.array(parts, pa.string()),
                     "reason": pa.array([reason] * len(removed), pa.string()),
                     "cluster": ids.take(pa.array(kept, pa.int64())).cast(pa.string())}, schema=DECISION_SCHEMA)


def read_decisions(folder: Path, part: str | None = None, columns: Sequence[str] | None = None) -> pa.Table:
    """The removals of one input part (only `columns` of them, when given), or of every part (`part=None`)."""
    if part is not None:
        return pq.read_table(part_path(folder, part), schema=DECISION_SCHEMA,
                             columns=list(columns) if columns else None)
    files = sorted(folder.glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(f, schema=DECISION_SCHEMA) for f in files]) if files else DECISION_SCHEMA.empty_table()
