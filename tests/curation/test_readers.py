"""Readers against independent references: warcio for WARC/WET, the json module for JSONL, pyarrow for Parquet.

Also input resolution (paths, globs, folders, a paths file, fsspec URLs), stable task ids, and a reader
running inside a Ray stage.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import random
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
import zstandard
from compressed_pieces import assert_pieces_read_as_whole
from pydantic import ValidationError
from warcio.archiveiterator import ArchiveIterator as WarcioIterator

from sciloom.curation.document import BASE_COLUMNS, document_id, read_documents
from sciloom.curation.executor import Task, run_stage
from sciloom.curation.inputs import (InputNotFound, InputsConfig, find_inputs, format_of, reader_for, resolve_inputs,
                                     task_id_for)
from sciloom.curation.map_stage import map_documents, part_path
from sciloom.curation.paper_placeholders import resolve_placeholders
from sciloom.curation import inputs, read_jsonl
from sciloom.curation.read_jsonl import JsonlReader
from sciloom.curation.read_tables import ParquetReader
from sciloom.curation.read_warc import READER_COLUMNS, WarcFileReader, source_name
from sciloom.curation.sample_crawl import write_sample_crawl


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("crawl") / "sample.warc.gz"
    return path, write_sample_crawl(path)


def warcio_html_responses(path: Path) -> dict[str, tuple[str, bytes]]:
    """Independent reference: record id -> (url, body) of 2xx text/html responses, read by warcio."""
    found = {}
    with open(path, "rb") as stream:
        for record in WarcioIterator(stream):
            if record.rec_type != "response" or not record.http_headers:
                continue
            status = int(record.http_headers.get_statuscode())
            mime = (record.http_headers.get_header("Content-Type") or "").split(";")[0].strip()
            if 200 <= status < 300 and mime == "text/html":
                found[record.rec_headers.get_header("WARC-Record-ID")] = (
                    record.rec_headers.get_header("WARC-Target-URI"), record.content_stream().read())
    return found


def test_warc_reader_returns_every_html_response_with_id_url_and_source(sample) -> None:
    path, manifest = sample
    reader = WarcFileReader()
    docs = list(reader.read(str(path)))
    reference = warcio_html_responses(path)
    # Binary and empty bodies are HTML by header only: counted skips. Every other HTML response is a document.
    expected = {document_id("sample", rid) for rid, (_, body) in reference.items() if body and b"\x00" not in body}
    assert {d["id"] for d in docs} == expected and len(docs) == len(expected)
    assert reader.stats.skipped["binary_body"] == 1 and reader.stats.skipped["empty_body"] == 1
    by_id = {document_id("sample", rid): url for rid, (url, _) in reference.items()}
    for doc in docs:
        assert set(doc) == set(READER_COLUMNS)
        assert doc["source"] == "sample" and doc["text"] is None and doc["lang"] is None
        assert by_id[doc["id"]] == doc["url"]
    pages = [p for p in manifest if p.record_type == "response" and p.status == 200
             and p.kind not in ("binary", "image", "empty")]
    assert sorted(d["url"] for d in docs) == sorted(p.url for p in pages)


def test_warc_reader_counts_every_record(sample) -> None:
    path, manifest = sample
    reader = WarcFileReader()
    docs = list(reader.read(str(path)))
    stats = reader.stats
    assert stats.docs_in == len(manifest) + 1  # + warcinfo
    assert stats.docs_out == len(docs)
    assert stats.docs_out + sum(stats.skipped.values()) == stats.docs_in
    # Only the page with invalid UTF-8 needs a note: its declared charset fails, a few bytes are replaced.
    assert stats.notes == {"decoded:declared_charset_wrong": 1, "decoded:invalid_bytes_replaced": 1}
    assert stats.skipped["request_record"] == sum(p.record_type == "request" for p in manifest)
    assert stats.skipped["revisit_record"] == 1 and stats.skipped["http_status_not_2xx"] == 2
    assert stats.skipped["not_html"] == 1


def test_charsets_from_header_meta_and_fallback(sample) -> None:
    path, _ = sample
    reader = WarcFileReader()
    docs = {d["url"].rsplit("/", 1)[-1]: d["html"] for d in reader.read(str(path))}
    assert "Sägewerk" in docs["schwarzwald"]  # Latin-1 declared in <meta> only
    assert "Étalez la pâte" in docs["tarte-aux-pommes"]  # Latin-1 declared in the HTTP header only
    assert "Schrödinger" in docs["schroedinger"]
    assert "repeats \ufffd\ufffd itself" in docs["broken-utf8"]
    assert reader.stats.notes["decoded:invalid_bytes_replaced"] == 1
    # Content-Encoding: gzip is undone.
    assert "weekend sourdough" in docs["sourdough"].lower()


def test_warc_reader_matches_warcio_on_real_crawl(shared_data: Path) -> None:
    path = shared_data / "warc" / "resiliparse-tests" / "warcfile.warc.gz"
    reference = warcio_html_responses(path)
    reader = WarcFileReader(source="cc")
    docs = list(reader.read(str(path)))
    assert {d["id"] for d in docs} == {document_id("cc", rid) for rid in reference}
    for doc in docs:
        assert len(doc["html"]) > 100 and "<" in doc["html"]
    # The same file uncompressed and lz4-compressed gives the same documents.
    for variant in ("warcfile.warc", "warcfile.warc.lz4"):
        again = list(WarcFileReader(source="cc").read(str(path.with_name(variant))))
        assert [(d["id"], d["html"]) for d in again] == [(d["id"], d["html"]) for d in docs]


def test_wet_conversion_records_become_text(shared_data: Path) -> None:
    path = shared_data / "warc" / "commoncrawl-whirlwind" / "whirlwind.warc.wet.gz"
    with open(path, "rb") as stream:
        reference = [(r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read().decode("utf-8"))
                     for r in WarcioIterator(stream) if r.rec_type == "conversion"]
    reader = WarcFileReader()
    docs = list(reader.read(str(path)))
    assert [(d["url"], d["text"]) for d in docs] == reference
    assert docs[0]["html"] is None and docs[0]["source"] == "whirlwind"
    assert reader.stats.skipped["warcinfo_record"] == 1


def test_warc_read_through_fsspec_urls(sample) -> None:
    path, _ = sample
    local = [(d["id"], d["html"]) for d in WarcFileReader(source="s").read(str(path))]
    memory = fsspec.filesystem("memory")
    memory.pipe("/crawl/sample.warc.gz", path.read_bytes())
    via_memory = [(d["id"], d["html"]) for d in WarcFileReader(source="s").read("memory://crawl/sample.warc.gz")]
    via_file = [(d["id"], d["html"]) for d in WarcFileReader(source="s").read(f"file://{path}")]
    assert via_memory == local and via_file == local
    memory.rm("/crawl", recursive=True)


def test_jsonl_plain_and_compressed_and_configured_fields(tmp_path: Path) -> None:
    rows = [{"doc_id": f"d{i}", "body": f"text number {i} é", "link": f"https://x.example/{i}"} for i in range(5)]
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    (tmp_path / "a.jsonl").write_bytes(raw)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    (tmp_path / "a.jsonl.bz2").write_bytes(bz2.compress(raw))  # as Wikipedia's dumps are
    (tmp_path / "a.jsonl.xz").write_bytes(lzma.compress(raw))
    files = find_inputs(InputsConfig(paths=[str(tmp_path)]))  # every name gives its format
    assert len(files.found) == 5 and not files.passed_over
    assert {format_of(name) for name in ("a.jsonl.bz2", "a.jsonl.xz", "b.txt.bz2")} == {"jsonl", "text"}
    results = []
    for name in ("a.jsonl", "a.jsonl.gz", "a.jsonl.zst", "a.jsonl.bz2", "a.jsonl.xz"):
        reader = JsonlReader(source="t", text_field="body", id_field="doc_id", url_field="link")
        docs = list(reader.read(str(tmp_path / name)))
        results.append(docs)
        assert reader.stats.docs_in == reader.stats.docs_out == 5
    assert all(result == results[0] for result in results)
    assert [d["text"] for d in results[0]] == [r["body"] for r in rows]
    assert [d["id"] for d in results[0]] == [document_id("t", r["doc_id"]) for r in rows]
    assert [d["url"] for d in results[0]] == [r["link"] for r in rows]
    assert all(d["html"] is None for d in results[0])


def test_jsonl_without_id_field_uses_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text('{"text": "one"}\n\n{"text": "two"}\n')
    docs = list(JsonlReader(source="t").read(str(path)))
    assert [d["id"] for d in docs] == [document_id("t", f"{path}:1"), document_id("t", f"{path}:3")]


def test_jsonl_reads_real_dolma_file(shared_data: Path) -> None:
    path = shared_data / "warc" / "dolma-tests" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        reference = [json.loads(line) for line in stream if line.strip()]
    docs = list(JsonlReader().read(str(path)))
    assert len(docs) == len(reference) == 697
    assert [d["text"] for d in docs] == [r["text"] for r in reference]


def test_parquet_streams_by_record_batch(tmp_path: Path) -> None:
    table = pa.table({"text": [f"row {i}" for i in range(2500)], "id": [f"r{i}" for i in range(2500)],
                      "extra": list(range(2500))})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=500)
    reader = ParquetReader(source="p", batch_size=300)
    docs = reader.read(str(path))
    first = next(docs)
    assert first["text"] == "row 0" and first["id"] == document_id("p", "r0")
    rest = list(docs)
    assert [d["text"] for d in rest] == table.column("text").to_pylist()[1:]
    assert reader.stats.docs_out == 2500 and set(first) == set(READER_COLUMNS)


def test_parquet_without_text_column_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"content": ["a", "b"]}), path)
    reader = ParquetReader()
    assert list(reader.read(str(path))) == []
    assert reader.stats.skipped["missing_text_field"] == 2


NESTED = [
    {"id": "p1", "body_text": [{"section": "Intro", "text": "First paragraph."}, {"text": "  "},
                               {"text": "Second paragraph."}], "metadata": {"abstract": "An abstract."}},
    {"id": "p2", "body_text": ["One.", "Two."], "metadata": {"abstract": "Another."}},
    {"id": "p3", "body_text": [{"text": 3}], "metadata": {}},  # no text: counted, under the configured field
    {"id": "p4", "body_text": [], "metadata": {"abstract": ""}},  # empty: read, then rejected by the rules
]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_nested_text_fields_and_paragraph_lists(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"papers.{fmt}"
    records = NESTED if fmt == "jsonl" else [NESTED[0], NESTED[3]]  # a Parquet column has one type
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
    reader = reader_for(InputsConfig(paths=[str(path)], text_field="body_text"))
    texts = {d["id"]: d["text"] for d in reader.read(str(path))}
    expected = {"p1": "First paragraph.\n\nSecond paragraph.", "p2": "One.\n\nTwo.", "p4": ""}
    assert texts == {document_id("papers", r["id"]): expected[r["id"]] for r in records if r["id"] in expected}
    assert dict(reader.stats.skipped) == ({"missing_body_text_field": 1} if fmt == "jsonl" else {})
    reader = reader_for(InputsConfig(paths=[str(path)], text_field="metadata.abstract"))
    assert [d["text"] for d in reader.read(str(path))] == [r["metadata"].get("abstract") for r in records
                                                           if "abstract" in r["metadata"]]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_several_text_fields_make_one_text_as_for_s2orc_title_and_abstract(shared_data: Path, tmp_path: Path,
                                                                          fmt: str) -> None:
    """S2ORC's records hold a title and an abstract (null for about half): with one text field the title, or
    every record without an abstract, was lost."""
    path = shared_data / "disciplines" / "s2orc-metadata-sample" / "metadata_sample_v2020-07-05.jsonl"
    with path.open(encoding="utf-8") as stream:
        papers = [json.loads(line) for line in stream if line.strip()]
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist([{k: p[k] for k in ("paper_id", "title", "abstract")} for p in papers]),
                       path := tmp_path / "s2orc.parquet")
    reader = reader_for(InputsConfig(paths=[str(path)], source="s2orc", text_field=["title", "abstract"],
                                     id_field="paper_id"))
    docs = list(reader.read(str(path)))
    expected = ["\n\n".join(t for t in (p["title"], p["abstract"]) if t and t.strip()) for p in papers]
    assert [d["text"] for d in docs] == expected and len(docs) == 1000 and not reader.stats.skipped
    assert sum("\n\n" in text for text in expected) == sum(bool(p["abstract"]) for p in papers) > 400
    reader = reader_for(InputsConfig(paths=[str(path)], text_field=["summary", "body"]))
    assert list(reader.read(str(path))) == []
    assert dict(reader.stats.skipped) == {"missing_summary+body_field": 1000, "no_usable_record": 1}


def test_unarxive_papers_are_read_from_their_paragraphs(shared_data: Path) -> None:
    path = shared_data / "disciplines" / "unarxive-sample" / "unarXive_data_sample" / "arXiv_src_2212_086.jsonl"
    with path.open(encoding="utf-8") as stream:
        papers = [json.loads(line) for line in stream if line.strip()]
    reader = reader_for(InputsConfig(paths=[str(path)], text_field="body_text", id_field="paper_id"))
    docs = list(reader.read(str(path)))
    assert len(docs) == len(papers) == 49 and not reader.stats.skipped
    for doc, paper in zip(docs, papers):
        paragraphs = [p["text"] for p in paper["body_text"] if p["text"].strip()]
        # (Formulas and citations as test_paper_placeholders checks them.)
        assert doc["text"] == resolve_placeholders("\n\n".join(paragraphs), paper) and "{{formula:" not in doc["text"]
        assert doc["id"] == document_id("arXiv_src_2212_086", paper["paper_id"])


def test_json_files_of_one_paper_or_one_array_are_read_like_json_lines(shared_data: Path, tmp_path: Path) -> None:
    """A folder of pretty-printed `.json` files, one paper each (CORD-19, PubMed Central): every line was read as
    a record, 88,210 were counted malformed, no document came out, and the run exited 0. An object written over
    many lines is now one record, an array's objects are records, and both read as the same papers in JSON lines do."""
    path = shared_data / "disciplines" / "unarxive-sample" / "unarXive_data_sample" / "arXiv_src_2212_086.jsonl"
    with path.open(encoding="utf-8") as stream:
        papers = [json.loads(line) for line in stream if line.strip()][:12]
    config = InputsConfig(paths=[str(tmp_path)], source="arxiv", text_field="body_text", id_field="paper_id")
    (tmp_path / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in papers))
    expected = list(reader_for(config).read(str(tmp_path / "papers.jsonl")))
    assert len(expected) == 12
    for i, paper in enumerate(papers):
        (tmp_path / f"{i:02d}.json").write_text(json.dumps(paper, indent=2))
    (tmp_path / "papers.json.gz").write_bytes(gzip.compress(json.dumps(papers, indent=1).encode()))
    (tmp_path / "bom.jsonl").write_bytes("\ufeff".encode() + (tmp_path / "papers.jsonl").read_bytes())
    reader = reader_for(config)
    one_each = [doc for i in range(12) for doc in reader.read(str(tmp_path / f"{i:02d}.json"))]
    assert one_each == expected
    assert list(reader.read(str(tmp_path / "papers.json.gz"))) == expected
    assert list(reader.read(str(tmp_path / "bom.jsonl"))) == expected
    assert not reader.stats.skipped and reader.stats.docs_in == reader.stats.docs_out == 36
    # JSON lines whose first line is cut are still JSON lines; a value beyond the size cap is counted.
    (tmp_path / "cut.jsonl").write_text('{"body_text": "cut sho\n' + "".join(json.dumps(p) + "\n" for p in papers))
    reader = reader_for(config)
    assert list(reader.read(str(tmp_path / "cut.jsonl"))) == expected
    assert dict(reader.stats.skipped) == {"malformed_json": 1}
    small = InputsConfig(paths=[str(tmp_path)], text_field="body_text", max_record_bytes=1024)
    reader = reader_for(small)
    assert list(reader.read(str(tmp_path / "00.json"))) == []
    assert dict(reader.stats.skipped) == {"file_too_large": 1, "no_usable_record": 1}


def test_a_saved_hugging_face_dataset_and_feather_files_are_read_as_parquet_is(tmp_path: Path) -> None:
    """`datasets.save_to_disk` writes Arrow stream files beside two JSON files of metadata: the `.arrow` files
    were passed over, and the JSON files read as records without text."""
    datasets = pytest.importorskip("datasets")
    rows = {"text": [f"Paragraph {i} about lattices." for i in range(2500)], "id": [f"p{i}" for i in range(2500)],
            "url": [f"https://x.example/{i}" for i in range(2500)], "year": list(range(2500))}
    saved = tmp_path / "saved"
    datasets.Dataset.from_dict(rows).save_to_disk(str(saved), num_shards=2)
    pq.write_table(pa.table(rows), tmp_path / "same.parquet")
    feather.write_feather(pa.table(rows), tmp_path / "same.feather")
    files = find_inputs(InputsConfig(paths=[str(saved)]))
    assert sorted(files.passed_over) == [str(saved / "dataset_info.json"), str(saved / "state.json")]
    assert set(files.passed_over.values()) == {"dataset_metadata"} and len(files.found) == 2
    config = InputsConfig(paths=[str(tmp_path)], source="s")
    reader = reader_for(config)
    expected = list(reader.read(str(tmp_path / "same.parquet")))
    assert [d["text"] for d in expected] == rows["text"] and expected[0]["url"] == "https://x.example/0"
    assert [d for location in sorted(files.found.values()) for d in reader.read(location)] == expected
    assert list(reader.read(str(tmp_path / "same.feather"))) == expected
    assert not reader.stats.skipped and reader.stats.docs_out == 3 * 2500


def test_csv_and_tsv_files_with_a_header_row_are_read(shared_data: Path, tmp_path: Path) -> None:
    """S2ORC's 2019 metadata is a TSV file: it was passed over (or, named, read as a crawl file and failed)."""
    path = shared_data / "disciplines" / "s2orc-metadata-sample" / "metadata_sample_2019.tsv"
    with path.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))
    reader = reader_for(InputsConfig(paths=[str(path)], source="s2", text_field="title", id_field="pid"))
    docs = list(reader.read(str(path)))
    assert [d["text"] for d in docs] == [row["title"] for row in rows] and len(docs) == 999
    assert [d["id"] for d in docs] == [document_id("s2", row["pid"]) for row in rows] and not reader.stats.skipped
    # A BOM; quoted fields with commas, quotes and line breaks; a row with too many fields; bytes that are not UTF-8.
    table = tmp_path / "notes.csv.gz"
    table.write_bytes(gzip.compress(
        b'\xef\xbb\xbfid,text,url\nn1,"A note, with a comma and a ""quote"".\nAnd a second line.",https://x.example/1\n'
        b"n2,one,two,three\nn3,caf\xe9 au lait,\n"))
    reader = reader_for(InputsConfig(paths=[str(table)]))
    docs = list(reader.read(str(table)))
    assert [(d["text"], d["url"]) for d in docs] == [
        ('A note, with a comma and a "quote".\nAnd a second line.', "https://x.example/1"), ("caf\ufffd au lait", "")]
    assert dict(reader.stats.skipped) == {"malformed_row": 1} and reader.stats.docs_in == 3
    assert reader.stats.notes == {"decoded:invalid_bytes_replaced": 1}


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_a_json_array_is_read_item_by_item_whatever_its_size(tmp_path: Path, monkeypatch, chunk: int) -> None:
    """An array is read in chunks, one item at a time (an export of millions of records is never held whole); an
    item over the size cap is passed over unparsed, and a damaged array keeps the items before the damage."""
    monkeypatch.setattr(read_jsonl, "_CHUNK_CHARS", chunk)
    records = [{"id": f"r{i}", "text": f"Record {i}, with ] and , and [ inside.", "extra": {"n": [i, "}"]}}
               for i in range(40)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(records, indent=2))
    reader = reader_for(InputsConfig(paths=[str(path)]))
    assert [d["text"] for d in reader.read(str(path))] == [r["text"] for r in records]
    assert reader.stats.docs_in == 40 and not reader.stats.skipped
    path.write_text(" [ " + json.dumps(records[:3])[1:-1] + ', 17 , {"text": "x"} {"text": "y"}]')
    reader = reader_for(InputsConfig(paths=[str(path)]))
    assert [d["text"] for d in reader.read(str(path))] == [r["text"] for r in records[:3]] + ["x"]
    assert dict(reader.stats.skipped) == {"not_a_json_object": 1, "malformed_json": 1}
    path.write_text("[" + json.dumps(records[0]) + ",\n" + json.dumps(records[1])[:-5])  # cut short
    reader = reader_for(InputsConfig(paths=[str(path)]))
    assert [d["text"] for d in reader.read(str(path))] == [records[0]["text"]]
    assert dict(reader.stats.skipped) == {"malformed_json": 1}
    path.write_text(json.dumps([records[0], {"text": "long " * 1000}, records[1]]))
    reader = reader_for(InputsConfig(paths=[str(path)], max_record_bytes=1024))
    assert [d["text"] for d in reader.read(str(path))] == [records[0]["text"], records[1]["text"]]
    assert dict(reader.stats.skipped) == {"record_too_large": 1}
    path.write_text("[]")
    reader = reader_for(InputsConfig(paths=[str(path)]))
    assert list(reader.read(str(path))) == [] and not reader.stats.skipped


@pytest.mark.parametrize("chunk", [1, 5, 4096, 1 << 20])
def test_records_under_a_field_of_a_json_object_are_read_as_hugging_face_reads_them(tmp_path: Path, monkeypatch,
                                                                                  chunk: int) -> None:
    """`records_field`: the records of a file written as one object with its list of records under a field
    (`{"version": ..., "data": [...]}`), read as `datasets.load_dataset("json", field=...)` reads them, item by
    item, after other values of any kind and size (one over the size cap stepped over unparsed)."""
    from datasets import load_dataset

    monkeypatch.setattr(read_jsonl, "_CHUNK_CHARS", chunk)
    records = [{"id": f"q{i}", "text": f"Record {i} with ] and }} and a \"quote\"."} for i in range(30)]
    path = tmp_path / "squad_like.json"
    path.write_text(json.dumps({"version": "v2.0", "n": -1.5e3, "ok": True, "none": None, "nested": {"data": [1]},
                                "long": "y" * 3000, "data": records, "after": [1, 2]}, indent=1))
    config = InputsConfig(paths=[str(path)], records_field="data", max_record_bytes=2048)
    reader = reader_for(config)
    docs = [d for task in resolve_inputs(config) for d in reader.read(task.inputs[0])]
    reference = load_dataset("json", data_files=str(path), field="data", split="train",
                             cache_dir=str(tmp_path / "hf_cache"))
    assert [d["text"] for d in docs] == reference["text"] and len(docs) == 30
    assert [d["id"] for d in docs] == [document_id("squad_like", r["id"]) for r in records]
    assert reader.stats.docs_in == 30 and not reader.stats.skipped
    # A file without the field, with it holding no list, or damaged: one problem each, and the run is told.
    for content, reason in ((json.dumps({"version": 1, "rows": records}), "missing_data_field"),
                            (json.dumps({"data": {"text": "x"}}), "data_field_not_a_list"),
                            ('{"version": 1, "data" [', "malformed_json"),
                            (json.dumps(records), "not_a_json_object"),
                            (json.dumps(records[0]) + "\n" + json.dumps(records[1]), "missing_data_field")):
        path.write_text(content)
        reader = reader_for(config)
        assert list(reader.read(str(path))) == []
        assert dict(reader.stats.skipped) == {reason: 1, "no_usable_record": 1}, content
    with pytest.raises(ValidationError, match="records_field"):
        InputsConfig(paths=[str(path)], records_field="data", format="parquet")


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "arrow", "csv"])
def test_a_record_file_without_one_usable_record_is_said_to_be_unreadable(tmp_path: Path, fmt: str) -> None:
    """A `text_field` that names no field of the records: every record was skipped, and the run ended with
    nothing, exit 0. Such a file now carries `no_usable_record` beside its records' reasons, and fails the run."""
    path = tmp_path / f"a.{fmt}"
    records = [{"content": "A paragraph of text."}, {"content": "Another one."}]
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    elif fmt == "csv":
        path.write_text("content\n" + "".join(f'"{r["content"]}"\n' for r in records))
    elif fmt == "arrow":
        with pa.ipc.new_stream(path, pa.Table.from_pylist(records).schema) as stream:
            stream.write_table(pa.Table.from_pylist(records))
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
    reader = reader_for(InputsConfig(paths=[str(path)], text_field="body"))
    assert list(reader.read(str(path))) == []
    assert dict(reader.stats.skipped) == {"missing_body_field": 2, "no_usable_record": 1}
    reader = reader_for(InputsConfig(paths=[str(path)], text_field="content"))
    assert len(list(reader.read(str(path)))) == 2 and not reader.stats.skipped


def make_tree(root: Path) -> list[Path]:
    files = [root / "a" / "one.warc.gz", root / "a" / "two.jsonl", root / "b" / "one.warc.gz", root / "b" / "c.parquet"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"")
    return files


def test_resolve_paths_globs_folders_and_paths_file(tmp_path: Path) -> None:
    files = make_tree(tmp_path)
    by_glob = resolve_inputs(InputsConfig(paths=[str(tmp_path / "*" / "*.warc.gz")]))
    assert [t.inputs[0] for t in by_glob] == [str(files[0]), str(files[2])]
    # Same file name in two folders: the ids still differ, and do not depend on the other inputs.
    assert len({t.task_id for t in by_glob}) == 2
    by_folder = resolve_inputs(InputsConfig(paths=[str(tmp_path)]))
    assert sorted(t.inputs[0] for t in by_folder) == sorted(map(str, files))
    assert {t.task_id for t in by_glob} <= {t.task_id for t in by_folder}
    listing = tmp_path / "inputs.paths.gz"
    listing.write_bytes(gzip.compress(b"a/one.warc.gz\n# a comment\n\nb/c.parquet\n"))
    by_list = resolve_inputs(InputsConfig(paths_file=str(listing)))
    assert [t.inputs[0] for t in by_list] == [str(files[0]), str(files[3])]
    prefixed = resolve_inputs(InputsConfig(paths_file=str(listing), paths_prefix="https://data.example.org/"))
    assert [t.inputs[0] for t in prefixed] == ["https://data.example.org/a/one.warc.gz",
                                               "https://data.example.org/b/c.parquet"]
    assert len(resolve_inputs(InputsConfig(paths=[str(tmp_path)], max_files=2))) == 2


def test_common_crawl_paths_file(shared_data: Path) -> None:
    listing = shared_data / "warc" / "commoncrawl-whirlwind" / "CC-MAIN-2024-22.warc.paths.gz"
    with gzip.open(listing, "rt") as stream:
        lines = [line.strip() for line in stream if line.strip()]
    tasks = resolve_inputs(InputsConfig(paths_file=str(listing), paths_prefix="https://data.commoncrawl.org/"))
    assert [t.inputs[0] for t in tasks] == sorted(f"https://data.commoncrawl.org/{line}" for line in lines)
    assert len({t.task_id for t in tasks}) == len(lines)


def test_resolve_fsspec_urls_and_missing_inputs(tmp_path: Path) -> None:
    memory = fsspec.filesystem("memory")
    memory.pipe("/inputs/x.jsonl", b'{"text": "hello"}\n')
    memory.pipe("/inputs/y.jsonl", b'{"text": "world"}\n')
    tasks = resolve_inputs(InputsConfig(paths=["memory://inputs/*.jsonl"]))
    assert [t.inputs[0] for t in tasks] == ["memory:///inputs/x.jsonl", "memory:///inputs/y.jsonl"]
    reader = reader_for(InputsConfig(paths=["memory://inputs"]))
    assert [d["text"] for t in tasks for d in reader.read(t.inputs[0])] == ["hello", "world"]
    # A paths file behind a URL lists its inputs relative to itself.
    memory.pipe("/inputs/list.paths", b"y.jsonl\nx.jsonl\n")
    listed = resolve_inputs(InputsConfig(paths_file="memory://inputs/list.paths"))
    assert [t.inputs[0] for t in listed] == ["memory://inputs/x.jsonl", "memory://inputs/y.jsonl"]
    assert [d["text"] for t in listed for d in reader.read(t.inputs[0])] == ["hello", "world"]
    memory.rm("/inputs", recursive=True)
    with pytest.raises(InputNotFound, match="nothing-here"):
        resolve_inputs(InputsConfig(paths=[str(tmp_path / "nothing-here" / "*.warc.gz")]))


def inputs_of(tasks: list) -> list[str]:
    return [location for task in tasks for location in task.inputs]


def test_hidden_and_underscore_files_under_a_folder_are_not_inputs(tmp_path: Path, monkeypatch) -> None:
    """A folder written by Spark (`_SUCCESS`, `.crc` files), a macOS `.DS_Store`, a `.git/` folder: each used to be
    read as a crawl file, reported unreadable, and the run exited 1. As for pyarrow's datasets, they are skipped;
    a file the recipe names itself is read."""
    data = tmp_path / "data"
    for name in ("a.jsonl", "sub/b.jsonl", "_SUCCESS", ".part-0.jsonl.crc", "sub/.DS_Store", ".git/HEAD",
                 "_temporary/0/c.jsonl"):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text('{"text": "x"}\n')
    wanted = [str(data / "a.jsonl"), str(data / "sub" / "b.jsonl")]
    for pattern in (str(data), str(data / "**" / "*"), str(data) + "/**/*.jsonl"):
        assert inputs_of(resolve_inputs(InputsConfig(paths=[pattern]))) == wanted, pattern
    monkeypatch.chdir(tmp_path)
    assert inputs_of(resolve_inputs(InputsConfig(paths=["data/*"]))) == wanted[:1]
    assert inputs_of(resolve_inputs(InputsConfig(paths=["data/_SUCCESS"]))) == [str(data / "_SUCCESS")]
    memory = fsspec.filesystem("memory")
    for name in ("a.jsonl", "_SUCCESS", ".hidden/b.jsonl"):
        memory.pipe(f"/spark/{name}", b'{"text": "x"}\n')
    for pattern in ("memory://spark", "memory://spark/*"):
        assert [t.inputs for t in resolve_inputs(InputsConfig(paths=[pattern]))] == [("memory:///spark/a.jsonl",)]
    memory.rm("/spark", recursive=True)


def test_files_whose_names_give_no_format_are_listed_under_a_folder_and_read_when_named(tmp_path: Path) -> None:
    """A downloaded dataset's folder holds its LICENSE, README and paths listing beside the crawl files: each was
    read as a crawl file, reported unreadable, and the run exited 1. Under a folder or a glob they are passed over
    (and listed); a file the recipe names itself, or any file but the documentation of an entry with a `format:`,
    is read."""
    data = tmp_path / "data"
    data.mkdir()
    others = ("CC-MAIN-2024-22.warc.paths.gz", "LICENSE", "README", "paper.pdf")
    for name in ("crawl.warc.gz", "old.arc.gz", "crawl.warc.wat.gz", *others):
        (data / name).write_bytes(b"x")
    wanted = {str(data / name): str(data / name) for name in ("crawl.warc.gz", "crawl.warc.wat.gz", "old.arc.gz")}
    for pattern in (str(data), str(data / "*")):
        files = find_inputs(InputsConfig(paths=[pattern]))
        assert files.found == wanted, pattern
        assert files.passed_over == {str(data / name): "no_input_format" for name in others}, pattern
    assert find_inputs(InputsConfig(paths=[str(data / "LICENSE")])).found == {str(data / "LICENSE"): str(data / "LICENSE")}
    as_warc = find_inputs(InputsConfig(paths=[str(data)], format="warc"))  # its documentation is still not a crawl
    assert len(as_warc.found) == 5 and as_warc.passed_over == {str(data / "LICENSE"): "dataset_metadata",
                                                               str(data / "README"): "dataset_metadata"}
    assert [format_of(name) for name in others] == [None] * 4
    tables = tmp_path / "tables"
    tables.mkdir()
    for name in ("a.pdf", "b.pdf", "NOTES"):
        (tables / name).write_text("x")
    with pytest.raises(InputNotFound, match=r"holds no file whose name gives an input format \(2 \.pdf, 1 without"):
        find_inputs(InputsConfig(paths=[str(tables)]))


def test_a_datasets_documentation_is_passed_over_under_a_folder_and_read_when_named(tmp_path: Path) -> None:
    """The BBC collection's README.txt was read as a news article, the crawl sample's as a crawled page: under a
    folder or a glob such as `*.txt`, README, LICENSE, CITATION, ... files of any extension are the dataset's
    documentation. A glob that names them (`*/README.md`: a corpus of READMEs) or a path to one reads them."""
    data = tmp_path / "data"
    documentation = ("README.txt", "LICENSE.md", "Readme_ja.md", "COPYING.txt", "citation.txt", "sub/README.md")
    articles = ("001.txt", "readmes.txt", "licensing.md", "sub/002.txt", "sub/changes.txt")
    for name in (*documentation, *articles):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text("x")
    for pattern in (str(data), str(data / "**" / "*"), str(data / "**" / "*.*")):
        files = find_inputs(InputsConfig(paths=[pattern]))
        assert sorted(files.found) == sorted(str(data / name) for name in articles), pattern
        assert files.passed_over == {str(data / name): "dataset_metadata" for name in documentation}, pattern
    named = find_inputs(InputsConfig(paths=[str(data / "*" / "README.md")]))
    assert sorted(named.found) == [str(data / "sub/README.md")]
    assert list(find_inputs(InputsConfig(paths=[str(data / "README.txt")])).found) == [str(data / "README.txt")]
    only_documentation = tmp_path / "only"
    only_documentation.mkdir()
    (only_documentation / "README.md").write_text("x")
    with pytest.raises(InputNotFound, match=r"\(1 documentation \(README, LICENSE\)\).*read when named on its own"):
        find_inputs(InputsConfig(paths=[str(only_documentation)]))


def test_task_ids_are_stable_and_readable() -> None:
    a = task_id_for(["/data/CC-MAIN-2024-22-00001.warc.gz"])
    assert a == task_id_for(["/data/CC-MAIN-2024-22-00001.warc.gz"])
    assert a.startswith("CC-MAIN-2024-22-00001-") and a != task_id_for(["/other/CC-MAIN-2024-22-00001.warc.gz"])
    assert source_name("s3://bucket/crawl/x.warc.wet.gz") == "x"
    assert [format_of(p) for p in ("a.warc.gz", "a.wet.gz", "a.jsonl.zst", "b.parquet", "c.json.gz")] == \
        ["warc", "warc", "jsonl", "parquet", "jsonl"]


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="paths_file"):
        InputsConfig()
    with pytest.raises(ValidationError, match="pathz"):
        InputsConfig(paths=["x"], pathz=["y"])
    with pytest.raises(ValidationError, match="format"):
        InputsConfig(paths=["x"], format="xlsx")
    with pytest.raises(ValidationError, match="max_record_bytes"):
        InputsConfig(paths=["x"], max_record_bytes=10)


def test_reader_for_dispatches_by_format_into_one_step(sample, tmp_path: Path) -> None:
    path, _ = sample
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"text": "a", "id": 1}\nnot json\n')
    reader = reader_for(InputsConfig(paths=[str(path)], source="mixed"))
    warc_docs = list(reader.read(str(path)))
    jsonl_docs = list(reader.read(str(jsonl)))
    assert reader.name == "read" and reader.stats.docs_out == len(warc_docs) + 1
    assert reader.stats.skipped["malformed_json"] == 1 and reader.stats.skipped["request_record"] > 0
    assert jsonl_docs[0]["id"] == document_id("mixed", "1") and reader.stats.seconds > 0
    assert reader.output_columns(str(path)) == {**BASE_COLUMNS, "html": pa.string()}


def build_reader_only(config: InputsConfig):
    return reader_for(config), []


def test_reader_in_a_ray_stage(ray_session, sample, tmp_path: Path) -> None:
    from functools import partial

    path, _ = sample
    config = InputsConfig(paths=[str(path)])
    tasks = resolve_inputs(config)
    report = run_stage("read", tmp_path / "stage", tasks, map_documents(partial(build_reader_only, config)),
                       show_progress=False)
    rows = list(read_documents(part_path(tmp_path / "stage", tasks[0].task_id)))
    assert [r["id"] for r in rows] == [d["id"] for d in WarcFileReader().read(str(path))]
    assert report.steps[0].name == "read" and report.steps[0].docs_out == len(rows)


def _big_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A JSON lines file (records with and without ids, a blank line, a malformed line, a line over the size cap,
    a BOM) and a Parquet file of 40 row groups."""
    lines = ["\ufeff" + json.dumps({"id": "first", "text": "The first record."})]
    for i in range(3000):
        record = {"text": f"Record {i}: " + "words " * (i % 37)}
        if i % 3:
            record["id"] = f"r{i}"
        lines.append(json.dumps(record))
        if i == 1200:
            lines += ["", "{not json", json.dumps({"text": "x" * 3000})]
    jsonl = tmp_path / "big.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")
    table = pa.table({"text": [f"Row {i}" for i in range(4000)], "id": [f"p{i}" if i % 2 else None for i in range(4000)]})
    parquet = tmp_path / "big.parquet"
    pq.write_table(table, parquet, row_group_size=100)
    return jsonl, parquet


def test_a_large_file_is_read_in_pieces_that_together_are_the_file(tmp_path: Path, monkeypatch) -> None:
    """One 4.6 GB file (the arXiv metadata snapshot) was one task, on one core. A local file of JSON lines or a
    Parquet file over PIECE_BYTES is now read by several tasks: their documents, ids and counts are the file's."""
    jsonl, parquet = _big_inputs(tmp_path)
    monkeypatch.setattr(inputs, "PIECE_BYTES", 10_000)
    for path in (jsonl, parquet):
        config = InputsConfig(paths=[str(path)], max_record_bytes=2048)
        whole_reader = reader_for(config)
        whole = list(whole_reader.read(str(path)))
        tasks = resolve_inputs(config)
        assert len(tasks) > 4 and [t.piece for t in tasks] == [(k, len(tasks)) for k in range(len(tasks))]
        assert len({t.task_id for t in tasks}) == len(tasks) and resolve_inputs(config) == tasks
        reader = reader_for(config)
        assert [d for t in tasks for d in reader.read(t.inputs[0], piece=t.piece)] == whole
        assert reader.stats.skipped == whole_reader.stats.skipped and reader.stats.docs_in == whole_reader.stats.docs_in
    assert dict(whole_reader.stats.skipped) == {}  # the Parquet file's
    # A JSON array cannot be entered midway: one task.
    (tmp_path / "array.json").write_text(json.dumps([{"text": "x" * 100}] * 200))
    assert [t.piece for t in resolve_inputs(InputsConfig(paths=[str(tmp_path / "array.json")]))] == [None]


def test_a_large_compressed_file_is_read_in_pieces_of_blocks_of_lines(tmp_path: Path, monkeypatch) -> None:
    """A compressed stream cannot be entered midway: each piece reads all of it and parses its own blocks of lines.
    Together the pieces are the file's documents, ids (by line for records without one) and counts, also when the
    stream is truncated (counted once)."""
    jsonl, _ = _big_inputs(tmp_path)
    monkeypatch.setattr(inputs, "PIECE_BYTES", 10_000)
    monkeypatch.setattr(read_jsonl, "COMPRESSED_BLOCK_LINES", 50)
    data = gzip.compress(jsonl.read_bytes())
    (tmp_path / "big.jsonl.gz").write_bytes(data)
    (tmp_path / "cut.jsonl.gz").write_bytes(data[:len(data) * 2 // 3])
    for name, problems in (("big.jsonl.gz", {"malformed_json": 1, "record_too_large": 1}),
                           ("cut.jsonl.gz", {"malformed_json": 1, "record_too_large": 1, "corrupt_stream": 1})):
        whole = assert_pieces_read_as_whole(InputsConfig(paths=[str(tmp_path / name)], max_record_bytes=2048),
                                            problems)
    assert len(whole) > 1000


def test_a_compressed_files_pieces_follow_the_text_it_holds_not_a_guessed_ratio(tmp_path: Path, monkeypatch) -> None:
    """How much text a compressed file holds is measured on its first MiB: a varied file (about 2x) is cut into
    fewer pieces, a repetitive one (about 300x) into more, than 4x its size would give."""
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(5000)]
    varied = "".join(json.dumps({"text": " ".join(rng.choices(words, k=200))}) + "\n" for _ in range(3000)).encode()
    repetitive = (json.dumps({"text": "the same line " * 50}) + "\n").encode() * 20000
    for name, text, piece_bytes in (("varied.jsonl.gz", varied, len(varied) * 2 // 5),
                                    ("repetitive.jsonl.gz", repetitive, 100_000)):
        compressed = gzip.compress(text)
        (tmp_path / name).write_bytes(compressed)
        monkeypatch.setattr(inputs, "PIECE_BYTES", piece_bytes)
        tasks = resolve_inputs(InputsConfig(paths=[str(tmp_path / name)]))
        guessed = -(-len(compressed) * inputs.COMPRESSION_RATIO // piece_bytes)
        assert len(tasks) == min(inputs.COMPRESSED_MAX_PIECES, -(-len(text) // piece_bytes)) != guessed, name
        assert inputs.compression_ratio(str(tmp_path / name), {}) == pytest.approx(len(text) / len(compressed),
                                                                                  rel=0.03)


def test_pieces_of_a_file_in_a_ray_stage_write_the_files_documents(ray_session, tmp_path: Path, monkeypatch) -> None:
    from functools import partial

    jsonl, _ = _big_inputs(tmp_path)
    monkeypatch.setattr(inputs, "PIECE_BYTES", 20_000)
    config = InputsConfig(paths=[str(jsonl)], max_record_bytes=2048)
    tasks = resolve_inputs(config)
    report = run_stage("read", tmp_path / "stage", tasks, map_documents(partial(build_reader_only, config)),
                       show_progress=False)
    rows = [row for t in tasks for row in read_documents(part_path(tmp_path / "stage", t.task_id))]
    reader = reader_for(config)
    assert [r["id"] for r in rows] == [d["id"] for d in reader.read(str(jsonl))] and len(tasks) > 4
    assert dict(report.steps[0].skipped) == dict(reader.stats.skipped) == {"malformed_json": 1, "record_too_large": 1}


def test_a_run_over_a_file_read_in_pieces_curates_what_a_run_over_it_whole_does(ray_session, shared_data: Path,
                                                                                  tmp_path: Path, monkeypatch) -> None:
    """The real BBC tech articles as one JSON lines file without ids (records are named by their line): read in
    pieces, the run keeps, rejects and deduplicates exactly what it does reading the file whole."""
    from sciloom.curation.config import CurationConfig
    from sciloom.curation.pipeline import input_problems, run_curation

    articles = sorted((shared_data / "general" / "bbc-news" / "tech").glob("*.txt"))
    path = tmp_path / "bbc.jsonl"
    path.write_text("".join(json.dumps({"text": a.read_text(errors="replace")}) + "\n" for a in articles))
    config = CurationConfig.model_validate({"inputs": [{"paths": [str(path)], "source": "bbc"}]})
    whole = {r.stage: r for r in run_curation(config, tmp_path / "whole")}
    monkeypatch.setattr(inputs, "PIECE_BYTES", 100_000)
    pieces = {r.stage: r for r in run_curation(config, tmp_path / "pieces")}
    assert whole["extract"].tasks_total == 1 and pieces["extract"].tasks_total >= 8

    def table(out: Path, folder: str) -> pa.Table:
        return pq.read_table(out / folder, columns=["id", "text"]).sort_by("id")

    assert table(tmp_path / "pieces", "curated").equals(table(tmp_path / "whole", "curated"))
    assert table(tmp_path / "pieces", "curated").num_rows > 300
    assert [s.to_dict()["rejected"] for s in pieces["extract"].steps] == \
        [s.to_dict()["rejected"] for s in whole["extract"].steps]
    assert input_problems(tmp_path / "pieces") == input_problems(tmp_path / "whole")


def test_input_problems_name_a_file_once_whatever_the_number_of_its_tasks(tmp_path: Path) -> None:
    """A file read in pieces: two pieces failed (skip_failed_inputs) and one was read with damage. The file is
    named once, with its reasons summed over its pieces, where each failed piece used to list it again."""
    from sciloom.curation.executor import tasks_dir
    from sciloom.curation.pipeline import input_problems

    markers = tasks_dir(tmp_path / "extract")
    markers.mkdir(parents=True)
    big, other = "/data/big.jsonl", "/data/other.jsonl"
    for k in (1, 2):
        (markers / f"big-{k}of3.json").write_text(json.dumps(
            {"task_id": f"big-{k}of3", "inputs": [big], "failed": "worker died", "steps": [], "outputs": {}}))
    (markers / "big-3of3.json").write_text(json.dumps(
        {"task_id": "big-3of3", "inputs": [big], "steps": [{"skipped": {"corrupt_stream": 1}}]}))
    (markers / "other.json").write_text(json.dumps(
        {"task_id": "other", "inputs": [other], "steps": [{"skipped": {"corrupt_stream": 2}}]}))
    assert input_problems(tmp_path) == {
        "unreadable": [{"file": big, "reasons": {"task_failed": 2, "corrupt_stream": 1}, "error": "worker died"}],
        "damaged": [{"file": other, "reasons": {"corrupt_stream": 2}}], "passed_over": []}
    # A failed group of small files, read again one file per task: only the file that failed alone is named.
    group = ["/data/a.html", "/data/poison.html", "/data/c.html"]
    (markers / "g.json").write_text(json.dumps({"task_id": "g", "inputs": group, "failed": "worker died", "steps": [],
                                                "outputs": {}, "split_into": ["g~0", "g~1", "g~2"]}))
    for k, path in enumerate(group):
        failed = {"failed": "worker died", "steps": []} if "poison" in path else {"steps": [{"skipped": {}}]}
        (markers / f"g~{k}.json").write_text(json.dumps({"task_id": f"g~{k}", "inputs": [path], **failed}))
    assert input_problems(tmp_path)["unreadable"][1:] == [
        {"file": "/data/poison.html", "reasons": {"task_failed": 1}, "error": "worker died"}]


def test_files_under_the_runs_output_folder_are_not_inputs(tmp_path: Path) -> None:
    files = make_tree(tmp_path)
    (tmp_path / "run" / "curation").mkdir(parents=True)
    (tmp_path / "run" / "curation" / "part-0.parquet").write_bytes(b"PAR1")
    everything = resolve_inputs(InputsConfig(paths=[str(tmp_path)]))
    assert str(tmp_path / "run" / "curation" / "part-0.parquet") in [t.inputs[0] for t in everything]
    inputs = resolve_inputs(InputsConfig(paths=[str(tmp_path)], max_files=len(files)), exclude=tmp_path / "run")
    assert sorted(t.inputs[0] for t in inputs) == sorted(map(str, files))


def test_a_file_two_input_entries_list_is_refused_naming_both(ray_session, tmp_path: Path, monkeypatch) -> None:
    from sciloom.cli import exit_code_for
    from sciloom.curation.config import CurationConfig
    from sciloom.curation.inputs import InputListedTwice
    from sciloom.curation.pipeline import run_curation

    files = make_tree(tmp_path / "data")
    monkeypatch.chdir(tmp_path)  # one entry names the file relative to the project, the other by its folder
    config = CurationConfig.model_validate({"inputs": [{"paths": [str(files[0].relative_to(tmp_path))], "source": "a"},
                                                       {"paths": [str(tmp_path / "data")], "source": "b"}]})
    with pytest.raises(InputListedTwice, match=r"is listed by curation.inputs\[0\] and curation.inputs\[1\]") as error:
        run_curation(config, tmp_path / "run")
    assert exit_code_for(error.value) == 2 and not (tmp_path / "run" / "extract").exists()


def test_task_ids_follow_the_recipes_names_not_where_the_folder_is(tmp_path: Path, monkeypatch) -> None:
    files = make_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    relative = resolve_inputs(InputsConfig(paths=["a/one.warc.gz"]))
    assert relative == [Task(task_id_for(["a/one.warc.gz"]), (str(files[0]),), names=("a/one.warc.gz",))]
    # The same file under a relative and an absolute name is one input.
    assert resolve_inputs(InputsConfig(paths=["a/one.warc.gz", str(files[0]), "./a/../a/one.warc.gz"])) == relative
    listing = tmp_path / "list.paths"
    listing.write_text("a/one.warc.gz\n")
    assert resolve_inputs(InputsConfig(paths_file="list.paths")) == relative
