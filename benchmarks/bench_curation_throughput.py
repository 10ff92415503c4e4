"""Throughput of read → extract → language id → level-1 rules on one core: sciloom vs datatrove, same pages.

The pages are written once into WARC files; every pipeline reads the same files:
- `--pages eval`: the 990 trafilatura evaluation pages (one WARC file);
- `--pages crawl`: a realistic crawl mix, the 3,364 real pages of extraction/crawl-pages (news, homepages,
  feeds in ~30 languages and legacy encodings, re-encoded as UTF-8 in one WARC file) plus the gzipped archive
  fixtures of warc/ (pywb, UK Web Archive, Common Crawl, Dolma) that warcio can read.
Four runs, one core each:
- sciloom, full pipeline: the curation stage's extraction chain (pipeline.build_extraction_chain) with the
  prefilter off: every page is extracted;
- sciloom, cascade: the same chain as recipes run it, the prefilter deciding URL lists and clearly foreign
  languages before extraction;
- sciloom, cascade, no escalation: the cascade with trafilatura's recall escalation off
  (ExtractConfig.recall_escalation), the cheaper extraction setting; its kept set is compared too, unlisted;
- datatrove 0.10: `LocalPipelineExecutor` (1 task, 1 worker) over WarcReader, Trafilatura (same trafilatura
  settings as ours, same 10 s timeout), LanguageFilter (given the same lid.176.ftz as a local file),
  GopherRepetitionFilter, GopherQualityFilter, C4QualityFilter, FineWebQualityFilter.
All keep English with the same threshold. Each pipeline runs `--repeats` times, the four interleaved, and its least
CPU time counts: on this shared machine one run of the same pipeline measured up to 40% apart from the next. The
cascade's kept documents are compared with the full pipeline's (ids and text), and every difference is listed with
the reason the other run gave. HF_HOME points into a temp dir (datatrove copies assets there).

    .venv/bin/python benchmarks/bench_curation_throughput.py [--pages eval|crawl] [--limit N] [--profile stock|science]
        [--repeats 2] [--smoke]
"""
from __future__ import annotations

import argparse
import atexit
import gzip
import io
import json
import os
import threading
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import psutil
import pyarrow.parquet as pq

_SCRATCH = Path(tempfile.mkdtemp(prefix="sciloom-bench-throughput-"))
# Removed when the process that made it exits, whoever imported this module (a test, bench_text_rules); not by
# the processes datatrove forks, which exit while it is still in use.
atexit.register(lambda pid=os.getpid(): os.getpid() == pid and shutil.rmtree(_SCRATCH, ignore_errors=True))
os.environ["HF_HOME"] = str(_SCRATCH / "hf_home")  # before datatrove / huggingface_hub read it
os.environ["HF_HUB_OFFLINE"] = "1"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_extraction_quality import evaluation_pages  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from sciloom.curation.config import CurationConfig  # noqa: E402
from sciloom.curation.executor import Task  # noqa: E402
from sciloom.curation.extract import ExtractConfig  # noqa: E402
from sciloom.curation.inputs import InputsConfig  # noqa: E402
from sciloom.curation.langid import LangIdConfig, shipped_model_path  # noqa: E402
from sciloom.curation.map_stage import map_documents, part_path, rejected_path  # noqa: E402
from sciloom.curation.pipeline import build_extraction_chain  # noqa: E402
from sciloom.curation.prefilter import PrefilterConfig  # noqa: E402
from sciloom.curation.rules import RulesConfig  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CRAWL_PAGES = DATA / "extraction" / "crawl-pages"
ARCHIVE_FOLDERS = [DATA / "warc" / name for name in ("archive-fixtures", "commoncrawl-whirlwind", "dolma-tests")]


class Clock:
    """Wall time and CPU time of this process and every process it starts while the clock runs.

    datatrove extracts in a sandbox subprocess (multiprocessing's fork on Linux) that lives as long as its
    pipeline, and rusage counts a child only once it has been waited for: a sampler thread reads the CPU time
    of all descendants every 0.2 s (a process that ends between two samples loses at most its last 0.2 s). The
    machine is shared: CPU seconds measure the work per core even when other jobs take turns on it, wall time
    does not.
    """

    def __enter__(self) -> Clock:
        self._me = psutil.Process()
        self._before = {p.pid: _cpu(p) for p in self._me.children(recursive=True)}
        self._seen: dict[int, float] = {}
        self._own = -_cpu(self._me)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._sampler.start()
        self.wall = -time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter()
        self._stop.set()
        self._sampler.join()
        self._sample()
        descendants = sum(cpu - self._before.get(pid, 0.0) for pid, cpu in self._seen.items())
        self.cpu = self._own + _cpu(self._me) + descendants

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def _sample(self) -> None:
        for process in self._me.children(recursive=True):
            try:
                self._seen[process.pid] = max(self._seen.get(process.pid, 0.0), _cpu(process))
            except psutil.Error:
                continue


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def write_warc(path: Path, pages: Iterator[tuple[str, bytes]]) -> int:
    count = 0
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url, html in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=headers,
                                               warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"})
            writer.write_record(record)
            count += 1
    return count


def crawl_pages(limit: int | None) -> Iterator[tuple[str, bytes]]:
    """The real pages of extraction/crawl-pages (news, homepages, feeds; ~30 languages, legacy encodings)."""
    count = 0
    for path in sorted(CRAWL_PAGES.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                if limit is not None and count >= limit:
                    return
                page = json.loads(line)
                yield page["url"] or f"http://crawl-pages.test/{page['id']}", page["html"].encode("utf-8", "surrogatepass")
                count += 1


def archive_files(limit: int | None) -> tuple[list[Path], list[str]]:
    """The crawl archive fixtures both readers can parse (datatrove's needs warcio), and the names of the rest."""
    from warcio.archiveiterator import ArchiveIterator

    readable, refused = [], []
    candidates = sorted(p for folder in ARCHIVE_FOLDERS for p in folder.glob("*.warc.gz"))
    for path in candidates[:limit]:
        try:
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    record.content_stream().read()
            readable.append(path)
        except Exception as error:  # noqa: BLE001 — warcio's many failure types: the file is left out of both runs
            refused.append(f"{path.name} ({type(error).__name__})")
    return readable, refused


def build_inputs(kind: str, folder: Path, limit: int | None) -> list[Path]:
    folder.mkdir(parents=True)
    if kind == "eval":
        pages = ((url, html) for url, html, _ in evaluation_pages(limit))
        write_warc(folder / "evaldata.warc.gz", pages)
        return [folder / "evaldata.warc.gz"]
    write_warc(folder / "crawl-pages.warc.gz", crawl_pages(limit))
    readable, refused = archive_files(None if limit is None else 3)
    if refused:
        print(f"archive files warcio cannot read, left out of both runs: {', '.join(refused)}")
    for path in readable:
        (folder / path.name).symlink_to(path)
    return [folder / "crawl-pages.warc.gz", *(folder / path.name for path in readable)]


def run_ours(files: list[Path], out: Path, curation: CurationConfig) -> tuple[Clock, dict, dict[str, str], dict[str, str]]:
    """The product's extraction chain over the files: (clock, per-step in/out/seconds, kept id -> text, rejected id
    -> reason). A reader's seconds include the steps after it: they run inside its generator."""
    config = curation.model_copy(update={"inputs": [InputsConfig(paths=[str(path) for path in files])]})
    task_fn = map_documents(partial(build_extraction_chain, config, 0))
    task = Task("bench", tuple(str(path) for path in files))
    with Clock() as clock:
        stats = task_fn(task, out)
    kept = pq.read_table(part_path(out, task.task_id), columns=["id", "text"]).to_pydict()
    rejected = pq.read_table(rejected_path(out, task.task_id), columns=["id", "reject_reason"]).to_pydict()
    return (clock, {s.name: (s.docs_in, s.docs_out, round(s.seconds, 1)) for s in stats}, dict(zip(kept["id"], kept["text"])),
            dict(zip(rejected["id"], rejected["reject_reason"])))


def compare_kept(full: tuple, cascade: tuple, list_differences: bool = True) -> None:
    """The cascade must keep what the full pipeline keeps, with the same text; every difference is listed."""
    (_, _, full_kept, full_rejected), (_, _, cascade_kept, cascade_rejected) = full, cascade
    union = full_kept.keys() | cascade_kept.keys()
    same = full_kept.keys() & cascade_kept.keys()
    agreement = len(same) / len(union) if union else 1.0
    different_text = [doc_id for doc_id in same if full_kept[doc_id] != cascade_kept[doc_id]]
    print(f"kept sets: full {len(full_kept)}, cascade {len(cascade_kept)}, agreement {agreement:.2%} of {len(union)} "
          f"kept by either; same text for {len(same) - len(different_text)} of {len(same)} kept by both")
    if not list_differences:
        return
    for doc_id in sorted(full_kept.keys() - cascade_kept.keys()):
        print(f"  kept only by the full pipeline: {doc_id} (cascade: {cascade_rejected.get(doc_id, 'missing')})")
    for doc_id in sorted(cascade_kept.keys() - full_kept.keys()):
        print(f"  kept only by the cascade: {doc_id} (full: {full_rejected.get(doc_id, 'missing')})")
    for doc_id in different_text:
        print(f"  different text: {doc_id}")


def language_filter_with_local_model(langid: LangIdConfig):
    """datatrove's LanguageFilter reading the shipped lid.176.ftz (it would otherwise download lid.176.bin)."""
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.utils.lid import FT176LID
    from fasttext.FastText import _FastText

    class LocalFT176LID(FT176LID):
        @property
        def model(self):
            if self._model is None:
                self._model = _FastText(str(shipped_model_path()))
            return self._model

    class LocalModelLanguageFilter(LanguageFilter):
        # Its dependency check asks for `fasteners`, which only guards the download this class replaces.
        def __new__(cls, *args, **kwargs):
            return object.__new__(cls)

        def __init__(self, languages: list[str] | None, language_threshold: float) -> None:
            super().__init__(languages=languages, language_threshold=language_threshold)
            self.model = LocalFT176LID(languages)

    return LocalModelLanguageFilter(langid.languages, langid.threshold)


def datatrove_warc_reader(folder: Path):
    """datatrove's WarcReader.read_file on its own disk-reader base; the charset fallback uses resiliparse
    instead of cchardet, and the HTTP Content-Type stands in for python-magic's payload sniffing (datatrove's
    WarcReader refuses to start without both, and neither is installed here)."""
    from datatrove.pipeline.readers.base import BaseDiskReader
    from resiliparse.parse.encoding import detect_encoding
    from warcio.archiveiterator import ArchiveIterator

    class LocalWarcReader(BaseDiskReader):
        name = "🕷 Warc"
        compression = None  # warcio inflates each gzip member itself (fsspec's stream breaks some fixtures)

        def read_file(self, filepath: str):
            with self.data_folder.open(filepath, "rb", compression=self.compression) as f:
                for index, record in enumerate(ArchiveIterator(f)):
                    with self.track_time():
                        if record.rec_type != "response":
                            continue
                        content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
                        if content_type and "html" not in content_type.lower():
                            continue
                        body = record.content_stream().read()
                        try:
                            html = body.decode("utf-8")
                        except UnicodeDecodeError:
                            html = body.decode(detect_encoding(body), errors="replace")
                        document = self.get_document_from_dict(
                            {"text": html, "id": record.rec_headers["WARC-Record-ID"],
                             "url": record.rec_headers.get("WARC-Target-URI")}, filepath, index)
                    if document:
                        yield document

    return LocalWarcReader(str(folder), glob_pattern="*.warc.gz")


def run_datatrove(folder: Path, out: Path, extract: ExtractConfig, langid: LangIdConfig) -> tuple[float, dict]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    pipeline = [
        datatrove_warc_reader(folder),
        Trafilatura(favour_precision=extract.favor_precision, deduplicate=False, timeout=extract.timeout_seconds,
                    favor_recall=extract.favor_recall, fast=extract.fast, include_tables=extract.include_tables),
        language_filter_with_local_model(langid),
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(),
        FineWebQualityFilter(),
    ]
    executor = LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=str(out / "logs"))
    with Clock() as clock:
        executor.run()
    stats = json.loads((out / "logs" / "stats.json").read_text())
    return clock, {step["name"]: step["stats"].get("total", step["stats"].get("forwarded")) for step in stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", choices=["eval", "crawl"], default="eval",
                        help="eval: the 990 trafilatura evaluation pages; crawl: the 3,364 crawl pages + archive fixtures")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--profile", choices=["stock", "science"], default="science", help="our rules profile")
    parser.add_argument("--languages", default="en",
                        help="comma-separated languages both pipelines keep, or 'all' (any language at the threshold)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs of each pipeline, interleaved; each one's least CPU time counts (the machine is shared)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs (CI)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.smoke:
        args.limit, args.repeats = 20, 1
    folder = _SCRATCH / "input"
    files = build_inputs(args.pages, folder, args.limit)
    languages = None if args.languages == "all" else args.languages.split(",")
    curation = CurationConfig(inputs=[InputsConfig(paths=[str(files[0])])], langid=LangIdConfig(languages=languages),
                              rules=RulesConfig(profile=args.profile))
    ours = {
        "full pipeline": curation.model_copy(update={"prefilter": PrefilterConfig(enabled=False)}),
        "cascade": curation,
        "cascade, no escalation": curation.model_copy(
            update={"extract": curation.extract.model_copy(update={"recall_escalation": False})}),
    }
    runs: dict[str, list] = {name: [] for name in [*ours, "datatrove"]}
    for repeat in range(args.repeats):
        # Interleaved, so a slow spell of the shared machine falls on every pipeline alike.
        for name, config in ours.items():
            runs[name].append(run_ours(files, _SCRATCH / f"{name}{repeat}".replace(" ", "_").replace(",", ""), config))
            docs = runs[name][-1][1]["read"][1]  # HTML documents read: the same input for every run
            _print_run(f"sciloom, {name}", docs, *runs[name][-1][:2], "in/out/seconds per step")
        runs["datatrove"].append(run_datatrove(folder, _SCRATCH / f"datatrove{repeat}", curation.extract, curation.langid))
        _print_run("datatrove", docs, *runs["datatrove"][-1], "per step")
    print("the cascade against the full pipeline, both as configured by default:")
    compare_kept(runs["full pipeline"][0], runs["cascade"][0])
    print("the cascade without recall escalation against the full pipeline (different extraction settings):")
    compare_kept(runs["full pipeline"][0], runs["cascade, no escalation"][0], list_differences=False)
    cpu = {name: min(run[0].cpu for run in done) for name, done in runs.items()}
    print(f"{docs} HTML documents ({args.pages}), one core each, least CPU of {args.repeats} interleaved run(s) each, "
          f"docs per CPU-second: " + ", ".join(f"{name} {docs / seconds:.1f}" for name, seconds in cpu.items()))
    print("per CPU second: " + ", ".join(f"{name} / datatrove {cpu['datatrove'] / cpu[name]:.2f}x" for name in ours)
          + f", cascade / full pipeline {cpu['full pipeline'] / cpu['cascade']:.2f}x")


def _print_run(name: str, docs: int, clock: Clock, steps: dict, steps_title: str) -> None:
    print(f"{name:31s}: {docs / clock.cpu:6.1f} docs/CPU-s, {docs / clock.wall:6.1f} docs/s wall ({steps_title} {steps})",
          flush=True)


if __name__ == "__main__":
    main()
