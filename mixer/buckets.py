"""Bucket counts (source, discipline, tier) of the labelled corpus, with token estimates for planning.

One pass over the labelled parts reads only the label columns and the text byte lengths; a few
documents per bucket are tokenized to measure that bucket's tokens per byte (mathematics and prose
tokenize differently), so the plan is in tokens before the corpus is tokenized.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.document import iter_parts
from mixer.plan import Bucket
from mixer.row_groups import iter_row_group_batches
from mixer.tokenize import DocumentEncoder

LABEL_COLUMNS = ("source", "discipline", "quality_tier")


def count_buckets(labelled_dir: Path, encoder: DocumentEncoder, sample_docs: int) -> tuple[list[Bucket], Counter]:
    """Buckets in a stable order, and documents that fit no bucket counted by reason."""
    documents: Counter = Counter()
    nbytes: Counter = Counter()
    samples: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    unusable: Counter = Counter()
    parts = list(iter_parts(labelled_dir))
    if not parts:
        raise FileNotFoundError(f"no labelled parts (part-*.parquet) in {labelled_dir}")
    for path in parts:
        missing = set(LABEL_COLUMNS + ("text",)) - set(pq.read_schema(path).names)
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}; is this the classifiers' labelled output?")
        for batch in iter_row_group_batches(path, [*LABEL_COLUMNS, "text"], 4096):
            lengths = pc.binary_length(batch.column("text")).to_pylist()
            labels = zip(*(batch.column(c).to_pylist() for c in LABEL_COLUMNS))
            for row, (key, length) in enumerate(zip(labels, lengths)):
                if length is None or length == 0:
                    unusable["empty_text"] += 1
                elif None in key:
                    unusable["missing_label"] += 1
                else:
                    documents[key] += 1
                    nbytes[key] += length
                    if len(samples[key]) < sample_docs:
                        samples[key].append(batch.column("text")[row].as_py())
    buckets = []
    for key in sorted(documents):
        sample = samples[key]
        sample_tokens = sum(len(t) - encoder.specials_per_document for t in encoder.encode_batch(sample))
        tokens_per_byte = sample_tokens / sum(len(s.encode()) for s in sample)
        tokens = nbytes[key] * tokens_per_byte + documents[key] * encoder.specials_per_document
        buckets.append(Bucket(*key, documents=documents[key], bytes=nbytes[key], tokens=tokens))
    return buckets, unusable
