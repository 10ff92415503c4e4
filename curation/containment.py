"""Containment: reject a document when one document that outranks it holds most of its text.

Whole-document Jaccard misses an excerpt copied into a shorter page (the excerpt's n-grams are a small part
of the source's set). DCLM's BFF and Dolma ask instead which fraction of a document's n-grams were *seen
before*, in a Bloom filter filled in corpus order. That verdict depends on the order and on the corpus size:
the more text came before, the more of an ordinary document's phrases were "seen" (measured here on a 400k
run: 1.85% of ordinary documents removed in its first half, 6.06% in its second), and the pass is sequential.

Definition here, the same at any order and scale:
- A document's unit is its set of distinct word n-grams (`minhash.ngram_sets`).
- Documents are totally ordered by rank: more distinct n-grams first, then a higher quality score, then a
  hash of the id (`rank_keys`). No input position enters.
- A document d is `contained` when it has at least `min_ngrams` n-grams and one document e that outranks it
  shares at least `threshold` of d's n-grams; `containment` is that largest shared fraction and `duplicate_of`
  names e (the one sharing most; ties: the earlier in input order). Pairs, not a union: phrases that d shares by chance
  with many unrelated documents never add up.
- An n-gram held by more than `max_ngram_documents` documents is a common phrase, not evidence of copying: it
  stays in d's count but is never shared. (An excerpt copied into more pages than that, each with text of its
  own, is therefore not caught; whole copies are exact or fuzzy duplicates, removed before this stage.)
Because rank is a total order, of two documents containing each other only the lower-ranked one goes. In a
chain d ⊂ e ⊂ f both d and e go, and d's text survives in f as far as e's does.

Sharded as a hash shuffle, so no task holds the corpus: each input part writes its documents' (n-gram, node,
rank) rows split into `num_partitions` ranges of n-gram hash (`ngram_task`); each partition task lists, for
every n-gram of its range, the pairs (lower-ranked, higher-ranked) of the documents holding it and counts them
(`containment_pairs_task`, `shared_pairs`); each input part gathers the counts of its own documents from every
partition and decides (`containment_task`, `verdicts`). `dedup_documents` (in memory) applies the same functions.

Across runs: each partition task writes a Bloom filter of the n-grams of its range held by kept documents
(`containment_index_task`), and `<work_dir>/containment_index/meta.json` lists them with the n-gram size, hash
scheme and the sha256 of each filter's bits. A later run lists such folders in `containment.reference_indexes`;
there the fraction of a document's n-grams found in an earlier run's kept text counts too (earlier runs win,
as with `reference_signatures`), each partition task reading only the earlier filters of its own hash range.
An index built with another n-gram size or hash scheme is refused. Each filter is sized from the exact n-gram
count of its range for `bloom_false_positive_rate`; k indexes together give about k times that rate.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sciloom.curation.atomic_write import write_bytes_atomic, write_json_atomic
from sciloom.curation.component_rounds import read_moves, write_moves
from sciloom.curation.dedup_config import ContainmentConfig
from sciloom.curation.exact_dedup import (CONTAINED, QUALITY_COLUMN, IndexPart, index_rows, labelled_rows,
                                          read_decisions, send_by_component, write_table_atomic)
from sciloom.curation.executor import Task
from sciloom.curation.lsh import fmix64
from sciloom.curation.map_stage import part_path
from sciloom.curation.minhash import ngram_sets, sorted_distinct
from sciloom.curation.shuffle import partition_names, read_partition, write_partitions
from sciloom.curation.stats import StepStats

_U64 = np.uint64
T = TypeVar("T")
REFERENCE = -1  # the `higher` node of a pair row that counts n-grams found in earlier runs' indexes
_META_FILE = "meta.json"
# What the bits mean: bump `format` when the word normalisation, n-gram hash, partitioning or filter hashing change.
_INDEX_SCHEME = {"format": "sciloom-containment-bloom/2", "ngram_hash": "minhash.ngram_sets poly64",
                 "bloom_hash": "fmix64 double hashing", "partitioning": "top 32 bits, ranges"}
_SHUFFLE_SCHEMA = pa.schema([("gram", pa.uint64()), ("node", pa.int64()), ("rank", pa.int64())])
_PAIR_SCHEMA = pa.schema([("lower", pa.int64()), ("higher", pa.int64()), ("shared", pa.int64())])


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

    def add(self, keys: np.ndarray, chunk: int = 1 << 18) -> None:
        # Unbuffered OR per position, in chunks of keys: no sort of the k positions per key (several times faster than
        # sorting) and no byte-per-bit scratch array (8x the filter) either.
        for start in range(0, keys.size, chunk):
            pos = self._positions(keys[start:start + chunk]).ravel()
            np.bitwise_or.at(self.bits, pos >> 3, (1 << (pos & 7)).astype(np.uint8))


def hash_range_partitions(grams: np.ndarray, num_partitions: int) -> np.ndarray:
    """The partition of each n-gram hash: its top 32 bits cut into `num_partitions` equal ranges (so a partition
    of one run overlaps only a few partitions of an earlier run's index with another count)."""
    return ((grams >> _U64(32)) * _U64(num_partitions) >> _U64(32)).astype(np.int64)


def rank_keys(sizes: np.ndarray, quality: np.ndarray, ids: Sequence[str]) -> np.ndarray:
    """One int64 per document, larger = outranks: distinct n-grams (24 bits, capped), then quality in [0, 1]
    (16 bits; missing = 0), then 23 bits of a hash of the id. Equal keys fall back to the node (see shared_pairs)."""
    size = np.minimum(sizes.astype(np.int64), (1 << 24) - 1)
    q = np.nan_to_num(np.clip(quality.astype(np.float64), 0.0, 1.0), nan=0.0)
    q16 = np.round(q * 65535).astype(np.int64)
    id_hash = np.fromiter((int.from_bytes(hashlib.blake2b(i.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                                          "little") & ((1 << 23) - 1) for i in ids), dtype=np.int64, count=len(ids))
    return (size << 39) | (q16 << 23) | id_hash


def sum_by_pair(lower: np.ndarray, higher: np.ndarray,
                weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, higher, summed weight) once per distinct pair, sorted by lower then higher."""
    order = np.lexsort((higher, lower))
    lower, higher, weights = lower[order], higher[order], weights[order]
    if lower.size == 0:
        return lower, higher, weights.astype(np.int64)
    first = np.flatnonzero(np.concatenate([[True], (lower[1:] != lower[:-1]) | (higher[1:] != higher[:-1])]))
    return lower[first], higher[first], np.add.reduceat(weights, first).astype(np.int64)


def shared_pairs(grams: np.ndarray, nodes: np.ndarray, ranks: np.ndarray,
                 max_documents: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """(lower, higher, shared): for every pair of documents holding a common n-gram (held by at most
    `max_documents` documents), the lower-ranked node, the higher-ranked one and how many such n-grams they
    share. Rows are (n-gram, node) with each document's n-grams distinct; notes count what was skipped."""
    order = np.lexsort((nodes, -ranks, grams))  # by n-gram, then rank down, then node up
    g, n = grams[order], nodes[order]
    new = np.concatenate([[True], g[1:] != g[:-1]]) if g.size else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, g.size))
    group = np.cumsum(new) - 1
    local = np.arange(g.size) - starts[group]  # how many members of its n-gram's group outrank this row
    counted = (sizes >= 2) & (sizes <= max_documents)
    reps = np.where(counted[group], local, 0)
    lower_rows = np.repeat(np.arange(g.size), reps)
    offsets = np.arange(lower_rows.size) - np.repeat(np.cumsum(reps) - reps, reps)
    higher_rows = np.repeat(starts[group], reps) + offsets
    notes = {"ngrams": int(g.size), "ngrams_shared": int(sizes[counted].sum()),
             "ngrams_too_common": int(sizes[sizes > max_documents].sum())}
    return (*sum_by_pair(n[lower_rows], n[higher_rows], np.ones(lower_rows.size, dtype=np.int64)), notes)


@dataclass(frozen=True)
class Verdicts:
    fraction: np.ndarray  # float32, NaN for a document without n-grams
    contained: np.ndarray  # bool
    container: np.ndarray  # int64 node of the document it copies; -1 when kept or found only in an earlier run


def verdicts(nodes: np.ndarray, sizes: np.ndarray, lower: np.ndarray, higher: np.ndarray, shared: np.ndarray,
             config: ContainmentConfig) -> Verdicts:
    """Each document's verdict from its pair rows (`lower` = its node): the largest share of its n-grams held by one
    outranking document, or by earlier runs' indexes (`higher` = REFERENCE)."""
    in_run = higher != REFERENCE
    # Per document, its best pair first: most shared, then the smaller node (a tie only changes which document is
    # named, never the verdict).
    order = np.lexsort((higher[in_run], -shared[in_run], lower[in_run]))
    lo, hi, sh = lower[in_run][order], higher[in_run][order], shared[in_run][order]
    best = np.concatenate([[True], lo[1:] != lo[:-1]]) if lo.size else np.zeros(0, dtype=bool)
    best_shared = np.zeros(nodes.size, dtype=np.int64)
    container = np.full(nodes.size, -1, dtype=np.int64)
    at = np.searchsorted(nodes, lo[best])
    best_shared[at], container[at] = sh[best], hi[best]
    reference = np.zeros(nodes.size, dtype=np.int64)
    np.add.at(reference, np.searchsorted(nodes, lower[~in_run]), shared[~in_run])
    with np.errstate(invalid="ignore", divide="ignore"):
        from_pair = best_shared / sizes
        fraction = np.maximum(from_pair, reference / sizes).astype(np.float32)
    contained = (sizes >= config.min_ngrams) & (fraction >= config.threshold)
    container = np.where(contained & (from_pair >= config.threshold), container, -1)
    return Verdicts(fraction, contained, container)


@dataclass
class ReferenceIndex:
    """An earlier run's kept n-grams: one Bloom filter per hash range, loaded (and checked) when first needed."""

    folder: Path
    where: str
    meta: dict
    _filters: dict[int, BloomFilter] = field(default_factory=dict)

    def part(self, partition: int) -> BloomFilter:
        if partition not in self._filters:
            info = self.meta["partitions"][partition]
            bits_path = self.folder / info["file"]
            data = bits_path.read_bytes() if bits_path.is_file() else b""
            if hashlib.sha256(data).hexdigest() != info["bits_sha256"]:
                raise ValueError(f"{self.where}: {bits_path} is missing or does not match the checksum in {_META_FILE}")
            self._filters[partition] = BloomFilter(info["num_bits"], info["num_hashes"], np.frombuffer(data, np.uint8))
        return self._filters[partition]

    def contains(self, grams: np.ndarray) -> np.ndarray:
        found = np.zeros(grams.size, dtype=bool)
        partition = hash_range_partitions(grams, len(self.meta["partitions"]))
        for q in np.flatnonzero(np.bincount(partition)):
            rows = partition == q
            found[rows] = self.part(int(q)).contains(grams[rows])
        return found


def reference_rows(grams: np.ndarray, nodes: np.ndarray, earlier: Sequence[ReferenceIndex]) -> tuple[np.ndarray, ...]:
    """Pair rows (node, REFERENCE, n-grams found in any earlier run's index) for the given (n-gram, node) rows."""
    found = np.zeros(grams.size, dtype=bool)
    for index in earlier:
        found |= index.contains(grams)
    hits = int(found.sum())
    return sum_by_pair(nodes[found], np.full(hits, REFERENCE, dtype=np.int64), np.ones(hits, dtype=np.int64))


def judge_in_memory(grams: Sequence[np.ndarray], ranks: np.ndarray, config: ContainmentConfig,
                    earlier: Sequence[ReferenceIndex] = ()) -> Verdicts:
    """The stages' verdicts for one small collection (nodes are list positions)."""
    sizes = np.array([g.size for g in grams], dtype=np.int64)
    nodes = np.arange(len(grams), dtype=np.int64)
    flat = np.concatenate(list(grams)) if len(grams) else np.zeros(0, dtype=_U64)
    flat_nodes = np.repeat(nodes, sizes)
    lower, higher, shared, _ = shared_pairs(flat, flat_nodes, np.repeat(ranks, sizes), config.max_ngram_documents)
    ref = reference_rows(flat, flat_nodes, earlier)
    return verdicts(nodes, sizes, np.concatenate([lower, ref[0]]), np.concatenate([higher, ref[1]]),
                    np.concatenate([shared, ref[2]]), config)


def docs_file(stage_dir: Path, task_id: str) -> Path:
    return stage_dir / f"docs-{task_id}.parquet"


def ngram_task(config: ContainmentConfig, num_partitions: int, parts: list[IndexPart], decisions: Path | None,
               task: Task, stage_dir: Path) -> list[StepStats]:
    """Distinct n-gram hashes of each document of one input part that survived exact and fuzzy dedup: the
    documents (id, node, n-gram count) for its own verdicts, and (n-gram, node, rank) rows split by n-gram
    range for the partition tasks."""
    stats = StepStats("containment_ngrams")
    with stats.timer():
        position = [p.name for p in parts].index(task.task_id)
        names = pq.read_schema(task.inputs[0]).names
        columns = ["id", "text"] + ([QUALITY_COLUMN] if QUALITY_COLUMN in names else [])
        table = pq.read_table(task.inputs[0], columns=columns)
        removed = set(read_decisions(decisions, task.task_id, ["id"]).column("id").to_pylist()) if decisions else set()
        ids = table.column("id").to_pylist()
        rows = np.array([r for r, i in enumerate(ids) if i not in removed], dtype=np.int64)
        texts = table.column("text").take(pa.array(rows, pa.int64())).to_pylist()
        grams = ngram_sets([t or "" for t in texts], config.ngram)
        sizes = np.array([g.size for g in grams], dtype=np.int64)
        quality = (table.column(QUALITY_COLUMN).take(pa.array(rows, pa.int64())).cast(pa.float64())
                   .to_numpy(zero_copy_only=False) if QUALITY_COLUMN in names else np.full(rows.size, np.nan))
        kept_ids = [ids[r] for r in rows]
        ranks = rank_keys(sizes, quality, kept_ids)
        nodes = (np.int64(position) << 32) | rows
        write_table_atomic(docs_file(stage_dir, task.task_id), pa.table(
            {"id": pa.array(kept_ids, pa.string()), "node": nodes, "size": sizes}))
        flat = np.concatenate(grams) if grams else np.zeros(0, dtype=_U64)
        flat_nodes, flat_ranks = np.repeat(nodes, sizes), np.repeat(ranks, sizes)
        write_partitions(stage_dir, task.task_id,
                         pa.table({"gram": flat, "node": flat_nodes, "rank": flat_ranks}, schema=_SHUFFLE_SCHEMA),
                         hash_range_partitions(flat, num_partitions), num_partitions)
        stats.docs_in = stats.docs_out = len(kept_ids)
        stats.notes["ngrams"] += int(flat.size)
    return [stats]


def containment_pairs_task(config: ContainmentConfig, ngram_dir: Path, part_names: list[str], num_parts: int,
                           task: Task, stage_dir: Path) -> list[StepStats]:
    """One n-gram range of every part: the shared-n-gram counts of its document pairs, and each document's
    n-grams found in earlier runs' indexes; shuffled by the part of the lower-ranked node (its verdict's part)."""
    stats = StepStats("containment_pairs")
    with stats.timer():
        partition = int(task.task_id)
        rows = read_partition(ngram_dir, part_names, partition)
        grams, nodes = rows.column("gram").to_numpy(), rows.column("node").to_numpy()
        lower, higher, shared, notes = shared_pairs(grams, nodes, rows.column("rank").to_numpy(),
                                                    config.max_ngram_documents)
        ref = reference_rows(grams, nodes, read_reference_indexes(config))
        pairs = pa.table({"lower": np.concatenate([lower, ref[0]]), "higher": np.concatenate([higher, ref[1]]),
                          "shared": np.concatenate([shared, ref[2]])}, schema=_PAIR_SCHEMA)
        lower_part = (pairs.column("lower").to_numpy() >> 32).astype(np.int64)
        write_partitions(stage_dir, task.task_id, pairs, lower_part, num_parts)
        for key, value in notes.items():
            stats.notes[key] += value
        stats.notes["document_pairs"] += int(lower.size)
        stats.notes["ngrams_in_earlier_runs"] += int(ref[2].sum())
    return [stats]


def containment_task(config: ContainmentConfig, num_partitions: int, parts: list[IndexPart], ngram_dir: Path,
                     pairs_dir: Path, task: Task, stage_dir: Path) -> list[StepStats]:
    """One input part's verdicts, from its documents' pair counts gathered from every partition (its own batch of
    each partition's shuffle file)."""
    stats = StepStats("containment")
    with stats.timer():
        docs = pq.read_table(docs_file(ngram_dir, task.task_id), columns=["id", "node", "size"])
        position = [p.name for p in parts].index(task.task_id)
        pairs = read_partition(pairs_dir, partition_names(num_partitions), position)
        # A pair's n-grams spread over partitions: add its counts up first.
        summed = sum_by_pair(*(pairs.column(c).to_numpy() for c in ("lower", "higher", "shared")))
        nodes = docs.column("node").to_numpy()
        result = verdicts(nodes, docs.column("size").to_numpy(), *summed, config)
        containers = np.unique(result.container[result.container >= 0])
        names = dict(zip(containers.tolist(), index_rows(parts, containers, ["id"]).column("id").to_pylist()))
        write_table_atomic(part_path(stage_dir, task.task_id), pa.table({
            "id": docs.column("id"), "node": nodes,
            "containment": pa.array(result.fraction, pa.float32(), from_pandas=True),  # NaN: not judged
            "contained": pa.array(result.contained, pa.bool_()),
            "duplicate_of": pa.array([names.get(c) for c in result.container.tolist()], pa.string())}))
        into = result.contained & (result.container >= 0)  # the others are contained in an earlier run's text only
        write_moves(stage_dir, task.task_id, nodes[into], result.container[into], num_partitions)
        stats.docs_in = docs.num_rows
        stats.rejected[CONTAINED] = int(result.contained.sum())
        stats.docs_out = stats.docs_in - stats.rejected[CONTAINED]
    return [stats]


_CHAIN_END_SCHEMA = pa.schema([("id", pa.string()), ("final", pa.string())])


def final_document(moved: Mapping[T, T], start: T) -> T:
    """Follow `duplicate_of` links from `start` to a document that was not moved (a chain d ⊂ e ⊂ f ends in f;
    rank order makes the links acyclic)."""
    while start in moved:
        start = moved[start]
    return start


def chain_edges(verdict_dir: Path, part_names: list[str], removal_moves: tuple[Path, list[str]] | None,
                task: Task) -> tuple[np.ndarray, np.ndarray, StepStats]:
    """One partition's links of the chains a removed document's text is followed along: each contained document to
    the one containing it, each exact or near duplicate to the copy its group keeps (`removal_moves`: the folder of
    the stage that wrote them and its tasks). Every document goes to at most one other and rank order makes the
    links acyclic: a component is a tree, and its one document that does not go is where each of its documents'
    text ends."""
    stats = StepStats("containment_chains")
    with stats.timer():
        partition = int(task.task_id)
        u, v = read_moves(verdict_dir, part_names, partition)
        if removal_moves is not None:
            moved, to = read_moves(*removal_moves, partition)
            u, v = np.concatenate([u, moved]), np.concatenate([v, to])
        stats.notes["links"] += len(u)
    return u, v, stats


def chain_members_task(parts: list[IndexPart], labels_dir: Path, verdict_dir: Path, decisions: Path | None,
                       num_partitions: int, task: Task, stage_dir: Path) -> list[StepStats]:
    """One index part's documents on chains: id and whether it goes (contained in a document of this run, or
    removed by exact or fuzzy dedup), shuffled by its tree (the hash of its label)."""
    stats = StepStats("contained_members")
    with stats.timer():
        position, members = labelled_rows(parts, labels_dir, num_partitions, task, ["id"])
        part, nodes, ids = parts[position], members.column("node").to_numpy(), members.column("id").cast(pa.string())
        goes = np.zeros(len(nodes), dtype=bool)
        if not part.reference:  # an earlier run's documents are never removed: chains end there
            verdicts = pq.read_table(part_path(verdict_dir, part.name), columns=["node"],
                                     filters=pc.field("contained") & pc.field("duplicate_of").is_valid())
            goes = np.isin(nodes, verdicts.column("node").to_numpy())
            if decisions is not None:
                removed = read_decisions(decisions, part.name, ["id"]).column("id").combine_chunks()
                goes |= pc.is_in(ids, value_set=removed).to_numpy(zero_copy_only=False)
        members = pa.table({"label": members.column("label"), "node": nodes, "id": ids, "goes": goes})
        send_by_component(stage_dir, task.task_id, members, num_partitions)
        stats.docs_in = stats.docs_out = len(nodes)
    return [stats]


def chain_ends_task(parts: list[IndexPart], members_dir: Path, task: Task, stage_dir: Path) -> list[StepStats]:
    """One partition's trees: each document that goes, with the kept document its tree ends in (`final`), shuffled
    by its part."""
    stats = StepStats("contained")
    with stats.timer():
        table = read_partition(members_dir, [p.name for p in parts], int(task.task_id))
        label, goes = table.column("label").to_numpy(), table.column("goes").to_numpy(zero_copy_only=False)
        order = np.lexsort((goes, label))  # each tree's one document that stays comes first
        first = np.ones(len(order), dtype=bool)
        first[1:] = label[order][1:] != label[order][:-1]
        end = np.empty(len(order), dtype=np.int64)
        end[order] = order[np.flatnonzero(first)[np.cumsum(first) - 1]]
        rows = np.flatnonzero(goes)
        ids = table.column("id")
        ends = pa.table({"id": ids.take(pa.array(rows)), "final": ids.take(pa.array(end[rows]))},
                        schema=_CHAIN_END_SCHEMA)
        write_partitions(stage_dir, task.task_id, ends, table.column("node").to_numpy()[rows] >> 32, len(parts))
        stats.docs_in, stats.docs_out = table.num_rows, len(rows)
        stats.notes["trees"] += int(first.sum())
        stats.notes["trees_without_an_end"] += int(np.count_nonzero(goes[order][first]))
    return [stats]


def read_contained(contained_dir: Path, num_partitions: int, part_position: int) -> pa.Table:
    """(id, final) of one part's documents that go (`chain_ends_task`), contained or duplicates: the kept document
    each one's text ends in."""
    return read_partition(contained_dir, partition_names(num_partitions), part_position)


def containment_index_task(config: ContainmentConfig, ngram_dir: Path, verdict_dir: Path, part_names: list[str],
                           task: Task, stage_dir: Path) -> list[StepStats]:
    """This run's kept n-grams of one n-gram range, as a Bloom filter sized for exactly their number. Each part's
    rows of the range are read with that part's contained nodes only (from its verdicts): a node belongs to the
    part that wrote it."""
    stats = StepStats("containment_index")
    with stats.timer():
        partition = int(task.task_id)
        kept = []
        for position, name in enumerate(part_names):
            rows = read_partition(ngram_dir, [name], partition, columns=["gram", "node"])
            gone = pq.read_table(part_path(verdict_dir, name), columns=["node"],
                                 filters=[("contained", "=", True)]).column("node").to_numpy()
            kept.append(rows.column("gram").to_numpy()[~np.isin(rows.column("node").to_numpy(), gone)])
        stats.notes["kept_ngrams"] += write_range_filter(stage_dir, partition, kept, config)
    return [stats]


def write_range_filter(folder: Path, partition: int, grams: Sequence[np.ndarray], config: ContainmentConfig) -> int:
    """A Bloom filter of the distinct n-grams given, sized for exactly their number, and its description beside
    it (read by write_index_meta); returns the number of distinct n-grams."""
    distinct = sorted_distinct(np.concatenate(list(grams))) if len(grams) else np.zeros(0, dtype=_U64)
    filter_ = BloomFilter.sized(distinct.size, config.bloom_false_positive_rate)
    filter_.add(distinct)
    data = filter_.bits.tobytes()
    bits_file = f"bloom-{partition:05d}.bin"
    write_bytes_atomic(folder / bits_file, data)
    write_json_atomic(folder / f"bloom-{partition:05d}.json", {
        "file": bits_file, "num_bits": filter_.num_bits, "num_hashes": filter_.num_hashes,
        "ngrams": int(distinct.size), "bits_sha256": hashlib.sha256(data).hexdigest()})
    return int(distinct.size)


def index_params(config: ContainmentConfig) -> dict:
    return {**_INDEX_SCHEME, "ngram": config.ngram}


def write_index_meta(folder: Path, config: ContainmentConfig, num_partitions: int) -> None:
    """The index's description, once every partition's filter is written: the partitions' sizes and checksums
    (what a later run checks before trusting the bits)."""
    partitions = [json.loads((folder / f"bloom-{p:05d}.json").read_text()) for p in range(num_partitions)]
    write_json_atomic(folder / _META_FILE, {**index_params(config), "num_partitions": num_partitions,
                                           "partitions": partitions})


def write_index(folder: Path, config: ContainmentConfig, kept_grams: Sequence[np.ndarray]) -> None:
    """An index of the given documents' n-grams as one partition (what containment_index_task writes, in memory)."""
    write_range_filter(folder, 0, kept_grams, config)
    write_index_meta(folder, config, 1)


def reference_index_metas(config: ContainmentConfig) -> list[dict]:
    """Earlier runs' index descriptions, refused with the field path when missing or built differently."""
    metas = []
    for i, folder in enumerate(config.reference_indexes):
        where = f"dedup.containment.reference_indexes[{i}]: {folder}"
        meta_path = Path(folder) / _META_FILE
        if not meta_path.is_file():
            raise ValueError(f"{where} has no {_META_FILE}; expected the `containment_index` folder of an "
                             f"earlier run's dedup work dir")
        meta = json.loads(meta_path.read_text())
        built_with = {k: meta.get(k) for k in index_params(config)}
        if built_with != index_params(config):
            raise ValueError(f"{where} was built with {built_with}, this run uses {index_params(config)}; "
                             f"its n-grams cannot be compared (rebuild it with these parameters)")
        metas.append(meta)
    return metas


def read_reference_indexes(config: ContainmentConfig) -> list[ReferenceIndex]:
    """Earlier runs' indexes (read-only); each partition's bits are checked when first read."""
    return [ReferenceIndex(Path(folder), f"dedup.containment.reference_indexes[{i}]", meta)
            for i, (folder, meta) in enumerate(zip(config.reference_indexes, reference_index_metas(config)))]
