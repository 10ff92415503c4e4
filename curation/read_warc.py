"""Reading WARC files (plain, gzip, lz4; WARC and WET; ARC, converted) into documents, one record at a time.

FastWARC parses the records (about ten times faster than warcio here, and it reads lz4 and non-chunked gzip
files that warcio refuses). An HTTP response (or a resource record) whose body is HTML becomes a document
with `html`; a WET conversion record becomes a document with `text`. Everything else is counted in the
step's `skipped` counter under its reason. Damage (a cut file, bad gzip, garbage between records) costs
only the records it touches: every complete record before it is returned, the reader resumes at the next
record start after it (the next gzip/lz4 member, or a `WARC/1.x` line), and each damaged region is counted.

Decoding a body never loses it silently: the charset comes from the HTTP header, then the page's `<meta>`,
then UTF-8, then a detector; a body decoded by a fallback, or with undecodable bytes replaced, is kept and
counted under a `decoded:` key of `notes` (it is not a loss, so it stays out of `skipped`).
"""
from __future__ import annotations

import re
import tempfile
import zlib
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import pyarrow as pa
from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType
from resiliparse.parse.encoding import detect_encoding, map_encoding_to_html5
from warcio.archiveiterator import ArchiveIterator as ArcIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.warcwriter import WARCWriter

from sciloom.curation.document import BASE_COLUMNS, Document, document_id
from sciloom.curation.step import Reader

READER_COLUMNS: dict[str, pa.DataType] = {**BASE_COLUMNS, "html": pa.string()}
DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024

_GZIP_MEMBER = b"\x1f\x8b\x08"
_WARC_HEADER = b"WARC/1."
_LZ4_FRAME = b"\x04\x22\x4d\x18"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Keyed by the flag's int value: FastWARC's record type enum is not hashable.
_SKIPPED_TYPES = {
    int(WarcRecordType.warcinfo): "warcinfo_record",
    int(WarcRecordType.request): "request_record",
    int(WarcRecordType.metadata): "metadata_record",
    int(WarcRecordType.revisit): "revisit_record",
    int(WarcRecordType.continuation): "continuation_record",
    int(WarcRecordType.unknown): "unknown_record_type",
}
_CONVERSION = int(WarcRecordType.conversion)
_RESPONSE = int(WarcRecordType.response)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.\-]+)""", re.IGNORECASE)
_HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<!--)", re.IGNORECASE)
# Bytes that never appear in text: a body made of them is an image, an archive or noise labelled as HTML.
_BINARY_BYTES = bytes(range(0, 9)) + bytes(range(14, 32))


class WarcFileReader(Reader):
    """Documents from the HTML responses and WET conversions of one WARC file (local path or fsspec URL)."""

    name = "read_warc"
    columns = READER_COLUMNS

    def __init__(self, source: str | None = None, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        super().__init__()
        self.source = source
        self.max_record_bytes = max_record_bytes

    def read(self, location: str, name: str | None = None) -> Iterator[Document]:
        source = self.source or source_name(location)
        if (stream := self.open_input(location)) is None:
            return
        with stream:
            yield from self._read_stream(stream, location, source, name or location)

    def _read_stream(self, stream: BinaryIO, location: str, source: str, name: str) -> Iterator[Document]:
        """Read records; after damage, resume at the next record start found beyond it (seekable streams).

        The record start to look for is the file's own (gzip member, lz4 frame or WARC header, from its first bytes,
        or its name when they are damaged). Damage can make the first bytes look like another one (junk that
        begins with an lz4 frame's magic before a .warc.gz): when no record at all can be read that way, the
        other record starts are tried, from the beginning (nothing was read, so nothing is read twice)."""
        head = stream.read(512)
        if _is_arc(head):
            stream.seek(0)
            with self._as_warc(stream, name) as converted:
                yield from self._read_stream(converted, location, source, name)
            return
        first = _resync_marker(head, location)
        markers = [first] + [m for m in (_GZIP_MEMBER, _LZ4_FRAME, _WARC_HEADER) if m != first] \
            if stream.seekable() else [first]
        for marker in markers:
            records, damaged_regions = yield from self._read_records(stream, name, source, marker)
            if records:
                break
        if records == 0:
            # Nothing parsed (FastWARC yields nothing, without an error, for some non-WARC input): say so.
            self.skip("not_a_warc_file")
        elif damaged_regions:
            self.skip("corrupt_stream", damaged_regions)

    @contextmanager
    def _as_warc(self, arc: BinaryIO, name: str) -> Iterator[BinaryIO]:
        """An ARC file (plain or gzip) as WARC, spooled to disk beyond 64 MB: warcio converts each record (FastWARC
        reads no ARC). The records are named by their offset in the ARC file, as records without a WARC-Record-ID
        are, not by the random ids the conversion would give them: a rerun must give the same ids. A file damaged
        part-way is read up to the damage, counted as `corrupt_stream`."""
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as warc:
            writer = WARCWriter(warc, gzip=False)
            records = ArcIterator(arc, arc2warc=True)
            try:
                for record in records:
                    record.rec_headers.replace_header("WARC-Record-ID", f"{name}@{records.offset}")
                    writer.write_record(record)
            except (ArchiveLoadFailed, OSError, ValueError, EOFError, zlib.error):
                self.skip("corrupt_stream")
            warc.seek(0)
            yield warc

    def _read_records(self, stream: BinaryIO, name: str, source: str,
                      marker: bytes) -> Generator[Document, None, tuple[int, int]]:
        """Documents of every record found from the start, resuming after damage at the next `marker`; returns
        (records read, damaged regions). `name` names the records without a WARC-Record-ID."""
        start = 0
        records = 0
        damaged_regions = 0
        while True:
            stream.seek(start)
            last_record = start
            records_before = records
            failed = False
            try:
                # parse_http=False: only the records we keep pay for HTTP parsing.
                for record in ArchiveIterator(stream, parse_http=False, auto_decode="none"):
                    records += 1
                    last_record = record.stream_pos
                    self.stats.docs_in += 1
                    self.stats.bytes_in += record.content_length
                    doc = self._document(record, name, source)
                    if doc is not None:
                        self.stats.docs_out += 1
                        yield doc
            except (OSError, ValueError, EOFError):
                failed = True  # bad gzip, garbage or a cut record
            # FastWARC also ends without an error when a file is cut early in a gzip member: a record start
            # beyond the last record read means input was left unread.
            resume = _next_record_start(stream, marker, last_record + 1) if stream.seekable() else None
            if (failed or resume is not None) and (records > records_before or start == 0):
                damaged_regions += 1  # a false resync point fails again without progress: same region
            if resume is None:
                break
            start = resume
        return records, damaged_regions

    def _document(self, record: WarcRecord, name: str, source: str) -> Document | None:
        kind = int(record.record_type)
        if "Content-Length" not in record.headers:
            # Without it a record has no extent; FastWARC yields such a record when a file ends in its header.
            self.skip("bad_warc_header")
            return None
        if kind in _SKIPPED_TYPES:
            self.skip(_SKIPPED_TYPES[kind])
            return None
        if record.content_length > self.max_record_bytes:
            self.skip("record_too_large")
            return None
        record_id = record.record_id or f"{name}@{record.stream_pos}"
        url = _target_uri(record)
        if kind == _CONVERSION:
            body = record.reader.read()
            if len(body) < record.content_length:
                self.skip("truncated_record")
                return None
            if not body.strip():
                self.skip("empty_body")
                return None
            self.stats.bytes_out += len(body)
            return reader_document(source, record_id, url, text=self._decode(body, "utf-8"))
        html = self._html_body(record)
        if html is None:
            return None
        return reader_document(source, record_id, url, html=html)

    def _html_body(self, record: WarcRecord) -> str | None:
        """The decoded HTML of a response or resource record, or None after counting why there is none."""
        charset: str | None = None
        content_type: str | None
        chunked = False
        if int(record.record_type) == _RESPONSE:
            try:
                record.parse_http(auto_decode="none", quirks_mode=True)
            except (OSError, ValueError):
                self.skip("bad_http_headers")
                return None
            if record.http_headers is None:
                self.skip(_cut_short(record) or "bad_http_headers")
                return None
            status = record.http_headers.status_code
            if status is None or not 200 <= status < 300:
                self.skip(_cut_short(record) or "http_status_not_2xx")
                return None
            content_type = record.http_content_type
            charset = record.http_charset
            encoding = (record.http_headers.get("Content-Encoding") or "").strip().lower()
            chunked = "chunked" in (record.http_headers.get("Transfer-Encoding") or "").lower()
        else:  # a resource record: the block is the document itself
            content_type, _, params = (record.headers.get("Content-Type") or "").partition(";")
            content_type = content_type.strip().lower() or None
            found = re.search(r"charset=([\w.:-]+)", params, re.IGNORECASE)
            charset = found.group(1) if found else None
            encoding = ""
        if content_type is not None and content_type.lower() not in _HTML_TYPES:
            self.skip(_cut_short(record) or "not_html")
            return None
        body = record.reader.read()
        expected = record.content_length
        if not chunked and len(body) < expected:
            self.skip("truncated_record")
            return None
        if chunked:
            dechunked = _dechunk(body)
            if dechunked is None and _HTML_START.match(body[:1024]):
                # Archivers such as pywb and wget store the de-chunked body but keep the Transfer-Encoding header.
                self.note("decoded:chunked_encoding_already_undone")
            elif dechunked is None:
                self.skip("bad_chunked_encoding")
                return None
            else:
                body = dechunked
        if encoding and encoding != "identity":
            body = self._content_decode(body, encoding)
            if body is None:
                return None
        if not body.strip():
            self.skip("empty_body")
            return None
        if content_type is None and not _HTML_START.match(body[:1024]):
            self.skip("not_html")
            return None
        if looks_binary(body):
            self.skip("binary_body")
            return None
        self.stats.bytes_out += len(body)
        return self._decode(body, charset)

    def _content_decode(self, body: bytes, encoding: str) -> bytes | None:
        if encoding not in ("gzip", "x-gzip", "deflate"):
            # Crawlers ask for gzip/deflate only; anything else (br, zstd) is rare enough to count and skip.
            self.skip("unsupported_content_encoding")
            return None
        try:
            inflater = zlib.decompressobj(47 if encoding != "deflate" else 15)
            out = inflater.decompress(body, self.max_record_bytes)
        except zlib.error:
            if _HTML_START.match(body[:1024]):
                # Crawlers such as ClueWeb's stored the decoded body but kept the Content-Encoding header.
                self.note("decoded:content_encoding_already_undone")
                return body
            self.skip("bad_content_encoding")
            return None
        if inflater.unconsumed_tail:
            self.skip("record_too_large")
            return None
        return out

    def _decode(self, body: bytes, declared: str | None) -> str:
        text, notes = decode_page(body, declared)
        for note in notes:
            self.note(note)
        return text


def source_name(location: str) -> str:
    """A short source name from a file name: `CC-MAIN-2024-22-00001.warc.gz` -> `CC-MAIN-2024-22-00001`."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    suffixes = (".gz", ".zst", ".lz4", ".bz2", ".xz", ".bad", ".warc", ".wet", ".wat", ".arc", ".jsonl", ".json", ".ndjson",
                ".parquet", ".arrow", ".feather", ".csv", ".tsv", ".txt", ".text", ".md", ".tex", ".tar", ".tgz")
    while name.endswith(suffixes):
        name = name.rsplit(".", 1)[0]
    return name or "input"


def reader_document(source: str, locator: str, url: str | None, *, html: str | None = None,
                    text: str | None = None) -> Document:
    """A document as every input reader gives it: its id from where it came from, its text or its page's HTML."""
    return {"id": document_id(source, locator), "text": text, "url": url, "source": source, "lang": None,
            "html": html}


def _cut_short(record: WarcRecord) -> str | None:
    """`truncated_record` when the file ends inside this record (its headers may then be cut too)."""
    return "truncated_record" if record.reader.consume() < record.content_length else None


def _is_arc(head: bytes) -> bool:
    """ARC, the format before WARC (Internet Archive, early crawls), starts with a `filedesc://` record."""
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(31).decompress(head)
        except zlib.error:
            return False
    return head.startswith(b"filedesc://")


def _resync_marker(head: bytes, location: str) -> bytes:
    """Bytes that start every record (gzip or lz4 member per record, as crawlers write them) or WARC header.

    The file's first bytes decide; when they are damaged, its name does.
    """
    name = location.lower()
    if head.startswith(_GZIP_MEMBER) or (not head.startswith((_LZ4_FRAME, _WARC_HEADER)) and ".gz" in name):
        return _GZIP_MEMBER
    if head.startswith(_LZ4_FRAME) or (not head.startswith(_WARC_HEADER) and ".lz4" in name):
        return _LZ4_FRAME
    return _WARC_HEADER


def _next_record_start(stream: BinaryIO, marker: bytes, offset: int, chunk: int = 1 << 20) -> int | None:
    """Offset of the next plausible record start at or after `offset`, reading the stream in bounded chunks."""
    while True:
        found = _find(stream, marker, offset, chunk)
        if found is None:
            return None
        if marker == _GZIP_MEMBER:
            if _plausible_gzip(stream, found):
                return found
        elif marker != _WARC_HEADER or found == 0 or _byte_before(stream, found) == b"\n":
            return found  # a WARC header starts a line; "WARC/1." inside a page does not count
        offset = found + 1


def _byte_before(stream: BinaryIO, offset: int) -> bytes:
    stream.seek(offset - 1)
    return stream.read(1)


def _plausible_gzip(stream: BinaryIO, offset: int) -> bool:
    """The gzip magic also occurs by chance inside compressed data: check the header and that it inflates."""
    stream.seek(offset)
    head = stream.read(512)
    if len(head) > 3 and head[3] & 0xE0:  # reserved flag bits must be zero
        return False
    try:
        zlib.decompressobj(31).decompress(head)
    except zlib.error:
        return False
    return True


def _find(stream: BinaryIO, marker: bytes, offset: int, chunk: int) -> int | None:
    stream.seek(offset)
    carry = b""
    while True:
        block = stream.read(chunk)
        if not block:
            return None
        window = carry + block
        found = window.find(marker)
        if found >= 0:
            return offset - len(carry) + found
        carry = window[-(len(marker) - 1):]
        offset += len(block)


def _target_uri(record: WarcRecord) -> str | None:
    uri = record.headers.get("WARC-Target-URI")
    return uri.strip().strip("<>") if uri else None


def decode_page(body: bytes, declared: str | None) -> tuple[str, list[str]]:
    """Decode a web page by byte order mark, else the declared charset (HTTP header), else the page's <meta>, else as
    undeclared text (the order browsers follow); returns the text and the `decoded:` notes to count."""
    notes = []
    has_bom = _bom_codec(body) is not None
    if not has_bom:
        for charset in (declared, _meta_charset(body)):
            codec = _codec(charset)
            if codec is not None:
                try:
                    return body.decode(codec), notes
                except UnicodeDecodeError:
                    notes.append("decoded:declared_charset_wrong")
                    break
    text, note = decode_undeclared(body)
    if note is None and not has_bom:
        note = "decoded:utf8_fallback"
    return text, notes + ([note] if note is not None else [])


def decode_undeclared(body: bytes) -> tuple[str, str | None]:
    """Text whose charset nobody declared: by byte order mark, else UTF-8, else a detector's guess. Returns the
    text and the `decoded:` note to count when it was not clean UTF-8 (or a BOM's codec) read as such."""
    bom = _bom_codec(body)
    if bom is not None:
        text = body.decode(bom, errors="replace")
        return text, ("decoded:invalid_bytes_replaced" if "\ufffd" in text else None)
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad == 0:
        return text, None
    if bad <= len(text) // 100:
        # Mostly UTF-8 with a few broken bytes: a detector would turn the good part into mojibake.
        return text, "decoded:invalid_bytes_replaced"
    guessed = _codec(detect_encoding(body[:65536])) or "cp1252"
    return body.decode(guessed, errors="replace"), "decoded:detected_charset"


def _codec(charset: str | None) -> str | None:
    """Python codec for a charset label as browsers read it (WHATWG: e.g. ISO-8859-1 means windows-1252)."""
    if not charset:
        return None
    return map_encoding_to_html5(charset.strip().strip("'\""), fallback_utf8=False)


def _meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:4096])
    return found.group(1).decode("ascii", "replace") if found else None


def _bom_codec(body: bytes) -> str | None:
    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return None


def looks_binary(body: bytes) -> bool:
    """Bytes that are not text (an image, an archive, noise); text with a byte order mark is text (UTF-16 is full
    of zero bytes)."""
    if _bom_codec(body) is not None:
        return False
    head = body[:2048]
    return len(head.translate(None, _BINARY_BYTES)) < len(head) * 0.99


def _dechunk(body: bytes) -> bytes | None:
    """Undo HTTP chunked transfer encoding (FastWARC's own decoder raises mid-file on wrong chunks)."""
    out = bytearray()
    pos = 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            return None
        try:
            size = int(body[pos:end].split(b";", 1)[0].strip() or b"x", 16)
        except ValueError:
            return None
        if size == 0:
            return bytes(out)
        start = end + 2
        if start + size > len(body):
            return None
        out += body[start:start + size]
        pos = start + size + 2
