"""The document encoder: the tokenizer's own ids, with BOS/EOS per the tokenizer's conventions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from sciloom.mixer.config import BpeTrainConfig, TokenizerConfig
from sciloom.mixer.tokenize import DocumentEncoder, train_byte_level_bpe

TEXTS = ["The lattice energy of the crystal is computed by a sum over ions.",
         "Lemma 2. Every finite group of prime order is cyclic; the proof is short.",
         "Straße, naïve café — unicode survives byte-level BPE. ∫ x² dx"] * 20


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train_byte_level_bpe(TEXTS, BpeTrainConfig(vocab_size=350, min_frequency=1), tmp_path_factory.mktemp("tok"))


def test_trained_bpe_round_trips_and_ends_documents_with_eos(trained: Path) -> None:
    encoder = DocumentEncoder(trained, TokenizerConfig(path=trained))
    reference = Tokenizer.from_file(str(trained))
    encoded = encoder.encode_batch(TEXTS[:3])
    for text, ids in zip(TEXTS[:3], encoded):
        assert ids.tolist() == reference.encode(text, add_special_tokens=False).ids + [encoder.eos_id]
        assert reference.decode(ids[:-1].tolist()) == text
    assert encoder.bos_id is None and encoder.specials_per_document == 1
    assert reference.id_to_token(encoder.eos_id) == "<|endoftext|>"


def test_bos_follows_tokenizer_config(trained: Path, tmp_path: Path) -> None:
    folder = tmp_path / "llama_like"
    folder.mkdir()
    (folder / "tokenizer.json").write_text(trained.read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"add_bos_token": True, "bos_token": {"content": "<|endoftext|>"}, "eos_token": "<|endoftext|>"}))
    encoder = DocumentEncoder(folder / "tokenizer.json", TokenizerConfig(path=folder / "tokenizer.json"))
    ids = encoder.encode_batch(["a b"])[0]
    assert ids[0] == ids[-1] == encoder.eos_id and encoder.specials_per_document == 2


def test_unknown_special_token_is_a_clear_error(trained: Path) -> None:
    with pytest.raises(ValueError, match=r"special token '</s>' is not in the vocabulary"):
        DocumentEncoder(trained, TokenizerConfig(path=trained, eos_token="</s>"))


def test_config_needs_exactly_one_tokenizer_source(trained: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of tokenizer.path"):
        TokenizerConfig(path=trained, train_bpe=BpeTrainConfig())
