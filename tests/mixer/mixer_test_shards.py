"""Small shard folders written through the real writer, with the documents they were made from."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY
from sciloom.mixer.indexed_dataset import token_dtype
from sciloom.mixer.manifest import build_manifest, write_manifest
from sciloom.mixer.pack import PackedShardWriter

VOCAB = 1000
PAD_ID = 0


def random_documents(seed: int, count: int, max_len: int = 90) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    return [(rng.integers(1, VOCAB, size=int(rng.integers(1, max_len))), int(rng.integers(0, DEFAULT_TAXONOMY.size)))
            for _ in range(count)]


def write_folder(folder: Path, parts: list[list[tuple[np.ndarray, int]]], seq_len: int, block_size: int = 256) -> Path:
    described = []
    for k, docs in enumerate(parts):
        with PackedShardWriter(folder / f"part-{k:05d}", seq_len, token_dtype(VOCAB), PAD_ID,
                               DEFAULT_TAXONOMY.index("general"), block_size=block_size) as writer:
            for tokens, discipline in docs:
                writer.add_document(tokens, discipline)
            described.append(writer.close())
    write_manifest(folder, build_manifest(seq_len=seq_len, token_dtype="uint16", vocab_size=VOCAB, pad_id=PAD_ID,
                                          disciplines=DEFAULT_TAXONOMY.disciplines, tokenizer_sha256="t" * 64,
                                          recipe_hash="r" * 64, parts=described))
    return folder
