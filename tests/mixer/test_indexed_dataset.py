"""Our .bin/.idx shards are Megatron's format: megatron-core's own IndexedDataset reads every sequence."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from sciloom.mixer.indexed_dataset import read_index
from sciloom.mixer.manifest import read_manifest


def packed_reference(docs: list[tuple[np.ndarray, int]], seq_len: int) -> np.ndarray:
    """The flat stream cut into rows, built independently of the writer: concatenate, pad with 0."""
    flat = np.concatenate([t for t, _ in docs]) if docs else np.zeros(0, dtype=np.int64)
    flat = np.concatenate([flat, np.zeros(-len(flat) % seq_len, dtype=flat.dtype)])
    return flat.reshape(-1, seq_len)


def test_megatron_core_reads_every_sequence(shard_folder) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets.indexed_dataset import IndexedDataset

    folder, parts, seq_len = shard_folder
    manifest = read_manifest(folder)
    assert len(manifest["parts"]) == 3
    assert manifest["parts"][2]["files"] == {}  # a part without documents writes no files
    for part, docs in zip(manifest["parts"][:2], parts):
        prefix = str(folder / part["prefix"])
        theirs = IndexedDataset(prefix)
        ours = read_index(Path(prefix))
        expected = packed_reference(docs, seq_len)
        assert len(theirs) == len(ours) == len(expected) == part["sequences"]
        assert theirs.index.dtype == np.uint16
        for i in range(len(expected)):
            np.testing.assert_array_equal(theirs[i], expected[i])
            np.testing.assert_array_equal(ours.sequence(i), expected[i])
        np.testing.assert_array_equal(theirs.document_indices, np.arange(len(expected) + 1))
