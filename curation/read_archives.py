"""Reading archives of papers, a document per paper: arXiv's LaTeX sources and PubMed Central's JATS articles.

arXiv ships its sources as tar files (`arXiv_src_2301_001.tar`, ~500 MB) holding one gzip file per paper
(`2301/2301.00001.gz`): the gzip holds the paper's own tar of files when it has several, else its one `.tex` file. A
paper downloaded on its own (`arxiv.org/e-print/<id>`, saved as `.tar.gz`) is such a tar of files. Each paper
becomes one document: its main file (the one its `00README` names, if it names one) with the files it includes
inlined (`latex_source.paper_sources`), cleaned as a `.tex` file is (`latex_source.clean_latex_source`); another
document among its files (a supplement, a response to the referees: a main file of its own that the paper does not
take in) is one more, named after the paper's member and its file, and a standalone figure is none. A paper
submitted as HTML (a page, or a tar of pages) gives its pages as saved pages, for the extraction step, noted as
`html_submission`. PubMed Central's bulk packages (`oa_comm_xml.PMC000xxxxxx.baseline.<date>.tar.gz`) hold one JATS
XML file per article (plain or gzipped): each becomes a document as a `.nxml` file does (`read_jats`). A document's
id comes from the archive and the member (`arXiv_src_2301_001.tar:2301/2301.00001.gz`: a bulk file's papers are the
members named by an arXiv identifier), so a rerun names it alike. A paper's own packages (`.sty` files) are read for
the macros they define, its `00README` for its main file; other members (figures, data) are passed over, counted in
the `archive_members_passed_over` note.

The archive is read as a stream, member by member (of any size, plain or compressed, local or fsspec URL), and
nothing but one paper is held at a time. A paper that cannot be read is counted and the archive goes on:
`pdf_only_submission` (arXiv keeps papers submitted as PDF in the same files), `not_a_latex_source` (PostScript,
binary), `no_tex_source` (no `.tex` file, or none that could be the main one), `record_too_large` (a paper's files
over the record cap), `corrupt_member` (its gzip or tar is damaged), and the JATS reader's reasons; a damaged
archive ends with `corrupt_stream`, the papers before the damage kept.
"""
from __future__ import annotations

import gzip
import io
import re
import tarfile
from collections import Counter
from collections.abc import Iterator

from sciloom.curation.document import STRUCTURED, Document
from sciloom.curation.latex_source import ARXIV_README_NAMES, STY_SUFFIX, TEX_SUFFIX, clean_latex_source, paper_sources
from sciloom.curation.read_jats import JATS_SUFFIXES, article_documents
from sciloom.curation.read_warc import (DEFAULT_MAX_RECORD_BYTES, READER_COLUMNS, decode_page, decode_undeclared,
                                        looks_binary, reader_document, source_name)
from sciloom.curation.step import READ_ERRORS, Reader

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
_PDF = b"%PDF"
# A paper of arXiv's bulk files: a member named by its identifier (`2301/2301.00001.gz`, `0001/astro-ph0001001.gz`),
# a gzip of its source or, for a paper submitted as PDF, the PDF. Other .gz and .pdf members (a paper's own data and
# figures) are no papers.
_ARXIV_PAPER = re.compile(r"(?:^|/)(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?\d{7})(?:v\d+)?\.(?:gz|pdf)$")
_POSTSCRIPT = b"%!PS"
# A paper submitted as HTML (arXiv accepts it, rarely): a page, or pages, read as a saved page is (extracted).
_HTML_SUFFIXES = (".html", ".htm")
_HTML_START = re.compile(rb"\s*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)


class ArchiveReader(Reader):
    """The papers of an archive of LaTeX sources or JATS articles, one document each (see the module's doc)."""

    name = "read_archive"
    columns = READER_COLUMNS

    def __init__(self, source: str | None = None, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        super().__init__()
        self.source, self.max_record_bytes = source, max_record_bytes

    def read(self, location: str, name: str | None = None) -> Iterator[Document]:
        if (opened := self.open_input(location, "infer" if not location.lower().endswith(".tgz") else "gzip")) is None:
            return
        name, source = name or location, self.source or source_name(location)
        own_files: dict[str, bytes] | str = {}  # the archive's own .tex files: the archive is one paper's source
        # and the files beside them that help read it: .sty files (its macros), arXiv's 00README (its main file)
        own_support: dict[str, bytes] = {}
        with opened as raw:
            try:
                with tarfile.open(fileobj=raw, mode="r|") as archive:
                    for member in archive:
                        lowered = member.name.lower()
                        if not member.isfile():
                            continue
                        if lowered.endswith(TEX_SUFFIX):
                            if member.size > self.max_record_bytes:
                                own_files = "record_too_large"
                            elif isinstance(own_files, dict):
                                own_files[member.name] = archive.extractfile(member).read()
                        elif _supports_a_paper(member.name) and member.size <= self.max_record_bytes:
                            own_support[member.name] = archive.extractfile(member).read()
                        elif _ARXIV_PAPER.search(member.name):
                            self.stats.docs_in += 1
                            if member.size > self.max_record_bytes:
                                files: dict[str, bytes] | str = "record_too_large"
                            elif lowered.endswith(".pdf"):
                                files = "pdf_only_submission"
                            else:
                                files = self._member_files(archive.extractfile(member).read())
                            yield from self._paper(files, source, f"{name}:{member.name}")
                        elif lowered.removesuffix(".gz").endswith(JATS_SUFFIXES):
                            self.stats.docs_in += 1
                            body = archive.extractfile(member).read(self.max_record_bytes + 1)
                            if lowered.endswith(".gz"):
                                body = self._gunzipped(body)
                            if isinstance(body, str):
                                self.skip(body)
                                continue
                            yield from article_documents(self, body, source, f"{name}:{member.name}",
                                                         self.max_record_bytes)
                        else:
                            self.note("archive_members_passed_over")
            except (*READ_ERRORS, tarfile.TarError):
                self.skip("corrupt_stream")
        if own_files:
            self.stats.docs_in += 1
            yield from self._paper(own_files | own_support if isinstance(own_files, dict) else own_files, source,
                                   name)

    def _gunzipped(self, packed: bytes) -> bytes | str:
        """A gzip member's content up to the record cap, or the reason it cannot be read."""
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(packed)) as unpacked:
                content = unpacked.read(self.max_record_bytes + 1)
        except READ_ERRORS:
            return "corrupt_member"
        return "record_too_large" if len(content) > self.max_record_bytes else content

    def _member_files(self, packed: bytes) -> dict[str, bytes] | str:
        """A paper's files (name → bytes) from its gzip member, or the reason it has none."""
        content = self._gunzipped(packed)
        if isinstance(content, str):
            return content
        if content.startswith(_PDF):
            return "pdf_only_submission"
        if not _is_tar(content):
            if content.startswith(_POSTSCRIPT) or looks_binary(content):
                return "not_a_latex_source"
            if _HTML_START.match(content.removeprefix(b"\xef\xbb\xbf"), 0, 4096):
                return {"index.html": content}
            return {"main" + TEX_SUFFIX: content}  # one file, gzipped on its own
        files: dict[str, bytes] = {}
        try:
            with tarfile.open(fileobj=io.BytesIO(content), mode="r:") as paper:
                for member in paper:
                    if member.isfile() and (member.name.lower().endswith((TEX_SUFFIX, *_HTML_SUFFIXES))
                                            or _supports_a_paper(member.name)):
                        files[member.name.removeprefix("./")] = paper.extractfile(member).read()
        except (tarfile.TarError, EOFError, OSError):
            return "corrupt_member"
        return files

    def _paper(self, files: dict[str, bytes] | str, source: str, locator: str) -> Iterator[Document]:
        """The documents of one paper's files (counted as one input): the paper, named by `locator`, and any other
        document its files hold (a supplement, a response to the referees), named by `locator/<its main file>`
        and counted as inputs of their own."""
        if isinstance(files, str):
            self.skip(files)
            return
        pages = {name: body for name, body in files.items() if name.lower().endswith(_HTML_SUFFIXES)}
        decoded: dict[str, str] = {}
        for file_name, body in files.items():
            if file_name in pages:
                continue
            text, note = decode_undeclared(body)
            if note is not None:
                self.note(note)
            decoded[file_name.removeprefix("./")] = text.replace("\r\n", "\n").replace("\r", "\n")
        notes: Counter = Counter()
        documents = paper_sources(decoded, notes)
        if not documents and pages:
            yield from self._html_submission(pages, source, locator)
            return
        if not documents:
            self.skip("no_tex_source")
            return
        self.stats.bytes_in += sum(map(len, files.values()))
        texts = []
        for main, combined in documents:
            text, cleaned = clean_latex_source(combined)
            texts.append((main, text))
            notes += cleaned
        for what, count in notes.items():
            self.note(what, count)
        for number, (main, text) in enumerate(texts):
            self.stats.docs_in += number > 0
            doc = reader_document(source, f"{locator}/{main}" if number else locator, None, text=text)
            doc[STRUCTURED] = True
            self.keep(doc)
            yield doc

    def _html_submission(self, pages: dict[str, bytes], source: str, locator: str) -> Iterator[Document]:
        """The pages of a paper submitted as HTML, as saved pages (the extraction step reads them): the largest
        named by `locator`, any other by `locator/<its name>` (counted as inputs of their own)."""
        self.note("html_submission")
        self.stats.bytes_in += sum(map(len, pages.values()))
        for number, name in enumerate(sorted(pages, key=lambda name: (-len(pages[name]), name))):
            page, notes = decode_page(pages[name], None)
            for note in notes:
                self.note(note)
            self.stats.docs_in += number > 0
            doc = reader_document(source, f"{locator}/{name.removeprefix('./')}" if number else locator, None,
                                  html=page)
            self.keep(doc)
            yield doc


def _supports_a_paper(name: str) -> bool:
    """A file that helps read a paper's sources: a `.sty` of its own (macros), arXiv's `00README` (its main file)."""
    return name.lower().endswith(STY_SUFFIX) or name.removeprefix("./") in ARXIV_README_NAMES


def _is_tar(content: bytes) -> bool:
    """A tar archive: the `ustar` magic of its first header (POSIX and GNU tar both write it)."""
    return len(content) >= 262 and content[257:262] == b"ustar"
