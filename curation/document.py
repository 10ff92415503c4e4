"""The document record that every stage reads and writes, and its Arrow schema.

A document is a plain dict inside a worker (cheap to build and to extend) and a row of an Arrow table
between stages. Columns are declared with their Arrow types: a stage that adds a column declares it, so
that every Parquet file of a stage has the same schema whatever its first batch happened to contain.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Document = dict[str, Any]

BASE_COLUMNS: dict[str, pa.DataType] = {
    "id": pa.string(),
    "text": pa.string(),
    "url": pa.string(),
    "source": pa.string(),
    "lang": pa.string(),
}
REJECT_REASON = "reject_reason"
# Set (True) by a reader whose text it built from a structured source (a LaTeX source, a JATS article): headings,
# list items and display math are the document's, not a page's boilerplate. Line cleaning, the first step after every
# reader, consumes the flag and leaves such text as it is; no Parquet file holds it.
STRUCTURED = "structured"


def document_id(source: str, locator: str) -> str:
    """A stable id from where a document came from (file + record offset, or its own id field).

    Stable ids are what make a restarted run produce exactly the output of an uninterrupted one.
    """
    return hashlib.blake2b(f"{source}\x00{locator}".encode(), digest_size=12).hexdigest()


def schema_for(columns: Mapping[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in columns.items()])


def documents_to_table(docs: list[Document], schema: pa.Schema) -> pa.Table:
    """Arrow table from dicts; a key that the schema does not declare is a bug in a stage, not data."""
    names = set(schema.names)
    for doc in docs:
        extra = doc.keys() - names
        if extra:
            raise KeyError(f"document {doc.get('id')!r} has undeclared columns {sorted(extra)}; declare them in the step")
    return pa.Table.from_pylist(docs, schema=schema)


def read_documents(path: str | Path, batch_size: int = 1024, columns: list[str] | None = None) -> Iterator[Document]:
    """Stream the rows of a Parquet file as dicts, one record batch in memory at a time."""
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
        yield from batch.to_pylist()


def iter_values_at(path: str | Path, rows: Sequence[int],
                   columns: Sequence[str]) -> Iterator[tuple[int, tuple[object, ...]]]:
    """(row, its values of `columns`) for some rows, in row order, each row group that holds them read once.

    A caller that works through many rows in batches reads each row group once this way; asking `values_at`
    per batch would decode a row group again for every batch that falls in it."""
    wanted = sorted(set(rows))
    parquet = pq.ParquetFile(path)
    start, i = 0, 0
    for group in range(parquet.num_row_groups):
        end = start + parquet.metadata.row_group(group).num_rows
        first = i
        while i < len(wanted) and wanted[i] < end:
            i += 1
        if i > first:
            table = parquet.read_row_group(group, columns=list(columns), use_threads=False)
            values = [table.column(name) for name in columns]
            for row in wanted[first:i]:
                yield row, tuple(column[row - start].as_py() for column in values)
        start = end
    if i < len(wanted):
        raise IndexError(f"{path} has {start} rows, no row {wanted[i]}")


def values_at(path: str | Path, rows: Sequence[int], column: str) -> list[object]:
    """Some rows' values of one column (in the order asked), reading only the row groups that hold them."""
    found = {row: value for row, (value,) in iter_values_at(path, rows, [column])}
    return [found[row] for row in rows]


def parquet_columns(path: str | Path) -> dict[str, pa.DataType]:
    schema = pq.read_schema(path)
    return {field.name: field.type for field in schema}


def iter_parts(stage_dir: Path) -> Iterable[Path]:
    """The kept-document files of a finished stage, in a deterministic order."""
    return sorted(stage_dir.glob("part-*.parquet"))
