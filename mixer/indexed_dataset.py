"""Megatron-LM's indexed dataset format (`.bin` tokens + `.idx` index), written and read by us.

Byte-compatible with megatron-core's `megatron/core/datasets/indexed_dataset.py` (format version 1):

    .idx = b"MMIDIDX\\x00\\x00" | u64 version=1 | u8 dtype code | u64 sequence count N | u64 document count D
           | int32[N] sequence lengths | int64[N] byte pointers into .bin | int64[D] document indices
    .bin = the tokens of every sequence, back to back, in the dtype of the code

Document indices start at 0 and list, after each document, the number of sequences written so far.
We write one packed sequence per document, so any Megatron trainer reads our shards as they are.
Reading is ours as well (the trainer must not depend on megatron-core); every structural problem raises
`ShardFormatError` naming the file and the byte offset instead of handing out garbage.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INDEX_HEADER = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
# megatron.core.datasets.indexed_dataset.DType
DTYPE_CODES: dict[type[np.number], int] = {
    np.uint8: 1, np.int8: 2, np.int16: 3, np.int32: 4, np.int64: 5, np.float64: 6, np.float32: 7, np.uint16: 8,
}
_PREAMBLE = struct.Struct("<9sQBQQ")  # header, version, dtype code, sequence count, document count


class ShardFormatError(ValueError):
    """A shard file that is not what its index or manifest says; names the file and the byte offset."""

    def __init__(self, path: Path, offset: int, problem: str) -> None:
        self.path = Path(path)
        self.offset = offset
        super().__init__(f"{path}: at byte offset {offset}: {problem}")


def token_dtype(vocab_size: int) -> type[np.number]:
    """The smallest dtype Megatron would pick for this vocabulary (its DType.optimal_dtype rule)."""
    return np.uint16 if vocab_size < 65500 else np.int32


def bin_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + ".bin")


def idx_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + ".idx")


def write_index(path: Path, dtype: type[np.number], sequence_lengths: np.ndarray) -> None:
    """Write the .idx for sequences stored back to back, one document per sequence."""
    lengths = np.asarray(sequence_lengths, dtype=np.int32)
    itemsize = np.dtype(dtype).itemsize
    pointers = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1].astype(np.int64) * itemsize, out=pointers[1:])
    document_indices = np.arange(len(lengths) + 1, dtype=np.int64)
    with open(path, "wb") as out:
        out.write(_PREAMBLE.pack(INDEX_HEADER, INDEX_VERSION, DTYPE_CODES[dtype], len(lengths), len(document_indices)))
        out.write(lengths.tobytes())
        out.write(pointers.tobytes())
        out.write(document_indices.tobytes())


@dataclass(frozen=True)
class IndexedShard:
    """An opened .bin/.idx pair whose index has been checked against the .bin size."""

    prefix: Path
    dtype: type[np.number]
    sequence_lengths: np.ndarray  # int32[N]
    sequence_pointers: np.ndarray  # int64[N], byte offsets into .bin
    tokens: np.ndarray  # memmap over the whole .bin

    def __len__(self) -> int:
        return len(self.sequence_lengths)

    def sequence(self, i: int) -> np.ndarray:
        start = int(self.sequence_pointers[i]) // np.dtype(self.dtype).itemsize
        return self.tokens[start:start + int(self.sequence_lengths[i])]


def read_index(prefix: Path) -> IndexedShard:
    """Open a shard, checking the index structure and that the .bin holds every token it points to."""
    ipath, bpath = idx_path(prefix), bin_path(prefix)
    raw = ipath.read_bytes()
    if len(raw) < _PREAMBLE.size:
        raise ShardFormatError(ipath, len(raw), f"index truncated: {len(raw)} bytes, the preamble alone is {_PREAMBLE.size}")
    header, version, code, n_seq, n_doc = _PREAMBLE.unpack_from(raw)
    if header != INDEX_HEADER:
        raise ShardFormatError(ipath, 0, f"bad magic {header!r}, expected {INDEX_HEADER!r}")
    if version != INDEX_VERSION:
        raise ShardFormatError(ipath, 9, f"unsupported index version {version}")
    dtype = next((t for t, c in DTYPE_CODES.items() if c == code), None)
    if dtype is None:
        raise ShardFormatError(ipath, 17, f"unknown dtype code {code}")
    expected = _PREAMBLE.size + n_seq * (4 + 8) + n_doc * 8
    if len(raw) != expected:
        raise ShardFormatError(ipath, min(len(raw), expected),
                               f"index is {len(raw)} bytes but {n_seq} sequences and {n_doc} documents need {expected}")
    offset = _PREAMBLE.size
    lengths = np.frombuffer(raw, dtype=np.int32, count=n_seq, offset=offset)
    pointers = np.frombuffer(raw, dtype=np.int64, count=n_seq, offset=offset + 4 * n_seq)
    documents = np.frombuffer(raw, dtype=np.int64, count=n_doc, offset=offset + 12 * n_seq)
    itemsize = np.dtype(dtype).itemsize
    if n_seq:
        bad = np.flatnonzero(lengths < 0)
        if bad.size:
            raise ShardFormatError(ipath, offset + 4 * int(bad[0]), f"negative length for sequence {int(bad[0])}")
        expected_pointers = np.concatenate([[0], np.cumsum(lengths[:-1].astype(np.int64) * itemsize)])
        bad = np.flatnonzero(pointers != expected_pointers)
        if bad.size:
            i = int(bad[0])
            raise ShardFormatError(ipath, offset + 4 * n_seq + 8 * i,
                                   f"pointer of sequence {i} is {int(pointers[i])}, expected {int(expected_pointers[i])}")
    if n_doc == 0 or documents[0] != 0 or documents[-1] != n_seq or np.any(np.diff(documents) < 0):
        raise ShardFormatError(ipath, offset + 12 * n_seq, "document indices must rise from 0 to the sequence count")
    data_bytes = int(lengths.astype(np.int64).sum()) * itemsize
    actual = bpath.stat().st_size
    if actual != data_bytes:
        problem = "truncated" if actual < data_bytes else "longer than its index says"
        raise ShardFormatError(bpath, min(actual, data_bytes), f"{problem}: {actual} bytes, index says {data_bytes}")
    tokens = np.memmap(bpath, dtype=dtype, mode="r") if data_bytes else np.zeros(0, dtype=dtype)
    return IndexedShard(prefix, dtype, lengths, pointers, tokens)
