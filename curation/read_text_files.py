"""Reading plain-text files (books, articles, LaTeX or Markdown sources): one file is one document.

A folder of `.txt` files is how many corpora come (news collections, Project Gutenberg, converted papers). The
charset is found as for an undeclared web page (byte order mark, else UTF-8, else a detector's guess), and a
file that was not clean UTF-8 is kept and counted under a `decoded:` note. A file larger than the record cap is
skipped as `file_too_large`, read no further than the cap; one that is not text (zero bytes, an image) as
`binary_file`; an unreadable or corrupt compressed one as `unreadable_file` / `corrupt_stream`.
"""
from __future__ import annotations

from collections.abc import Iterator

from sciloom.curation.document import Document, document_id
from sciloom.curation.read_warc import DEFAULT_MAX_RECORD_BYTES, READER_COLUMNS, decode_undeclared, looks_binary
from sciloom.curation.step import Reader

TEXT_SUFFIXES = (".txt", ".text", ".md", ".tex")


def folder_source_name(location: str) -> str:
    """A text file's default source: its folder's name (`bbc/tech/001.txt` -> `tech`), not the file's own name,
    which would make every document a source of its own."""
    parts = location.rstrip("/").rsplit("/", 2)
    return parts[-2] if len(parts) >= 2 and parts[-2] else "input"


class TextFileReader(Reader):
    """The whole of one text file (plain, .gz, .zst; local path or fsspec URL) as one document."""

    name = "read_text"
    columns = READER_COLUMNS

    def __init__(self, source: str | None = None, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        super().__init__()
        self.source = source
        self.max_record_bytes = max_record_bytes

    def read(self, location: str, name: str | None = None) -> Iterator[Document]:
        self.stats.docs_in += 1
        if (opened := self.open_input(location, "infer")) is None:
            return
        with opened as raw:
            try:
                body = raw.read(self.max_record_bytes + 1)
            except (OSError, EOFError, ValueError):
                self.skip("corrupt_stream")
                return
        if len(body) > self.max_record_bytes:
            self.skip("file_too_large")
            return
        if looks_binary(body):
            self.skip("binary_file")
            return
        text, note = decode_undeclared(body)
        if note is not None:
            self.note(note)
        self.stats.bytes_in += len(body)
        source = self.source or folder_source_name(location)
        # Blank files are read as documents: the rules reject them with a reason, as for blank JSONL text.
        doc = {"id": document_id(source, name or location), "text": text, "url": None, "source": source, "lang": None,
               "html": None}
        self.keep(doc)
        yield doc
