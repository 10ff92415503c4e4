"""Micro-batches of packed sequences from the mixer's shards, with a resumable position.

`held_out` sequences, spread evenly over the stream (a stream may be written bucket by bucket, so its tail
is not a fair sample), are never trained on: evaluation reads them. The split is by sequence, not by
document: when the mixer repeats a document (tier epochs > 1), a copy of it can sit on both sides, so
held-out loss on an upsampled stream is optimistic. A document-level split belongs in the mixer.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from mixer.shard_reader import PackedShardDataset, ShuffledSampler


class BatchStream:
    def __init__(self, dataset: PackedShardDataset, batch_size: int, seed: int, *, held_out: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        held = set(held_out_indices(len(dataset), held_out))
        self.train_indices = np.array([i for i in range(len(dataset)) if i not in held], dtype=np.int64)
        if len(self.train_indices) < world_size:
            raise ValueError(f"stream {dataset} has {len(dataset)} sequences, too few to hold out {held_out}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = ShuffledSampler(len(self.train_indices), seed, rank=rank, world_size=world_size)
        self._indices: Iterator[int] = iter(self.sampler)

    def next(self) -> dict[str, torch.Tensor]:
        return collate([self.dataset[int(self.train_indices[next(self._indices)])] for _ in range(self.batch_size)])

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)
        self._indices = iter(self.sampler)


def held_out_indices(num_sequences: int, held_out: int) -> list[int]:
    """`held_out` indices spread evenly over the stream (the middle of each of `held_out` equal slices)."""
    if held_out > num_sequences:
        raise ValueError(f"cannot hold out {held_out} of {num_sequences} sequences")
    return [int((j + 0.5) * num_sequences / held_out) for j in range(held_out)]


def held_out_batches(dataset: PackedShardDataset, held_out: int, batch_size: int) -> Iterator[dict[str, torch.Tensor]]:
    indices = held_out_indices(len(dataset), held_out)
    for first in range(0, len(indices), batch_size):
        yield collate([dataset[i] for i in indices[first:first + batch_size]])


def collate(sequences: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.stack([s[key] for s in sequences])) for key in sequences[0]}
