"""Where a run's input comes from: local paths, globs, a paths file, or fsspec URLs, and how each is read.

`resolve_inputs` turns the configured locations into one task per input file, with an id derived from the
file's path as the recipe names it (a relative path stays relative), so a rerun, a run given the same files in
another order, or a project folder moved or copied elsewhere names its tasks the same.
`reader_for` returns one reader that picks the format reader per file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, Literal

import fsspec
import fsspec.compression
import fsspec.utils
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.core import url_to_fs
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from sciloom.curation.document import Document
from sciloom.curation.executor import Task
from sciloom.curation.read_archives import ARCHIVE_SUFFIXES, ArchiveReader
from sciloom.curation.read_jats import JATS_SUFFIXES, JatsFileReader
from sciloom.curation.read_jsonl import JsonlReader, starts_json_lines
from sciloom.curation.read_tables import ArrowReader, CsvReader, ParquetReader
from sciloom.curation.read_text_files import HTML_SUFFIXES, TEXT_SUFFIXES, TextFileReader
from sciloom.curation.read_warc import DEFAULT_MAX_RECORD_BYTES, READER_COLUMNS, WarcFileReader, source_name
from sciloom.curation.step import COMPRESSION_SUFFIXES, READ_ERRORS, Reader, is_url, open_binary

FileFormat = Literal["warc", "jsonl", "parquet", "arrow", "csv", "text", "html", "jats", "archive"]
Format = Literal["auto", FileFormat]
# Files read FILES_PER_TASK_MEAN to a task, on average: those of formats that hold one document each, and local
# JSON files smaller than SMALL_FILE_BYTES (a folder of one-paper JSON files, small JSONL shards). A task per file
# would spend its time on scheduling: 2,225 one-article files took 5 min 36 s so, 19 s grouped.
ONE_DOCUMENT_FORMATS = ("text", "html", "jats")
FILES_PER_TASK_MEAN = 64
SMALL_FILE_BYTES = 256 * 1024
# A JSON lines or Parquet file larger than this (local, or in an object store whose listing gave its size) is read
# by several tasks, a piece of about this size each (the arXiv metadata snapshot is one 4.6 GB file: one task would
# read it on one core).
PIECE_BYTES = 256 * 1024 * 1024
# A compressed file of JSON lines or split text is read by at most COMPRESSED_MAX_PIECES tasks, since each of them
# decompresses all of it. How much text it holds is its size times the ratio its first COMPRESSION_PROBE_BYTES
# decompress to (gzipped: varied JSON lines 2.1x, the benchmark's articles 3.0x, a repetitive dump 304x);
# COMPRESSION_RATIO is the guess that decides whether a file is worth opening to ask, and the answer when its
# codec is not one fsspec knows.
COMPRESSION_RATIO = 4
COMPRESSION_PROBE_BYTES = 1 << 20
COMPRESSED_MAX_PIECES = 16
LISTING_REQUESTS = 16  # requests in flight to an object store: sizes of paths-file entries, heads of large files
_GLOB_CHARS = re.compile(r"[*?\[]")
FieldName = Annotated[str, StringConstraints(min_length=1)]


class InputsConfig(BaseModel):
    """Which files a run reads and how; each file becomes one task of the first curation stage."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(default_factory=list, description=(
        "Input files: local paths, globs (`crawl/*.warc.gz`, `**` allowed) or fsspec URLs (`s3://...`, "
        "`https://...`, `memory://...`). A folder means every file under it; there, and under a glob, names "
        "starting with `.` or `_` are not inputs (`.DS_Store`, `.git/`, Spark's `_SUCCESS`)."))
    paths_file: str | None = Field(default=None, description=(
        "A file listing one input per line (plain or .gz, e.g. Common Crawl's `warc.paths.gz`); "
        "lines that are not absolute paths or URLs are joined to `paths_prefix`, or else read beside the file."))
    paths_prefix: str | None = Field(default=None, description=(
        "Prefix for relative lines of `paths_file`, e.g. `https://data.commoncrawl.org/`."))
    max_files: int | None = Field(default=None, ge=1, description=(
        "Read only the first N input files (after sorting): a smaller run over the same recipe."))
    format: Format = Field(default="auto", description=(
        "`warc` (WARC, WET or WAT, plain/gzip/lz4; ARC too), `jsonl` (.jsonl, plain or .gz/.zst/.bz2/.xz), "
        "`parquet`, `arrow`, `csv`, "
        "`text` or `html` (one document per file); `auto` decides by file name (`.warc`, `.wet`, `.arc` -> warc; "
        "`.jsonl`, `.ndjson`, `.json` -> jsonl, a `.json` file holding JSON lines or one JSON value, an object or an "
        "array of them; `.parquet` -> parquet; `.arrow`, `.feather` -> arrow, Arrow IPC as `datasets.save_to_disk` "
        "writes; `.csv`, `.tsv` -> csv, with a header row naming the columns; `.txt`, `.text`, `.md`, `.tex` -> text; "
        "`.html`, `.htm`, `.xhtml` -> html; `.nxml`, `.xml` -> jats, a JATS article as PubMed Central's are; "
        "`.tar`, `.tar.gz`, `.tgz` -> archive, arXiv's LaTeX sources or PubMed Central's packages, a document per "
        "paper); under a folder or glob, a file whose name gives no format (`LICENSE`, "
        "`.pdf`) is not read and is listed in the run's report."))
    source: str | None = Field(default=None, min_length=1, description=(
        "Short source name stored in every document and part of its id; default: the file name without "
        "its extensions (for text and HTML files, one document each, the name of their folder)."))
    text_field: FieldName | list[FieldName] = Field(default="text", min_length=1, description=(
        "JSONL/Parquet/Arrow/CSV field holding the text: a name, or a dotted path into nested records "
        "(`metadata.abstract`); a list of paragraphs (strings, or records with a `text`, as unarXive's and S2ORC's "
        "`body_text`) is joined with blank lines. Several fields (`[title, abstract]`): the text of each that has "
        "one, joined by blank lines."))
    html_field: str | None = Field(default=None, description=(
        "JSONL/Parquet/Arrow/CSV field holding each record's raw HTML page (scraped pages): the page is extracted "
        "like a crawled one, and `text_field` is not read."))
    records_field: str | None = Field(default=None, min_length=1, description=(
        "JSON files whose records are a list under this field of the file's one object (`{\"version\": ..., "
        "\"data\": [...]}`: `data`), as Hugging Face's `load_dataset(\"json\", field=...)` reads them. The list is "
        "read one record at a time, of any size; a file without it is counted as `missing_<field>_field`."))
    id_field: str | None = Field(default="id", description=(
        "JSONL/Parquet/Arrow/CSV field holding a record's own id (ids then follow it); when absent, the file and "
        "line (or row)."))
    url_field: str | None = Field(default="url", description="JSONL/Parquet/Arrow/CSV field holding the URL, if any.")
    split_before: str | None = Field(default=None, description=(
        "Plain-text files that hold many documents: a regular expression, and every line it matches starts a new "
        "document, named by its file and line (WikiText's articles: `'^ = [^=].* = $'`; a paragraph each: "
        "`'^\\s*$'`; a line each: `''`). The file is read as a stream, of any size; default: a file is one document."))
    storage_options: dict[str, Any] = Field(default_factory=dict, description=(
        "fsspec storage options for inputs in an object store, as pandas and `datasets` take them: "
        "`{endpoint_url: http://minio:9000, key: ..., secret: ...}` for an S3-compatible store, `{anon: true}` for "
        "a public bucket. Every worker reads with them. They are not settings of the run: a changed endpoint or key "
        "redoes nothing, and they are in no report or hash."))
    max_record_bytes: int = Field(default=DEFAULT_MAX_RECORD_BYTES, ge=1024, description=(
        "WARC records (and JSONL lines, in characters) larger than this are skipped, counted as "
        "`record_too_large`, without being held in memory; a text or HTML file larger than this, as "
        "`file_too_large`."))

    @field_validator("text_field", mode="before")
    @classmethod
    def _field_names(cls, value: Any) -> Any:
        # One message for the two forms, rather than one per form of the union.
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError("a field name, or a list of field names such as [title, abstract]")
        return value

    @field_validator("split_before")
    @classmethod
    def _a_regular_expression(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression ({error}): {value!r}") from None
        return value

    @model_validator(mode="after")
    def _needs_an_input(self) -> InputsConfig:
        if self.split_before is not None and self.format not in ("auto", "text"):
            raise ValueError(f"`split_before` splits plain-text files; this entry's format is {self.format!r}")
        if self.records_field is not None and self.format not in ("auto", "jsonl"):
            raise ValueError(f"`records_field` reads JSON files; this entry's format is {self.format!r}")
        if not self.paths and self.paths_file is None:
            raise ValueError("give `paths` (files, globs or URLs) or `paths_file` (a list of inputs)")
        if self.paths_prefix is not None and self.paths_file is None:
            raise ValueError("`paths_prefix` only applies to the lines of `paths_file`")
        return self


class InputNotFound(FileNotFoundError):
    """A configured path or glob that matches no file: a recipe error, reported before any work starts."""


class InputsUnreachable(OSError):
    """An input URL whose store cannot be opened or listed (no backend installed, an option it does not take, an
    endpoint nobody answers, keys it refuses): one message before any work starts, not a traceback."""


class InputListedTwice(ValueError):
    """A file that two entries of curation.inputs list: which entry's options (source name, fields) apply?"""


@dataclasses.dataclass(frozen=True)
class InputFiles:
    """The files one entry of curation.inputs names, and those its folders and globs hold that are not inputs."""
    found: dict[str, str]  # the file's name as the recipe gives it -> where it is read
    # Name -> why it is not read: `no_input_format` (under a folder or glob, a name in no input format: a .pdf, a
    # warc.paths.gz listing) or `dataset_metadata` (a dataset's README.txt or LICENSE, datasets.save_to_disk's JSON
    # beside its .arrow files). Listed in the run's report. A file named on its own is read (a misnamed crawl file
    # is reported unreadable).
    passed_over: dict[str, str] = dataclasses.field(default_factory=dict)
    # Where -> version of a file in an object store, as its folder's listing gave it (size and ETag, generation or
    # modification time): a file replaced since the last run is read again, at no request beyond the listing.
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    # Where -> size of a file in an object store, as its folder's listing gave it: what a large file's pieces are
    # cut by.
    sizes: dict[str, int] = dataclasses.field(default_factory=dict)


def find_inputs(config: InputsConfig, exclude: Path | None = None) -> InputFiles:
    """Every input file of one entry. Local files under `exclude` (the run's own output folder, when it lies inside
    an input folder) are not inputs: a run must not read what it writes."""
    found: dict[str, str] = {}
    passed_over: dict[str, str] = {}
    versions: dict[str, str] = {}
    sizes: dict[str, int] = {}

    def is_input(name: str) -> bool:
        return config.format != "auto" or format_of(name) is not None

    for pattern in config.paths:
        files, others = _expand(pattern, is_input, versions, sizes, config.storage_options)
        found.update(files)
        passed_over.update(others)
    if config.paths_file is not None:
        listed = _listed(config.paths_file, config.paths_prefix, config.storage_options)
        found.update(listed)
        _ask_sizes(config, listed, versions, sizes)
    for name in _dataset_metadata(found):
        passed_over[name] = "dataset_metadata"
        del found[name]
    if exclude is not None:
        outputs = exclude.resolve()
        found = {name: loc for name, loc in found.items()
                 if is_url(loc) or not Path(loc).resolve().is_relative_to(outputs)}
    # A file given under two names (a relative and an absolute path) is one input, named by its relative name.
    by_preference = sorted(found.items(), key=lambda item: (os.path.isabs(item[0]), item[0]), reverse=True)
    name_of = {location: name for name, location in by_preference}  # the last, most preferred name wins
    found = {name: location for location, name in name_of.items()}
    return InputFiles(found, dict(sorted(passed_over.items())),
                      {location: version for location, version in versions.items() if location in name_of},
                      {location: size for location, size in sizes.items() if location in name_of})


def _dataset_metadata(found: dict[str, str]) -> list[str]:
    """The metadata files that `datasets.save_to_disk` writes beside its `.arrow` files: not records."""
    arrow_folders = {name.rpartition("/")[0] for name in found if format_of(name) == "arrow"}
    return [name for name in found if name.rpartition("/")[2] in ("state.json", "dataset_info.json")
            and name.rpartition("/")[0] in arrow_folders]


def resolve_inputs(config: InputsConfig, exclude: Path | None = None) -> list[Task]:
    """One task per input file (files of one document each and small local files: about FILES_PER_TASK_MEAN to a
    task), sorted by name, with ids stable across runs."""
    files = find_inputs(config, exclude)
    return tasks_for(config, files.found, files.sizes)


def tasks_for(config: InputsConfig, found: dict[str, str], listed_sizes: dict[str, int] | None = None) -> list[Task]:
    """The tasks reading `found` (name -> location); `listed_sizes`: the sizes an object store's listing gave, by
    location (a large file there is read in pieces too)."""
    ordered = sorted(found)
    if config.max_files is not None:
        ordered = ordered[:config.max_files]
    formats = {name: _format(config, name) for name in ordered}
    record_files = _record_formats(config)
    cut_formats = _cut_formats(config)
    # A paper's own source archive is small; arXiv's bulk files (~500 MB) each take a task.
    grouped_when_small = (*record_files, "archive")
    sizes = {name: local_size(found[name]) for name in ordered
             if formats[name] in cut_formats or formats[name] in grouped_when_small}
    small = {name: (formats[name] in ONE_DOCUMENT_FORMATS and formats[name] not in record_files)
             or (formats[name] in grouped_when_small and sizes[name] is not None and sizes[name] < SMALL_FILE_BYTES)
             for name in ordered}
    grouped = [[name] for name in ordered if not small[name]]
    grouped += group_names([name for name in ordered if small[name]])
    grouped.sort()

    def pieces_of(names: list[str]) -> int:
        one = names[0] if len(names) == 1 and formats[names[0]] in cut_formats else None
        if one is None:
            return 1
        size = (listed_sizes or {}).get(found[one]) if is_url(found[one]) else sizes.get(one)
        return _pieces(formats[one], found[one], size, config.storage_options)

    # A large file is opened to count its pieces (its first line, a compressed one's first MiB, a Parquet footer):
    # in an object store, one request after another would add up over thousands of files.
    with ThreadPoolExecutor(LISTING_REQUESTS) as pool:
        counts = list(pool.map(pieces_of, grouped))
    tasks = []
    for names, pieces in zip(grouped, counts):
        task = Task(task_id=task_id_for(names), inputs=tuple(found[name] for name in names), names=tuple(names))
        tasks += [task] if pieces == 1 else [
            dataclasses.replace(task, task_id=f"{task.task_id}-{k + 1}of{pieces}", piece=(k, pieces))
            for k in range(pieces)]
    return tasks


def _record_formats(config: InputsConfig) -> tuple[str, ...]:
    """Files of many records: grouped only when small. Text files split into documents are such files."""
    return ("jsonl", "text") if config.split_before is not None else ("jsonl",)


def _cut_formats(config: InputsConfig) -> tuple[str, ...]:
    """What a large file may be read in pieces of (a JSON file read by its records_field is one value: not cut)."""
    return ("parquet", *(fmt for fmt in _record_formats(config) if fmt != "jsonl" or config.records_field is None))


def _pieces(fmt: str, location: str, size: int | None, storage_options: dict[str, Any]) -> int:
    """How many tasks read a record file of `size` bytes (None: unknown, or missing): several for a file over
    PIECE_BYTES that can be cut, uncompressed JSON lines (at line starts), text split into documents (at their
    first lines) or Parquet (at row groups), and compressed JSON lines or split text (by blocks of lines); one
    otherwise."""
    compressed = location.lower().endswith(COMPRESSION_SUFFIXES)
    text_size = size * COMPRESSION_RATIO if compressed and size is not None else size
    if text_size is None or text_size <= PIECE_BYTES:
        return 1
    options = storage_options if is_url(location) else {}
    try:
        if compressed:
            # Every piece decompresses the whole stream (it cannot be entered midway) and parses its own blocks
            # of lines: worth it while parsing and curating the text costs far more than decompressing it.
            if fmt == "parquet" or fmt == "jsonl" and not starts_json_lines(location, options):
                return 1
            text_size = round(size * compression_ratio(location, options))
            return min(COMPRESSED_MAX_PIECES, max(1, -(-text_size // PIECE_BYTES)))
        if fmt == "parquet":
            with open_binary(location, options) as raw:
                return min(-(-size // PIECE_BYTES), pq.ParquetFile(raw).metadata.num_row_groups)
        if fmt == "jsonl" and not starts_json_lines(location, options):
            return 1  # a JSON array is read as one
    except (*READ_ERRORS, pa.ArrowInvalid):
        return 1  # its one task says what is wrong with it
    return -(-size // PIECE_BYTES)


def compression_ratio(location: str, storage_options: dict[str, Any]) -> float:
    """Bytes of text per compressed byte in the first COMPRESSION_PROBE_BYTES of a compressed file (the whole of a
    smaller one); COMPRESSION_RATIO for a codec fsspec does not know or a head that does not decompress."""
    codec = fsspec.compression.compr.get(fsspec.utils.infer_compression(location))
    if codec is None:
        return COMPRESSION_RATIO
    with open_binary(location, storage_options) as raw:
        head = raw.read(COMPRESSION_PROBE_BYTES)
    text_bytes = 0
    try:
        with codec(io.BytesIO(head), mode="rb") as stream:
            while block := stream.read(1 << 16):
                text_bytes += len(block)
    except READ_ERRORS:  # the head ends mid-stream, or is damaged: what came before counts
        pass
    return text_bytes / len(head) if text_bytes else COMPRESSION_RATIO


def group_names(names: list[str], mean_size: int = FILES_PER_TASK_MEAN) -> Iterator[list[str]]:
    """Sorted file names cut into groups of about `mean_size`, one task each: a task per file of a folder of
    100k small text files would spend its time on scheduling. The cuts depend on the names alone (a group ends
    after a name whose hash is 0 modulo `mean_size`, as content-defined chunking does), so a file added or removed
    changes its own group and leaves the others, and their finished tasks, as they were."""
    group: list[str] = []
    for name in names:
        group.append(name)
        cut = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big") % mean_size == 0
        if cut or len(group) >= 4 * mean_size:
            yield group
            group = []
    if group:
        yield group


def local_size(location: str) -> int | None:
    """A local file's size; None for a URL (asking an object store about every file on every run would cost a
    request per file) or a missing file (its reader says so)."""
    if is_url(location):
        return None
    try:
        return os.stat(location).st_size
    except OSError:
        return None


def task_id_for(names: list[str]) -> str:
    """Readable and stable: the (first) file's short name plus a hash of the full names (names repeat across
    folders)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", source_name(names[0]))[:48]
    digest = hashlib.blake2b("\n".join(names).encode(), digest_size=6).hexdigest()
    return f"{stem}-{digest}"


def _format(config: InputsConfig, name: str) -> str:
    # A file named on its own whose name gives no format: read as WARC, whose reader says what it is not.
    return (format_of(name) or "warc") if config.format == "auto" else config.format


def _local(path: Path) -> tuple[str, str]:
    """(name, location) of a local file: the name keeps a relative path relative (a task's id must not change when
    the project folder moves); the location, where it is read, is absolute and free of symbolic links."""
    return os.path.normpath(path), str(path.resolve())


def _listed_in_folder(relative: str) -> bool:
    """Whether a file found under an input folder (or by a glob) is an input: as for pyarrow's datasets, names
    starting with `.` or `_` are not (`.DS_Store`, `.git/`, Spark's `_SUCCESS` and `.crc` files, `_metadata`)."""
    return not any(part.startswith((".", "_")) for part in relative.replace("\\", "/").split("/"))


def _store_listing(pattern: str, storage_options: dict[str, Any]
                   ) -> tuple[fsspec.AbstractFileSystem, dict[str, dict[str, Any]], str]:
    """(the store's filesystem, path -> listing entry of the files a URL names, which it names: `glob`, `folder` (every
    file under it) or `file` (none when there is no such file))."""
    fs, path = url_to_fs(pattern, **storage_options)
    if _GLOB_CHARS.search(path):
        root = _glob_root(path)
        return fs, {p: info for p, info in fs.glob(path, detail=True).items()
                    if info.get("type") == "file" and _listed_in_folder(p[len(root):])}, "glob"
    if fs.isdir(path):
        return fs, {p: info for p, info in fs.find(path, detail=True).items()
                    if _listed_in_folder(p[len(path.rstrip("/")):])}, "folder"
    try:
        return fs, {path: fs.info(path)}, "file"
    except FileNotFoundError:
        return fs, {}, "file"


def _glob_root(pattern: str) -> str:
    """The folder a glob searches under: its path up to the last `/` before the first wildcard."""
    return pattern[:_GLOB_CHARS.search(pattern).start()].rpartition("/")[0] or "."


def _expand(pattern: str, is_input: Callable[[str], bool], versions: dict[str, str], sizes: dict[str, int],
            storage_options: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(name -> location of the inputs, name -> why passed over) of one path, folder, glob or URL; the versions and
    sizes of the files an object store lists go into `versions` and `sizes`. Under a folder or glob, `is_input`
    decides by name, and a dataset's documentation is passed over unless the glob names it (`repos/*/README.md`); a
    file named on its own is an input."""
    # A glob whose last part has no wildcard names its files: `repos/*/README.md` reads the READMEs.
    reads_documentation = not _GLOB_CHARS.search(pattern.rpartition("/")[2])
    if is_url(pattern):
        try:
            fs, listed, kind = _store_listing(pattern, storage_options)
        except Exception as error:  # noqa: BLE001 - what stops this listing stops the run: said in one line
            raise InputsUnreachable(f"{pattern}: cannot list the inputs ({type(error).__name__}: {error}); check "
                                    "the entry's storage_options (endpoint_url, key, secret)") from None
        if kind == "folder":
            reads_documentation = False
        elif kind == "file":
            is_input = _always
        files = {fs.unstrip_protocol(p): fs.unstrip_protocol(p) for p in listed}
        versions.update((fs.unstrip_protocol(p), _version(info)) for p, info in listed.items())
        sizes.update((fs.unstrip_protocol(p), int(info["size"])) for p, info in listed.items()
                     if info.get("size") is not None)
    else:
        path = Path(pattern).expanduser()
        if _GLOB_CHARS.search(pattern):
            anchor = Path(path.anchor) if path.is_absolute() else Path()
            root = Path(_glob_root(str(path)))
            found = [p for p in anchor.glob(str(path.relative_to(anchor)))
                     if p.is_file() and _listed_in_folder(str(p.relative_to(root)))]
        elif path.is_dir():
            found = [p for p in path.rglob("*") if p.is_file() and _listed_in_folder(str(p.relative_to(path)))]
            reads_documentation = False
        else:
            found = [path] if path.is_file() else []
            is_input = _always
        files = dict(_local(p) for p in found)
    if not files:
        raise InputNotFound(f"input {pattern!r} matches no file")
    passed_over = {name: "no_input_format" for name in files if not is_input(name)}
    if not reads_documentation:
        passed_over.update((name, "dataset_metadata") for name in files
                           if name not in passed_over and _DOCUMENTATION.match(_base_name(name)))
    inputs = {name: location for name, location in files.items() if name not in passed_over}
    if not inputs:
        suffixes = Counter(_suffix(name) if reason == "no_input_format" else "documentation (README, LICENSE)"
                           for name, reason in passed_over.items())
        raise InputNotFound(
            f"input {pattern!r} holds no file whose name gives an input format ("
            + ", ".join(f"{n} {suffix}" for suffix, n in suffixes.most_common(5))
            + "): name the files `.warc.gz`, `.jsonl`, `.parquet`, `.txt`, `.html`, ..., or give the entry a "
            "`format:` to read every file as one; a dataset's documentation is read when named on its own")
    return inputs, passed_over


# A dataset's own documentation, whatever its extension (README.txt, LICENSE.md, CITATION.cff): read as a document,
# the BBC folder's README.txt became a news article and the crawl folder's a crawled page.
_DOCUMENTATION = re.compile(r"(?:00)?(readme|licen[cs]e|copying|changelog|citation|contributing)([._ -].*)?$",
                            re.IGNORECASE)  # (arXiv's sources carry a `00README.json` for its compiler)


def _always(name: str) -> bool:
    return True


def _version(info: dict[str, Any]) -> str:
    """A listed file's version: its size and what its store changes when the file is replaced (S3's ETag, GCS's
    generation, a modification time)."""
    for key in ("ETag", "etag", "generation", "md5Hash", "LastModified", "last_modified", "mtime", "created"):
        if info.get(key) is not None:
            return f"{info.get('size')}:{info[key]}"
    return str(info.get("size"))


def _base_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _suffix(name: str) -> str:
    """A file's extensions for a message: `x.pdf.gz` -> `.pdf.gz`; no extension -> `LICENSE`-like names."""
    base = _base_name(name)
    return base[base.index("."):] if "." in base else "without extension"


def _listed(paths_file: str, prefix: str | None, storage_options: dict[str, Any]) -> dict[str, str]:
    # (The options are the inputs' store's; a paths file on the local disk takes none.)
    options = storage_options if is_url(paths_file) else {}
    with fsspec.open(paths_file, "rt", compression="infer", **options) as listing:
        lines = [line.strip() for line in listing]
    # Relative lines: under the prefix, else beside the paths file itself.
    out: dict[str, str] = {}
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if is_url(line) or line.startswith("/"):
            out[line] = line
        elif prefix is not None or is_url(paths_file):
            base = prefix.rstrip("/") if prefix is not None else paths_file.rsplit("/", 1)[0]
            out[f"{base}/{line}"] = f"{base}/{line}"
        else:
            name, location = _local(Path(paths_file).parent / line)
            out[name] = location
    if not out:
        raise InputNotFound(f"paths file {paths_file!r} lists no input")
    return out


def _ask_sizes(config: InputsConfig, listed: dict[str, str], versions: dict[str, str], sizes: dict[str, int]) -> None:
    """The version and size of the files a paths file names in an object store that a large size would cut into
    pieces (see _pieces), asked LISTING_REQUESTS at a time: no listing gives them, and without them such a file was
    one task, and one replaced in the store was resumed with its old documents. Other files (Common Crawl's WARC
    files: compressed, never cut) cost no request."""
    cut_formats = _cut_formats(config)
    wanted = [location for name, location in listed.items()
              if is_url(location) and (fmt := _format(config, name)) in cut_formats
              and (fmt != "parquet" or not location.lower().endswith(COMPRESSION_SUFFIXES))]

    def ask(location: str) -> tuple[str, dict[str, Any] | None]:
        fs, path = url_to_fs(location, **config.storage_options)
        try:
            return location, fs.info(path)
        except OSError:
            return location, None  # missing or unreadable: its task's reader says what is wrong

    with ThreadPoolExecutor(LISTING_REQUESTS) as pool:
        for location, info in pool.map(ask, wanted):
            if info is not None and info.get("size") is not None:
                versions[location], sizes[location] = _version(info), int(info["size"])


def format_of(location: str) -> FileFormat | None:
    """The input format a file's name gives, or None (`LICENSE`, `paper.pdf`)."""
    name = location.lower().rsplit("/", 1)[-1]
    if name.endswith(ARCHIVE_SUFFIXES) or name.endswith(tuple(".tar" + suffix for suffix in COMPRESSION_SUFFIXES)):
        return "archive"
    for suffix in COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".arrow", ".feather")):
        return "arrow"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    if name.endswith(JATS_SUFFIXES):
        return "jats"
    if name.endswith((".warc", ".wet", ".wat", ".arc")):  # WAT and ARC: the WARC reader says what it skips
        return "warc"
    return None


class InputReader(Reader):
    """Reads each location with the reader of its format; one statistics record for all of them."""

    name = "read"
    columns = READER_COLUMNS

    def __init__(self, config: InputsConfig, names: dict[str, str] | None = None) -> None:
        super().__init__()
        self.config = config
        self.names = names or {}  # location -> the name the recipe gives it (Task.names)
        content_field = config.html_field or config.text_field
        self._readers: dict[str, Reader] = {
            "warc": WarcFileReader(config.source, config.max_record_bytes),
            "jsonl": JsonlReader(config.source, content_field, config.id_field, config.url_field,
                                 config.max_record_bytes, html=config.html_field is not None,
                                 records_field=config.records_field),
            "parquet": ParquetReader(config.source, content_field, config.id_field, config.url_field,
                                     html=config.html_field is not None),
            "arrow": ArrowReader(config.source, content_field, config.id_field, config.url_field,
                                 html=config.html_field is not None),
            "csv": CsvReader(config.source, content_field, config.id_field, config.url_field,
                             html=config.html_field is not None),
            "text": TextFileReader(config.source, config.max_record_bytes, split_before=config.split_before),
            "html": TextFileReader(config.source, config.max_record_bytes, html=True),
            "jats": JatsFileReader(config.source, config.max_record_bytes),
            "archive": ArchiveReader(config.source, config.max_record_bytes),
        }
        for reader in self._readers.values():
            reader.stats = self.stats  # the stage reports one `read` step whatever the formats
            reader.storage_options = config.storage_options

    def read(self, location: str, name: str | None = None, piece: tuple[int, int] | None = None) -> Iterator[Document]:
        fmt = _format(self.config, location)
        reader, name = self._readers[fmt], name or self.names.get(location)
        docs = reader.read(location, name, piece=piece) if piece else reader.read(location, name)
        records_before, kept_before = self.stats.docs_in, self.stats.docs_out
        # Time only the reader's own work: the chain downstream runs between two of our yields.
        while True:
            started = time.perf_counter()
            doc = next(docs, None)
            self.stats.seconds += time.perf_counter() - started
            if doc is None:
                break
            yield doc
        if fmt in ("jsonl", "parquet", "arrow", "csv") and self.stats.docs_out == kept_before and \
                self.stats.docs_in > records_before and (piece is None or piece[0] == 0):
            # Records, and not one usable: a wrong `text_field`, or a file that is not JSON lines. Said per file
            # (by its first piece, when pieces are read by several tasks), and the run fails, rather than ending
            # "successfully" with nothing (the record reasons say why).
            self.skip("no_usable_record")

    def output_columns(self, location: str) -> dict[str, pa.DataType]:
        return dict(READER_COLUMNS)


def reader_for(config: InputsConfig, names: dict[str, str] | None = None) -> Reader:
    """The reader of one input entry; `names` (location -> the recipe's name of it, from Task.names) names the
    records that carry no id of their own."""
    return InputReader(config, names)
