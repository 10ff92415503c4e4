"""The real labelled text the default models are trained and measured on, read from `../shared/data`.

Discipline records are (source, text, label): every file of `disciplines/labelled-corpus` is its own source
(its file name), plus s2orc, unarxive, mmlu, bbc and wikitext (labels through the taxonomy's mappings; records
whose label does not map are left out). Quality records are (source, text, label) with label high | low:
high = curated text (textbooks, abstracts, encyclopedic and news text: the discipline sources), low = raw crawl
text (Common Crawl text of dolma's tests, the English crawl-derived web-text samples) and the boilerplate that
extraction must remove (trafilatura's `without` snippets, several joined per record like a page's chrome).
Nothing here is copied into the repository: the data stays where it is, and a missing folder is a clear error.
"""
from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

from sciloom.classifiers.taxonomy import Taxonomy
from sciloom.curation.read_jsonl import field_text, read_json_lines
from sciloom.curation.read_text_files import TextFileReader

Record = tuple[str, str, str]  # (source, text, label)
LABELLED_CORPUS = "disciplines/labelled-corpus"
# Crawl-derived English samples of quality/web-text-samples (dragnet's are human-corrected articles, not raw crawl;
# the data_juicer ones are already quality-filtered).
_RAW_CRAWL = ("hf_datasets_dummy/c4", "hf_datasets_dummy/oscar", "hf_datasets_dummy/mc4", "hf_datasets_dummy/cc100",
              "hf_datasets_dummy/ccaligned_multilingual", "hf_datasets_dummy/pile_cc", "hf_datasets_dummy/cc_news")
_BOILERPLATE_PER_RECORD = 8
WIKITEXT_TITLE = r"^ = [^=].* = $"  # a level-1 heading: an article starts
UNARXIVE_FIELDS = ["metadata.title", "metadata.abstract", "body_text"]


def _objects(lines) -> list[dict]:
    """The JSON objects of a JSONL stream, through the project's one JSONL reader (bad lines are passed over)."""
    return [line.record for line in read_json_lines(lines) if line.record is not None]


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"reference data not found: {path} (expected the shared data folder, ../shared/data)")
    return path


def labelled_corpus(data: Path) -> list[Record]:
    out = []
    for path in sorted(_require(data / LABELLED_CORPUS).glob("*.jsonl")):
        with open(path, encoding="utf-8") as f:
            out += [(path.stem, row["text"], row["label"]) for row in _objects(f)]
    return out


def s2orc(data: Path, tax: Taxonomy) -> list[Record]:
    out = []
    with open(_require(data / "disciplines/s2orc-metadata-sample/metadata_sample_v2020-07-05.jsonl")) as f:
        for paper in _objects(f):
            label = tax.map_mag(paper.get("mag_field_of_study"))
            if paper.get("abstract") and label:
                out.append(("s2orc", f"{paper['title']}\n{paper['abstract']}", label))
    return out


def mmlu(data: Path, tax: Taxonomy) -> list[Record]:
    out = []
    for path in sorted(_require(data / "disciplines/mmlu-dev-val/data").glob("*/*.csv")):
        label = tax.map_mmlu(re.sub(r"_(dev|val)$", "", path.stem))
        if label is not None:
            with open(path, newline="", encoding="utf-8") as f:
                out += [("mmlu", " ".join(row[:5]), label) for row in csv.reader(f)]
    return out


def unarxive(data: Path, tax: Taxonomy) -> list[Record]:
    """Whole papers (title, abstract and every section): the long documents the windows are for. Read as a run
    reads them (`text_field: [metadata.title, metadata.abstract, body_text]`): formulas as LaTeX, citations as
    numbers, not unarXive's `{{formula:<id>}}` placeholders, whose made-up words a model would learn and never
    meet again."""
    out = []
    with open(_require(data / "disciplines/unarxive-sample/unarXive_data_sample/arXiv_src_2212_086.jsonl")) as f:
        for paper in _objects(f):
            label = tax.map_arxiv(paper["metadata"]["categories"])
            if label is not None:
                out.append(("unarxive", field_text(paper, UNARXIVE_FIELDS), label))
    return out


def bbc(data: Path, tax: Taxonomy) -> list[Record]:
    return [("bbc", p.read_text(encoding="utf-8", errors="replace"), tax.general_label)
            for p in sorted(_require(data / "general/bbc-news").glob("*/*.txt"))]


def wikitext(data: Path, tax: Taxonomy) -> list[Record]:
    """Wikipedia articles, split at their `= Title =` lines as a run splits them (`split_before`)."""
    reader = TextFileReader(split_before=WIKITEXT_TITLE)
    files = [_require(data / "general/wikitext-2" / name) for name in ("valid.txt", "test.txt")]
    return [("wikitext", doc["text"], tax.general_label) for path in files for doc in reader.read(str(path))]


def discipline_records(data: Path, tax: Taxonomy) -> list[Record]:
    """Every labelled record, in a fixed order (the source files' order, then each file's)."""
    return (labelled_corpus(data) + s2orc(data, tax) + mmlu(data, tax) + unarxive(data, tax) + bbc(data, tax)
            + wikitext(data, tax))


def _web_text(data: Path) -> Iterator[dict]:
    with gzip.open(_require(data / "quality/web-text-samples/web_text.jsonl.gz"), "rt", encoding="utf-8") as f:
        yield from _objects(f)


def raw_crawl(data: Path) -> list[Record]:
    out = [("web_text_crawl", row["text"], "low") for row in _web_text(data)
           if row.get("lang") == "en" and row["source"].startswith(_RAW_CRAWL) and row["text"].strip()]
    for path in sorted(_require(data / "warc/dolma-tests").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            out += [("dolma_cc", row["text"], "low") for row in _objects(f) if row["text"].strip()]
    return out


def boilerplate(data: Path) -> list[Record]:
    """The snippets extraction must remove from trafilatura's evaluation pages, a page's worth per record."""
    pages = json.loads(_require(data / "extraction/trafilatura-evaldata/evaldata.json").read_text(encoding="utf-8"))
    snippets = [s for url in sorted(pages) for s in pages[url].get("without", []) if s.strip()]
    return [("boilerplate", "\n".join(snippets[i:i + _BOILERPLATE_PER_RECORD]), "low")
            for i in range(0, len(snippets), _BOILERPLATE_PER_RECORD)]


def quality_records(data: Path, tax: Taxonomy) -> list[Record]:
    """Curated text (every discipline record, as high) and raw crawl text and boilerplate (low)."""
    curated = [(source, text, "high") for source, text, _ in discipline_records(data, tax)]
    return curated + raw_crawl(data) + boilerplate(data)
