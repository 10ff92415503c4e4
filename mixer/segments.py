"""The `.seg` sidecar of a shard: where each document lies in the token stream, its discipline and loss flag.

Megatron's format has no room for per-token labels, so they live beside it. Storing one record per
document piece (not per token) keeps the sidecar ~1% of the .bin:

    .seg = b"SCLSEG\\x00\\x01" | u64 record count | u32 sequence length | records
    record = int64 start (token offset in the .bin's flat stream) | int32 length | int16 discipline id
             | uint8 loss flag

Records tile the stream exactly (each starts where the previous ended); padding at the end of the last
sequence is a record with loss flag 0. Per-token arrays of one packed sequence are expanded on read.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from sciloom.mixer.indexed_dataset import ShardFormatError

SEG_MAGIC = b"SCLSEG\x00\x01"
SEGMENT_DTYPE = np.dtype([("start", "<i8"), ("length", "<i4"), ("discipline", "<i2"), ("loss", "u1")])
_PREAMBLE = struct.Struct("<8sQI")


def seg_path(prefix: Path) -> Path:
    return prefix.with_name(prefix.name + ".seg")


def write_segments(path: Path, seq_len: int, records: np.ndarray) -> None:
    with open(path, "wb") as out:
        out.write(_PREAMBLE.pack(SEG_MAGIC, len(records), seq_len))
        out.write(np.ascontiguousarray(records, dtype=SEGMENT_DTYPE).tobytes())


def read_segments(path: Path, seq_len: int, total_tokens: int, num_disciplines: int) -> np.ndarray:
    """Read and check a sidecar against the shard it describes (sequence length, token count, label range)."""
    raw = path.read_bytes()
    if len(raw) < _PREAMBLE.size:
        raise ShardFormatError(path, len(raw), f"sidecar truncated: {len(raw)} bytes, the preamble alone is {_PREAMBLE.size}")
    magic, count, stored_len = _PREAMBLE.unpack_from(raw)
    if magic != SEG_MAGIC:
        raise ShardFormatError(path, 0, f"bad magic {magic!r}, expected {SEG_MAGIC!r}")
    if stored_len != seq_len:
        raise ShardFormatError(path, 16, f"sequence length {stored_len}, the manifest says {seq_len}")
    expected = _PREAMBLE.size + count * SEGMENT_DTYPE.itemsize
    if len(raw) != expected:
        raise ShardFormatError(path, min(len(raw), expected), f"sidecar is {len(raw)} bytes, {count} records need {expected}")
    records = np.frombuffer(raw, dtype=SEGMENT_DTYPE, count=count, offset=_PREAMBLE.size)
    ends = records["start"] + records["length"]
    starts_expected = np.concatenate([[0], ends[:-1]]) if count else np.zeros(0, dtype=np.int64)
    bad = np.flatnonzero((records["start"] != starts_expected) | (records["length"] <= 0)
                         | (records["discipline"] < 0) | (records["discipline"] >= num_disciplines) | (records["loss"] > 1))
    if bad.size:
        k = int(bad[0])
        raise ShardFormatError(path, _PREAMBLE.size + k * SEGMENT_DTYPE.itemsize,
                               f"record {k} is invalid: {records[k]} (records must tile the stream, "
                               f"disciplines in [0, {num_disciplines}), loss flag 0 or 1)")
    covered = int(ends[-1]) if count else 0
    if covered != total_tokens:
        raise ShardFormatError(path, expected, f"records cover {covered} tokens, the shard holds {total_tokens}")
    return records


def expand_sequence(records: np.ndarray, index: int, seq_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-token (segment_ids int32, discipline_ids int64, loss_mask bool) of packed sequence `index`.

    Segment ids count the document pieces inside this sequence from 0, so a piece continued from the
    previous sequence is segment 0 and never attends to anything before the sequence start.
    """
    begin, end = index * seq_len, (index + 1) * seq_len
    starts = records["start"]
    first = int(np.searchsorted(starts, begin, side="right")) - 1
    last = int(np.searchsorted(starts, end, side="left"))
    pieces = records[first:last]
    lengths = (np.minimum(pieces["start"] + pieces["length"], end) - np.maximum(pieces["start"], begin)).astype(np.int64)
    segment_ids = np.repeat(np.arange(len(pieces), dtype=np.int32), lengths)
    discipline_ids = np.repeat(pieces["discipline"].astype(np.int64), lengths)
    loss_mask = np.repeat(pieces["loss"].astype(bool), lengths)
    return segment_ids, discipline_ids, loss_mask
