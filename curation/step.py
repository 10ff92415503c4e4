"""A pipeline step: a generator over documents with its own statistics (datatrove's shape, typed columns).

Subclasses implement either `apply` (one document at a time: return None to keep, a reason to reject) or
`run` (anything that needs batches). A rejected document is never silently dropped: it goes to
`self.rejected` with its reason, and the executor writes it aside.
"""
from __future__ import annotations

import io
import lzma
import zlib
from abc import ABC
from collections.abc import Iterable, Iterator
from typing import IO, Any, ClassVar

import fsspec
from fsspec.spec import AbstractBufferedFile
import pyarrow as pa
import zstandard

from sciloom.curation.document import REJECT_REASON, Document
from sciloom.curation.stats import StepStats


class Step(ABC):
    name: ClassVar[str]
    # Columns this step adds to every document it lets through (and to rejected ones, where it set them).
    columns: ClassVar[dict[str, pa.DataType]] = {}
    # Columns this step consumes: they are not carried into the kept output (e.g. raw HTML after extraction).
    removes: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.stats = StepStats(self.name)
        self.rejected: list[Document] = []

    def apply(self, doc: Document) -> str | None:
        """Inspect or annotate one document in place; return a rejection reason or None to keep it."""
        raise NotImplementedError(f"{type(self).__name__} must implement apply() or run()")

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            self.stats.docs_in += 1
            self.stats.bytes_in += _text_bytes(doc)
            with self.stats.timer():
                reason = self.apply(doc)
            if reason is None:
                self.keep(doc)
                yield doc
            else:
                self.reject(doc, reason)

    def keep(self, doc: Document) -> None:
        for name in self.removes:  # consumed: kept documents go on without it (rejected ones keep it aside)
            doc.pop(name, None)
        self.stats.docs_out += 1
        self.stats.bytes_out += _text_bytes(doc)

    def reject(self, doc: Document, reason: str) -> None:
        self.stats.rejected[reason] += 1
        doc[REJECT_REASON] = f"{self.name}:{reason}"
        self.rejected.append(doc)

    def note(self, what: str, count: int = 1) -> None:
        """Count something about a document that goes on (not a loss): e.g. a fallback charset."""
        self.stats.notes[what] += count

    def skip(self, reason: str, count: int = 1) -> None:
        """Count input that could not become a document (it has no row to write aside)."""
        self.stats.skipped[reason] += count


def _text_bytes(doc: Document) -> int:
    text = doc.get("text")
    return len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else 0


# Compressed files are read through them by name (fsspec's `compression="infer"`; lz4 by the WARC reader only).
COMPRESSION_SUFFIXES = (".gz", ".zst", ".lz4", ".bz2", ".xz")
# A compressed file read in pieces: each piece decompresses all of it and reads the records that start in every
# n-th block of this many lines (JSON lines, text split into documents).
COMPRESSED_BLOCK_LINES = 1_000
# What reading a damaged file raises: the OS, a stream cut short, and the decoders, whose errors are their own
# classes for zlib, xz and zstd (a corrupt .zst or .xz file stopped its task instead of being counted as
# corrupt_stream).
READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


def open_binary(location: str, storage_options: dict[str, Any] | None = None,
                compression: str | None = None) -> IO[bytes]:
    """A file (local, or a URL opened with `storage_options`) for binary reading, with the file API the readers use:
    an object store's file is buffered by `io.BufferedReader`, since fsspec's own cannot read a line of at most n
    bytes (`readline(n)`), which is how a line without a break is never held whole."""
    opened = fsspec.open(location, "rb", compression=compression, **(storage_options or {})).open()
    return io.BufferedReader(opened) if isinstance(opened, AbstractBufferedFile) else opened


def is_url(location: str) -> bool:
    """Whether an input's location is a URL (`s3://..`, `https://..`), not a local path."""
    return "://" in location


class Reader(Step):
    """The first step of a chain: turns one input location into documents, counting what it cannot read."""

    storage_options: dict[str, Any] = {}  # fsspec's, for inputs in an object store (InputsConfig.storage_options)

    def output_columns(self, location: str) -> dict[str, pa.DataType]:
        """Columns of the documents read from `location` (fixed for most readers)."""
        return dict(self.columns)

    def read(self, location: str, name: str | None = None) -> Iterator[Document]:
        """Documents of the input at `location`; `name` is how the recipe names it (records without an id of their
        own are named after it, so ids do not depend on where the data is mounted)."""
        raise NotImplementedError

    def open_input(self, location: str, compression: str | None = None) -> IO[bytes] | None:
        """The input opened for binary reading (`compression="infer"`: gzip / zstd by the file name), or None,
        counted as `unreadable_file`, when it cannot be opened."""
        try:
            return open_binary(location, self.url_options(location), compression)
        except (OSError, ValueError):
            self.skip("unreadable_file")
            return None

    def url_options(self, location: str) -> dict[str, Any]:
        """The storage options to open `location` with: the inputs' own for a URL, none for a local file."""
        return self.storage_options if is_url(location) else {}

    def read_capped(self, location: str, cap: int) -> bytes | None:
        """The first `cap + 1` bytes of a file read whole (decompressed by its name), so that a file over the cap
        shows as such; None when it cannot be read, counted as `unreadable_file` or `corrupt_stream`."""
        if (opened := self.open_input(location, "infer")) is None:
            return None
        with opened as raw:
            try:
                return raw.read(cap + 1)
            except READ_ERRORS:
                self.skip("corrupt_stream")
                return None

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        raise TypeError("a Reader starts a chain: call read(location)")
