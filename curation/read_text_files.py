"""Reading text and HTML files: plain text (books, articles, LaTeX or Markdown sources) or one saved HTML page per
file, which the extraction step then reads like a crawled one; or text files that hold many documents.

A folder of `.txt` or `.html` files is how many corpora come (news collections, Project Gutenberg, converted papers,
scraped pages). A saved page's URL is the one it names as its own (`saved_page_url`). A LaTeX source (`.tex`) is
read as `latex_source.clean_latex_source` cleans it: comments, preamble, front matter and bibliography out, each
counted under a `latex:` note; a paper's main file first takes in the files beside it that it inputs, and a file it
takes in is skipped as `part_of_a_paper` (its text is in the paper's document), a standalone figure as
`standalone_figure`, a file the submission's `00README` leaves out as `left_out_by_00readme`. A text file's charset
is found as for an undeclared web page (byte order mark, else UTF-8, else a detector's guess), a page's as a browser
finds it (byte order mark, `<meta charset>`, UTF-8, a guess); a file that was not clean UTF-8 is kept and counted
under a `decoded:` note. A file larger than the record cap is skipped as `file_too_large`, read no further than the
cap; one that is not text (zero bytes, an image) as `binary_file`; an unreadable or corrupt compressed one as
`unreadable_file` / `corrupt_stream`.

A text file may instead hold many documents (WikiText's articles under ` = Title = ` lines, a paragraph or a line per
document): with `split_before`, a regular expression, every line it matches starts a new document. Such a file is
read as a stream, of any size; a document over the cap is skipped as `record_too_large`, and damage keeps the
documents before it. Such files are read as UTF-8 (a document that is not is decoded as above); a UTF-16 file is
skipped as `utf16_not_split`.
"""
from __future__ import annotations

import html
import io
import posixpath
import re
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

import fsspec

from sciloom.curation.document import STRUCTURED, Document
from sciloom.curation.latex_source import (ARXIV_README_NAMES, arxiv_readme_usage, clean_latex_source,
                                           included_names, is_main_file, is_standalone_figure, is_subfile,
                                           package_names, paper_source)
from sciloom.curation.read_warc import (DEFAULT_MAX_RECORD_BYTES, READER_COLUMNS, decode_page, decode_undeclared,
                                        looks_binary, reader_document, source_name)
from sciloom.curation.step import COMPRESSED_BLOCK_LINES, COMPRESSION_SUFFIXES, READ_ERRORS, Reader, open_binary

TEXT_SUFFIXES = (".txt", ".text", ".md", ".tex")
# A LaTeX source, plain or compressed: read as `latex_source` cleans it (preamble, comments, bibliography out).
_LATEX_FILE = re.compile(r"\.tex(?:\.[a-z0-9]+)?$", re.IGNORECASE)
_MAX_INCLUDED_FILES = 200
# Where a file that a paper's main file takes in is looked for by the reader of that file: its own folder and those
# above it (`paper/sections/intro.tex` is taken in by `paper/main.tex`), when they hold no more `.tex` files than
# one paper does: a folder of many fragments is not one paper's, and each task would read all of it.
_PAPER_FOLDER_LEVELS = 3
_MAX_PAPER_FOLDER_FILES = 50
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def folder_source_name(location: str) -> str:
    """A text file's default source: its folder's name (`bbc/tech/001.txt` -> `tech`), not the file's own name,
    which would make every document a source of its own."""
    parts = location.rstrip("/").rsplit("/", 2)
    return parts[-2] if len(parts) >= 2 and parts[-2] else "input"


# Where a saved page says it came from: the browser's "saved from" mark, the page's canonical link, its Open Graph
# URL. 899 of trafilatura's 990 evaluation pages name one, 852 of them on the host the benchmark gives (a canonical
# link may name the article's first publisher). Read from the page's head, as tags, in any attribute order.
_SAVED_FROM = re.compile(r"<!-- saved from url=\(\d+\)(https?://[^\s>]+?) ?-->", re.IGNORECASE)
_TAG = re.compile(r"<(link|meta)\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([a-z:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE)
PAGE_HEAD_CHARS = 100_000


def saved_page_url(page: str) -> str | None:
    """The absolute http(s) URL a saved page names as its own, or None: a page saved from a browser has no other
    record of where it came from, and URL block lists and per-site counts need one."""
    head = page[:PAGE_HEAD_CHARS]
    if (saved := _SAVED_FROM.search(head)) is not None:
        return saved.group(1)
    found: dict[str, str] = {}
    for tag in _TAG.finditer(head):
        attributes = {name.lower(): html.unescape(value.strip("\"'")).strip()
                      for name, value in _ATTRIBUTE.findall(tag.group(0))}
        if tag.group(1).lower() == "link" and "canonical" in attributes.get("rel", "").lower().split():
            found.setdefault("canonical", attributes.get("href", ""))
        elif attributes.get("property", attributes.get("name", "")).lower() == "og:url":
            found.setdefault("og:url", attributes.get("content", ""))
    for kind in ("canonical", "og:url"):
        if found.get(kind, "").lower().startswith(("http://", "https://")):
            return found[kind]
    return None


class TextFileReader(Reader):
    """The whole of one file (plain or compressed; local path or fsspec URL) as one document: its `text`, or with
    `html=True` its `html`."""

    name = "read_text"
    columns = READER_COLUMNS

    def __init__(self, source: str | None = None, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
                 html: bool = False, split_before: str | None = None) -> None:
        super().__init__()
        self.source, self.max_record_bytes, self.html = source, max_record_bytes, html
        self.split_before = re.compile(split_before) if split_before is not None else None
        self._paper_folders: dict[str, dict[str, str] | None] = {}  # folder -> its files that are no documents
        # main file -> (its paper's files, what reading them noted), of the last folder with a paper
        self._papers_read: dict[str, tuple[dict[str, str], Counter]] = {}

    def read(self, location: str, name: str | None = None, piece: tuple[int, int] | None = None) -> Iterator[Document]:
        """The file as one document; with `split_before`, its documents (with `piece` (k, n), those that start in
        the k-th of n equal byte ranges of an uncompressed file, or, of a compressed one, on a line of every n-th
        block of COMPRESSED_BLOCK_LINES lines from the k-th: inputs.tasks_for)."""
        if self.split_before is not None and not self.html:
            yield from self._read_documents(location, name or location, piece)
            return
        self.stats.docs_in += 1
        latex = not self.html and _LATEX_FILE.search(location) is not None
        if latex and (reason := self._not_a_document(location)) is not None:
            # Its text is in the paper's document, where LaTeX reads it, not a document again on its own (or the
            # submitter's 00README leaves it out). Decided before the file is read: the paper's reader reads it.
            self.skip(reason)
            return
        if (body := self.read_capped(location, self.max_record_bytes)) is None:
            return
        if len(body) > self.max_record_bytes:
            self.skip("file_too_large")
            return
        if looks_binary(body):
            self.skip("binary_file")
            return
        url = None
        if self.html:
            content, notes = decode_page(body, None)
            url = saved_page_url(content)
        else:
            content, note = decode_undeclared(body)
            notes = [note] if note is not None else []
            if latex and is_standalone_figure(content):
                self.skip("standalone_figure")  # TikZ code compiled on its own, not a document
                return
            if latex:
                content = self._with_included_files(location, content)
                content, removed = clean_latex_source(content)
                for what, count in removed.items():
                    self.note(what, count)
        for note in notes:
            self.note(note)
        self.stats.bytes_in += len(body)
        source = self.source or folder_source_name(location)
        # Blank files are read as documents: the rules reject them with a reason, as for blank JSONL text.
        doc = reader_document(source, name or location, url, **{"html" if self.html else "text": content})
        if latex:
            doc[STRUCTURED] = True
        self.keep(doc)
        yield doc

    def _with_included_files(self, location: str, source: str) -> str:
        """A paper's main file (`\\begin{document}`) with the files beside it that it inputs inlined
        (`latex_source.paper_source`); any other source as it is. An input that is not there (a generated `.bbl`)
        is left out and noted."""
        if not is_main_file(source):
            return source
        notes: Counter = Counter()
        if (read := self._papers_read.pop(location, None)) is not None:
            files, notes = read
        else:
            files = self._paper_files(location, source, notes)
        combined = paper_source(files, notes, location.rpartition("/")[2]) if len(files) > 1 else None
        for what, count in notes.items():
            self.note(what, count)
        return combined if combined is not None else source

    def _paper_files(self, location: str, source: str, notes: Counter,
                     read: dict[str, str] | None = None) -> dict[str, str]:
        """The sources of a main file and of the files it takes in, at any depth, by their names relative to its
        folder (the main file by its own name), with the paper's own packages (`.sty` files beside it). Files
        already `read` (location → source) are not read again."""
        folder, _, main = location.rpartition("/")
        own_packages = None  # the folder's .sty files, listed once, when the paper loads any package

        def taken_in(text: str, base: str) -> list[tuple[str, str]]:
            """(name, import path) of the files a source takes in and of the paper's own packages it loads."""
            nonlocal own_packages
            packages = package_names(text)
            if packages and own_packages is None:
                own_packages = {entry for entry in self._listing(folder) if entry.lower().endswith(".sty")}
            return included_names(text, base) + [(package, "") for package in packages
                                                 if package in (own_packages or ())]

        files, queue = {main: source}, taken_in(source, "")
        while queue and len(files) <= _MAX_INCLUDED_FILES:
            name, base = queue.pop(0)
            if name in files:
                continue
            if read is not None and (known := read.get(joined(folder, name))) is not None:
                files[name] = known.replace("\r\n", "\n").replace("\r", "\n")
                queue += taken_in(files[name], base)
                continue
            try:
                location = joined(folder, name)
                with open_binary(location, self.url_options(location), "infer") as raw:
                    body = raw.read(self.max_record_bytes + 1)
            except READ_ERRORS:
                notes["latex:input_not_found"] += 1
                continue
            if len(body) > self.max_record_bytes or looks_binary(body):
                notes["latex:input_not_read"] += 1
                continue
            files[name] = decode_undeclared(body)[0].replace("\r\n", "\n").replace("\r", "\n")
            queue += taken_in(files[name], base)
        return files

    def _listing(self, folder: str) -> list[str]:
        """The names of the files and folders in a folder (local or a URL); none when it cannot be listed."""
        try:
            fs, path = fsspec.core.url_to_fs(folder or ".", **self.url_options(folder))
            return [entry.rpartition("/")[2] for entry in fs.ls(path, detail=False)]
        except (OSError, ValueError):
            return []

    def _not_a_document(self, location: str) -> str | None:
        """Why a LaTeX file is no document of its own, or None: a main file takes it in (`part_of_a_paper`), one in
        its folder, else (a folder without a main file, a paper's `sections/`) in the nearest folder above it that
        has one; or that folder's `00README` leaves it out (`left_out_by_00readme`: ignored, or a main file other
        than the top-level one it names). The search stops at the first folder with a main file, the paper's own: a
        folder of many papers above it is never listed."""
        # A paper already read in a task knows its parts (`sections/intro.tex` after `main.tex`): not read again.
        for folder in _folders_above(location, _PAPER_FOLDER_LEVELS):
            if (reason := (self._paper_folders.get(folder) or {}).get(location)) is not None:
                return reason
        read: dict[str, str] = {}  # the sources read on the way up, not read again by the folder above
        for folder in _folders_above(location, _PAPER_FOLDER_LEVELS):
            if folder not in self._paper_folders:
                if len(self._paper_folders) >= 64:
                    self._paper_folders.clear()  # (a task's files lie in a few folders; this only bounds it)
                self._paper_folders[folder] = self._paper_folder(folder, read)
            if (verdicts := self._paper_folders[folder]) is not None:
                return verdicts.get(location)
        return None

    def _paper_folder(self, folder: str, read: dict[str, str]) -> dict[str, str] | None:
        """Of a folder with a paper's main file, where each file that is no document of its own is, with the reason
        (`_not_a_document`); None for a folder without a main file (a subfile, a section that compiles on its own,
        is none: its paper is above it), or with more `.tex` files than one paper has (a folder of fragments, not
        searched). The folder's sources go into `read` (location → source)."""
        listed = self._listing(folder)
        latex_files = sorted(name for name in listed if _LATEX_FILE.search(name))
        if len(latex_files) > _MAX_PAPER_FOLDER_FILES:
            return None
        sources = {}
        for name in latex_files + [name for name in listed if name in ARXIV_README_NAMES]:
            try:
                location = joined(folder, name)
                with open_binary(location, self.url_options(location), "infer") as raw:
                    body = raw.read(self.max_record_bytes + 1)
            except READ_ERRORS:
                continue  # (its own reader says why it cannot be read)
            if len(body) <= self.max_record_bytes and not looks_binary(body):
                sources[name] = read[location] = decode_undeclared(body)[0]
        usage = arxiv_readme_usage(sources)  # (a file it ignores may be in a folder below: `sections/old.tex`)
        toplevel = [name for name, use in usage.items() if use == "toplevel" and name in sources]
        mains = [name for name in latex_files
                 if name in sources and is_main_file(sources[name]) and not is_subfile(sources[name])]
        if not mains and not toplevel:
            return None
        left_out = [name for name, use in usage.items() if use == "ignore"]
        left_out += [main for main in mains if toplevel and main not in toplevel]
        verdicts = {joined(folder, name): "left_out_by_00readme" for name in left_out}
        # The papers' files, read here, are kept for the reader of the main file, which comes next in a task's
        # sorted inputs (a paper read from an object store: one request per file, not three).
        self._papers_read = {}
        for name in toplevel or mains:
            main = joined(folder, name)
            notes: Counter = Counter()
            files = self._paper_files(main, sources[name], notes, read)
            self._papers_read[main] = files, notes
            verdicts |= {joined(folder, part): "part_of_a_paper" for part in files if part != name}
        return verdicts

    def _read_documents(self, location: str, name: str, piece: tuple[int, int] | None) -> Iterator[Document]:
        """The documents of a file that holds many, each starting at a line `split_before` matches (the file's first
        line starts one too), named by the file and the number of their first line that is not blank. Stripped;
        blank ones are no documents. A piece holds the documents whose first line starts in its byte range: the
        first begins at the first such line at or after the range's start. A compressed stream cannot be entered
        midway: a piece of one reads all of it, and keeps the documents whose first line is in its blocks."""
        blocks = piece if piece is not None and location.lower().endswith(COMPRESSION_SUFFIXES) else None
        byte_range = None if blocks is not None else piece
        if (opened := self.open_input(location, None if byte_range else "infer")) is None:
            if not piece or piece[0] == 0:
                self.stats.docs_in += 1
            return
        source = self.source or source_name(location)
        lines: list[bytes] = []
        size, start = 0, None

        def document() -> Iterator[Document]:
            if start is None or blocks is not None and (start - 1) // COMPRESSED_BLOCK_LINES % blocks[1] != blocks[0]:
                return  # blank, or another piece's
            body = b"".join(lines)
            self.stats.docs_in += 1
            if size > self.max_record_bytes:
                self.skip("record_too_large")
                return
            text, note = decode_undeclared(body)
            if note is not None:
                self.note(note)
            self.stats.bytes_in += len(body)
            doc = reader_document(source, f"{name}:{start}", None, text=text.strip())
            self.keep(doc)
            yield doc

        with opened as raw:
            try:
                head = raw.read(2048)  # what looks_binary reads; a larger read lost more of a damaged stream
            except READ_ERRORS:
                if not piece or piece[0] == 0:
                    self.stats.docs_in += 1
                    self.skip("corrupt_stream")
                return
            bom = len(head) - len(head := head.removeprefix(b"\xef\xbb\xbf"))
            if looks_binary(head) or head.startswith((b"\xff\xfe", b"\xfe\xff")):
                # (UTF-16 text is not cut into lines byte-wise: said, rather than read as garbage.) Once per file.
                if not piece or piece[0] == 0:
                    self.stats.docs_in += 1
                    self.skip("binary_file" if looks_binary(head) else "utf16_not_split")
                return
            try:
                offset, end, first_number = bom, None, 1
                stream = self._lines(head, raw)
                if byte_range is not None:
                    begin, end = self._piece_bounds(raw, byte_range)
                    raw.seek(begin or len(head) + bom)  # (the first piece goes on after the head already read)
                    if begin:
                        first_number = count_lines(location, begin, self.url_options(location)) + 1
                        offset, stream = begin, self._lines(b"", raw)
                line_start = False  # the previous piece ended a line (the first line needs no split)
                number = first_number  # of the line this piece is in (a line over the cap comes in pieces)
                for line in stream:
                    if end is not None and offset >= end:
                        break  # the next piece's first document
                    offset += len(line)
                    if line_start and self.split_before.search(line.decode("utf-8", "replace").rstrip("\r\n")):
                        yield from document()
                        lines, size, start = [], 0, None
                    size += len(line)
                    if start is None and line.strip():
                        start = number
                    if size <= self.max_record_bytes:  # a document over the cap is counted, not held
                        lines.append(line)
                    line_start = line.endswith(b"\n")
                    number += line_start
            except READ_ERRORS:
                # The document being read when the stream broke is cut short: counted, not kept (once per file).
                if blocks is None or blocks[0] == 0:
                    self.stats.docs_in += 1
                    self.skip("corrupt_stream")
                return
        yield from document()

    def _piece_bounds(self, raw: IO[bytes], piece: tuple[int, int]) -> tuple[int, int | None]:
        """Where the k-th of n pieces' documents start (0 for the first) and where the next piece's do (None for
        the last)."""
        size = raw.seek(0, io.SEEK_END)
        k, n = piece
        begin = self._document_start(raw, size * k // n) if k > 0 else 0
        return begin, self._document_start(raw, size * (k + 1) // n) if k < n - 1 else None

    def _document_start(self, raw: IO[bytes], offset: int) -> int:
        """Where the first document that starts at or after `offset` starts: the first line from there that
        `split_before` matches (the file's size when none does)."""
        next_line_start(raw, offset, self.max_record_bytes + 1)
        line_start = True
        while True:
            start = raw.tell()
            if not (line := raw.readline(self.max_record_bytes + 1)):
                return start
            if line_start and self.split_before.search(line.decode("utf-8", "replace").rstrip("\r\n")):
                return start
            line_start = line.endswith(b"\n")

    def _lines(self, head: bytes, rest: IO[bytes]) -> Iterator[bytes]:
        """The lines of the file whose first bytes are `head`, none longer than the cap (a longer one is cut into
        pieces, so one line without a break is never held whole)."""
        tail = b""
        for line in io.BytesIO(head):
            if line.endswith(b"\n"):
                yield line
            else:
                tail = line
        while line := rest.readline(self.max_record_bytes + 1):
            if tail:
                line, tail = tail + line, b""
            yield line
        if tail:
            yield tail


def _folders_above(location: str, levels: int) -> list[str]:
    """The folder of a file (local path or URL) and those above it, nearest first, at most `levels` of them and
    never the file system's root or a URL's bucket-less root."""
    folders = [location.rpartition("/")[0]]
    while len(folders) < levels:
        parent = folders[-1].rpartition("/")[0]
        if not parent or parent.endswith(":/") or parent.endswith(":"):
            break
        folders.append(parent)
    return folders


def joined(folder: str, name: str) -> str:
    """Where a file named relative to a folder (local path or URL) is, `./` and `../` resolved."""
    protocol, separator, path = folder.rpartition("://")
    return f"{protocol}{separator}{posixpath.normpath(f'{path}/{name}' if path else name)}"


def next_line_start(raw: IO[bytes], offset: int, max_read: int) -> int:
    """The start of the first line that starts at or after `offset`, where `raw` is left (read `max_read` bytes at a
    time, so a line without a break is never held whole)."""
    if offset == 0:
        raw.seek(0)
        return 0
    raw.seek(offset - 1)
    while (part := raw.readline(max_read)) and not part.endswith(b"\n"):
        pass  # the rest of the line `offset` falls in
    return raw.tell()


def count_lines(location: str, end: int, storage_options: dict[str, Any] | None = None) -> int:
    """Line breaks in a file's first `end` bytes (local, or a URL opened with `storage_options`): what names a
    piece's records by their lines."""
    count = 0
    with open_binary(location, storage_options) as raw:
        while end > 0 and (chunk := raw.read(min(end, 8 << 20))):
            count += chunk.count(b"\n")
            end -= len(chunk)
    return count
