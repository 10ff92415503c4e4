"""run_dedup on Ray with 1 and then 2 workers: wall time, scaling, peak memory, recall, on 100k or 1M documents.

The documents are synthetic but made of real text: each one strings together 6-14 random sentences of
the BBC News articles in ../shared/data/general/bbc-news with 35% of their words swapped for random words
of the same articles (so 100k documents do not all share the same ~40k sentences, which containment would
rightly remove), and a known share are planted duplicates (5%
exact copies with case/punctuation changed, 5% near copies with a few words replaced, 3% excerpts
appended after their source). Both runs process the same parts from scratch (fresh work dirs, fresh Ray
with num_cpus=1, then 2). Peak memory is sampled every 0.2 s over the driver and every Ray worker
process (RSS): the largest single process and the largest sum. Task seconds per phase show where time
goes (`dedup_lsh_pairs` includes checking candidate pairs against the threshold; the components' first round
counts the pairs verified and rejected, and the rounds their number). The corpus is built by another process, so the driver never holds its
text. Also printed: recall of the planted copies, the share of ordinary documents removed in each half of the
input order (a verdict depending on what came before shows as a difference), and the bytes the run's
intermediate stages left on disk (its spill: every shuffle goes through files). Run:
    .venv/bin/python benchmarks/bench_dedup_scaling.py [--docs 100000] [--parts 16] [--workers 1,2]
    .venv/bin/python benchmarks/bench_dedup_scaling.py --docs 1000000 --parts 160 [--partitions 16] --workers 2
    .venv/bin/python benchmarks/bench_dedup_scaling.py --curation --docs 1000000 --parts 160 --workers 2
With --curation the documents are JSONL text inputs and the whole curation stage runs (line cleaning, language
id, level-1 rules, then dedup); recall and ordinary removals count only the documents that reach dedup.
"""
from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import re
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import ray

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from sciloom.curation.config import CurationConfig  # noqa: E402
from sciloom.curation.dedup import run_dedup  # noqa: E402
from sciloom.curation.dedup_config import DedupConfig  # noqa: E402
from sciloom.curation.document import document_id  # noqa: E402
from sciloom.curation.pipeline import CURATED_DIR, EXTRACT_STAGE, run_curation  # noqa: E402

SOURCE = "synthetic"


def synthetic_docs(n: int, seed: int = 0) -> tuple[list[str], dict[str, int], np.ndarray]:
    """(texts, planted counts, source of each document: -1 for an ordinary one, else the row it copies)."""
    folder = REPO.parent / "shared" / "data" / "general" / "bbc-news"
    sentences = [s.strip() for p in sorted(folder.glob("*/*.txt"))
                 for s in re.split(r"(?<=[.!?])\s+", " ".join(p.read_text(encoding="latin-1").split())) if len(s) > 30]
    vocabulary = np.array(" ".join(sentences).split())
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    planted = {"exact": 0, "near": 0, "excerpt": 0}
    source = np.full(n, -1, dtype=np.int64)
    while len(texts) < n:
        roll = rng.random()
        if texts and roll < 0.13:
            source[len(texts)] = rng.integers(len(texts))
        if texts and roll < 0.05:
            texts.append(texts[source[len(texts)]].upper().replace(".", " ."))
            planted["exact"] += 1
        elif texts and roll < 0.10:
            words = texts[source[len(texts)]].split()
            for i in rng.integers(0, len(words), max(1, len(words) // 50)):
                words[i] = "changed"
            texts.append(" ".join(words))
            planted["near"] += 1
        elif texts and roll < 0.13:
            words = texts[source[len(texts)]].split()
            texts.append(" ".join(words[: max(30, len(words) * 2 // 3)]))
            planted["excerpt"] += 1
        else:
            words = np.array(" ".join(sentences[i] for i in rng.integers(0, len(sentences), rng.integers(6, 15))).split())
            swap = rng.random(len(words)) < 0.35
            words[swap] = vocabulary[rng.integers(0, len(vocabulary), int(swap.sum()))]
            texts.append(" ".join(words))
    return texts, planted, source


def build_corpus(n: int, parts: int, folder: Path, as_jsonl: bool) -> tuple[float, dict[str, int], np.ndarray]:
    texts, planted, source = synthetic_docs(n)
    (write_jsonl if as_jsonl else write_parts)(folder, texts, parts)
    return sum(len(t) for t in texts) / 1e6, planted, source


def write_jsonl(folder: Path, texts: list[str], parts: int) -> None:
    """The documents as the curation stage's text inputs: gzip JSONL files of {"id", "text"}."""
    folder.mkdir(parents=True)
    for k in range(parts):
        with gzip.open(folder / f"part-{k:05d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=1) as f:
            for i in range(k, len(texts), parts):
                f.write(json.dumps({"id": f"doc{i:07d}", "text": texts[i]}) + "\n")


def write_parts(folder: Path, texts: list[str], parts: int) -> None:
    folder.mkdir(parents=True)
    for k in range(parts):
        rows = range(k, len(texts), parts)
        pq.write_table(pa.table({"id": [f"doc{i:07d}" for i in rows], "text": [texts[i] for i in rows],
                                 "url": pa.nulls(len(rows), pa.string()), "source": ["synthetic"] * len(rows),
                                 "lang": ["en"] * len(rows)}), folder / f"part-{k:05d}.parquet")


class PeakMemory:
    """Samples RSS of this process and of every Ray worker process (`ray::` in the command line)."""

    def __init__(self) -> None:
        self.peak_total = self.peak_single = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = [me.memory_info().rss]
            for proc in psutil.process_iter(["cmdline", "memory_info"]):
                cmd = " ".join(proc.info["cmdline"] or [])
                if cmd.startswith("ray::") and proc.info["memory_info"] is not None:
                    rss.append(proc.info["memory_info"].rss)
            self.peak_total = max(self.peak_total, sum(rss))
            self.peak_single = max(self.peak_single, max(rss))
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def removal_report(out: Path, source: np.ndarray, curation: bool) -> str:
    """Recall of the planted copies (the copy or the document it copies removed: one of the two must go) and the
    share of ordinary documents that no copy was made of removed anyway, by half of the input order (a verdict
    that depends on how much text came before shows as a higher share in the second half). With the whole
    curation stage, only documents that reach dedup (kept by language id and the rules) are counted."""
    ids = [document_id(SOURCE, f"doc{i:07d}") if curation else f"doc{i:07d}" for i in range(source.size)]
    row = {doc_id: i for i, doc_id in enumerate(ids)}
    rejected = pq.read_table(out / f"_{CURATED_DIR}" / "rejected", columns=["id"]).column("id").to_pylist()
    removed = np.zeros(source.size, dtype=bool)
    removed[[row[i] for i in rejected]] = True
    present = np.ones(source.size, dtype=bool)
    if curation:
        present[:] = False
        present[[row[i] for i in pq.read_table(out / EXTRACT_STAGE, columns=["id"]).column("id").to_pylist()]] = True
    planted = np.flatnonzero((source >= 0) & present)
    planted = planted[present[source[planted]]]
    caught = removed[planted] | removed[source[planted]]
    untouched = present.copy()
    untouched[source >= 0] = False
    untouched[source[source >= 0]] = False
    half = source.size // 2
    first, second = np.flatnonzero(untouched[:half]), half + np.flatnonzero(untouched[half:])
    entered = f"{int(present.sum())} documents reached dedup; " if curation else ""
    return (f"{entered}recall of planted copies {caught.mean():.4f} ({int(caught.sum())}/{planted.size}); ordinary "
            f"documents removed: first half {removed[first].mean():.4%} of {first.size}, second half "
            f"{removed[second].mean():.4%} of {second.size}")


def run(num_cpus: int, input_dir: Path, out: Path, config: DedupConfig,
        curation: bool) -> tuple[float, PeakMemory, dict]:
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        with PeakMemory() as memory:
            start = time.perf_counter()
            if curation:
                whole = CurationConfig(inputs=[{"paths": [str(input_dir)], "format": "jsonl", "source": SOURCE}],
                                       dedup=config)
                reports = run_curation(whole, out)
            else:
                reports = run_dedup(config, input_dir, out / "dedup", out / CURATED_DIR, show_progress=False)
            seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
    phases = {r.stage: round(sum(s.seconds for s in r.steps), 1) for r in reports}
    outputs = {CURATED_DIR, f"_{CURATED_DIR}"}  # the kept and rejected documents are not spill
    spill = sum(f.stat().st_size for f in out.rglob("*") if f.is_file() and f.relative_to(out).parts[0] not in outputs)
    removed = next(r for r in reports if r.stage == "dedup_filter").steps[0].rejected
    components = {s.name: s.notes for s in next(r for r in reports if r.stage == "dedup_components").steps}
    pairs = {**components["fuzzy_pairs"], "component_rounds": components["components_labels"]["rounds"]}
    if curation:
        extract = next(r for r in reports if r.stage == EXTRACT_STAGE)
        removed = {**{f"{s.name}:{k}": v for s in extract.steps for k, v in s.rejected.items()}, **removed}
    return seconds, memory, {"task_seconds": phases, "removed": dict(removed), "pairs": dict(pairs), "spill": spill}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--partitions", type=int, default=None,
                        help="hash partitions of every shuffle (dedup.num_partitions; default: as many as --parts)")
    parser.add_argument("--workers", default="1,2", help="comma-separated Ray CPU counts, one run each")
    parser.add_argument("--curation", action="store_true",
                        help="the whole curation stage on JSONL text inputs (line cleaning, language id, rules, then "
                             "dedup) instead of dedup alone on Parquet parts")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs (CI)")
    args = parser.parse_args()
    if args.smoke:  # both modes, tiny
        args.docs, args.parts, args.workers = 400, 2, "1"
        measure(args, curation=False)
        measure(args, curation=True)
    else:
        measure(args, args.curation)


def measure(args: argparse.Namespace, curation: bool) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="bench-dedup-"))
    try:
        # Another process builds the corpus, so the driver measured below never holds its text.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            mb, planted, source = pool.submit(build_corpus, args.docs, args.parts, scratch / "in", curation).result()
        what = "the whole curation stage on JSONL files" if curation else "dedup on Parquet parts"
        print(f"{what}: {args.docs} synthetic documents ({mb:.0f} MB of text) in {args.parts} parts, "
              f"{args.partitions or args.parts} hash partitions; planted {planted}")
        config = DedupConfig(num_partitions=args.partitions or args.parts)
        workers = list(map(int, args.workers.split(",")))
        results = {n: run(n, scratch / "in", scratch / f"run{n}", config, curation) for n in workers}
        removals = {n: removal_report(scratch / f"run{n}", source, curation) for n in results}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for n, (seconds, memory, info) in results.items():
        print(f"{n} worker(s): {seconds:7.1f} s wall, {args.docs / seconds:7.0f} docs/s, peak RSS "
              f"{memory.peak_single / 2**20:.0f} MiB largest process, {memory.peak_total / 2**20:.0f} MiB all processes, "
              f"{info['spill'] / 2**30:.2f} GiB of intermediate files")
        print(f"   removed {info['removed']}; {removals[n]}")
        print(f"   candidate pairs {info['pairs']}; task seconds per phase {info['task_seconds']}")
    if {1, 2} <= results.keys():
        t1, t2 = results[1][0], results[2][0]
        print(f"speed-up 1→2 workers: {t1 / t2:.2f}x, scaling efficiency {t1 / (2 * t2):.0%} "
              f"(machine has {psutil.cpu_count()} cores shared with other jobs)")


if __name__ == "__main__":
    main()
