"""Training batches never contain held-out sequences, and held-out sequences cover the whole stream."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mixer.shard_reader import PackedShardDataset
from streams import write_stream
from trainer.batches import BatchStream, held_out_batches, held_out_indices


def test_held_out_sequences_are_spread_and_never_trained_on(tmp_path: Path) -> None:
    dataset = PackedShardDataset(write_stream(tmp_path / "s", ["a", "b", "general"], [0, 1, 2], documents=60))
    n = len(dataset)
    held = held_out_indices(n, 5)
    assert len(set(held)) == 5 and held[0] < n // 5 and held[-1] >= n - n // 5
    stream = BatchStream(dataset, batch_size=4, seed=1, held_out=5)
    as_bytes = {dataset[i]["tokens"].tobytes(): i for i in range(n)}
    seen = set()
    for _ in range(3 * n // 4):
        for row in stream.next()["tokens"].numpy():
            seen.add(as_bytes[row.tobytes()])
    assert seen == set(range(n)) - set(held)  # several epochs: every training sequence, no held-out one
    evaluated = [as_bytes[row.tobytes()] for b in held_out_batches(dataset, 5, 2) for row in b["tokens"].numpy()]
    assert evaluated == held
    assert np.array_equal(stream.train_indices, [i for i in range(n) if i not in held])
