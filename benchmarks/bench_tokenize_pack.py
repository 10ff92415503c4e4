"""Tokenize + pack + write throughput per core vs raw `tokenizers` encode_batch, and peak memory vs corpus size.

Corpus: the BBC news articles of ../shared/data/general/bbc-news (real text), written as one labelled
part; a byte-level BPE (vocab 8000) trained on it. Both sides run on one core in this process
(TOKENIZERS_PARALLELISM=false), timed in CPU seconds of the process so that other load on a shared
machine does not count: ours is the mixer's real Ray task function (`write_part_shards`: Parquet
read, label pass, encode, pack, .bin/.idx/.seg write, checksums); the competitor is
`Tokenizer.encode_batch(texts)` on the same texts, already in memory, in one call. Both sides load a fresh
tokenizer (cold BPE word cache); only ours counts the load, as the task has to do it. Peak memory of our task is measured
in a fresh subprocess for the corpus and for the corpus repeated 4x.

    .venv/bin/python benchmarks/bench_tokenize_pack.py [--smoke]

`--smoke` runs every step on 40 articles with one trial pair and a small tokenizer (seconds): CI runs it so
that a benchmark that no longer runs fails CI.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY  # noqa: E402
from sciloom.curation.executor import Task  # noqa: E402
from sciloom.mixer.config import BpeTrainConfig, TokenizerConfig  # noqa: E402
from sciloom.mixer.held_out import HeldOutRule  # noqa: E402
from sciloom.mixer.shard_task import ShardJob, StreamSpec, write_part_shards  # noqa: E402
from sciloom.mixer.tokenize import train_byte_level_bpe  # noqa: E402

BBC = REPO.parent / "shared" / "data" / "general" / "bbc-news"
BUCKET = ("bbc", "general", "high")
TRIALS = 8
THROUGHPUT_DOCS = 800


def bbc_texts() -> list[str]:
    if not BBC.is_dir():
        sys.exit(f"needs the real data at {BBC}")
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(BBC.glob("*/*.txt"))]


def write_part(texts: list[str], copies: int, path: Path) -> None:
    rows = [{"id": f"{c}-{i}", "text": t, "source": BUCKET[0], "discipline": BUCKET[1], "quality_tier": BUCKET[2]}
            for c in range(copies) for i, t in enumerate(texts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    # Row groups of 512 documents, as curation's PartWriter writes them: reading memory follows the row group.
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=512)


def job(out_dir: Path, tokenizer_file: Path) -> ShardJob:
    return ShardJob(out_dir=out_dir, tokenizer_file=tokenizer_file, tokenizer=TokenizerConfig(path=tokenizer_file),
                    seq_len=2048, block_size=1 << 16, seed=0, disciplines=DEFAULT_TAXONOMY.disciplines,
                    general_label="general", streams=(StreamSpec("integration", {BUCKET: 1.0}),),
                    # Nothing held out: every document is packed, as the raw side encodes every text.
                    held_out=HeldOutRule({label: 0 for label in (*DEFAULT_TAXONOMY.disciplines, "general")}),
                    positions={"00000": 0.0})


def raw_encode(tokenizer_file: Path, texts: list[str]) -> tuple[float, int]:
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    started = time.process_time()
    tokens = sum(len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False))
    return time.process_time() - started, tokens


def run_ours(part: Path, out_dir: Path, tokenizer_file: Path) -> tuple[float, int]:
    started = time.process_time()
    write_part_shards(job(out_dir, tokenizer_file), Task("00000", (str(part),)), out_dir)
    seconds = time.process_time() - started
    manifest = json.loads((out_dir / "integration" / "_parts" / "00000.json").read_text())
    return seconds, manifest["tokens"]


def status_kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(f"{field}:")).split()[1])


def child(part: str, out_dir: str, tokenizer_file: str) -> None:
    """Peak RSS of one task in a fresh process (baseline after imports reported separately).

    VmHWM, not getrusage's ru_maxrss: the latter keeps the parent's high-water mark across fork + exec.
    """
    baseline = status_kb("VmRSS")
    seconds, tokens = run_ours(Path(part), Path(out_dir), Path(tokenizer_file))
    peak = status_kb("VmHWM")
    print(json.dumps({"baseline_mb": baseline / 1024, "peak_mb": peak / 1024, "tokens": tokens, "seconds": seconds}))


def main(smoke: bool) -> None:
    texts = bbc_texts()
    trials, throughput_docs, vocab = (TRIALS, THROUGHPUT_DOCS, 8000) if not smoke else (2, 40, 500)
    if smoke:
        texts = texts[:80]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tokenizer_file = train_byte_level_bpe(texts, BpeTrainConfig(vocab_size=vocab), root / "tok")
        part = root / "labelled" / "part-00000.parquet"
        write_part(texts, 1, part)
        mb = sum(len(t.encode()) for t in texts) / 1e6
        throughput_texts = texts[:throughput_docs]
        small = root / "labelled_small" / "part-00000.parquet"
        write_part(throughput_texts, 1, small)
        raw, ours = [], []
        for trial in range(trials):
            # Pairs run back to back, alternating who goes first, so that load from others on this shared
            # machine hits both sides alike; the median of the pairs' ratios is the result. A fresh tokenizer
            # per run, as our task loads its own: the BPE word cache starts cold on both sides.
            sides = [lambda: raw.append(raw_encode(tokenizer_file, throughput_texts)),
                     lambda: ours.append(run_ours(small, root / f"out{trial}", tokenizer_file))]
            for side in (sides if trial % 2 == 0 else sides[::-1]):
                side()
        ratios = sorted((t_ours / s_ours) / (t_raw / s_raw) for (s_raw, t_raw), (s_ours, t_ours) in zip(raw, ours))
        median = statistics.median(ratios)
        small_mb = sum(len(t.encode()) for t in throughput_texts) / 1e6
        calls = -(-int(small_mb * 1e6) // job(root, tokenizer_file).batch_bytes)
        print(f"corpus: {len(texts)} BBC articles, {mb:.1f} MB; throughput on the first {len(throughput_texts)} "
              f"({small_mb:.2f} MB), {trials} alternating pairs, CPU seconds")
        print(f"raw : {len(throughput_texts)} in-memory texts -> encode_batch, 1 call, {raw[0][1]:,} tokens")
        print(f"ours: Parquet part -> tokenizer load, {len(throughput_texts)} texts -> encode_batch in ~{calls} "
              f"call(s) -> pack -> .bin/.idx/.seg + checksums + part record, {ours[0][1]:,} tokens (+1 EOS per doc)")
        print(f"raw encode_batch         : best {max(t / s for s, t in raw) / 1e6:.3f} M tokens/s/core")
        print(f"ours tokenize+pack+write : best {max(t / s for s, t in ours) / 1e6:.3f} M tokens/s/core")
        print(f"ratio ours / raw: median {median:.1%} (target >= 85%), pairs {', '.join(f'{r:.0%}' for r in ratios)}")
        for copies in (1, 4):
            sized = root / f"labelled{copies}" / "part-00000.parquet"
            write_part(texts, copies, sized)
            result = subprocess.run([sys.executable, __file__, "--child", str(sized), str(root / f"mem{copies}"),
                                     str(tokenizer_file)], capture_output=True, text=True, check=True)
            measured = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"peak memory, corpus x{copies} ({mb * copies:.0f} MB text, {measured['tokens']:,} tokens): "
                  f"{measured['peak_mb']:.0f} MB peak RSS ({measured['peak_mb'] - measured['baseline_mb']:.0f} MB "
                  f"above the {measured['baseline_mb']:.0f} MB resident after imports)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs")
        main(parser.parse_args().smoke)
