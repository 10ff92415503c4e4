"""The Ray task of the mixer: one labelled part → its piece of every stream's shards.

A part is read once per epoch pass: pass e writes every document whose planned number of copies in a
stream exceeds e, so a repeated document's copies land a whole part apart rather than side by side.
Each document is tokenized once per pass whatever the number of streams that take it. The number of
copies is fixed by hashes of (seed, stream, document id) and the part's place among all parts: expected
copies = the bucket's planned repeats, and a rerun picks the same documents. Held-out documents
(mixer.held_out) get no copy in any training stream and exactly one in the `held_out` stream.
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import compress
from pathlib import Path

import numpy as np

from sciloom.curation.executor import Task
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.curation.stats import StepStats
from sciloom.mixer.config import TokenizerConfig
from sciloom.mixer.held_out import HELD_OUT_FOLDER, HeldOutRule
from sciloom.mixer.indexed_dataset import token_dtype
from sciloom.mixer.pack import PackedShardWriter
from sciloom.mixer.row_groups import byte_lengths, iter_row_group_batches, length_column
from sciloom.mixer.tokenize import DocumentEncoder

PARTS_DIR = "_parts"
_LABEL_COLUMNS = ["id", "source", "discipline", "quality_tier"]


@dataclass(frozen=True)
class StreamSpec:
    folder: str  # relative to the mixer output folder
    repeats: dict[tuple[str, str, str], float]  # bucket key -> expected copies per document


@dataclass(frozen=True)
class ShardJob:
    """Everything a worker needs (picklable: no open files or tokenizers)."""

    out_dir: Path
    tokenizer_file: Path
    tokenizer: TokenizerConfig
    seq_len: int
    block_size: int
    seed: int
    disciplines: tuple[str, ...]
    general_label: str
    streams: tuple[StreamSpec, ...]
    held_out: HeldOutRule
    positions: dict[str, float]  # task id -> its part's place, part_positions()
    batch_bytes: int = 2 << 20  # text per tokenizer call


def _rank(seed: int, folder: str, doc_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{folder}\x00{doc_id}".encode(), digest_size=8).digest()


def part_positions(seed: int, task_ids: list[str]) -> dict[str, float]:
    """Each part's place in [0, 1), evenly spaced in a stable pseudo-random order: the strata of the parts'
    sampling starts (copies_per_document)."""
    order = sorted(task_ids, key=lambda t: _rank(seed, "\x00parts", t))
    return {task_id: i / len(order) for i, task_id in enumerate(order)}


def copies_per_document(seed: int, folder: str, ids: list[str], keys: list[tuple], sizes: list[int],
                        repeats: dict[tuple[str, str, str], float], position: float) -> list[int]:
    """Copies of each document of one part (at `position`, from part_positions) in one stream.

    Every document of a bucket gets floor(repeats) copies, and one more with probability frac(repeats),
    by systematic sampling: per discipline, the part's documents in a stable pseudo-random order (hash of
    seed, stream, id) lay their probabilities end to end, and a document gets its extra copy when a point
    of the grid start, start+1, start+2, ... falls in its stretch. Each part so takes its expected number
    of extra copies within one document, and since the parts' starts are spread evenly over [0, 1) (their
    positions plus one offset per stream and discipline), so does the whole stream: a discipline wanting a
    third of a document per part gets one in a third of the parts, within one. Rounding each part's share
    to the nearest document gave such a discipline nothing (0% of its target); an independent draw per
    part gives it its share only in expectation, off by about the square root of the parts.
    """
    result = [0] * len(ids)
    members: dict[str, list[int]] = {}
    for row, (key, size) in enumerate(zip(keys, sizes)):
        if size and key in repeats:
            members.setdefault(key[1], []).append(row)
    for discipline, rows in members.items():
        start = (position + _unit(_rank(seed, f"{folder}\x00start", discipline))) % 1.0
        covered = 0.0
        for row in sorted(rows, key=lambda r: _rank(seed, folder, ids[r])):
            wanted = repeats[keys[row]]
            whole = math.floor(wanted)
            before, covered = covered, covered + (wanted - whole)
            result[row] = whole + (math.floor(covered - start) > math.floor(before - start))
    return result


def _unit(digest: bytes) -> float:
    """A hash as a number in [0, 1)."""
    return int.from_bytes(digest, "big") / 2**64


def _text_batches(path: str, wanted: list[bool], sizes: list[int],
                  batch_bytes: int) -> Iterator[tuple[list[int], list[str]]]:
    """(rows, texts) of the wanted documents, about `batch_bytes` of text per batch, across row groups.

    One tokenizer call per batch: many short calls interleaved with Python work measured ~10-20% slower
    per token than one long call (tokenizers 0.23).
    """
    rows: list[int] = []
    texts: list[str] = []
    held = row = 0
    for batch in iter_row_group_batches(path, ["text"], 4096):
        values = batch.column("text").to_pylist()
        for r in range(row, row + batch.num_rows):
            if wanted[r]:
                rows.append(r)
                texts.append(values[r - row])
                held += sizes[r]
                if held >= batch_bytes:
                    yield rows, texts
                    rows, texts, held = [], [], 0
        row += batch.num_rows
    if rows:
        yield rows, texts


def part_record_path(out_dir: Path, folder: str, task_id: str) -> Path:
    return out_dir / folder / PARTS_DIR / f"{task_id}.json"


def write_part_shards(job: ShardJob, task: Task, stage_dir: Path) -> list[StepStats]:
    stats = StepStats("tokenize_pack")
    with stats.timer():
        encoder = DocumentEncoder(job.tokenizer_file, job.tokenizer)
        dtype = token_dtype(encoder.vocab_size)
        discipline_ids = {name: i for i, name in enumerate(job.disciplines)}
        path = task.inputs[0]
        ids, keys, sizes = [], [], []
        for batch in iter_row_group_batches(path, [*_LABEL_COLUMNS, length_column(path)], 4096):
            ids += batch.column("id").to_pylist()
            keys += zip(*(batch.column(c).to_pylist() for c in ("source", "discipline", "quality_tier")))
            sizes += [n or 0 for n in byte_lengths(batch)]
        # A document the bucket count calls unusable (no id or label) gets size 0: no copy anywhere.
        sizes = [size if doc_id is not None and None not in key else 0 for doc_id, key, size in zip(ids, keys, sizes)]
        held = [size > 0 and job.held_out.is_held_out(doc_id, key[1]) for doc_id, key, size in zip(ids, keys, sizes)]
        train_sizes = [0 if h else size for h, size in zip(held, sizes)]
        folders = [s.folder for s in job.streams] + [HELD_OUT_FOLDER]
        plan = [copies_per_document(job.seed, s.folder, ids, keys, train_sizes, s.repeats, job.positions[task.task_id])
                for s in job.streams]
        plan.append([int(h) for h in held])
        stats.docs_in = len(ids)
        passes = max((max(p, default=0) for p in plan), default=0)
        tokens_by = [{"source": Counter(), "discipline": Counter(), "tier": Counter()} for _ in folders]
        documents_by = [Counter() for _ in folders]
        with ExitStack() as stack:
            writers = [stack.enter_context(PackedShardWriter(
                job.out_dir / folder / f"part-{task.task_id}", job.seq_len, dtype, encoder.eos_id,
                discipline_ids[job.general_label], job.block_size)) for folder in folders]
            for epoch in range(passes):
                for wanted, texts in _text_batches(path, [any(p[r] > epoch for p in plan) for r in range(len(ids))],
                                                   sizes, job.batch_bytes):
                    tokens, lengths = encoder.encode_batch_flat(texts)
                    stats.bytes_in += sum(sizes[r] for r in wanted)
                    wanted_keys = [keys[r] for r in wanted]
                    disciplines = np.array([discipline_ids[key[1]] for key in wanted_keys])
                    for k, writer in enumerate(writers):
                        taken = np.array([plan[k][r] > epoch for r in wanted])
                        if taken.all():
                            writer.add_documents(tokens, lengths, disciplines)
                        elif taken.any():
                            writer.add_documents(tokens[np.repeat(taken, lengths)], lengths[taken], disciplines[taken])
                        for key, length in zip(compress(wanted_keys, taken), lengths[taken].tolist()):
                            for axis, value in zip(("source", "discipline", "tier"), key):
                                tokens_by[k][axis][value] += length
                            documents_by[k][key[1]] += 1
                        stats.docs_out += int(taken.sum())
            for folder, writer, counts, documents in zip(folders, writers, tokens_by, documents_by):
                described = writer.close()
                stats.bytes_out += sum(f["bytes"] for f in described["files"].values())
                write_json_atomic(part_record_path(job.out_dir, folder, task.task_id),
                                  {**described, "tokens_by": {a: dict(c) for a, c in counts.items()},
                                   "documents_by": {"discipline": dict(documents)}})
    return [stats]
