"""The demo's input: a real gzip WARC file of pages the project writes itself, deterministic from a seed.

It holds what a crawl holds and what the pipeline must cope with: site boilerplate (navigation, cookie
banner, footer), science pages with MathML, MathJax and KaTeX math and tables, near-duplicate and exact
duplicate pages, pages mostly made of a paragraph copied from another page, spam and junk, German and
French pages (some in Latin-1), and records that are not documents: request, revisit and metadata
records, a redirect, a 404, an image, a binary body labelled as HTML, an empty body and a body with invalid
UTF-8. `write_sample_crawl` returns the manifest of what it wrote, so tests can check each stage's effect.
"""
from __future__ import annotations

import gzip
import html as html_lib
import io
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from sciloom.curation.atomic_write import atomic_path
from sciloom.curation.sample_pages import CONTAINED_INTROS, FRENCH, GENERAL, GERMAN, SCIENCE, SITES, SPAM_WORDS, Topic


@dataclass(frozen=True)
class SamplePage:
    """One record of the sample crawl; `of` names the URL a duplicate or excerpt was taken from."""

    url: str
    kind: str
    record_type: str = "response"
    status: int = 200
    of: str | None = None
    lang: str | None = None


@dataclass
class _Record:
    page: SamplePage
    body: bytes
    content_type: str
    extra_headers: tuple[tuple[str, str], ...] = ()


def write_sample_crawl(path: str | Path, seed: int = 0) -> list[SamplePage]:
    """Write the sample crawl to `path` (gzip WARC); return its manifest (one entry per record after the warcinfo)."""
    rng = random.Random(seed)
    records = _records(rng)
    # Pages copied from another page come after it, as in a crawl revisiting a site (no verdict depends on it:
    # an excerpt has fewer n-grams than its source, so containment removes the excerpt in any order).
    originals = [r for r in records if r.page.of is None]
    copies = [r for r in records if r.page.of is not None and r.page.kind != "contained"]
    excerpts = [r for r in records if r.page.kind == "contained"]
    for group in (originals, copies, excerpts):
        rng.shuffle(group)
    start = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    path = Path(path)
    manifest: list[SamplePage] = []
    with atomic_path(path) as tmp, open(tmp, "wb") as out:  # an interrupted write leaves no truncated WARC behind
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(b"software: sciloom sample_crawl\r\nformat: WARC/1.1\r\n"),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Record-ID": _record_id(rng), "WARC-Date": _date(start),
                               "WARC-Filename": path.name}))
        moment = start
        for record in originals + copies + excerpts:
            moment += timedelta(seconds=rng.randint(1, 90))
            manifest.extend(_write(writer, record, rng, moment))
    return manifest


def _write(writer: WARCWriter, record: _Record, rng: random.Random, moment: datetime) -> list[SamplePage]:
    page = record.page
    headers = {"WARC-Record-ID": _record_id(rng), "WARC-Date": _date(moment)}
    if page.record_type == "revisit":
        writer.write_record(writer.create_revisit_record(
            page.url, digest="sha1:" + "A" * 32, refers_to_uri=page.of or page.url, refers_to_date=_date(moment),
            http_headers=StatusAndHeaders("304 Not Modified", [], protocol="HTTP/1.1"), warc_headers_dict=headers))
        return [page]
    request = writer.create_warc_record(
        page.url, "request", payload=io.BytesIO(b""),
        http_headers=StatusAndHeaders(f"GET {_path_of(page.url)} HTTP/1.1",
                                      [("Host", page.url.split("/")[2]), ("User-Agent", "sciloom-sample/1.0")],
                                      is_http_request=True),
        warc_headers_dict={"WARC-Record-ID": _record_id(rng), "WARC-Date": headers["WARC-Date"]})
    writer.write_record(request)
    status_line = {200: "200 OK", 301: "301 Moved Permanently", 404: "404 Not Found"}[page.status]
    http = [("Content-Type", record.content_type), *record.extra_headers,
            ("Content-Length", str(len(record.body)))]
    response = writer.create_warc_record(
        page.url, "response", payload=io.BytesIO(record.body),
        http_headers=StatusAndHeaders(status_line, http, protocol="HTTP/1.1"), warc_headers_dict=headers)
    writer.write_record(response)
    return [SamplePage(page.url, "request", record_type="request"), page]


def _records(rng: random.Random) -> list[_Record]:
    records: list[_Record] = []
    science_urls: dict[str, str] = {}
    for topic in SCIENCE:
        site = rng.choice(SITES[:3])
        url = f"https://{site[0]}/{topic.discipline.replace('_', '-')}/{topic.slug}"
        science_urls[topic.slug] = url
        records.append(_html_record(SamplePage(url, "science", lang="en"), _page_html(topic, site)))
    for topic in GENERAL:
        url = f"https://{SITES[3][0]}/{topic.slug}"
        records.append(_html_record(SamplePage(url, "general", lang="en"), _page_html(topic, SITES[3])))

    # Near duplicates: the same article re-published on another site, with a changed sentence and a date line.
    for topic in rng.sample(SCIENCE, 4):
        site = rng.choice([s for s in SITES[:3] if s[0] not in science_urls[topic.slug]])
        edited = _edit_one_sentence(topic, rng)
        url = f"https://{site[0]}/mirror/{topic.slug}-{rng.randint(100, 999)}"
        records.append(_html_record(SamplePage(url, "near_duplicate", of=science_urls[topic.slug], lang="en"),
                                    _page_html(edited, site)))
    # Exact duplicates: byte-identical pages reached under tracking-parameter and print URLs.
    for topic in rng.sample(SCIENCE, 3):
        original = next(r for r in records if r.page.url == science_urls[topic.slug])
        url = science_urls[topic.slug] + rng.choice(("?utm_source=newsletter", "?print=1", "?ref=sidebar"))
        records.append(_Record(SamplePage(url, "exact_duplicate", of=original.page.url, lang="en"),
                               original.body, original.content_type))
    # Containment: a page mostly made of paragraphs copied from a science page, framed by a few own words.
    for intro, topic in zip(CONTAINED_INTROS, rng.sample(SCIENCE, 2)):
        site = SITES[2]
        quoted = Topic(f"notes-{topic.slug}", f"Notes: {topic.title}", "general",
                       (intro, *topic.paragraphs[1:3], "That is all for this week; see you on Thursday."),
                       "", "none")
        url = f"https://{site[0]}/wiki/User:notes/{topic.slug}"
        records.append(_html_record(SamplePage(url, "contained", of=science_urls[topic.slug], lang="en"),
                                    _page_html(quoted, site)))

    for topic in GERMAN:
        latin1 = topic.discipline == "general"
        encoding = "iso-8859-1" if latin1 else "utf-8"
        body = _page_html(topic, ("wissen.example.de", "Wissen kompakt", ("Start", "Themen", "Impressum")),
                          lang="de", charset=encoding)
        # The Latin-1 German page declares its charset only in <meta>: the reader must find it there.
        records.append(_html_record(SamplePage(f"https://wissen.example.de/{topic.slug}", "non_english", lang="de"),
                                    body, encoding, header_charset=None if latin1 else encoding))
    for topic in FRENCH:
        latin1 = topic.discipline == "general"
        encoding = "iso-8859-1" if latin1 else "utf-8"
        body = _page_html(topic, ("savoirs.example.fr", "Savoirs", ("Accueil", "Rubriques", "Contact")),
                          lang="fr", charset=encoding)
        if latin1:  # the Latin-1 French page states its charset in the HTTP header only
            body = body.replace(f'<meta charset="{encoding}">', "")
        records.append(_html_record(SamplePage(f"https://savoirs.example.fr/{topic.slug}", "non_english", lang="fr"),
                                    body, encoding, header_charset=encoding))

    records.extend(_junk(rng))
    records.extend(_not_documents(rng, science_urls))
    return records


def _junk(rng: random.Random) -> list[_Record]:
    site = ("deals.example.biz", "BEST DEALS", ("HOME", "DEALS", "CASINO", "CONTACT"))
    junk: list[_Record] = []
    stuffed = " ".join(rng.choice(SPAM_WORDS) for _ in range(400))
    junk.append(("keyword-stuffing", f"<p>{stuffed}</p>"))
    links = "".join(f'<li><a href="https://deals.example.biz/{w}-{i}">{w} {i}</a></li>'
                    for i, w in enumerate(rng.choice(SPAM_WORDS) for _ in range(80)))
    junk.append(("link-farm", f"<ul>{links}</ul>"))
    junk.append(("repeated-lines", "".join("<p>Click here to claim your prize now!</p>" for _ in range(60))))
    junk.append(("cookie-wall", "<p>Loading...</p><p>Please enable JavaScript and accept cookies.</p>"))
    shouting = " ".join(rng.choice(SPAM_WORDS).upper() + "!!!" for _ in range(150))
    junk.append(("casino", f"<p>{shouting}</p>"))
    salad = ". ".join(" ".join(rng.choice(SPAM_WORDS) for _ in range(rng.randint(4, 9))).capitalize()
                      for _ in range(40))
    junk.append(("word-salad", f"<p>{salad}.</p>"))
    return [_html_record(SamplePage(f"https://{site[0]}/{slug}", "junk", lang="en"),
                         _wrap(site, slug.replace("-", " ").upper(), inner, "en", "utf-8"))
            for slug, inner in junk]


def _not_documents(rng: random.Random, science_urls: dict[str, str]) -> list[_Record]:
    """Records the reader must skip with a counted reason, or decode with a counted fallback (two of them are
    copies of other pages: a page with invalid UTF-8 and a gzip Content-Encoding copy)."""
    host = "https://misc.example.org"
    binary = bytes(rng.getrandbits(8) for _ in range(3000))
    png = b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(500))
    invalid = _page_html(SCIENCE[0], SITES[0]).replace(
        "repeats itself", "repeats \udcff\udcfe itself").encode("utf-8", "surrogateescape")
    first = next(iter(science_urls.values()))
    topic = GENERAL[0]
    gzipped = gzip.compress(_page_html(topic, SITES[3]).encode(), mtime=0)
    return [
        _Record(SamplePage(f"{host}/download/data.bin", "binary", lang=None), binary, "text/html"),
        _Record(SamplePage(f"{host}/logo.png", "image"), png, "image/png"),
        _Record(SamplePage(f"{host}/empty", "empty"), b"", "text/html; charset=utf-8"),
        _Record(SamplePage(f"{host}/broken-utf8", "invalid_utf8", of=science_urls[SCIENCE[0].slug], lang="en"),
                invalid, "text/html; charset=utf-8"),
        _Record(SamplePage(f"{host}/old-page", "redirect", status=301), b"<html>Moved</html>", "text/html",
                (("Location", first),)),
        _Record(SamplePage(f"{host}/missing", "not_found", status=404),
                b"<html><body><h1>Not Found</h1></body></html>", "text/html"),
        _Record(SamplePage(f"{host}/gzip/{topic.slug}", "gzip_encoded", of=f"https://{SITES[3][0]}/{topic.slug}",
                           lang="en"), gzipped,
                "text/html; charset=utf-8", (("Content-Encoding", "gzip"),)),
        _Record(SamplePage(first, "revisit", record_type="revisit", of=first), b"", ""),
    ]


def _html_record(page: SamplePage, html: str, encoding: str = "utf-8", header_charset: str | None = "utf-8") -> _Record:
    content_type = "text/html" + (f"; charset={header_charset}" if header_charset else "")
    return _Record(page, html.encode(encoding), content_type)


def _page_html(topic: Topic, site: tuple[str, str, tuple[str, ...]], *, lang: str = "en",
               charset: str = "utf-8") -> str:
    parts = [f"<h1>{html_lib.escape(topic.title)}</h1>"]
    for index, paragraph in enumerate(topic.paragraphs):
        parts.append(f"<p>{html_lib.escape(paragraph)}</p>")
        if index == 0 and topic.math_style != "none":
            parts.append(_math_block(topic))
    if topic.table:
        header, *rows = topic.table
        head = "".join(f"<th>{html_lib.escape(c)}</th>" for c in header)
        body = "".join("<tr>" + "".join(f"<td>{html_lib.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return _wrap(site, topic.title, "\n".join(parts), lang, charset, math=topic.math_style)


def _math_block(topic: Topic) -> str:
    tex = html_lib.escape(topic.math)
    if topic.math_style == "mathml":
        return f'<p class="equation">{topic.mathml}</p>'
    if topic.math_style == "mathjax":
        return f'<p>In symbols, <script type="math/tex; mode=display">{tex}</script></p>'
    return ('<p class="equation"><span class="katex-display"><span class="katex"><span class="katex-mathml">'
            '<math xmlns="http://www.w3.org/1998/Math/MathML"><semantics><mrow><mi>x</mi></mrow>'
            f'<annotation encoding="application/x-tex">{tex}</annotation></semantics></math></span>'
            '<span class="katex-html" aria-hidden="true"><span class="base"><span class="mord">…</span>'
            '</span></span></span></span></p>')


def _wrap(site: tuple[str, str, tuple[str, ...]], title: str, article: str, lang: str, charset: str,
          math: str = "none") -> str:
    host, name, nav = site
    links = "".join(f'<li><a href="https://{host}/{item.lower().replace(" ", "-")}">{html_lib.escape(item)}</a></li>'
                    for item in nav)
    scripts = {"mathjax": '<script src="https://cdn.example.net/mathjax/tex-chtml.js" async></script>',
               "katex": '<link rel="stylesheet" href="https://cdn.example.net/katex/katex.min.css">'}.get(math, "")
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="{charset}">'
            f"<title>{html_lib.escape(title)} | {html_lib.escape(name)}</title>{scripts}</head>\n<body>\n"
            f'<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>\n'
            f'<header><a class="logo" href="https://{host}/">{html_lib.escape(name)}</a>'
            f'<nav><ul>{links}</ul></nav><form><input type="search" placeholder="Search"></form></header>\n'
            f"<main><article>\n{article}\n</article></main>\n"
            f'<aside><h3>Popular</h3><ul><li><a href="https://{host}/top">Most read this week</a></li>'
            f'<li><a href="https://{host}/newsletter">Sign up to our newsletter</a></li></ul></aside>\n'
            f"<footer><p>© 2026 {html_lib.escape(name)}. All rights reserved.</p>"
            f'<p><a href="https://{host}/privacy">Privacy</a> · <a href="https://{host}/terms">Terms</a> · '
            f'<a href="https://{host}/contact">Contact</a></p></footer>\n</body></html>\n')


def _edit_one_sentence(topic: Topic, rng: random.Random) -> Topic:
    index = rng.randrange(len(topic.paragraphs))
    sentences = topic.paragraphs[index].split(". ")
    sentences[-1] = sentences[-1].rstrip(".") + " indeed."
    paragraphs = list(topic.paragraphs)
    paragraphs[index] = ". ".join(sentences)
    return Topic(topic.slug, topic.title, topic.discipline, tuple(paragraphs), topic.math, topic.math_style,
                 topic.mathml, topic.table)


def _record_id(rng: random.Random) -> str:
    return f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
