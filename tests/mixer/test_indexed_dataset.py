"""Our .bin/.idx shards are Megatron's format: megatron-core's own IndexedDataset reads every sequence."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

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


class _Tokenizer:
    """What megatron-core's GPTDataset asks of a tokenizer: the vocabulary size and the end-of-document id."""

    def __init__(self, vocab_size: int, eod: int) -> None:
        self.vocab_size, self.eod = vocab_size, eod
        self.unique_identifiers = {"class": "sciloom-test", "vocab_size": vocab_size}


def test_megatron_core_gpt_dataset_trains_on_our_shards(shard_folder, tmp_path) -> None:
    """The hand-off to a Megatron-Core trainer: its own dataset builder blends our shard prefixes into samples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
        from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig

    folder, parts, seq_len = shard_folder
    manifest = read_manifest(folder)
    prefixes = [str(folder / part["prefix"]) for part in manifest["parts"] if part["files"]]
    # Our rows are already packed sequences: Megatron then reads each as one sample of exactly seq_len tokens
    # (sequence_length = seq_len, no extra token), which keeps every document boundary the mixer made.
    config = GPTDatasetConfig(
        random_seed=0, sequence_length=seq_len, add_extra_token_to_sequence=False, blend=(prefixes, None),
        split="1,0,0", tokenizer=_Tokenizer(manifest["vocab_size"], manifest["pad_id"]), reset_position_ids=False,
        reset_attention_mask=False, eod_mask_loss=False, path_to_cache=str(tmp_path / "cache"))
    # Megatron's builders ask torch.distributed for their rank: a world of one, for this test only.
    torch.distributed.init_process_group("gloo", store=torch.distributed.FileStore(str(tmp_path / "store"), 1),
                                         rank=0, world_size=1)
    try:
        train, _, _ = BlendedMegatronDatasetBuilder(GPTDataset, [8, None, None], lambda: True, config).build()
    finally:
        torch.distributed.destroy_process_group()
    rows = {tuple(row) for docs in parts if docs for row in packed_reference(docs, seq_len)}
    samples = [tuple(train[i]["tokens"].tolist()) for i in range(len(train))]
    assert len(samples) == 8
    assert all(sample in rows for sample in samples)  # each of Megatron's samples is one of our packed rows
