"""Containment: reject a document mostly made of text already seen in *kept, earlier* documents.

Whole-document Jaccard misses an excerpt copied into a shorter page (the excerpt's n-grams are a small
part of the source's set). DCLM's BFF and Dolma instead ask, per document, which fraction of its n-grams
(paragraphs for Dolma) were seen before. DCLM's issue #71 shows the trap: a Bloom filter filled with all
documents (or updated between passes) makes the original and its copy both look "seen" and removes both,
and which one survives depends on worker scheduling.

Design here:
- One deterministic order: index parts sorted by name, rows in file order (an earlier crawl part first).
- One sequential pass in that order. A document's distinct word n-grams are looked up in a Bloom filter
  holding only the n-grams of documents *kept before it*; its own n-grams never count against it. (The
  pass runs in batches with the same result: within a batch, n-grams of earlier kept documents are
  tracked exactly, and the filter is updated once per batch.)
- It is rejected as `contained` when at least `threshold` of them were seen (and it has `min_ngrams`);
  otherwise it is kept and only then its n-grams go into the filter.
So every n-gram that removes a document belongs to a kept document: a copy is removed, the original it
copies is always kept, and the result never depends on scheduling. A removed document names what it copies
(`duplicate_of`): the earlier kept document holding most of its n-grams, found exactly (not through the filter)
after the pass, from the n-grams of the removed documents only; it then sits in that document's cluster. The parallel part (tokenising and
hashing n-grams per input part) runs as Ray tasks; the pass itself is one task doing vectorised lookups.
The filter is sized from the exact n-gram count for `bloom_false_positive_rate`; a false positive can
only raise a fraction by about that rate, never make a document contain its own source.

Across runs: after the pass the filter holds exactly the n-grams of this run's kept documents; it is
written to `<work_dir>/containment/index/` (`bloom.bin` + `meta.json`, with the n-gram size and hash
scheme it was built with and the sha256 of its bits). A later run lists such folders in
`containment.reference_indexes`: an n-gram counts as seen when it is in this run's filter or in any
earlier one (read-only), so a document copying an earlier run's kept text is removed as `contained`.
An index built with another n-gram size or hash scheme is refused (its bits would mean other n-grams).
Each index keeps its own false-positive rate; k indexes together give about k times that rate.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sciloom.curation.dedup_config import ContainmentConfig
from sciloom.curation.exact_dedup import CONTAINED, read_decisions, write_table_atomic
from sciloom.curation.executor import Task
from sciloom.curation.map_stage import part_path
from sciloom.curation.lsh import fmix64
from sciloom.curation.minhash import ngram_sets
from sciloom.curation.atomic_write import write_bytes_atomic, write_json_atomic
from sciloom.curation.stats import StepStats

_U64 = np.uint64
INDEX_DIR = "index"
_BITS_FILE, _META_FILE = "bloom.bin", "meta.json"
# What the bits mean: bump `format` when the word normalisation, n-gram hash or filter hashing change.
_INDEX_SCHEME = {"format": "sciloom-containment-bloom/1", "ngram_hash": "minhash.ngram_sets poly64",
                 "bloom_hash": "fmix64 double hashing"}


class BloomFilter:
    """Packed-bit Bloom filter over uint64 keys (double hashing), deterministic."""

    def __init__(self, num_bits: int, num_hashes: int, bits: np.ndarray | None = None) -> None:
        self.num_bits, self.num_hashes = num_bits, num_hashes
        self.bits = np.zeros((num_bits + 7) // 8, dtype=np.uint8) if bits is None else bits

    @classmethod
    def sized(cls, expected_items: int, false_positive_rate: float) -> BloomFilter:
        n = max(expected_items, 1)
        num_bits = max(64, math.ceil(-n * math.log(false_positive_rate) / math.log(2) ** 2))
        return cls(num_bits, max(1, round(num_bits / n * math.log(2))))

    def _positions(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            h1 = fmix64(keys)
            h2 = fmix64(keys ^ _U64(0x5BD1E9955BD1E995)) | _U64(1)
            steps = np.arange(self.num_hashes, dtype=_U64)[:, None]
            return ((h1[None, :] + steps * h2[None, :]) % _U64(self.num_bits)).astype(np.int64)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        pos = self._positions(keys)
        hit = (self.bits[pos >> 3] >> (pos & 7).astype(np.uint8)) & 1
        return hit.all(axis=0)

    def add(self, keys: np.ndarray) -> None:
        if keys.size == 0:
            return
        pos = np.sort(self._positions(keys), axis=None)  # sorting, not np.unique: numpy 2.4 hashes, far slower here
        byte = pos >> 3
        first = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]]))
        # OR together the bits that land in the same byte, then set each byte once.
        self.bits[byte[first]] |= np.bitwise_or.reduceat((1 << (pos & 7)).astype(np.uint8), first)


def containment_fractions(ngrams_per_doc: list[np.ndarray], config: ContainmentConfig, filter_: BloomFilter,
                          earlier: Sequence[BloomFilter] = (), batch_docs: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(fraction seen, contained?) per document, in order, updating the filter with kept documents.

    `earlier` are earlier runs' indexes (read-only): their n-grams count as seen too.

    Exactly the one-by-one pass, batched: for a batch, "seen" is the filter as it stood before the batch
    (kept earlier documents) or an n-gram of a document kept earlier in the same batch (tracked exactly);
    the batch's kept n-grams then go into the filter at once.
    """
    fractions = np.full(len(ngrams_per_doc), np.nan, dtype=np.float32)
    contained = np.zeros(len(ngrams_per_doc), dtype=bool)
    for start in range(0, len(ngrams_per_doc), batch_docs):
        docs = ngrams_per_doc[start:start + batch_docs]
        offsets = np.cumsum([0] + [g.size for g in docs])
        if offsets[-1] == 0:
            continue
        flat = np.concatenate(docs)
        seen_before = filter_.contains(flat)
        for index in earlier:
            seen_before |= index.contains(flat)
        unique, inverse = np.unique(flat, return_inverse=True)
        kept_in_batch = np.zeros(unique.size, dtype=bool)
        for k, grams in enumerate(docs):
            if grams.size == 0:
                continue
            rows = slice(offsets[k], offsets[k + 1])
            fraction = float((seen_before[rows] | kept_in_batch[inverse[rows]]).mean())
            fractions[start + k] = fraction
            contained[start + k] = grams.size >= config.min_ngrams and fraction >= config.threshold
            if not contained[start + k]:
                kept_in_batch[inverse[rows]] = True
        filter_.add(unique[kept_in_batch])
    return fractions, contained


def judge_containment(ngrams_per_doc: Sequence[np.ndarray], config: ContainmentConfig, filter_: BloomFilter,
                      earlier: Sequence[BloomFilter] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fraction seen, contained?, index of the document each contained one copies or -1) per document, from the
    pass in the given order; `filter_` ends holding the kept documents' n-grams."""
    fractions, contained = containment_fractions(ngrams_per_doc, config, filter_, earlier)
    return fractions, contained, containing_documents(ngrams_per_doc, contained)


def containing_documents(ngrams_per_doc: Sequence[np.ndarray], contained: np.ndarray) -> np.ndarray:
    """Index of the document each contained one copies: the earlier kept document holding most of its n-grams
    (ties: the earliest); -1 for kept documents and for those whose n-grams only an earlier run's index holds."""
    result = np.full(len(ngrams_per_doc), -1, dtype=np.int64)
    removed = np.flatnonzero(contained)
    if removed.size == 0:
        return result
    wanted = np.unique(np.concatenate([ngrams_per_doc[i] for i in removed]))
    owner = np.full(wanted.size, -1, dtype=np.int64)  # first kept document holding each wanted n-gram

    def positions(grams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at = np.minimum(np.searchsorted(wanted, grams), wanted.size - 1)
        return at, wanted[at] == grams

    for doc in np.flatnonzero(~contained):
        at, hit = positions(ngrams_per_doc[doc])
        at = at[hit]
        owner[at[owner[at] < 0]] = doc
    for doc in removed:
        at, hit = positions(ngrams_per_doc[doc])
        owners = owner[at[hit]]
        owners = owners[(owners >= 0) & (owners < doc)]
        if owners.size:
            result[doc] = int(np.bincount(owners).argmax())
    return result


CONTAINED_FILE = "contained.parquet"


def ngrams_file(stage_dir: Path, task_id: str) -> Path:
    return stage_dir / f"ngrams-{task_id}.parquet"


def ngram_task(config: ContainmentConfig, decisions: Path | None, task: Task, stage_dir: Path) -> list[StepStats]:
    """Distinct n-gram hashes of each document of one input part that survived exact and fuzzy dedup."""
    stats = StepStats("containment_ngrams")
    with stats.timer():
        table = pq.read_table(task.inputs[0], columns=["id", "text"])
        removed = set(read_decisions(decisions, task.task_id).column("id").to_pylist()) if decisions else set()
        rows = [(i, t or "") for i, t in zip(table.column("id").to_pylist(), table.column("text").to_pylist())
                if i not in removed]
        ids = [i for i, _ in rows]
        grams = ngram_sets([t for _, t in rows], config.ngram)
        write_table_atomic(ngrams_file(stage_dir, task.task_id), pa.table(
            {"id": pa.array(ids, pa.string()), "ngrams": pa.array(grams, pa.list_(pa.uint64()))}))
        stats.docs_in = stats.docs_out = len(ids)
    return [stats]


def containment_task(config: ContainmentConfig, ngram_dir: Path, part_names: list[str], task: Task,
                     stage_dir: Path) -> list[StepStats]:
    stats = StepStats("containment")
    with stats.timer():
        tables = [pq.read_table(ngrams_file(ngram_dir, name)) for name in sorted(part_names)]
        total = sum(pc.sum(pc.list_value_length(t.column("ngrams"))).as_py() or 0 for t in tables)
        filter_ = BloomFilter.sized(total, config.bloom_false_positive_rate)
        earlier = read_reference_indexes(config)
        ids: list[str] = []
        every_doc: list[np.ndarray] = []
        for table in tables:
            lists = table.column("ngrams").combine_chunks()
            offsets = lists.offsets.to_numpy()
            values = lists.values.to_numpy()
            every_doc += [values[offsets[i]:offsets[i + 1]] for i in range(len(lists))]
            ids += table.column("id").to_pylist()
        fractions, contained, container = judge_containment(every_doc, config, filter_, earlier)
        removed = int(contained.sum())
        result = pa.table({"id": pa.array(ids, pa.string()),
                           "containment": pa.array(fractions, pa.float32(), from_pandas=True),  # NaN: not judged
                           "contained": pa.array(contained, pa.bool_()),
                           "duplicate_of": pa.array([ids[c] if c >= 0 else None for c in container.tolist()],
                                                    pa.string())})
        # One file per part (what the filter task of that part reads) and the contained documents of every part
        # (a removal elsewhere can re-point this part's exact or fuzzy duplicates to the document it copies).
        start = 0
        for name, table in zip(sorted(part_names), tables):  # rows are grouped by part, in this order
            write_table_atomic(part_path(stage_dir, name), result.slice(start, table.num_rows))
            start += table.num_rows
        write_table_atomic(stage_dir / CONTAINED_FILE, result.filter(result.column("contained")).select(["id", "duplicate_of"]))
        write_index(stage_dir / INDEX_DIR, filter_, config, kept_documents=result.num_rows - removed)
        stats.docs_in = result.num_rows
        stats.rejected[CONTAINED] = removed
        stats.docs_out = stats.docs_in - removed
    return [stats]


def index_params(config: ContainmentConfig) -> dict:
    return {**_INDEX_SCHEME, "ngram": config.ngram}


def write_index(folder: Path, filter_: BloomFilter, config: ContainmentConfig, kept_documents: int) -> None:
    """This run's kept n-grams for later runs; the bits first, then `meta.json` naming their checksum."""
    write_bytes_atomic(folder / _BITS_FILE, filter_.bits.tobytes())
    write_json_atomic(folder / _META_FILE, {
        **index_params(config), "num_bits": filter_.num_bits, "num_hashes": filter_.num_hashes,
        "kept_documents": kept_documents, "bits_sha256": hashlib.sha256(filter_.bits.tobytes()).hexdigest()})


def reference_index_metas(config: ContainmentConfig) -> list[dict]:
    """Earlier runs' index descriptions, refused with the field path when missing or built differently."""
    metas = []
    for i, folder in enumerate(config.reference_indexes):
        where = f"dedup.containment.reference_indexes[{i}]: {folder}"
        meta_path = Path(folder) / _META_FILE
        if not meta_path.is_file():
            raise ValueError(f"{where} has no {_META_FILE}; expected the `containment/{INDEX_DIR}` folder of an "
                             f"earlier run's dedup work dir")
        meta = json.loads(meta_path.read_text())
        built_with = {k: meta.get(k) for k in index_params(config)}
        if built_with != index_params(config):
            raise ValueError(f"{where} was built with {built_with}, this run uses {index_params(config)}; "
                             f"its n-grams cannot be compared (rebuild it with these parameters)")
        metas.append(meta)
    return metas


def read_reference_indexes(config: ContainmentConfig) -> list[BloomFilter]:
    """Earlier runs' filters (read-only), their bits checked against the checksum in their meta."""
    indexes = []
    for i, (folder, meta) in enumerate(zip(config.reference_indexes, reference_index_metas(config))):
        bits_path = Path(folder) / _BITS_FILE
        data = bits_path.read_bytes() if bits_path.is_file() else b""
        if hashlib.sha256(data).hexdigest() != meta["bits_sha256"]:
            raise ValueError(f"dedup.containment.reference_indexes[{i}]: {bits_path} is missing or does not "
                             f"match the checksum in {_META_FILE}")
        indexes.append(BloomFilter(meta["num_bits"], meta["num_hashes"], np.frombuffer(data, dtype=np.uint8)))
    return indexes
