"""One large JSON lines file through the curation stage: read by one task (as datatrove and most readers read a
file) vs in pieces cut at line starts (inputs.PIECE_BYTES), on Ray with 2 CPUs; then the file gzip-compressed.

The file is real text repeated to the asked size: the web text samples of ../shared/data/quality, the BBC News
articles and the unarXive papers, each copy of a record under its own id (so dedup, which runs in both, has the
same work). Both runs curate the same file from scratch (fresh output folders, fresh Ray); the one-task run sets
PIECE_BYTES above the file's size. Then the same for the file gzip-compressed: a compressed stream cannot be
entered midway, so each piece decompresses all of it and parses its own blocks of lines. Printed: wall time of
each, the ratio, and whether the kept documents (ids and text) are identical. Run:
    .venv/bin/python benchmarks/bench_large_file_pieces.py [--megabytes 600] [--piece-megabytes 256]
"""
from __future__ import annotations

import argparse
import glob
import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sciloom.curation import inputs  # noqa: E402
from sciloom.curation.config import CurationConfig  # noqa: E402
from sciloom.curation.pipeline import run_curation  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def real_texts() -> list[str]:
    texts = [json.loads(line)["text"] for line in
             gzip.open(DATA / "quality" / "web-text-samples" / "web_text.jsonl.gz", "rt", encoding="utf-8")]
    texts += [Path(f).read_text(errors="replace") for f in sorted(glob.glob(str(DATA / "general" / "bbc-news" / "*" / "*.txt")))]
    for path in sorted((DATA / "disciplines" / "unarxive-sample").rglob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            texts.append("\n\n".join(p["text"] for p in json.loads(line)["body_text"]))
    return texts


def write_file(path: Path, megabytes: float) -> int:
    texts, written, records = real_texts(), 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < megabytes * 1e6:
            copy, i = divmod(records, len(texts))
            line = json.dumps({"id": f"{copy}-{i}", "text": texts[i]}) + "\n"
            out.write(line)
            written += len(line.encode())
            records += 1
    return records


def curate(path: Path, out: Path, piece_bytes: int) -> tuple[float, int]:
    inputs.PIECE_BYTES = piece_bytes  # read by the driver, which cuts the tasks
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        config = CurationConfig.model_validate({"inputs": [{"paths": [str(path)], "source": "big"}]})
        started = time.perf_counter()
        reports = run_curation(config, out)
        seconds = time.perf_counter() - started
    finally:
        ray.shutdown()
    return seconds, next(r for r in reports if r.stage == "extract").tasks_total


def kept(out: Path) -> pa.Table:
    """The curated documents of a run, by id."""
    return pq.read_table(out / "curated", columns=["id", "text"]).sort_by("id")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=600.0)
    parser.add_argument("--piece-megabytes", type=float, default=inputs.PIECE_BYTES / 2**20)
    parser.add_argument("--smoke", action="store_true", help="a 12 MB file in 3 MiB pieces: seconds")
    args = parser.parse_args()
    if args.smoke:
        args.megabytes, args.piece_megabytes = 12.0, 3.0
    if not DATA.exists():
        sys.exit(f"needs the real text in {DATA}")
    work = Path(tempfile.mkdtemp(prefix="sciloom-bench-pieces-"))
    try:
        plain = work / "big.jsonl"
        records = write_file(plain, args.megabytes)
        compressed = work / "big.jsonl.gz"
        with plain.open("rb") as source, gzip.open(compressed, "wb", compresslevel=6) as target:
            shutil.copyfileobj(source, target)
        failed = []
        for path in (plain, compressed):
            size = path.stat().st_size
            # A piece size over COMPRESSION_RATIO times a compressed file's size keeps it whole unopened.
            text_size = size * (inputs.COMPRESSION_RATIO if path == compressed else 1)
            whole_s, whole_tasks = curate(path, work / f"whole-{path.name}", text_size + 1)
            pieces_s, pieces_tasks = curate(path, work / f"pieces-{path.name}", int(args.piece_megabytes * 2**20))
            same = kept(work / f"whole-{path.name}").equals(kept(work / f"pieces-{path.name}"))
            print(f"{path.name}: {size / 1e6:.0f} MB, {records:,} records; curation stage on 2 CPUs:")
            print(f"  one task           {whole_s:7.1f} s  ({whole_tasks} extract task)")
            print(f"  pieces of {args.piece_megabytes:.0f} MiB   {pieces_s:7.1f} s  ({pieces_tasks} extract tasks)")
            print(f"  ratio {whole_s / pieces_s:.2f}x; kept documents identical: {same} "
                  f"({kept(work / f'pieces-{path.name}').num_rows:,})")
            if not same or pieces_tasks < 2:
                failed.append(path.name)
        if failed:
            sys.exit(f"pieces did not reproduce the one-task run: {', '.join(failed)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
