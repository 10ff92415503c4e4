"""Reading Parquet one row group at a time, so memory follows the row group and not the file.

`ParquetFile.iter_batches` reads ahead: its Arrow memory grew with the file's size in our measurements
(pyarrow 26), which made a task's peak memory grow with its part. Curation's parts have row groups of
512 documents.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def iter_row_group_batches(path: str | Path, columns: list[str], batch_size: int) -> Iterator[pa.RecordBatch]:
    parquet = pq.ParquetFile(path)
    for group in range(parquet.num_row_groups):
        # One thread: a Ray task holds one CPU, and Arrow's pool threads would only compete with the tokenizer.
        yield from parquet.read_row_group(group, columns=columns, use_threads=False).to_batches(max_chunksize=batch_size)


def length_column(path: str | Path) -> str:
    """The column `byte_lengths` reads: the labelling step's `text_bytes`, or the text itself in parts without it."""
    return "text_bytes" if "text_bytes" in pq.read_schema(path).names else "text"


def byte_lengths(batch: pa.RecordBatch) -> list[int | None]:
    """UTF-8 bytes of each row's text, from a batch holding the column `length_column` chose."""
    if "text_bytes" in batch.schema.names:
        return batch.column("text_bytes").to_pylist()
    return pc.binary_length(batch.column("text")).to_pylist()
