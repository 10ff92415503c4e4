"""Reading JSONL files (plain, .gz, .zst; local or fsspec URL) of already-extracted text into documents."""
from __future__ import annotations

import io
import json
from collections.abc import Iterator

import fsspec

from sciloom.curation.document import Document, document_id
from sciloom.curation.read_warc import DEFAULT_MAX_RECORD_BYTES, READER_COLUMNS, source_name
from sciloom.curation.step import Reader


class JsonlReader(Reader):
    """One document per JSON line; malformed lines and lines without text are counted, never fatal."""

    name = "read_jsonl"
    columns = READER_COLUMNS

    def __init__(self, source: str | None = None, text_field: str = "text", id_field: str | None = "id",
                 url_field: str | None = "url", max_line_chars: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        super().__init__()
        self.source = source
        self.text_field = text_field
        self.id_field = id_field
        self.url_field = url_field
        self.max_line_chars = max_line_chars

    def read(self, location: str) -> Iterator[Document]:
        source = self.source or source_name(location)
        try:
            # compression="infer" picks gzip / zstd from the file name.
            opened = fsspec.open(location, "rb", compression="infer").open()
        except (OSError, ValueError):
            self.skip("unreadable_file")
            return
        with opened as raw:
            lines = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="\n")
            try:
                for line_no, line in enumerate(self._lines(lines), start=1):
                    if line is None:
                        continue
                    doc = self._document(line, line_no, location, source)
                    if doc is not None:
                        self.keep(doc)
                        yield doc
            except (OSError, EOFError, ValueError):
                # A truncated or corrupt compressed stream: the lines read so far stand.
                self.skip("corrupt_stream")

    def _lines(self, lines: io.TextIOWrapper) -> Iterator[str | None]:
        """Lines, with None in place of each line over the cap: it is passed over in bounded pieces."""
        while line := lines.readline(self.max_line_chars):
            if len(line) < self.max_line_chars or line.endswith("\n"):
                yield line
                continue
            while (rest := lines.readline(self.max_line_chars)) and not rest.endswith("\n"):
                pass
            self.stats.docs_in += 1
            self.skip("record_too_large")
            yield None

    def _document(self, line: str, line_no: int, location: str, source: str) -> Document | None:
        if not line.strip():
            return None  # blank lines carry no record
        self.stats.docs_in += 1
        self.stats.bytes_in += len(line)
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:  # surrogate-escaped bytes that were not UTF-8
                line = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                self.note("decoded:invalid_bytes_replaced")
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            self.skip("malformed_json")
            return None
        if not isinstance(record, dict):
            self.skip("not_a_json_object")
            return None
        text = record.get(self.text_field)
        if not isinstance(text, str):
            self.skip("missing_text_field")
            return None
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # a JSON escape of a lone surrogate: Arrow cannot store it
                text = text.encode("utf-8", "replace").decode("utf-8")
                self.note("decoded:lone_surrogates_replaced")
        own_id = record.get(self.id_field) if self.id_field else None
        locator = str(own_id) if own_id is not None else f"{location}:{line_no}"
        url = record.get(self.url_field) if self.url_field else None
        return {"id": document_id(source, locator), "text": text, "url": url if isinstance(url, str) else None,
                "source": source, "lang": None, "html": None}
