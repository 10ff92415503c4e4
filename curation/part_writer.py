"""Streaming, atomic Parquet output: a part file appears complete or not at all."""
from __future__ import annotations

from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.curation.document import Document, documents_to_table


class PartWriter:
    """Buffers documents into record batches and renames the finished file into place on close.

    Memory stays bounded by `batch_size` documents whatever the size of the input. An exception inside
    the `with` block removes the partial file, so a retried task starts clean.
    """

    def __init__(self, path: Path, schema: pa.Schema, batch_size: int = 512) -> None:
        self.path = path
        self.schema = schema
        self.batch_size = batch_size
        self.rows = 0
        self._buffer: list[Document] = []
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> PartWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        return self

    def write(self, doc: Document) -> None:
        self._buffer.append(doc)
        if len(self._buffer) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            assert self._writer is not None
            self._writer.write_table(documents_to_table(self._buffer, self.schema))
            self.rows += len(self._buffer)
            self._buffer.clear()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._writer is not None
        try:
            if exc_type is None:
                self._flush()
        finally:
            self._writer.close()
        if exc_type is None:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)
