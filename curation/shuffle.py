"""Shuffle files: what one map task sends to every partition, in one file.

A hash shuffle over M map tasks and P partitions used to write M × P small files (one per task and partition):
25,600 per shuffle at 160 parts, and at 30,000 parts of a whole snapshot it would be 900 million, each created,
fsynced, opened and its footer parsed. Here each map task writes one Arrow IPC file holding exactly P record
batches, batch k being its rows for partition k (zstd-compressed buffers); a partition's task reads batch k of each
map task's file, a seek to an offset the file's footer gives. Files per shuffle: M.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from sciloom.curation.atomic_write import atomic_path

_OPTIONS = ipc.IpcWriteOptions(compression="zstd")


def partition_names(count: int) -> list[str]:
    """The task ids of a stage with one task per partition (00000, 00001, ...): they name its shuffle files."""
    return [f"{k:05d}" for k in range(count)]


def shuffle_file(stage_dir: Path, task_id: str) -> Path:
    return stage_dir / f"{task_id}.arrow"


def write_shuffle(stage_dir: Path, task_id: str, tables: Sequence[pa.Table]) -> None:
    """One map task's rows for each partition (`tables[k]` for partition k, all of one schema), in one file."""
    schema = tables[0].schema
    with atomic_path(shuffle_file(stage_dir, task_id)) as tmp:
        with ipc.new_file(tmp, schema, options=_OPTIONS) as writer:
            for table in tables:
                writer.write_batch(_one_batch(table.cast(schema)))


def write_partitions(stage_dir: Path, task_id: str, table: pa.Table, partition: np.ndarray,
                     num_partitions: int) -> None:
    """One map task's rows into their partitions (`partition` per row), rows in their order: one stable sort by
    partition, then slices (a mask per partition would pass over every row P times)."""
    order = np.argsort(partition, kind="stable")
    bounds = np.searchsorted(partition[order], np.arange(num_partitions + 1))
    table = table.take(pa.array(order))
    write_shuffle(stage_dir, task_id, [table.slice(bounds[k], bounds[k + 1] - bounds[k])
                                       for k in range(num_partitions)])


def read_partition(stage_dir: Path, task_ids: Sequence[str], partition: int,
                   columns: Sequence[str] | None = None) -> pa.Table:
    """Partition `partition`'s rows from every map task's file, in the order of `task_ids`."""
    batches = []
    schema = None
    for task_id in task_ids:
        path = shuffle_file(stage_dir, task_id)
        with pa.OSFile(str(path)) as source:
            reader = ipc.open_file(source)
            if partition >= reader.num_record_batches:
                raise ValueError(f"{path} holds {reader.num_record_batches} partitions, not {partition + 1}: written "
                                 f"with another num_partitions; remove the dedup work folder to recompute it")
            batch = reader.get_batch(partition)
        if columns is not None:
            batch = batch.select(list(columns))
        schema = batch.schema
        batches.append(batch)
    if schema is None:
        raise ValueError("read_partition needs at least one map task")
    return pa.Table.from_batches(batches, schema=schema)


def _one_batch(table: pa.Table) -> pa.RecordBatch:
    """The table as exactly one record batch (an empty one included), so batch k is always partition k."""
    columns = table.combine_chunks().columns  # one chunk per column, none when the table is empty
    return pa.RecordBatch.from_arrays([c.chunk(0) if c.num_chunks else pa.array([], c.type) for c in columns],
                                      schema=table.schema)
