"""Bad input at the reading level: never a crash, never a silent loss, good records before damage kept."""
from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from fastwarc.warc import ArchiveIterator
from warcio.archiveiterator import ArchiveIterator as WarcioIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from sciloom.curation.document import document_id
from sciloom.curation.inputs import InputsConfig, reader_for
from sciloom.curation.read_jsonl import JsonlReader
from sciloom.curation.read_tables import ParquetReader
from sciloom.curation.read_warc import WarcFileReader
from sciloom.curation.sample_crawl import write_sample_crawl
from sciloom.curation.stats import StepStats


def losses(stats: StepStats) -> int:
    """Records that produced no document."""
    assert not any(reason.startswith("decoded:") for reason in stats.skipped), "decode notes are not losses"
    return sum(stats.skipped.values())


def write_responses(path: Path, pages: Iterable[tuple[str, bytes, list[tuple[str, str]]]], *,
                    gzip_records: bool = False, status: str = "200 OK") -> list[str]:
    """Write response records with warcio (independent of the reader); return their WARC-Record-IDs."""
    ids = []
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gzip_records)
        for url, body, headers in pages:
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                               http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"))
            writer.write_record(record)
            ids.append(record.rec_headers.get_header("WARC-Record-ID"))
    return ids


HTML = [("Content-Type", "text/html; charset=utf-8")]


# --- every real file, including the ones that are not WARC at all -------------------------------------

def warcio_html_ids(path: Path) -> set[str]:
    """Independent reference: ids of non-empty 2xx HTML responses/resources warcio reads (up to its first error)."""
    ids = set()
    try:
        with open(path, "rb") as stream:
            records = WarcioIterator(stream, arc2warc=True)
            for record in records:
                # An ARC record has no id of its own: ours are named by their offset in the file.
                locator = f"{path}@{records.offset}" if ".arc" in path.name else \
                    record.rec_headers.get_header("WARC-Record-ID")
                if record.rec_type not in ("response", "resource"):
                    continue
                headers = record.http_headers or record.rec_headers
                status = int(record.http_headers.get_statuscode()) if record.http_headers else 200
                if "html" in (headers.get_header("Content-Type") or "") and 200 <= status < 300 and \
                        record.content_stream().read().strip():
                    ids.add(document_id("s", locator))
    except Exception:  # noqa: BLE001 - warcio gives up on several of these files; what it read stands
        pass
    return ids


def test_every_shared_warc_file_reads_without_crash(shared_data: Path) -> None:
    files = sorted(p for p in (shared_data / "warc").rglob("*") if p.is_file())
    assert len(files) > 30
    for path in files:
        reader = WarcFileReader(source="s")
        docs = list(reader.read(str(path)))
        stats = reader.stats
        assert stats.docs_out == len(docs)
        # Every file leaves a trace: documents, or counted reasons for what it held.
        assert docs or stats.skipped, path
        assert all((d["html"] is None) != (d["text"] is None) for d in docs), path
        # Every page warcio reads is ours too (ARC files included), unless counted as a truncated record.
        missing = warcio_html_ids(path) - {d["id"] for d in docs}
        assert len(missing) <= stats.skipped["truncated_record"], path
        # Through the format dispatcher too (JSONL files go to the JSONL reader): read, or counted.
        dispatcher = reader_for(InputsConfig(paths=[str(path)]))
        assert list(dispatcher.read(str(path))) or dispatcher.stats.skipped, path


def first_response_ids(path: Path, count: int) -> list[str]:
    with open(path, "rb") as stream:
        raw = stream.read()
    ids = []
    for block in raw.split(b"WARC/1.0\r\n")[1:]:
        head = block.split(b"\r\n\r\n", 1)[0].decode()
        fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
        if fields.get("WARC-Type") == "response":
            ids.append(fields["WARC-Record-ID"])
    return ids[:count]


def test_truncated_real_file_keeps_its_complete_records(shared_data: Path) -> None:
    path = shared_data / "warc" / "warcio-tests" / "example-trunc.warc"
    reader = WarcFileReader(source="t")
    docs = list(reader.read(str(path)))
    expected = first_response_ids(path, 1)
    assert [d["id"] for d in docs] == [document_id("t", i) for i in expected]
    assert "Example Domain" in docs[0]["html"]
    assert reader.stats.skipped["corrupt_stream"] == 1


def test_arc_files_are_read_with_ids_that_a_rerun_repeats(shared_data: Path) -> None:
    """ARC, the format before WARC (the Internet Archive's crawls to 2008): each file was counted as
    `arc_format_unsupported` and failed the run. Each page is now what warcio reads in it, under the same id on
    every read (the conversion's own record ids are random)."""
    folder = shared_data / "warc" / "warcio-tests"
    for name in ("example.arc", "example.arc.gz", "example-space-in-url.arc"):
        reader = WarcFileReader(source="s")
        docs = list(reader.read(str(folder / name)))
        with open(folder / name, "rb") as stream:
            pages = [(r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read().decode())
                     for r in WarcioIterator(stream, arc2warc=True) if r.rec_type == "response"]
        assert [(d["url"], d["html"]) for d in docs] == pages and "Example Domain" in docs[0]["html"], name
        assert reader.stats.skipped == {"warcinfo_record": 1}, name
        assert [d["id"] for d in WarcFileReader(source="s").read(str(folder / name))] == [d["id"] for d in docs]
    reader = WarcFileReader()
    assert list(reader.read(str(folder / "bad.arc"))) == []  # its three responses are HTTP errors
    assert reader.stats.skipped == {"warcinfo_record": 1, "http_status_not_2xx": 3}


def test_clipped_record_is_counted_not_kept(shared_data: Path) -> None:
    reader = WarcFileReader()
    assert list(reader.read(str(shared_data / "warc" / "resiliparse-tests" / "clipped.warc.gz"))) == []
    assert reader.stats.skipped == {"truncated_record": 1}


def test_non_chunked_gzip_and_clueweb_quirks_are_read(shared_data: Path) -> None:
    # warcio refuses both files after the first record; every response here is readable.
    clueweb = WarcFileReader()
    docs = list(clueweb.read(str(shared_data / "warc" / "resiliparse-tests" / "clueweb-quirk.warc.gz")))
    assert len(docs) == 29 and all("<html" in d["html"].lower()[:200] for d in docs)
    non_chunked = WarcFileReader()
    docs = list(non_chunked.read(str(shared_data / "warc" / "warcio-tests" / "example-bad-non-chunked.warc.gz")))
    assert len(docs) == 1 and non_chunked.stats.skipped["revisit_record"] == 1


# --- damage made on purpose in the sample crawl --------------------------------------------------------

@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[tuple[int, int, str]], dict[str, str]]:
    """(gzip WARC bytes, [(start, end, document id or '')] per record in file order, html by document id)."""
    path = tmp_path_factory.mktemp("bad") / "crawl.warc.gz"
    write_sample_crawl(path)
    data = path.read_bytes()
    return (data, *record_spans(data, {d["id"]: d["html"] for d in WarcFileReader(source="crawl").read(str(path))}))


def record_spans(data: bytes, kept: dict[str, str]) -> tuple[list[tuple[int, int, str]], dict[str, str]]:
    starts = [(r.stream_pos, document_id("crawl", r.record_id)) for r in ArchiveIterator(io.BytesIO(data))]
    spans = [(start, starts[i + 1][0] if i + 1 < len(starts) else len(data), doc_id if doc_id in kept else "")
             for i, (start, doc_id) in enumerate(starts)]
    return spans, kept


def read_bytes(tmp_path: Path, data: bytes, name: str = "crawl.warc.gz") -> tuple[list[dict], StepStats]:
    path = tmp_path / name
    path.write_bytes(data)
    reader = WarcFileReader(source="crawl")
    return list(reader.read(str(path))), reader.stats


@pytest.mark.parametrize("compressed", [True, False])
def test_truncated_file_returns_every_complete_record(crawl, tmp_path: Path, compressed: bool) -> None:
    data, spans, html = crawl
    if not compressed:
        data = gzip.decompress(data)
        spans, _ = record_spans(data, html)
    for cut in range(len(data) // 97, len(data), len(data) // 97):
        docs, stats = read_bytes(tmp_path, data[:cut], "crawl.warc.gz" if compressed else "crawl.warc")
        ids = [d["id"] for d in docs]
        complete = [doc_id for start, end, doc_id in spans if end <= cut and doc_id]
        assert ids[:len(complete)] == complete, cut
        cut_document = next((doc_id for start, end, doc_id in spans if start < cut < end and doc_id), None)
        if len(ids) > len(complete):
            # Cut inside a gzip member's trailer: the record's bytes are all there, and must be exact.
            assert ids[len(complete):] == [cut_document] and docs[-1]["html"] == html[cut_document], cut
        elif cut_document is not None:  # the document cut in two is counted, not returned half
            assert stats.skipped["truncated_record"] + stats.skipped["corrupt_stream"] + \
                stats.skipped["bad_warc_header"] == 1, (cut, stats.skipped)


def test_bad_gzip_in_the_middle_loses_only_the_damaged_record(crawl, tmp_path: Path) -> None:
    data, spans, _ = crawl
    victim = next(i for i, (_, _, doc_id) in enumerate(spans) if doc_id and i > len(spans) // 2)
    start, end, lost = spans[victim]
    middle = (start + end) // 2
    damaged = data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 64]) + data[middle + 64:]
    docs, stats = read_bytes(tmp_path, damaged)
    assert [d["id"] for d in docs] == [doc_id for _, _, doc_id in spans if doc_id and doc_id != lost]
    assert stats.skipped["corrupt_stream"] == 1


def test_garbage_between_records_is_skipped(crawl, tmp_path: Path) -> None:
    data, spans, _ = crawl
    boundary = spans[len(spans) // 3][0]
    docs, stats = read_bytes(tmp_path, data[:boundary] + b"\x00" * 700 + b"junk" * 50 + data[boundary:])
    assert [d["id"] for d in docs] == [doc_id for _, _, doc_id in spans if doc_id]
    assert stats.skipped["corrupt_stream"] == 1
    # The same in an uncompressed WARC.
    plain = gzip.decompress(data)
    starts = [r.stream_pos for r in ArchiveIterator(io.BytesIO(plain))]
    at = starts[len(starts) // 2]
    docs, stats = read_bytes(tmp_path, plain[:at] + b"GARBAGE LINE\r\n" * 30 + plain[at:], "crawl.warc")
    assert [d["id"] for d in docs] == [doc_id for _, _, doc_id in spans if doc_id]
    assert stats.skipped["corrupt_stream"] == 1


@pytest.mark.parametrize("content", [b"", b"just some text\nnot a warc\n", bytes(random.Random(3).getrandbits(8)
                                                                                   for _ in range(5000))])
def test_not_a_warc_file_is_one_counted_skip(tmp_path: Path, content: bytes) -> None:
    docs, stats = read_bytes(tmp_path, content, "x.warc.gz")
    assert docs == [] and stats.skipped == {"not_a_warc_file": 1}


def test_missing_file_is_counted(tmp_path: Path) -> None:
    reader = reader_for(InputsConfig(paths=["x"]))
    assert list(reader.read(str(tmp_path / "gone.warc.gz"))) == []
    assert list(reader.read(str(tmp_path / "gone.jsonl"))) == []
    assert list(reader.read(str(tmp_path / "gone.parquet"))) == []
    assert reader.stats.skipped == {"unreadable_file": 3}


# --- bodies: charsets, binary, empty, encodings, status, size ------------------------------------------

def test_body_problems_are_counted_with_their_reason(tmp_path: Path) -> None:
    page = "<html><body><p>Grüße aus Köln, größer als gedacht.</p></body></html>"
    chunked_ok = b"10\r\n<html><p>chunk o\r\n8\r\nne</p>ok\r\n0\r\n\r\n"
    pages = [
        ("https://a.example/latin1-undeclared", page.encode("cp1252"), [("Content-Type", "text/html")]),
        ("https://a.example/utf8-lies", page.encode("cp1252") * 3, HTML),
        ("https://a.example/empty", b"", HTML),
        ("https://a.example/binary", bytes(range(256)) * 8, HTML),
        ("https://a.example/gzip-bad", b"\x1f\x8b\x08\x00garbage, not deflate", HTML + [("Content-Encoding", "gzip")]),
        ("https://a.example/gzip-ok", gzip.compress(page.encode(), mtime=0), HTML + [("Content-Encoding", "gzip")]),
        ("https://a.example/brotli", b"\x0b\x02\x80hello", HTML + [("Content-Encoding", "br")]),
        ("https://a.example/pdf", b"%PDF-1.4 ...", [("Content-Type", "application/pdf")]),
        ("https://a.example/chunked", chunked_ok, HTML + [("Transfer-Encoding", "chunked")]),
        ("https://a.example/chunked-bad", b"zz\r\nnot hex\r\n", HTML + [("Transfer-Encoding", "chunked")]),
        ("https://a.example/no-type-html", b"<!DOCTYPE html><html><p>untyped</p></html>", []),
        ("https://a.example/no-type-text", b"plain words only", []),
        ("https://a.example/utf16-bom", page.encode("utf-16"), [("Content-Type", "text/html")]),
        ("https://a.example/utf8-bom", b"\xef\xbb\xbf" + page.encode(), [("Content-Type", "text/html; charset=gbk")]),
    ]
    write_responses(tmp_path / "bodies.warc", pages)
    reader = WarcFileReader()
    docs = {d["url"].rsplit("/", 1)[-1]: d["html"] for d in reader.read(str(tmp_path / "bodies.warc"))}
    assert docs["latin1-undeclared"] == page  # detected
    assert "Grüße" in docs["utf8-lies"]  # declared UTF-8, really cp1252: detected, counted
    assert docs["gzip-ok"] == page
    assert docs["chunked"] == "<html><p>chunk one</p>ok"
    assert docs["no-type-html"].startswith("<!DOCTYPE html>")
    assert docs["utf16-bom"] == docs["utf8-bom"] == page  # a byte order mark overrides any declaration
    assert set(docs) == {"latin1-undeclared", "utf8-lies", "gzip-ok", "chunked", "no-type-html", "utf16-bom",
                         "utf8-bom"}
    skipped = reader.stats.skipped
    assert skipped["empty_body"] == 1 and skipped["binary_body"] == 1 and skipped["bad_content_encoding"] == 1
    assert skipped["unsupported_content_encoding"] == 1 and skipped["not_html"] == 2
    assert skipped["bad_chunked_encoding"] == 1
    notes = reader.stats.notes
    assert notes["decoded:declared_charset_wrong"] == 1 and notes["decoded:detected_charset"] == 2
    assert reader.stats.docs_in == len(pages) == reader.stats.docs_out + losses(reader.stats)


def test_error_statuses_are_counted(tmp_path: Path) -> None:
    write_responses(tmp_path / "s.warc.gz", [("https://a.example/x", b"<html>oops</html>", HTML)] * 2,
                    gzip_records=True, status="500 Internal Server Error")
    reader = WarcFileReader()
    assert list(reader.read(str(tmp_path / "s.warc.gz"))) == []
    assert reader.stats.skipped == {"http_status_not_2xx": 2}


def test_fifty_megabyte_page_and_record_size_cap(tmp_path: Path) -> None:
    big = b"<html><body>" + b"<p>" + b"word " * (10 * 1024 * 1024) + b"</p></body></html>"
    assert len(big) > 50 * 1024 * 1024
    ids = write_responses(tmp_path / "big.warc", [("https://a.example/big", big, HTML),
                                                  ("https://a.example/small", b"<html><p>small</p></html>", HTML)])
    reader = WarcFileReader(source="b")
    docs = list(reader.read(str(tmp_path / "big.warc")))
    assert [d["id"] for d in docs] == [document_id("b", i) for i in ids] and len(docs[0]["html"]) == len(big)
    del docs
    capped = WarcFileReader(source="b", max_record_bytes=8 * 1024 * 1024)
    docs = list(capped.read(str(tmp_path / "big.warc")))
    assert [d["url"] for d in docs] == ["https://a.example/small"]
    assert capped.stats.skipped == {"record_too_large": 1}


def test_gzip_bomb_is_capped(tmp_path: Path) -> None:
    bomb = gzip.compress(b"<html>" + b" " * (30 * 1024 * 1024), mtime=0)
    write_responses(tmp_path / "bomb.warc", [("https://a.example/bomb", bomb, HTML + [("Content-Encoding", "gzip")])])
    reader = WarcFileReader(max_record_bytes=4 * 1024 * 1024)
    assert list(reader.read(str(tmp_path / "bomb.warc"))) == []
    assert reader.stats.skipped == {"record_too_large": 1}


def test_deeply_nested_page_is_read_intact(tmp_path: Path) -> None:
    nested = "<html><body>" + "<div>" * 200_000 + "deep" + "</div>" * 200_000 + "</body></html>"
    write_responses(tmp_path / "deep.warc.gz", [("https://a.example/deep", nested.encode(), HTML)], gzip_records=True)
    docs = list(WarcFileReader().read(str(tmp_path / "deep.warc.gz")))
    assert [d["html"] for d in docs] == [nested]


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def test_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    """A 120 MB WARC of 6000 pages is read with RSS growth far below its size (documents are not kept)."""
    body = ("<html><body>" + "<p>streaming text line</p>" * 750 + "</body></html>").encode()
    header = "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{:032x}>\r\n" \
             "WARC-Target-URI: https://a.example/{}\r\nContent-Type: application/http; msgtype=response\r\n" \
             "Content-Length: {}\r\n\r\n"
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    path = tmp_path / "large.warc"
    with open(path, "wb") as out:
        for i in range(6000):
            out.write(header.format(i, i, len(http)).encode() + http + b"\r\n\r\n")
    size = path.stat().st_size
    assert size > 100 * 1024 * 1024
    reader = WarcFileReader()
    baseline = 0
    peak = 0
    for n, _ in enumerate(reader.read(str(path))):
        if n == 200:
            baseline = rss_bytes()
        elif n > 200 and n % 500 == 0:
            peak = max(peak, rss_bytes())
    path.unlink()
    assert reader.stats.docs_out == 6000
    assert peak - baseline < 16 * 1024 * 1024, (peak - baseline, size)


# --- JSONL and Parquet ----------------------------------------------------------------------------------

def test_jsonl_bad_lines_are_counted(tmp_path: Path) -> None:
    lines = [
        b'{"id": "a", "text": "fine"}',
        b'{"id": "b", "text": "trunc',
        b'[1, 2, 3]',
        b'{"id": "c", "body": "no text field"}',
        b'{"id": "d", "text": "caf\xe9 latin-1 byte"}',
        b'{"id": "e", "text": "lone \\ud800 surrogate"}',
        b'{"id": "f", "text": 42}',
        b'',
        b'{"id": "g", "text": "also fine"}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    reader = JsonlReader(source="j")
    docs = list(reader.read(str(path)))
    assert [d["id"] for d in docs] == [document_id("j", x) for x in ("a", "d", "e", "g")]
    assert docs[1]["text"] == "caf\ufffd latin-1 byte" and docs[2]["text"] == "lone ? surrogate"
    assert reader.stats.skipped == {"malformed_json": 1, "not_a_json_object": 1, "missing_text_field": 2}
    assert reader.stats.notes == {"decoded:invalid_bytes_replaced": 1, "decoded:lone_surrogates_replaced": 1}
    assert reader.stats.docs_in == 8


def test_jsonl_line_over_the_cap_is_passed_over(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    long_line = json.dumps({"id": "big", "text": "x" * 50_000})
    path.write_text('{"id": "a", "text": "before"}\n' + long_line + '\n{"id": "b", "text": "after"}\n')
    reader = JsonlReader(source="j", max_line_chars=4096)
    assert [d["text"] for d in reader.read(str(path))] == ["before", "after"]
    assert reader.stats.skipped == {"record_too_large": 1} and reader.stats.docs_in == 3
    # Without a final newline too.
    path.write_text('{"id": "a", "text": "before"}\n' + long_line)
    reader = JsonlReader(source="j", max_line_chars=4096)
    assert [d["text"] for d in reader.read(str(path))] == ["before"]
    assert reader.stats.skipped == {"record_too_large": 1}


def test_truncated_jsonl_gz_keeps_the_lines_before(tmp_path: Path) -> None:
    raw = "".join(json.dumps({"id": i, "text": f"line {i} " + "x" * 50}) + "\n" for i in range(2000)).encode()
    packed = gzip.compress(raw, mtime=0)
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    reader = JsonlReader(source="j")
    docs = list(reader.read(str(path)))
    assert 0 < len(docs) < 2000
    assert [d["id"] for d in docs] == [document_id("j", str(i)) for i in range(len(docs))]
    assert reader.stats.skipped["corrupt_stream"] == 1


@pytest.mark.parametrize("suffix", [".zst", ".xz", ".bz2"])
def test_corrupt_zstd_xz_and_bz2_streams_keep_the_documents_before_and_are_counted(tmp_path: Path, suffix: str,
                                                                                    monkeypatch) -> None:
    """zstd and xz raise errors of their own classes on damaged data: a damaged .zst or .xz file stopped its task,
    and planning a large one stopped the run. Now the documents before the damage are kept and the damage counted,
    as for gzip (and bz2, whose OSError was always caught); JSON lines and text split into documents alike."""
    import bz2
    import lzma

    import zstandard

    from sciloom.curation import inputs

    compress = {".zst": zstandard.ZstdCompressor().compress, ".xz": lzma.compress, ".bz2": bz2.compress}[suffix]
    # Varied text, so that the damage lies beyond the first blocks the decoder reads (zstd reads 128 KiB at a time).
    rng = random.Random(0)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(3000)]
    records = "".join(json.dumps({"id": i, "text": " ".join(rng.choices(words, k=60))}) + "\n"
                      for i in range(4000)).encode()
    paragraphs = "\n\n".join(" ".join(rng.choices(words, k=60)) for _ in range(4000)).encode()
    for name, raw, options in (("r.jsonl", records, {}), ("p.txt", paragraphs, {"split_before": r"^\s*$"})):
        packed = compress(raw)
        damaged = tmp_path / (name + suffix)
        # (bz2 decodes whole 900 kB blocks: the damage must lie beyond the first)
        middle = len(packed) * (3 if suffix == ".bz2" else 2) // 4
        damaged.write_bytes(packed[:middle] + bytes(b ^ 0xFF for b in packed[middle:middle + 64]) + packed[middle + 64:])
        config = InputsConfig(paths=[str(damaged)], **options)
        reader = reader_for(config)
        docs = list(reader.read(str(damaged)))
        assert 0 < len(docs) < 4000, name
        assert reader.stats.skipped["corrupt_stream"] == 1, name
        # Planned as a large file: its head is read to count its pieces; the damage does not stop the run.
        monkeypatch.setattr(inputs, "PIECE_BYTES", len(packed))
        assert len(inputs.resolve_inputs(config)) >= 1


def test_corrupt_parquet_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 this is not parquet at all PAR1")
    reader = ParquetReader()
    assert list(reader.read(str(path))) == []
    assert reader.stats.skipped == {"unreadable_file": 1}


def test_warc_header_text_inside_a_page_is_not_damage(tmp_path: Path) -> None:
    page = b"<html><body><p>Crawlers write the WARC/1.1 format; WARC/1.0 came first.</p></body></html>"
    write_responses(tmp_path / "meta.warc", [("https://a.example/warc", page, HTML)] * 2)
    reader = WarcFileReader()
    assert [d["html"].encode() for d in reader.read(str(tmp_path / "meta.warc"))] == [page, page]
    assert reader.stats.skipped == {}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=st.sampled_from(["flip", "insert", "delete"]), where=st.floats(0, 1, exclude_max=True),
       junk=st.binary(min_size=1, max_size=300))
# Found by this test in CI: junk that starts the file with an lz4 frame's magic made the reader look for lz4 frames
# in a gzip file, and lose every record.
@example(operation="insert", where=0.0, junk=b'\x04"M\x18')
@example(operation="insert", where=0.0, junk=b"WARC/1.0\r\n")
def test_random_damage_never_crashes_nor_alters_a_document(crawl, tmp_path: Path, operation: str, where: float,
                                                          junk: bytes) -> None:
    """gzip checks every member's CRC: a document either comes out exactly as written or not at all."""
    data, _, html = crawl
    at = int(where * len(data))
    damaged = {"flip": data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:],
               "insert": data[:at] + junk + data[at:],
               "delete": data[:at] + data[at + len(junk):]}[operation]
    docs, stats = read_bytes(tmp_path, damaged)
    assert all(html.get(d["id"]) == d["html"] for d in docs)
    # Damage costs only the few records it touches, and a lost document is always accounted for.
    lost = len(html) - len(docs)
    assert lost <= 3
    damage_reasons = ("corrupt_stream", "truncated_record", "bad_warc_header", "bad_http_headers")
    assert lost == 0 or sum(stats.skipped[reason] for reason in damage_reasons) >= 1
