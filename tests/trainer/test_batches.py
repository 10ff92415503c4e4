"""Training batches cover every sequence of their stream; evaluation batches cover the held-out stream, which must
exist."""
from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.mixer.shard_reader import PackedShardDataset
from streams import write_stream
from sciloom.trainer.batches import BatchStream, dataset_batches, held_out_dataset


def test_training_batches_cover_every_sequence(tmp_path: Path) -> None:
    dataset = PackedShardDataset(write_stream(tmp_path / "s", ["a", "b", "general"], [0, 1, 2], documents=60))
    n = len(dataset)
    stream = BatchStream(dataset, batch_size=4, seed=1)
    as_bytes = {dataset[i]["tokens"].tobytes(): i for i in range(n)}
    seen = [as_bytes[row.tobytes()] for _ in range(3 * n // 4) for row in stream.next()["tokens"].numpy()]
    assert set(seen) == set(range(n))  # three epochs: nothing of a training stream is held back


def test_dataset_batches_give_the_whole_stream_or_an_even_spread(tmp_path: Path) -> None:
    dataset = PackedShardDataset(write_stream(tmp_path / "held_out", ["a", "b", "general"], [0, 1, 2], documents=60))
    n = len(dataset)
    as_bytes = {dataset[i]["tokens"].tobytes(): i for i in range(n)}
    batches = list(dataset_batches(dataset, 3))
    assert [as_bytes[row.tobytes()] for b in batches for row in b["tokens"].numpy()] == list(range(n))
    assert {tuple(b["tokens"].shape) for b in batches[:-1]} == {(3, dataset.seq_len)}
    spread = [as_bytes[row.tobytes()] for b in dataset_batches(dataset, 2, max_sequences=4) for row in b["tokens"].numpy()]
    assert len(set(spread)) == 4 and spread == sorted(spread) and spread[0] < n // 4 and spread[-1] >= 3 * n // 4


def test_held_out_stream_must_exist_and_hold_sequences(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"no held-out stream at {tmp_path / 'held_out'}"):
        held_out_dataset(tmp_path)
    write_stream(tmp_path / "held_out", ["a", "general"], [0, 1], documents=0)
    with pytest.raises(ValueError, match="holds no sequences"):
        held_out_dataset(tmp_path)
    write_stream(tmp_path / "held_out", ["a", "general"], [0, 1], documents=5)
    assert len(held_out_dataset(tmp_path)) > 0
