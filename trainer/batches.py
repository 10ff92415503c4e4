"""Micro-batches of packed sequences from the mixer's shards, with a resumable position.

The last `held_out` sequences of a stream are never trained on: evaluation reads them.
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
        trainable = len(dataset) - held_out
        if trainable < 1:
            raise ValueError(f"stream {dataset} has {len(dataset)} sequences, too few to hold out {held_out}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = ShuffledSampler(trainable, seed, rank=rank, world_size=world_size)
        self._indices: Iterator[int] = iter(self.sampler)

    def next(self) -> dict[str, torch.Tensor]:
        return collate([self.dataset[next(self._indices)] for _ in range(self.batch_size)])

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)
        self._indices = iter(self.sampler)


def held_out_batches(dataset: PackedShardDataset, held_out: int, batch_size: int) -> Iterator[dict[str, torch.Tensor]]:
    start = len(dataset) - held_out
    for first in range(start, len(dataset), batch_size):
        yield collate([dataset[i] for i in range(first, min(first + batch_size, len(dataset)))])


def collate(sequences: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.stack([s[key] for s in sequences])) for key in sequences[0]}
