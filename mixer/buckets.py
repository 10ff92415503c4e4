"""Bucket counts (source, discipline, tier) of the labelled corpus, with token estimates for planning.

One Ray task per labelled part reads only the ids, the label columns and the text byte lengths (the labelling
step's `text_bytes`; parts written without it have their text read for its length) and returns its counts; the
driver merges them in part order, so what it holds is counters per bucket, never per document. Then the first
few documents of each bucket are read back from their row groups and tokenized to measure that bucket's tokens
per byte (mathematics and prose tokenize differently), so the plan is in tokens before the corpus is tokenized.
The same pass chooses the held-out documents, so training buckets count only the documents training may use.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from sciloom.curation.document import iter_parts, values_at
from sciloom.curation.ray_runtime import ensure_ray, map_in_order
from sciloom.mixer.config import HeldOutConfig
from sciloom.mixer.held_out import BucketKey, HeldOutChooser, HeldOutRule, id_hash
from sciloom.mixer.plan import Bucket
from sciloom.mixer.row_groups import byte_lengths, iter_row_group_batches, length_column
from sciloom.mixer.tokenize import DocumentEncoder

LABEL_COLUMNS = ("source", "discipline", "quality_tier")


@dataclass
class CorpusCounts:
    train: list[Bucket]  # what the training streams may draw from
    held_out: list[Bucket]  # the held-out documents, written once as their own stream
    rule: HeldOutRule
    unusable: Counter  # documents that fit no bucket, by reason


@dataclass
class PartCounts:
    """One part's documents and bytes per (bucket, below the held-out share), and its first rows of each bucket."""

    documents: Counter
    nbytes: Counter
    unusable: Counter
    chooser: HeldOutChooser
    sample_rows: dict[BucketKey, list[int]]


def count_part(path: str, sample_docs: int, held_out: HeldOutConfig) -> PartCounts:
    missing = set(("id", "text") + LABEL_COLUMNS) - set(pq.read_schema(path).names)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}; is this the classifiers' labelled output?")
    counts = PartCounts(Counter(), Counter(), Counter(), HeldOutChooser(held_out), defaultdict(list))
    # One object per distinct bucket key: the driver unpickles each part's result, and pickle writes an object it
    # has seen as a reference.
    interned: dict[BucketKey, BucketKey] = {}
    row = 0
    for batch in iter_row_group_batches(path, ["id", *LABEL_COLUMNS, length_column(path)], 4096):
        labels = zip(*(batch.column(c).to_pylist() for c in LABEL_COLUMNS))
        for doc_id, key, length in zip(batch.column("id").to_pylist(), labels, byte_lengths(batch)):
            if length is None or length == 0:
                counts.unusable["empty_text"] += 1
            elif None in key:
                counts.unusable["missing_label"] += 1
            elif doc_id is None:
                counts.unusable["missing_id"] += 1
            else:
                key = interned.setdefault(key, key)
                below_share = counts.chooser.add(id_hash(doc_id), key, length)
                counts.documents[key, below_share] += 1
                counts.nbytes[key, below_share] += length
                if len(counts.sample_rows[key]) < sample_docs:
                    counts.sample_rows[key].append(row)
            row += 1
    counts.chooser.trim()
    return counts


class NoLabelledParts(FileNotFoundError):
    def __init__(self, labelled_dir: Path) -> None:
        super().__init__(f"no labelled parts (part-*.parquet) in {labelled_dir}: the classification phase writes them")


def count_buckets(labelled_dir: Path, encoder: DocumentEncoder, sample_docs: int,
                  held_out: HeldOutConfig) -> CorpusCounts:
    """Buckets in a stable order (training and held-out), the held-out rule, and unusable documents by reason."""
    documents: Counter = Counter()  # (key, held out) -> documents
    nbytes: Counter = Counter()
    sample_rows: dict[BucketKey, list[tuple[Path, int]]] = defaultdict(list)
    unusable: Counter = Counter()
    chooser = HeldOutChooser(held_out)
    parts = list(iter_parts(labelled_dir))
    if not parts:
        raise NoLabelledParts(labelled_dir)
    ensure_ray()
    # In part order: each bucket's sample is its first documents in the parts' order, whatever the task timing.
    for path, part in zip(parts, map_in_order(count_part, ((str(p), sample_docs, held_out) for p in parts))):
        documents.update(part.documents)
        nbytes.update(part.nbytes)
        unusable.update(part.unusable)
        chooser.merge(part.chooser)
        for key, rows in part.sample_rows.items():
            sample_rows[key].extend((path, row) for row in rows[:sample_docs - len(sample_rows[key])])
    samples = _sample_texts(sample_rows)
    rule, moved = chooser.finish()
    for doc in moved:
        documents[doc.key, not doc.held_out] -= 1
        nbytes[doc.key, not doc.held_out] -= doc.nbytes
        documents[doc.key, doc.held_out] += 1
        nbytes[doc.key, doc.held_out] += doc.nbytes
    sides: dict[bool, list[Bucket]] = {False: [], True: []}
    for key in sorted(samples):
        sample = samples[key]
        sample_tokens = sum(len(t) - encoder.specials_per_document for t in encoder.encode_batch(sample))
        tokens_per_byte = sample_tokens / sum(len(s.encode()) for s in sample)
        for held in (False, True):
            if documents[key, held]:
                tokens = nbytes[key, held] * tokens_per_byte + documents[key, held] * encoder.specials_per_document
                sides[held].append(Bucket(*key, documents=documents[key, held], bytes=nbytes[key, held], tokens=tokens))
    return CorpusCounts(train=sides[False], held_out=sides[True], rule=rule, unusable=unusable)


def _sample_texts(rows: dict[tuple[str, str, str], list[tuple[Path, int]]]) -> dict[tuple[str, str, str], list[str]]:
    """The texts at the sampled rows, each part's row groups read once."""
    by_part: dict[Path, list[int]] = defaultdict(list)
    for located in rows.values():
        for path, row in located:
            by_part[path].append(row)
    texts = {path: dict(zip(wanted, values_at(path, wanted, "text"))) for path, wanted in by_part.items()}
    return {key: [texts[path][row] for path, row in located] for key, located in rows.items()}
