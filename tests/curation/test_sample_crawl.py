"""The demo's sample crawl: a valid WARC (checked by warcio, not by our reader), deterministic, and holding
every kind of page the pipeline must handle."""
from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator as WarcioIterator

from sciloom.classifiers.taxonomy import DEFAULT_DISCIPLINES, GENERAL
from sciloom.curation.sample_crawl import write_sample_crawl
from sciloom.curation.sample_pages import SCIENCE
from sciloom.curation.sample_pages import GENERAL as GENERAL_PAGES
from sciloom.sample_command import register

CHECKED_IN = Path(__file__).resolve().parents[2] / "recipes" / "inputs" / "sample_crawl.warc.gz"


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("sample") / CHECKED_IN.name
    manifest = write_sample_crawl(path)
    records = []
    with open(path, "rb") as stream:
        for record in WarcioIterator(stream, check_digests="raise"):
            body = record.content_stream().read()
            status = int(record.http_headers.get_statuscode()) if record.http_headers and \
                record.rec_type == "response" else None
            records.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), status, body,
                            record.http_headers.get_header("Content-Type") if record.http_headers else None))
    return path, manifest, records


def visible_text(html: bytes) -> str:
    article = re.search(rb"<article>(.*)</article>", html, re.S)
    return re.sub(r"<[^>]+>", " ", article.group(1).decode("utf-8")) if article else ""


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_is_a_valid_gzip_warc_matching_its_manifest(crawl) -> None:
    path, manifest, records = crawl
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert records[0][0] == "warcinfo"
    assert [(r[0], r[1]) for r in records[1:]] == [(p.record_type, p.url) for p in manifest]
    pages = [p for p in manifest if p.record_type == "response"]
    assert 80 <= len(pages) <= 120
    html_ok = [r for r in records if r[0] == "response" and r[2] == 200 and r[4].startswith("text/html") and r[3]]
    assert len(html_ok) >= 80
    assert path.stat().st_size < 400_000


def test_deterministic_from_its_seed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_sample_crawl(tmp_path / "a" / "s.warc.gz", seed=7)
    second = write_sample_crawl(tmp_path / "b" / "s.warc.gz", seed=7)
    assert first == second
    assert (tmp_path / "a" / "s.warc.gz").read_bytes() == (tmp_path / "b" / "s.warc.gz").read_bytes()
    other = write_sample_crawl(tmp_path / "b" / "s.warc.gz", seed=8)
    assert Counter(p.kind for p in other) == Counter(p.kind for p in first)
    assert [p.url for p in other] != [p.url for p in first]


def test_checked_in_crawl_is_what_the_generator_writes(crawl) -> None:
    path, _, _ = crawl
    # Compared decompressed: the records (ids, dates, payloads) must match byte for byte, whatever zlib
    # version compressed them.
    assert gzip.decompress(CHECKED_IN.read_bytes()) == gzip.decompress(path.read_bytes()), (
        "recipes/inputs/sample_crawl.warc.gz is stale: regenerate it with "
        "`.venv/bin/sciloom sample-crawl recipes/inputs/sample_crawl.warc.gz`")


def test_covers_every_discipline_with_distinct_pages() -> None:
    per_discipline = Counter(topic.discipline for topic in SCIENCE)
    assert set(per_discipline) == set(DEFAULT_DISCIPLINES) - {GENERAL}
    assert min(per_discipline.values()) >= 5 and len(GENERAL_PAGES) >= 14
    pages = {topic.slug: " ".join(topic.paragraphs) for topic in SCIENCE + GENERAL_PAGES}
    assert len(pages) == len(SCIENCE) + len(GENERAL_PAGES)
    # The demo's dedup (5-gram MinHash at Jaccard 0.8, 8-gram containment at 0.5) must keep every page: no
    # sentence is shared between two pages, and no page holds a noticeable share of another's 8-grams.
    owner: dict[str, str] = {}
    for slug, text in pages.items():
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            assert sentence not in owner, f"{slug} repeats a sentence of {owner.get(sentence)}: {sentence!r}"
            owner[sentence] = slug
    grams = {slug: shingles(text, 8) for slug, text in pages.items()}
    seen: Counter = Counter(g for page in grams.values() for g in page)
    for slug, page in grams.items():
        shared = sum(seen[g] > 1 for g in page)
        assert shared / len(page) < 0.05, slug


def test_holds_every_kind_of_page(crawl) -> None:
    _, manifest, records = crawl
    kinds = Counter(p.kind for p in manifest)
    for kind in ("science", "general", "near_duplicate", "exact_duplicate", "contained", "junk", "non_english",
                 "binary", "invalid_utf8", "empty", "redirect", "not_found", "revisit", "image", "gzip_encoded"):
        assert kinds[kind] >= 1, kind
    assert kinds["science"] >= 10 and kinds["junk"] >= 5
    assert {p.lang for p in manifest if p.kind == "non_english"} == {"de", "fr"}
    bodies = {url: body for kind, url, _, body, _ in records if kind == "response"}
    science = [bodies[p.url] for p in manifest if p.kind == "science"]
    assert sum(b"<math" in b and b"x-tex" not in b for b in science) >= 3  # MathML
    assert sum(b'type="math/tex' in b for b in science) >= 3  # MathJax
    assert sum(b'encoding="application/x-tex"' in b for b in science) >= 2  # KaTeX
    assert sum(b"<table>" in b for b in science) >= 5
    # Boilerplate around every article.
    assert all(b"<nav>" in b and b"<footer>" in b and b"cookie" in b for b in science)
    assert b"\x00" in bodies[next(p.url for p in manifest if p.kind == "binary")]
    with pytest.raises(UnicodeDecodeError):
        bodies[next(p.url for p in manifest if p.kind == "invalid_utf8")].decode("utf-8")


def test_duplicates_and_excerpts_relate_to_their_originals(crawl) -> None:
    _, manifest, records = crawl
    bodies = {url: body for kind, url, _, body, _ in records if kind == "response"}
    for page in manifest:
        if page.kind == "exact_duplicate":
            assert bodies[page.url] == bodies[page.of]
        elif page.kind == "near_duplicate":
            a, b = shingles(visible_text(bodies[page.url])), shingles(visible_text(bodies[page.of]))
            jaccard = len(a & b) / len(a | b)
            assert bodies[page.url] != bodies[page.of] and 0.75 < jaccard < 1.0
        elif page.kind == "contained":
            own, original = shingles(visible_text(bodies[page.url])), shingles(visible_text(bodies[page.of]))
            # Mostly made of the original's text, while whole-document similarity stays low (MinHash misses it).
            assert len(own & original) / len(own) > 0.6
            assert len(own & original) / len(own | original) < 0.7


def test_command_writes_the_crawl(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer from collapsing the app into one
    out = tmp_path / "demo" / "crawl.warc.gz"
    result = CliRunner().invoke(app, ["sample-crawl", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "records" in result.output
    write_sample_crawl(tmp_path / "again" / "crawl.warc.gz")
    assert out.read_bytes() == (tmp_path / "again" / "crawl.warc.gz").read_bytes()
