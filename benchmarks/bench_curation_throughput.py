"""Throughput of read → extract → language id → level-1 rules on one core: sciloom vs datatrove, same pages.

The 990 trafilatura evaluation pages are written once into a WARC file; both pipelines read it:
- sciloom: the curation stage's task function (A1's WARC reader, ExtractStep, LanguageIdStep, RulesStep,
  Parquet output) run in this process;
- datatrove 0.10: `LocalPipelineExecutor` (1 task, 1 worker) over WarcReader, Trafilatura (same trafilatura
  settings as ours, same 10 s timeout), LanguageFilter (given the same lid.176.ftz as a local file),
  GopherRepetitionFilter, GopherQualityFilter, C4QualityFilter, FineWebQualityFilter, JsonlWriter.
Both keep English with the same threshold. HF_HOME points into a temp dir (datatrove copies assets there).

    .venv/bin/python benchmarks/bench_curation_throughput.py [--limit N] [--profile stock|science] [--smoke]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import threading
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import psutil

_SCRATCH = Path(tempfile.mkdtemp(prefix="sciloom-bench-throughput-"))
os.environ["HF_HOME"] = str(_SCRATCH / "hf_home")  # before datatrove / huggingface_hub read it
os.environ["HF_HUB_OFFLINE"] = "1"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_extraction_quality import evaluation_pages  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from sciloom.curation.executor import Task  # noqa: E402
from sciloom.curation.extract import ExtractConfig, ExtractStep  # noqa: E402
from sciloom.curation.inputs import InputsConfig, reader_for  # noqa: E402
from sciloom.curation.langid import LangIdConfig, LanguageIdStep, shipped_model_path  # noqa: E402
from sciloom.curation.map_stage import map_documents  # noqa: E402
from sciloom.curation.rules import RulesConfig, RulesStep  # noqa: E402


class Clock:
    """Wall time and CPU time of this process and every process it starts while the clock runs.

    datatrove extracts in a sandbox subprocess started through a forkserver, so it is not our direct
    child and rusage never sees it: a sampler thread reads the CPU time of all descendants every 0.2 s
    (a process that ends between two samples loses at most its last 0.2 s). The machine is shared: CPU
    seconds measure the work per core even when other jobs take turns on it, wall time does not.
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


def write_warc(path: Path, limit: int | None) -> int:
    count = 0
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url, html, _ in evaluation_pages(limit):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(html), http_headers=headers,
                                               warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"})
            writer.write_record(record)
            count += 1
    return count


def _build(warc: Path, extract: ExtractConfig, langid: LangIdConfig, rules: RulesConfig):
    return reader_for(InputsConfig(paths=[str(warc)])), [ExtractStep(extract), LanguageIdStep(langid), RulesStep(rules)]


def run_ours(warc: Path, out: Path, extract: ExtractConfig, langid: LangIdConfig, rules: RulesConfig) -> tuple[float, dict]:
    task_fn = map_documents(partial(_build, warc, extract, langid, rules))
    with Clock() as clock:
        stats = task_fn(Task("bench", (str(warc),)), out)
    return clock, {s.name: (s.docs_in, s.docs_out) for s in stats}


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


def datatrove_warc_reader(warc: Path):
    """datatrove's WarcReader.read_file on its own disk-reader base; the charset fallback uses resiliparse
    instead of cchardet, and records carry their payload type so python-magic is not needed (datatrove's
    WarcReader refuses to start without both, and neither is installed here)."""
    from datatrove.pipeline.readers.base import BaseDiskReader
    from resiliparse.parse.encoding import detect_encoding
    from warcio.archiveiterator import ArchiveIterator

    class LocalWarcReader(BaseDiskReader):
        name = "🕷 Warc"
        compression = "infer"

        def read_file(self, filepath: str):
            with self.data_folder.open(filepath, "rb", compression=self.compression) as f:
                for index, record in enumerate(ArchiveIterator(f)):
                    with self.track_time():
                        if record.rec_type != "response":
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

    return LocalWarcReader(str(warc.parent), glob_pattern=warc.name)


def run_datatrove(warc: Path, out: Path, extract: ExtractConfig, langid: LangIdConfig) -> tuple[float, dict]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    pipeline = [
        datatrove_warc_reader(warc),
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
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages (default: all 990)")
    parser.add_argument("--profile", choices=["stock", "science"], default="science", help="our rules profile")
    parser.add_argument("--languages", default="en",
                        help="comma-separated languages both pipelines keep, or 'all' (any language at the threshold)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.limit = 20
    try:
        warc = _SCRATCH / "input" / "evaldata.warc.gz"
        warc.parent.mkdir(parents=True)
        pages = write_warc(warc, args.limit)
        languages = None if args.languages == "all" else args.languages.split(",")
        extract, langid, rules = ExtractConfig(), LangIdConfig(languages=languages), RulesConfig(profile=args.profile)

        ours, ours_steps = run_ours(warc, _SCRATCH / "ours", extract, langid, rules)
        print(f"sciloom   : {pages / ours.cpu:6.1f} docs/CPU-s, {pages / ours.wall:6.1f} docs/s wall "
              f"(in/out per step {ours_steps})", flush=True)
        theirs, theirs_steps = run_datatrove(warc, _SCRATCH / "datatrove", extract, langid)
        print(f"datatrove : {pages / theirs.cpu:6.1f} docs/CPU-s, {pages / theirs.wall:6.1f} docs/s wall "
              f"(per step {theirs_steps})", flush=True)
        print(f"{pages} pages, one core each; sciloom / datatrove: {theirs.cpu / ours.cpu:.2f}x per CPU second, "
              f"{theirs.wall / ours.wall:.2f}x wall clock")
    finally:
        shutil.rmtree(_SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
