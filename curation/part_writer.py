"""Streaming, atomic Parquet output: a part file appears complete or not at all."""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.curation.atomic_write import atomic_path
from sciloom.curation.document import Document, documents_to_table

# Every Parquet part carries these in its key-value metadata; sciloom/output_schema.py documents the columns.
SCHEMA_VERSION = "1"
SCHEMA_VERSION_KEY = "sciloom.schema_version"
RECIPE_HASH_KEY = "sciloom.recipe_hash"


def provenance(recipe_hash: str | None) -> dict[str, str]:
    """Key-value metadata naming the recipe that wrote a part (resumed parts keep the recipe that wrote them)."""
    return {RECIPE_HASH_KEY: recipe_hash} if recipe_hash else {}


class PartWriter:
    """Buffers documents into record batches and renames the finished file into place on close.

    Memory stays bounded by `batch_size` documents whatever the size of the input. An exception inside
    the `with` block removes the partial file, so a retried task starts clean.
    """

    def __init__(self, path: Path, schema: pa.Schema, batch_size: int = 512,
                 metadata: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.schema = schema.with_metadata({**(schema.metadata or {}), SCHEMA_VERSION_KEY: SCHEMA_VERSION,
                                            **(metadata or {})})
        self.batch_size = batch_size
        self.rows = 0
        self._buffer: list[Document] = []
        self._commit = ExitStack()
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> PartWriter:
        tmp = self._commit.enter_context(atomic_path(self.path))
        self._writer = pq.ParquetWriter(tmp, self.schema, compression="zstd")
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
            try:
                if exc_type is None:
                    self._flush()
            finally:
                self._writer.close()
        except BaseException as error:
            if not self._commit.__exit__(type(error), error, error.__traceback__):
                raise
        else:
            self._commit.__exit__(exc_type, exc, tb)
