"""The document-hash split: copies of a document share a side, and a salted hash is a second, independent split."""
from __future__ import annotations

from label_corpus import make_documents

from sciloom.classifiers.train import document_hash, split_of


def test_copies_share_their_hash_and_side():
    text = "The Hamiltonian of a free particle is  p^2 / 2m."
    copy = "the hamiltonian of a FREE particle is p^2 /\n2m."  # same tokens after normalisation
    assert document_hash(text, 600) == document_hash(copy, 600)
    assert split_of(text, 0.3, 0.1, 600) == split_of(copy, 0.3, 0.1, 600)
    assert document_hash(text, 600) != document_hash(text + " again", 600)


def test_split_follows_the_hash_and_a_salt_gives_an_independent_split():
    texts = [d["text"] for d in make_documents(40, seed=3)]
    hashes = [document_hash(t, 300) for t in texts]
    assert all(0.0 <= h < 1.0 for h in hashes)
    for text, h in zip(texts, hashes):
        expected = "test" if h < 0.3 else "calibration" if h < 0.4 else "train"
        assert split_of(text, 0.3, 0.1, 300) == expected
    salted = [document_hash(t, 300, "calibration") for t in texts]
    # independent: among the unsalted test side, the salted split still takes about its share
    in_test = [s for h, s in zip(hashes, salted) if h < 0.3]
    share = sum(s < 0.5 for s in in_test) / len(in_test)
    assert len(in_test) >= 50 and 0.3 < share < 0.7
