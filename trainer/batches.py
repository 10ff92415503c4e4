"""Micro-batches of packed sequences from the mixer's shards, with a resumable position; batches of a whole stream.

Training streams hold no held-out document: the mixer keeps them out of every stage's streams and writes
them once into `held_out/`, which evaluation reads (`held_out_dataset`, `dataset_batches`).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sciloom.mixer.held_out import HELD_OUT_FOLDER
from sciloom.mixer.manifest import MANIFEST_FILE
from sciloom.mixer.shard_reader import PackedShardDataset, ShuffledSampler


class BatchStream:
    """Endless shuffled micro-batches over every sequence of a training stream."""

    def __init__(self, dataset: PackedShardDataset, batch_size: int, seed: int, *, rank: int = 0,
                 world_size: int = 1) -> None:
        if len(dataset) < world_size:
            raise ValueError(f"stream {dataset.directory} has {len(dataset)} sequences, fewer than the {world_size} ranks")
        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = ShuffledSampler(len(dataset), seed, rank=rank, world_size=world_size)
        self._indices: Iterator[int] = iter(self.sampler)

    def next(self) -> dict[str, torch.Tensor]:
        return collate([self.dataset[next(self._indices)] for _ in range(self.batch_size)])

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)
        self._indices = iter(self.sampler)


def held_out_dataset(shards_dir: Path) -> PackedShardDataset:
    """The mixer's held-out stream; a clear error when the mixer wrote none (or an empty one)."""
    folder = Path(shards_dir) / HELD_OUT_FOLDER
    if not (folder / MANIFEST_FILE).is_file():
        raise FileNotFoundError(f"no held-out stream at {folder} (no {MANIFEST_FILE}): evaluation reads the mixer's "
                                f"held-out documents; rebuild the shards with a mixer that sets `mixer.held_out`")
    dataset = PackedShardDataset(folder)
    if len(dataset) == 0:
        raise ValueError(f"the held-out stream {folder} holds no sequences: raise mixer.held_out.share or "
                         f"min_documents_per_label")
    return dataset


def dataset_batches(dataset: PackedShardDataset, batch_size: int,
                    max_sequences: int | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Collated batches of the whole dataset in order, or of `max_sequences` sequences spread evenly over it
    (a stream is written part by part, so its head is not a fair sample)."""
    n = len(dataset)
    if max_sequences is None or max_sequences >= n:
        indices = list(range(n))
    else:
        indices = [int((j + 0.5) * n / max_sequences) for j in range(max_sequences)]
    for first in range(0, len(indices), batch_size):
        yield collate([dataset[i] for i in indices[first:first + batch_size]])


def collate(sequences: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.stack([s[key] for s in sequences])) for key in sequences[0]}
