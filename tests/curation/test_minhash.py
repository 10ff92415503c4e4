"""MinHash signatures and LSH banding against datasketch's own results."""
from __future__ import annotations


import datasketch
import numpy as np
import pytest

from sciloom.curation.dedup_config import DedupConfig
from sciloom.curation.lsh import band_keys, optimal_bands_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from sciloom.curation.minhash import MAX_HASH, MinHasher, _word_hash, shingle_bytes, shingle_hash32, word_hashes, word_shingles
import hashlib

from sciloom.curation.normalize import exact_hashes, normalize_text, normalized_words, split_words

TEXTS = [
    "The quick brown fox jumps over the lazy dog, again and again, until the dog wakes up.",
    "THE quick brown fox jumps over the lazy dog again and again until the dog wakes up!!",
    "Schrödinger's equation iħ ∂ψ/∂t = Ĥψ governs the wave function ψ of a quantum system.",
    "",
    "   \n\t ",
    "three words only",
    "ﬁnance ＡＢＣ unicode ligatures and full-width letters normalise under NFKC",
]


def _datasketch_minhash(text: str, hasher: MinHasher) -> datasketch.MinHash:
    if hasher.shingle_hash == "sha1":
        m = datasketch.MinHash(num_perm=hasher.num_perm, seed=hasher.seed)
        m.update_batch(shingle_bytes(text, hasher.ngram))
    else:
        m = datasketch.MinHash(num_perm=hasher.num_perm, seed=hasher.seed, hashfunc=shingle_hash32)
        m.update_batch(word_shingles(text, hasher.ngram))
    return m


@pytest.mark.parametrize("shingle_hash", ["sha1", "poly"])
@pytest.mark.parametrize(("num_perm", "seed", "ngram"), [(128, 1, 5), (64, 42, 3), (256, 7, 1)])
def test_signatures_load_as_equal_lean_minhash(shingle_hash: str, num_perm: int, seed: int, ngram: int) -> None:
    hasher = MinHasher(num_perm, seed, ngram, shingle_hash)
    sig_NP = hasher.signature_batches(TEXTS, batch_docs=3)  # batches split across documents
    assert sig_NP.shape == (len(TEXTS), num_perm) and sig_NP.dtype == np.uint32
    for text, row in zip(TEXTS, sig_NP):
        theirs = _datasketch_minhash(text, hasher)
        ours = datasketch.LeanMinHash(seed=seed, hashvalues=row, scheme="affine32")
        assert ours == datasketch.LeanMinHash(theirs)
        np.testing.assert_array_equal(row, theirs.hashvalues)
    assert (sig_NP[3] == MAX_HASH).all() and (sig_NP[4] == MAX_HASH).all()


def test_signatures_on_real_text_match_datasketch(shared_data) -> None:
    paths = sorted((shared_data / "general" / "bbc-news" / "tech").glob("*.txt"))[:40]
    texts = [p.read_text(encoding="latin-1") for p in paths]
    for shingle_hash in ("sha1", "poly"):
        hasher = MinHasher(128, 1, 5, shingle_hash)
        sig_NP = hasher.signature_batches(texts, batch_docs=16)
        for text, row in zip(texts, sig_NP):
            np.testing.assert_array_equal(row, _datasketch_minhash(text, hasher).hashvalues)


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.3, 128), (0.5, 128), (0.7, 128), (0.8, 128), (0.9, 128),
                                                     (0.5, 32), (0.85, 64), (0.8, 256)])
def test_bands_rows_equal_datasketch(threshold: float, num_perm: int) -> None:
    ours = optimal_bands_rows(threshold, num_perm)
    theirs = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm)
    assert (ours.bands, ours.rows) == (theirs.b, theirs.r)


def test_bands_rows_follow_weights() -> None:
    theirs = datasketch.MinHashLSH(threshold=0.8, num_perm=128, weights=(0.2, 0.8))
    config = DedupConfig(threshold=0.8, false_positive_weight=0.2, false_negative_weight=0.8)
    assert (config.lsh.bands, config.lsh.rows) == (theirs.b, theirs.r)


def _variants(shared_data, n_sources: int = 30) -> list[str]:
    """Real articles plus copies with more or fewer words replaced, so pairs straddle the threshold."""
    rng = np.random.default_rng(0)
    paths = sorted((shared_data / "general" / "bbc-news" / "business").glob("*.txt"))[:n_sources]
    texts = []
    for p in paths:
        words = p.read_text(encoding="latin-1").split()
        texts.append(" ".join(words))
        for rate in (0.01, 0.03, 0.08):
            copy = [w if rng.random() > rate else "zz" + w for w in words]
            texts.append(" ".join(copy))
    return texts


def test_datasketch_lsh_query_finds_exactly_our_candidates(shared_data) -> None:
    config = DedupConfig(threshold=0.7)
    texts = _variants(shared_data)
    hasher = MinHasher(config.num_perm, config.seed, config.ngram, "sha1")
    sig_NP = hasher.signatures(texts)
    index = datasketch.MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    for i, row in enumerate(sig_NP):
        index.insert(i, datasketch.LeanMinHash(seed=config.seed, hashvalues=row, scheme="affine32"))
    keys_NB = band_keys(sig_NP, config.lsh.bands, config.lsh.rows)
    ours = {i: {i} for i in range(len(texts))}
    for band in range(config.lsh.bands):
        for key in np.unique(keys_NB[:, band]):
            members = set(np.flatnonzero(keys_NB[:, band] == key).tolist())
            for m in members:
                ours[m] |= members
    queried = 0
    for i in range(len(texts)):
        query = datasketch.MinHash(num_perm=config.num_perm, seed=config.seed)
        query.update_batch(shingle_bytes(texts[i], config.ngram))  # a user's own datasketch MinHash
        assert set(index.query(query)) == ours[i]
        queried += len(ours[i]) > 1
    assert queried > len(texts) // 2  # the variants really are candidates of their sources


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40), min_size=1, max_size=5))
def test_vectorised_words_and_hashes_equal_the_python_definition(texts: list[str]) -> None:
    """The numpy byte-level tokeniser and hash agree with normalized_words + _word_hash on any text."""
    hashes, counts = word_hashes(texts)
    words = [normalized_words(t) for t in texts]
    assert split_words(texts).normalized() == [normalize_text(t).encode("utf-8", "surrogatepass") for t in texts]
    assert counts.tolist() == [len(w) for w in words]
    assert hashes.tolist() == [_word_hash(w) for ws in words for w in ws]


def test_normalisation_ignores_case_punctuation_unicode_form_and_spacing() -> None:
    assert normalize_text("  Hello,\tWORLD!  ﬁne_print ") == "hello world fine print"
    hashes = exact_hashes(TEXTS)
    assert hashes[0] == hashes[1] and hashes[0] != hashes[2]
    assert hashes[3] == hashes[4] == hashlib.blake2b(b"", digest_size=16).hexdigest()
