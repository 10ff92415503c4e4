"""Synthetic shard folders for trainer tests, written with the mixer's own shard writer.

Each discipline speaks its own slice of the vocabulary, so a router can learn a discipline from a token:
what a trained warmup must then show is that the supervision works, not that a tiny model reads science.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sciloom.mixer.indexed_dataset import token_dtype
from sciloom.mixer.manifest import build_manifest, write_manifest
from sciloom.mixer.pack import PackedShardWriter

VOCAB = 64
TOKENS_PER_DISCIPLINE = 12


def discipline_tokens(discipline_index: int, rng: np.random.Generator, length: int) -> np.ndarray:
    low = 1 + TOKENS_PER_DISCIPLINE * (discipline_index % 5)
    # A repeating motif makes the stream learnable: loss must fall when a model trains on it.
    motif = rng.integers(low, low + TOKENS_PER_DISCIPLINE, size=4)
    return np.resize(motif, length).astype(np.int64)


def write_stream(folder: Path, disciplines: list[str], ids: list[int], *, seq_len: int = 32, documents: int = 40,
                 seed: int = 0) -> Path:
    """A shard folder of `documents` documents, cycling over the taxonomy indices in `ids`."""
    rng = np.random.default_rng(seed)
    dtype = token_dtype(VOCAB)
    with PackedShardWriter(folder / "part-00000", seq_len, dtype, pad_id=0, pad_discipline=ids[0]) as writer:
        for n in range(documents):
            d = ids[n % len(ids)]
            writer.add_document(discipline_tokens(d, rng, int(rng.integers(12, 40))), d)
        part = writer.close()
    write_manifest(folder, build_manifest(seq_len=seq_len, token_dtype=np.dtype(dtype).name, vocab_size=VOCAB,
                                          pad_id=0, disciplines=disciplines, tokenizer_sha256="synthetic",
                                          recipe_hash="synthetic", parts=[part]))
    return folder


def write_innovator_streams(root: Path, disciplines: list[str], science: list[str], general: str = "general",
                            documents: int = 48) -> Path:
    ids = {d: disciplines.index(d) for d in [*science, general]}
    for offset, d in enumerate(science):
        write_stream(root / "expert_induction" / d, disciplines, [ids[d]], documents=documents, seed=offset)
    mixed = [ids[d] for d in science] + [ids[general]]
    write_stream(root / "routing_warmup", disciplines, [ids[d] for d in science], documents=documents * 2, seed=50)
    write_stream(root / "integration", disciplines, mixed, documents=documents * 2, seed=60)
    write_stream(root / "held_out", disciplines, mixed, documents=documents, seed=70)  # documents of no stream above
    return root
