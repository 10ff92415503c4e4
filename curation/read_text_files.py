"""Reading files that hold one document each: plain text (books, articles, LaTeX or Markdown sources) or one saved
HTML page, which the extraction step then reads like a crawled one.

A folder of `.txt` or `.html` files is how many corpora come (news collections, Project Gutenberg, converted
papers, scraped pages). A text file's charset is found as for an undeclared web page (byte order mark, else UTF-8,
else a detector's guess), a page's as a browser finds it (byte order mark, `<meta charset>`, UTF-8, a guess); a
file that was not clean UTF-8 is kept and counted under a `decoded:` note. A file larger than the record cap is
skipped as `file_too_large`, read no further than the cap; one that is not text (zero bytes, an image) as
`binary_file`; an unreadable or corrupt compressed one as `unreadable_file` / `corrupt_stream`.
"""
from __future__ import annotations

from collections.abc import Iterator

from sciloom.curation.document import Document
from sciloom.curation.read_warc import (DEFAULT_MAX_RECORD_BYTES, READER_COLUMNS, decode_page, decode_undeclared,
                                        looks_binary, reader_document)
from sciloom.curation.step import Reader

TEXT_SUFFIXES = (".txt", ".text", ".md", ".tex")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def folder_source_name(location: str) -> str:
    """A text file's default source: its folder's name (`bbc/tech/001.txt` -> `tech`), not the file's own name,
    which would make every document a source of its own."""
    parts = location.rstrip("/").rsplit("/", 2)
    return parts[-2] if len(parts) >= 2 and parts[-2] else "input"


class TextFileReader(Reader):
    """The whole of one file (plain or compressed; local path or fsspec URL) as one document: its `text`, or with
    `html=True` its `html`."""

    name = "read_text"
    columns = READER_COLUMNS

    def __init__(self, source: str | None = None, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
                 html: bool = False) -> None:
        super().__init__()
        self.source, self.max_record_bytes, self.html = source, max_record_bytes, html

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
        if self.html:
            content, notes = decode_page(body, None)
        else:
            content, note = decode_undeclared(body)
            notes = [note] if note is not None else []
        for note in notes:
            self.note(note)
        self.stats.bytes_in += len(body)
        source = self.source or folder_source_name(location)
        # Blank files are read as documents: the rules reject them with a reason, as for blank JSONL text.
        doc = reader_document(source, name or location, None, **{"html" if self.html else "text": content})
        self.keep(doc)
        yield doc
