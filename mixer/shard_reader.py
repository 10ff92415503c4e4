"""Reading packed shards for training: a map-style dataset and a deterministic, resumable sampler.

`PackedShardDataset(folder)[i]` gives sequence i of the folder's parts (in manifest order) as numpy
arrays: tokens int64[L], segment_ids int32[L], discipline_ids int64[L], loss_mask bool[L].
Nothing unchecked reaches the trainer: on open, file sizes, the index and the sidecar are checked
against the manifest; each .bin block's crc32 is checked the first time a sequence touches it, so a
flipped byte raises `ShardFormatError` (file + offset) instead of training on garbage.

`ShuffledSampler(n, seed, rank, world_size)` yields sequence indices forever: epoch e is a permutation
drawn from seed + e, split across ranks by striding; every rank gets n // world_size indices per epoch
so ranks stay in step. Its state (epoch, position) is saved after each index handed out, so a run
restored from `state_dict()` continues with exactly the next index.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sciloom.mixer.indexed_dataset import IndexedShard, ShardFormatError, bin_path, idx_path, read_index
from sciloom.mixer.manifest import file_sha256, read_manifest
from sciloom.mixer.segments import expand_sequence, read_segments, seg_path


@dataclass
class _Part:
    shard: IndexedShard
    segments: np.ndarray
    bin_file: Path
    block_size: int
    block_crc32: list[int]
    verified: np.ndarray  # bool per .bin block


class PackedShardDataset:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.seq_len: int = self.manifest["seq_len"]
        self.disciplines: list[str] = self.manifest["disciplines"]
        self.vocab_size: int = self.manifest["vocab_size"]
        self._parts = [self._open(part) for part in self.manifest["parts"] if part["sequences"]]
        self._offsets = np.cumsum([0] + [len(p.shard) for p in self._parts])

    def _open(self, part: dict[str, Any]) -> _Part:
        prefix = self.directory / part["prefix"]
        for name, expected in part["files"].items():
            path = self.directory / name
            size = path.stat().st_size if path.exists() else None
            if size is None:
                raise FileNotFoundError(f"{path}: listed in the manifest but missing")
            if size != expected["bytes"]:
                raise ShardFormatError(path, min(size, expected["bytes"]),
                                       f"{'truncated' if size < expected['bytes'] else 'grown'}: {size} bytes, "
                                       f"manifest says {expected['bytes']}")
        for small in (idx_path(prefix), seg_path(prefix)):  # small: check whole before trusting them
            if file_sha256(small) != part["files"][small.name]["sha256"]:
                raise ShardFormatError(small, 0, "sha256 differs from the manifest's")
        shard = read_index(prefix)
        if np.any(shard.sequence_lengths != self.seq_len):
            raise ShardFormatError(idx_path(prefix), 0, f"sequences are not all {self.seq_len} tokens long")
        segments = read_segments(seg_path(prefix), self.seq_len, len(shard) * self.seq_len, len(self.disciplines))
        checks = part["files"][bin_path(prefix).name]
        return _Part(shard, segments, bin_path(prefix), checks["block_size"], checks["block_crc32"],
                     np.zeros(len(checks["block_crc32"]), dtype=bool))

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(f"sequence {index} out of range [0, {len(self)})")
        k = int(np.searchsorted(self._offsets, index, side="right")) - 1
        part, local = self._parts[k], index - int(self._offsets[k])
        self._check_blocks(part, local)
        tokens = part.shard.sequence(local).astype(np.int64)
        segment_ids, discipline_ids, loss_mask = expand_sequence(part.segments, local, self.seq_len)
        return {"tokens": tokens, "segment_ids": segment_ids, "discipline_ids": discipline_ids, "loss_mask": loss_mask}

    def _check_blocks(self, part: _Part, local: int) -> None:
        itemsize = np.dtype(part.shard.dtype).itemsize
        begin = int(part.shard.sequence_pointers[local])
        end = begin + self.seq_len * itemsize
        for block in range(begin // part.block_size, (end - 1) // part.block_size + 1):
            if part.verified[block]:
                continue
            start = block * part.block_size
            raw = np.asarray(part.shard.tokens).view(np.uint8)[start:start + part.block_size]
            if zlib.crc32(raw) != part.block_crc32[block]:
                raise ShardFormatError(part.bin_file, start, f"block of {part.block_size} bytes fails its crc32 "
                                                             "(corrupted data)")
            part.verified[block] = True


class ShuffledSampler:
    def __init__(self, num_sequences: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        if num_sequences < world_size:
            raise ValueError(f"{num_sequences} sequences cannot feed {world_size} ranks (at least one each)")
        self.num_sequences = num_sequences
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.per_rank = num_sequences // world_size
        self.epoch = 0
        self.position = 0  # indices already handed out in this epoch

    def _epoch_indices(self, epoch: int) -> np.ndarray:
        order = np.random.default_rng(self.seed + epoch).permutation(self.num_sequences)
        return order[self.rank::self.world_size][:self.per_rank]

    def __iter__(self) -> Iterator[int]:
        while True:
            indices = self._epoch_indices(self.epoch)
            while self.position < self.per_rank:
                index = int(indices[self.position])
                self.position += 1
                yield index
            self.epoch += 1
            self.position = 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed, "num_sequences": self.num_sequences,
                "rank": self.rank, "world_size": self.world_size}

    def load_state_dict(self, state: dict[str, int]) -> None:
        for key in ("seed", "num_sequences", "rank", "world_size"):
            if state[key] != getattr(self, key):
                raise ValueError(f"sampler state was saved with {key}={state[key]}, this sampler has {getattr(self, key)}")
        self.epoch, self.position = state["epoch"], state["position"]
