"""Reading tables of records (Parquet, Arrow and CSV files of already-extracted text) into documents, one record
batch in memory at a time."""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from sciloom.curation.document import Document
from sciloom.curation.read_jsonl import RecordReader, TextField, field_text, missing_field
from sciloom.curation.read_warc import READER_COLUMNS, source_name


class ParquetReader(RecordReader):
    """Documents from the text (and optional id / url) columns of a Parquet file; other columns are not read. The
    text column may be nested and hold a list of paragraphs, as in JSONL (read_jsonl.field_text)."""

    name = "read_parquet_input"
    columns = READER_COLUMNS
    compression: str | None = None  # Parquet compresses inside the file

    def __init__(self, source: str | None = None, text_field: TextField = "text", id_field: str | None = "id",
                 url_field: str | None = "url", batch_size: int = 1024, html: bool = False) -> None:
        super().__init__(source, text_field, id_field, url_field, html)
        self.batch_size = batch_size

    def read(self, location: str, name: str | None = None, piece: tuple[int, int] | None = None) -> Iterator[Document]:
        """The file's documents; with `piece` (k, n), those of its k-th of n runs of row groups (a Parquet file
        read by n tasks: inputs.tasks_for)."""
        source = self.source or source_name(location)
        if (handle := self.open_input(location, self.compression)) is None:
            return
        with handle:
            try:
                names, batches, row = self._open(handle, location, piece)
            except (OSError, pa.ArrowInvalid):
                self.skip("unreadable_file")
                return
            # A nested text field (`metadata.abstract`) is read through its top-level column.
            fields = [self.text_field] if isinstance(self.text_field, str) else list(self.text_field)
            text_columns = [c for c in (f if f in names else f.split(".")[0] for f in fields) if c in names]
            # Without a text column, only the rows are counted (no column is read).
            wanted = list(dict.fromkeys(c for c in (*text_columns, self.id_field, self.url_field) if c and c in names)) \
                if text_columns else []
            try:
                for batch in batches(wanted):
                    if not text_columns:
                        self.stats.docs_in += batch.num_rows
                        self.skip(missing_field(self.text_field), batch.num_rows)
                        continue
                    for record in batch.to_pylist():
                        row += 1
                        doc = self._document(record, row, name or location, source)
                        if doc is not None:
                            self.keep(doc)
                            yield doc
            except (OSError, pa.ArrowInvalid):
                self.skip("corrupt_stream")

    def _open(self, handle: BinaryIO, location: str, piece: tuple[int, int] | None = None
              ) -> tuple[set[str], Callable[[list[str]], Iterator[pa.RecordBatch]], int]:
        """The file's column names, its record batches of the given columns (of the piece's row groups), read one
        at a time, and the number of rows before them (records without an id are named by their row)."""
        parquet = pq.ParquetFile(handle)
        groups = range(parquet.metadata.num_row_groups)
        if piece is not None:
            groups = groups[len(groups) * piece[0] // piece[1]:len(groups) * (piece[0] + 1) // piece[1]]
        rows_before = sum(parquet.metadata.row_group(g).num_rows for g in range(groups.start if groups else 0))

        def batches(columns: list[str]) -> Iterator[pa.RecordBatch]:
            return parquet.iter_batches(batch_size=self.batch_size, columns=columns, row_groups=list(groups))

        return set(parquet.schema_arrow.names), batches, rows_before

    def _document(self, record: dict, row: int, name: str, source: str) -> Document | None:
        self.stats.docs_in += 1
        text = field_text(record, self.text_field)
        if text is None:
            self.skip(missing_field(self.text_field))
            return None
        self.stats.bytes_in += len(text)
        return self._record_document(record, text, lambda: f"{name}:{row}", source)


class ArrowReader(ParquetReader):
    """Documents from an Arrow IPC file, stream (`datasets.save_to_disk`'s `.arrow` files) or Feather file, read as
    Parquet files are."""

    name = "read_arrow_input"

    def _open(self, handle: BinaryIO, location: str, piece: tuple[int, int] | None = None
              ) -> tuple[set[str], Callable[[list[str]], Iterator[pa.RecordBatch]], int]:
        magic = handle.read(6)
        handle.seek(0)
        if magic == b"ARROW1":  # the file format (Feather 2) has a footer; the stream format has not
            file_reader = pa.ipc.open_file(handle)
            schema, read = file_reader.schema, (file_reader.get_batch(i) for i in range(file_reader.num_record_batches))
        else:
            stream_reader = pa.ipc.open_stream(handle)
            schema, read = stream_reader.schema, iter(stream_reader)

        def batches(columns: list[str]) -> Iterator[pa.RecordBatch]:
            for batch in read:
                yield batch.select(columns)

        return set(schema.names), batches, 0


class CsvReader(ParquetReader):
    """Documents from a CSV or TSV file (plain or compressed) whose first row names its columns, read as Parquet
    files are. A CSV field may be quoted and hold line breaks; a TSV's fields are not quoted (its text may hold
    quotes). A row with the wrong number of fields is counted as `malformed_row`; bytes that are not UTF-8 are
    replaced and noted, as in JSONL."""

    name = "read_csv_input"
    compression = "infer"

    def _open(self, handle: BinaryIO, location: str, piece: tuple[int, int] | None = None
              ) -> tuple[set[str], Callable[[list[str]], Iterator[pa.RecordBatch]], int]:
        tab = ".tsv" in location.lower().rsplit("/", 1)[-1]
        delimiter = "\t" if tab else ","
        header = handle.readline(1 << 20).decode("utf-8", "replace").removeprefix("\ufeff")
        names = next(csv.reader([header], delimiter=delimiter), [])
        if not names:
            raise pa.ArrowInvalid("no header row")
        handle.seek(0)

        def malformed(row: pa_csv.InvalidRow) -> str:
            self.stats.docs_in += 1
            self.skip("malformed_row")
            return "skip"

        # Every column as bytes: type inference on the first block fails on a later row that does not fit it.
        rows = pa_csv.open_csv(
            handle, read_options=pa_csv.ReadOptions(block_size=4 << 20),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False if tab else '"',
                                              newlines_in_values=not tab, invalid_row_handler=malformed),
            convert_options=pa_csv.ConvertOptions(column_types={n: pa.binary() for n in names},
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False))

        def batches(columns: list[str]) -> Iterator[pa.RecordBatch]:
            for batch in rows:
                if not columns:
                    yield batch.select([])  # its rows, counted
                    continue
                yield pa.record_batch([self._as_text(batch.column(c)) for c in columns], names=columns)

        return set(rows.schema.names), batches, 0

    def _as_text(self, column: pa.Array) -> pa.Array:
        try:
            return column.cast(pa.string())
        except pa.ArrowInvalid:
            self.note("decoded:invalid_bytes_replaced")
            return pa.array([v.decode("utf-8", "replace") for v in column.to_pylist()], pa.string())
