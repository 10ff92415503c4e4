"""Reading JSONL: one parser, one vocabulary of problems, for the pipeline's JsonlReader (files: plain or compressed;
local or fsspec URL), the command-line filters (stdin) and the classifier trainer.

The text field may be nested (`metadata.abstract`) and may hold a list of paragraphs, as strings or as objects with a
`text` (unarXive's and S2ORC's `body_text`): they are joined with blank lines (`field_text`).

Problems, each counted under its name: `blank_line`, `malformed_json`, `not_a_json_object`, `missing_<field>_field`
(absent or not text), `empty_<field>` (only whitespace). Bytes that are not UTF-8 are replaced (U+FFFD) and
noted as `decoded:invalid_bytes_replaced`, JSON escapes of lone surrogates as `decoded:lone_surrogates_replaced`:
neither costs the record, and no other record is affected.
"""
from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sciloom.curation.document import Document
from sciloom.curation.paper_placeholders import resolve_placeholders
from sciloom.curation.read_text_files import count_lines, next_line_start, saved_page_url
from sciloom.curation.read_warc import DEFAULT_MAX_RECORD_BYTES, READER_COLUMNS, reader_document, source_name
from sciloom.curation.step import COMPRESSED_BLOCK_LINES, COMPRESSION_SUFFIXES, READ_ERRORS, Reader, open_binary


BLANK_LINE = "blank_line"
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_a_json_object"
INVALID_BYTES = "decoded:invalid_bytes_replaced"
LONE_SURROGATES = "decoded:lone_surrogates_replaced"


# A record's text: one field, or several (title, abstract, body) joined by blank lines.
TextField = str | Sequence[str]


def field_name(field: TextField) -> str:
    return field if isinstance(field, str) else "+".join(field)


def missing_field(field: TextField) -> str:
    return f"missing_{field_name(field)}_field"


def empty_field(field: TextField) -> str:
    return f"empty_{field_name(field)}"


def field_text(record: dict[str, Any], field: TextField) -> str | None:
    """The text a record holds in `field`: a key, else a dotted path into nested objects; a string, or a list of
    paragraphs (strings, or objects with a string `text`) joined by blank lines; None when there is none. Several
    fields: the text of each that has one, joined by blank lines (None when none has). unarXive's placeholders are
    resolved (`paper_placeholders`)."""
    if not isinstance(field, str):
        parts = [part for part in (field_text(record, one) for one in field) if part is not None]
        return "\n\n".join(part for part in parts if part.strip()) if parts else None
    if field in record:
        value = record[field]
    else:
        value = record
        for key in field.split("."):
            value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, list):
        parts = [part.get("text") if isinstance(part, dict) else part for part in value]
        value = "\n\n".join(part for part in parts if part.strip()) if all(isinstance(p, str) for p in parts) else None
    return resolve_placeholders(value, record) if isinstance(value, str) else None


@dataclass(frozen=True)
class JsonLine:
    """One parsed line: `record` when it is a JSON object, `value` (the text of the asked field) when it has one,
    blank or not."""

    record: dict[str, Any] | None
    value: str | None
    problem: str | None
    notes: tuple[str, ...] = ()

    @property
    def id(self) -> Any:
        return self.get("id")

    def get(self, field: str) -> Any:
        """The record's value of `field` (None: no such field, or no record)."""
        return self.record.get(field) if self.record is not None else None


def _valid_utf8(text: str) -> tuple[str, bool]:
    """(text, whether it had to change): surrogate escapes (undecodable bytes) or lone surrogates become U+FFFD."""
    if text.isascii():
        return text, False
    try:
        text.encode("utf-8")
        return text, False
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")  # bytes a surrogateescape decoder could not read
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "replace")  # lone surrogates from JSON escapes
    return raw.decode("utf-8", "replace"), True


def parse_json_line(line: str | bytes, field: TextField = "text") -> JsonLine:
    """Parse one JSONL line and check that `field` holds a non-blank string (see the module docstring)."""
    notes: list[str] = []
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            line, _ = line.decode("utf-8", "replace"), notes.append(INVALID_BYTES)
    else:
        line, changed = _valid_utf8(line)
        if changed:
            notes.append(INVALID_BYTES)
    if not line.strip():
        return JsonLine(None, None, BLANK_LINE, tuple(notes))
    try:
        # strict=False: raw control characters (NUL, tabs) inside strings are common in crawled text.
        record = json.loads(line, strict=False)
    except json.JSONDecodeError:
        return JsonLine(None, None, MALFORMED_JSON, tuple(notes))
    return parse_json_record(record, field, notes)


def parse_json_record(record: Any, field: TextField = "text", notes: list[str] | None = None) -> JsonLine:
    """Check that a parsed JSON value is an object whose `field` holds a non-blank string."""
    notes = notes if notes is not None else []
    if not isinstance(record, dict):
        return JsonLine(None, None, NOT_AN_OBJECT, tuple(notes))
    value = field_text(record, field)
    if value is None:
        return JsonLine(record, None, missing_field(field), tuple(notes))
    value, changed = _valid_utf8(value)
    if changed:
        notes.append(LONE_SURROGATES)
    if not value.strip():
        return JsonLine(record, value, empty_field(field), tuple(notes))
    return JsonLine(record, value, None, tuple(notes))


def read_json_lines(lines: Iterable[str | bytes], field: TextField = "text") -> Iterator[JsonLine]:
    """Every line parsed, blank ones included: a filter answers each input line with exactly one output line."""
    for line in lines:
        yield parse_json_line(line.rstrip(b"\r\n") if isinstance(line, bytes) else line.rstrip("\r\n"), field)


class RecordReader(Reader):
    """A reader of records (JSON lines, Parquet, Arrow, CSV rows): which fields hold a record's text (or, with
    `html`, its page's HTML, which the extraction step reads), its own id and its URL."""

    def __init__(self, source: str | None, text_field: TextField, id_field: str | None, url_field: str | None,
                 html: bool) -> None:
        super().__init__()
        self.source = source
        self.text_field = text_field
        self.html = html
        self.id_field = id_field
        self.url_field = url_field

    def _record_document(self, record: dict[str, Any], text: str, default_locator: Callable[[], str],
                         source: str) -> Document:
        """The document of a record: named by its own id, else by `default_locator` (its file and line or row)."""
        own_id = record.get(self.id_field) if self.id_field else None
        locator = str(own_id) if own_id is not None else default_locator()
        url = record.get(self.url_field) if self.url_field else None
        if self.html and not isinstance(url, str):
            url = saved_page_url(text)  # a scraped page without its URL: the one the page names, as for saved files
        return reader_document(source, locator, url if isinstance(url, str) else None,
                               **{"html" if self.html else "text": text})


class JsonlReader(RecordReader):
    """One document per JSON line; malformed lines and lines without text are counted, never fatal.

    A `.json` file may also hold one JSON value, as files of one paper each (CORD-19, PubMed Central's JSON) and
    exported arrays of records are written: an object over many lines is one record, read whole up to
    `max_line_chars` (beyond: `file_too_large`; one that does not parse is read line by line); an array's objects
    are records, read one at a time whatever the array's size. With `records_field`, the records are the items of
    the array under that field of the file's one object, read the same way."""

    name = "read_jsonl"
    columns = READER_COLUMNS

    def __init__(self, source: str | None = None, text_field: TextField = "text", id_field: str | None = "id",
                 url_field: str | None = "url", max_line_chars: int = DEFAULT_MAX_RECORD_BYTES,
                 html: bool = False, records_field: str | None = None) -> None:
        super().__init__(source, text_field, id_field, url_field, html)
        self.max_line_chars = max_line_chars
        self.records_field = records_field

    def read(self, location: str, name: str | None = None, piece: tuple[int, int] | None = None) -> Iterator[Document]:
        """The file's documents; with `piece` (k, n), those of the lines that start in its k-th of n equal byte
        ranges of an uncompressed file of JSON lines, or of a compressed one's k-th of every n blocks of lines (a
        file read by n tasks: inputs.tasks_for)."""
        source = self.source or source_name(location)
        if piece is not None and not location.lower().endswith(COMPRESSION_SUFFIXES):
            yield from self._read_piece(location, name or location, source, piece)
            return
        if (opened := self.open_input(location, "infer")) is None:
            return
        with opened as raw:
            lines = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="\n")
            try:
                first = lines.readline(self.max_line_chars).removeprefix("\ufeff")  # a BOM is no part of JSON
                if piece is not None:
                    # A compressed stream cannot be entered midway: each piece reads it all, and parses its own
                    # blocks of lines alone (the others become blank lines, which carry no record and keep the
                    # line numbers that name records without an id).
                    yield from self._line_documents(_blocks_of(self._lines(first, lines), piece), name or location,
                                                    source)
                elif self.records_field is not None:
                    yield from self._field_records(first, lines, name or location, source)
                elif _opens_a_json_value(first, whole_line=len(first) < self.max_line_chars or first.endswith("\n")):
                    yield from self._json_value(first, lines, name or location, source)
                else:
                    yield from self._line_documents(self._lines(first, lines), name or location, source)
            except READ_ERRORS:
                # A truncated or corrupt compressed stream: the lines read so far stand (counted by one piece).
                if piece is None or piece[0] == 0:
                    self.skip("corrupt_stream")

    def _read_piece(self, location: str, name: str, source: str, piece: tuple[int, int]) -> Iterator[Document]:
        if (opened := self.open_input(location)) is None:
            return
        with opened as raw:
            try:
                size = raw.seek(0, io.SEEK_END)
                start = next_line_start(raw, size * piece[0] // piece[1], self.max_line_chars)
                # The file's first line without its BOM, if any; then each line that starts before the piece's end.
                first = raw.readline(self.max_line_chars).removeprefix(b"\xef\xbb\xbf") if start == 0 else b""
                lines = self._lines(first, raw, end=size * (piece[0] + 1) // piece[1])
                # Records without an id are named by their line, as when the file is read whole: the lines before
                # the piece are counted, once, only if one is needed.
                lines_before = functools.cache(lambda: count_lines(location, start, self.url_options(location)))
                yield from self._line_documents(lines, name, source, lambda: lines_before() + 1)
            except READ_ERRORS:
                self.skip("corrupt_stream")

    def _line_documents(self, lines: Iterator[str | bytes | None], name: str, source: str,
                        first_line_no: Callable[[], int] = lambda: 1) -> Iterator[Document]:
        for index, line in enumerate(lines):
            if line is None:  # over the cap, passed over
                self.stats.docs_in += 1
                self.skip("record_too_large")
                continue
            if not line.strip():
                continue  # a blank line between records, which carries no record
            self.stats.docs_in += 1
            self.stats.bytes_in += len(line)
            doc = self._document(parse_json_line(line, self.text_field),
                                 lambda index=index: f"{name}:{first_line_no() + index}", source)
            if doc is not None:
                yield doc

    def _json_value(self, first: str, lines: io.TextIOWrapper, name: str, source: str) -> Iterator[Document]:
        if first.lstrip().startswith("["):
            yield from self._array_documents(_array_items(first, lines, self.max_line_chars), name, source)
            return
        text = first + lines.read(max(self.max_line_chars - len(first), 0))
        if lines.read(1):
            self.stats.docs_in += 1
            self.skip("file_too_large")
            return
        try:
            value = json.loads(text, strict=False)
        except json.JSONDecodeError:  # JSON lines after all, the first one damaged
            yield from self._line_documents(self._lines("", io.StringIO(text)), name, source)
            return
        self.stats.bytes_in += len(text)
        self.stats.docs_in += 1
        doc = self._document(parse_json_record(value, self.text_field), lambda: f"{name}:1", source)
        if doc is not None:
            yield doc

    def _array_documents(self, items: Iterator[tuple[Any, int, str | None]], name: str,
                         source: str) -> Iterator[Document]:
        """The documents of a JSON array's items, named by the file and their number."""
        for item_no, (item, size, problem) in enumerate(items, 1):
            self.stats.docs_in += 1
            if problem is not None:
                self.skip(problem)  # an item passed over; after damage, the last one
                continue
            self.stats.bytes_in += size
            doc = self._document(parse_json_record(item, self.text_field), lambda: f"{name}:{item_no}", source)
            if doc is not None:
                yield doc

    def _field_records(self, first: str, lines: io.TextIOWrapper, name: str, source: str) -> Iterator[Document]:
        """The records of the array under `records_field` of the file's one object (Hugging Face's `field=`), read
        one at a time; a file without that array is one problem, counted (`missing_<field>_field`,
        `not_a_json_object`, `malformed_json`)."""
        found = _field_array(first, lines, self.records_field, self.max_line_chars)
        if isinstance(found, str):
            self.stats.docs_in += 1
            self.skip(found)
            return
        yield from self._array_documents(_array_items(*found, self.max_line_chars), name, source)

    def _lines(self, line: str | bytes, lines: io.IOBase, end: int | None = None) -> Iterator[str | bytes | None]:
        """`line` (read with the cap; empty: none) and the lines after it (text or bytes, as `lines` gives them), up
        to the first that starts at or after byte `end` (a piece of the file), with None in place of each line over
        the cap (passed over in bounded pieces; its reader counts it)."""
        newline = b"\n" if isinstance(line, bytes) else "\n"
        while True:
            if not line:
                if end is not None and lines.tell() >= end:
                    return
                if not (line := lines.readline(self.max_line_chars)):
                    return
            if len(line) < self.max_line_chars or line.endswith(newline):
                yield line
            else:
                while (rest := lines.readline(self.max_line_chars)) and not rest.endswith(newline):
                    pass
                yield None
            line = line[:0]

    def _document(self, parsed: JsonLine, default_locator: Callable[[], str], source: str) -> Document | None:
        for note in parsed.notes:
            self.note(note)
        if parsed.problem is not None and parsed.problem != empty_field(self.text_field):
            self.skip(parsed.problem)
            return None
        # Blank text is read as a document: the rules reject it with a reason, and it shows among rejected rows.
        doc = self._record_document(parsed.record, parsed.value, default_locator, source)
        self.keep(doc)
        return doc


def _blocks_of(lines: Iterable[str | bytes | None], piece: tuple[int, int]) -> Iterator[str | bytes | None]:
    """The lines of piece (k, n)'s blocks (every n-th block of COMPRESSED_BLOCK_LINES lines, from the k-th); an
    empty line in place of every other."""
    k, n = piece
    for index, line in enumerate(lines):
        yield line if (index // COMPRESSED_BLOCK_LINES) % n == k else ""


def starts_json_lines(location: str, storage_options: dict[str, Any] | None = None) -> bool:
    """Whether a file (local, or a URL opened with `storage_options`; decompressed by its name) begins as JSON lines
    do, not as one JSON value (an array, or an object over many lines), which cannot be cut at line starts."""
    with open_binary(location, storage_options, "infer") as raw:
        first = raw.readline(DEFAULT_MAX_RECORD_BYTES).decode("utf-8", "replace").removeprefix("\ufeff")
    return not _opens_a_json_value(first, whole_line=first.endswith("\n"))


_DECODER = json.JSONDecoder(strict=False)
_NOT_SPACE = re.compile(r"\S")
_AFTER_VALUE = frozenset(",}] \t\r\n")
_CHUNK_CHARS = 1 << 20


def _array_items(first: str, stream: io.TextIOBase, max_item_chars: int) -> Iterator[tuple[Any, int, str | None]]:
    """The items of a JSON array (opened on `first`, continued in `stream`) one at a time, as (item, its size in
    characters, problem): an array of millions of records is never held whole. An item over `max_item_chars` is
    passed over unparsed, as (None, 0, `record_too_large`); a damaged array ends with (None, 0, `malformed_json`):
    the items after the damage cannot be told apart reliably."""
    buffer, position, exhausted, after_item = first, first.index("[") + 1, False, False
    while True:
        found = _NOT_SPACE.search(buffer, position)
        if found is None:
            if exhausted:
                yield None, 0, MALFORMED_JSON  # the array never closes
                return
            more = stream.read(_CHUNK_CHARS)
            buffer, position, exhausted = more, 0, not more
            continue
        start, char = found.start(), buffer[found.start()]
        if char == "]":
            return
        if after_item:
            if char != ",":
                yield None, 0, MALFORMED_JSON
                return
            position, after_item = start + 1, False
            continue
        try:
            item, end = _DECODER.raw_decode(buffer, start)
        except json.JSONDecodeError:
            if len(buffer) - start > max_item_chars:
                skipped = _skip_item(buffer, start, stream)
                if skipped is None:
                    yield None, 0, MALFORMED_JSON
                    return
                yield None, 0, "record_too_large"
                (buffer, position), after_item = skipped, True
                continue
            if exhausted:
                yield None, 0, MALFORMED_JSON
                return
            more = stream.read(_CHUNK_CHARS)
            buffer, position, exhausted = buffer[start:] + more, 0, not more
            continue
        if end - start > max_item_chars:
            yield None, 0, "record_too_large"
        else:
            yield item, end - start, None
        position, after_item = end, True


def _field_array(first: str, stream: io.TextIOBase, field: str,
                 max_value_chars: int) -> tuple[str, io.TextIOBase] | str:
    """(the text from the `[` that opens the array under `field` of the JSON object the stream holds, the stream),
    ready for `_array_items`; else why there is none (`missing_<field>_field`, `<field>_field_not_a_list`,
    `not_a_json_object`, `malformed_json`). The object's other values are stepped over without holding one larger
    than `max_value_chars`."""
    missing = f"missing_{field}_field"
    buffer, position, exhausted = first, 0, False

    def next_char(expected: str) -> str | None:
        """The next character that is not a space, at `position`, when it is one of `expected` (reading on)."""
        nonlocal buffer, position, exhausted
        while (found := _NOT_SPACE.search(buffer, position)) is None and not exhausted:
            more = stream.read(_CHUNK_CHARS)
            buffer, position, exhausted = more, 0, not more
        if found is None or buffer[found.start()] not in expected:
            return None
        position = found.start()
        return buffer[position]

    def value_end() -> int | None:
        """Where the JSON value at `position` ends, reading on as needed; None when it does not parse."""
        nonlocal buffer, position, exhausted
        while True:
            try:
                end = _DECODER.raw_decode(buffer, position)[1]
                # A number at the buffer's end (`-1`, `-1500.`) may go on in the stream: whole once a delimiter
                # follows it.
                if exhausted or buffer[end:end + 1] in _AFTER_VALUE or len(buffer) - position > max_value_chars:
                    return end
            except json.JSONDecodeError:
                if len(buffer) - position > max_value_chars and buffer[position] in "[{\"":
                    skipped = _skip_item(buffer, position, stream)
                    if skipped is None:
                        return None
                    buffer, end = skipped
                    position = 0
                    return end
                if exhausted:
                    return None
            more = stream.read(_CHUNK_CHARS)
            buffer, position, exhausted = buffer[position:] + more, 0, not more

    if next_char("{") is None:
        return NOT_AN_OBJECT if buffer[position:].strip() else MALFORMED_JSON  # (an array, a number; or nothing)
    position += 1
    while True:
        if next_char('"}') is None:
            return MALFORMED_JSON
        if buffer[position] == "}":
            return missing
        if (end := value_end()) is None:
            return MALFORMED_JSON
        key = json.loads(buffer[position:end])  # (value_end leaves `position` at the key's start, read on or not)
        position = end
        if next_char(":") is None:
            return MALFORMED_JSON
        position += 1
        if key == field:
            return (buffer[position:], stream) if next_char("[") is not None else f"{field}_field_not_a_list"
        if next_char("\"{[-0123456789tfn") is None or (end := value_end()) is None:
            return MALFORMED_JSON
        position = end
        if next_char(",}") is None:
            return MALFORMED_JSON
        if buffer[position] == "}":
            return missing
        position += 1


def _skip_item(buffer: str, start: int, stream: io.TextIOBase) -> tuple[str, int] | None:
    """(buffer, position) just past the JSON item at `start`, found by its brackets and strings without parsing
    it (a chunk at a time: it is too large to hold); None when the stream ends first."""
    depth, in_string, escaped, position = 0, False, False, start
    while True:
        for position in range(position, len(buffer)):
            char = buffer[position]
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
                    if depth == 0:
                        return buffer, position + 1
            elif char == '"':
                in_string = True
            elif char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    return buffer, position + 1
        buffer, position = stream.read(_CHUNK_CHARS), 0
        if not buffer:
            return None


def _opens_a_json_value(first_line: str, whole_line: bool) -> bool:
    """Whether a file's first line (`whole_line`: not cut at the size cap) opens one JSON value rather than the
    first of JSON lines: an array (on one line or many), or an object that does not end on its first line."""
    start = first_line.lstrip()
    if start.startswith("["):
        return True
    if not start.startswith("{") or not whole_line:
        return False
    try:
        json.loads(first_line, strict=False)
    except json.JSONDecodeError:
        return True
    return False
