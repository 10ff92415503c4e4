"""MinHash signatures per second on one core: ours against datasketch and datatrove, same documents,
same number of permutations (128), word 5-gram shingles, in one run.

Documents: the 2,225 BBC News articles of ../shared/data/general/bbc-news, replicated to ~20k (about
the issue's 45 MB). Each method is timed from raw text to a signature per document:
- ours, shingle_hash="poly" (the pipeline default) and "sha1" (datasketch's default hash: the cost of
  letting a plain datasketch MinHash query our index);
- datasketch 2.0 `MinHash.bulk` and `update_batch` fed with the same shingles (`shingle_bytes`); building
  those shingles is timed separately and reported both included and excluded;
- datatrove 0.10 `MinhashDedupSignature` (16 buckets × 8 hashes), on a prefix (it is ~100 docs/s).
Ratios are ours (poly) against each. Run:
    .venv/bin/python benchmarks/bench_minhash.py [--docs 20000] [--datatrove-docs 2000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import datasketch  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from sciloom.curation.minhash import MinHasher, shingle_bytes  # noqa: E402

NUM_PERM, NGRAM, SEED = 128, 5, 1


def load_docs(n: int) -> list[str]:
    folder = REPO.parent / "shared" / "data" / "general" / "bbc-news"
    texts = [p.read_text(encoding="latin-1") for p in sorted(folder.glob("*/*.txt"))]
    if not texts:
        sys.exit(f"no BBC articles under {folder}")
    return [texts[i % len(texts)] for i in range(n)]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def ours(texts: list[str], shingle_hash: str) -> np.ndarray:
    return MinHasher(NUM_PERM, SEED, NGRAM, shingle_hash).signature_batches(texts, batch_docs=1024)


def datatrove_signatures(texts: list[str]) -> None:
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    with tempfile.TemporaryDirectory() as out:
        stage = MinhashDedupSignature(out, MinhashConfig(n_grams=NGRAM, num_buckets=16, hashes_per_bucket=8, seed=SEED))
        docs = (Document(text=t, id=str(i)) for i, t in enumerate(texts))
        for _ in stage.run(docs, rank=0, world_size=1) or ():
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--datatrove-docs", type=int, default=2_000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.docs, args.datatrove_docs = 200, 40
    texts = load_docs(args.docs)
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(texts)} documents, {mb:.1f} MB, num_perm={NUM_PERM}, {NGRAM}-word shingles, one process")

    rates: dict[str, float] = {}
    t_ours, sig_poly = timed(lambda: ours(texts, "poly"))
    rates["ours poly"] = len(texts) / t_ours
    t_sha1, sig_sha1 = timed(lambda: ours(texts, "sha1"))
    rates["ours sha1 (datasketch default hash)"] = len(texts) / t_sha1

    t_shingle, shingles = timed(lambda: [shingle_bytes(t, NGRAM) for t in texts])
    print(f"  shingles: {sum(len(s) for s in shingles):,} (building them as bytes: {t_shingle:.2f} s)")
    t_bulk, bulk = timed(lambda: datasketch.MinHash.bulk(shingles, num_perm=NUM_PERM, seed=SEED))
    rates["datasketch MinHash.bulk"] = len(texts) / (t_shingle + t_bulk)
    rates["datasketch MinHash.bulk, shingles given"] = len(texts) / t_bulk

    def update_batch() -> list[datasketch.MinHash]:
        out = []
        for s in shingles:
            m = datasketch.MinHash(num_perm=NUM_PERM, seed=SEED)
            m.update_batch(s)
            out.append(m)
        return out

    t_batch, _ = timed(update_batch)
    rates["datasketch update_batch"] = len(texts) / (t_shingle + t_batch)
    rates["datasketch update_batch, shingles given"] = len(texts) / t_batch
    # Same signatures, not just the same speed: datasketch's values equal our sha1-mode rows.
    assert all(np.array_equal(m.hashvalues, row) for m, row in zip(bulk[:200], sig_sha1[:200]))

    subset = texts[:args.datatrove_docs]
    t_dt, _ = timed(lambda: datatrove_signatures(subset))
    rates[f"datatrove MinhashDedupSignature ({len(subset)} docs)"] = len(subset) / t_dt

    best_datasketch = max(v for k, v in rates.items() if k.startswith("datasketch") and "given" not in k)
    best_datasketch_given = max(v for k, v in rates.items() if k.startswith("datasketch"))
    datatrove_rate = next(v for k, v in rates.items() if k.startswith("datatrove"))
    for name, rate in rates.items():
        print(f"  {name:48s} {rate:10,.0f} docs/s")
    print(f"ratio ours poly / datasketch fastest (text to signature): {rates['ours poly'] / best_datasketch:.2f}x")
    print(f"ratio ours poly / datasketch fastest (shingles given to datasketch only): "
          f"{rates['ours poly'] / best_datasketch_given:.2f}x")
    print(f"ratio ours sha1 / datasketch fastest (text to signature): "
          f"{rates['ours sha1 (datasketch default hash)'] / best_datasketch:.2f}x")
    print(f"ratio ours poly / datatrove: {rates['ours poly'] / datatrove_rate:.1f}x")
    print(f"ratio ours sha1 / datatrove: {rates['ours sha1 (datasketch default hash)'] / datatrove_rate:.1f}x")
    assert sig_poly.shape == sig_sha1.shape


if __name__ == "__main__":
    main()
