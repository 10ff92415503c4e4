"""MinHash signatures computed in vectorised batches, compatible with datasketch 2.x (scheme "affine32").

datasketch's default MinHash hashes each shingle to 32 bits (`hashfunc`), pre-mixes it with the 32-bit
MurmurHash3 finaliser, then applies `num_perm` permutations `a*h + b mod 2^32` with `a, b` drawn from
`np.random.RandomState(seed)`. We draw the same `a, b`, use the same finaliser and keep each document's
minimum, so `datasketch.LeanMinHash(seed=seed, hashvalues=our_row, scheme="affine32")` equals the
`MinHash(num_perm, seed, hashfunc=...)` of the same shingles (tested).

Two shingle hashes (`DedupConfig.shingle_hash`):
- "sha1": datasketch's default hashfunc over `shingle_bytes(text)` (space-joined normalised word n-grams);
  any plain `datasketch.MinHash(num_perm, seed)` of those bytes queries our signatures.
- "poly" (default, several times faster): a word's hash is the polynomial of its UTF-8 bytes (avalanched)
  and an n-gram's hash the polynomial of its word hashes, both computed for a whole batch in numpy with
  no Python loop over words. To query, users pass `hashfunc=shingle_hash32` and feed
  `word_shingles(text)` (tuples of words).

The permutation step runs per permutation over one flat array holding every shingle hash of the batch
(contiguous 1-D uint32 arithmetic, the fastest numpy path) and is min-reduced per document with
`np.minimum.reduceat`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np

from sciloom.curation.lsh import fmix64
from sciloom.curation.normalize import normalized_words, split_words

ShingleHash = Literal["poly", "sha1"]
MAX_HASH = np.uint32(0xFFFFFFFF)  # datasketch's value for "no shingle seen"
SCHEME = "affine32"
_U32, _U64 = np.uint32, np.uint64
_POLY = 0x9E3779B97F4A7C15  # odd multiplier of the word and n-gram polynomials (mod 2^64)
_POLY_INV = pow(_POLY, -1, 1 << 64)
_MASK64 = (1 << 64) - 1


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters for (num_perm, seed): a odd, b any, both uint32."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


def word_shingles(text: str, ngram: int) -> list[tuple[str, ...]]:
    """Word n-grams of the normalised text; a text shorter than `ngram` words is one shingle."""
    words = normalized_words(text)
    if 0 < len(words) < ngram:
        return [tuple(words)]
    return [tuple(words[i:i + ngram]) for i in range(len(words) - ngram + 1)]


def shingle_bytes(text: str, ngram: int) -> list[bytes]:
    """The shingles as bytes, for a default datasketch MinHash (shingle_hash="sha1")."""
    return [" ".join(s).encode("utf-8", "surrogatepass") for s in word_shingles(text, ngram)]


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    return h ^ (h >> 33)


def _word_hash(word: str) -> int:
    """A word's 64-bit hash: the polynomial of its UTF-8 bytes, avalanched (what `word_hashes` computes)."""
    acc = 0
    for byte in word.encode("utf-8", "surrogatepass"):
        acc = (acc * _POLY + byte) & _MASK64
    return _fmix64_int(acc)


def shingle_hash32(shingle: Sequence[str]) -> int:
    """The 32-bit hash of one word shingle under shingle_hash="poly" (a datasketch `hashfunc`)."""
    acc = 0
    for word in shingle:
        acc = (acc * _POLY + _word_hash(word)) & _MASK64
    acc ^= acc >> 33
    acc = (acc * 0xFF51AFD7ED558CCD) & _MASK64
    acc ^= acc >> 33
    return acc >> 32


def _fold32_np(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    return (h >> _U64(32)).astype(_U32)


_POWERS: dict[int, np.ndarray] = {}


def _powers(base: int, n: int) -> np.ndarray:
    """base^0 .. base^(n-1) mod 2^64, cached and grown by doubling (batches reuse them)."""
    cached = _POWERS.get(base)
    if cached is None or cached.size < n:
        size = max(n, 2 * (cached.size if cached is not None else 1 << 16))
        powers = np.full(size, base, dtype=_U64)
        powers[0] = 1
        cached = _POWERS[base] = np.cumprod(powers, dtype=_U64)
    return cached[:n]


def word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(flat uint64 hashes of every normalised word of the batch, words per text): each word's byte
    polynomial comes from one prefix sum (sum b_j P^-j, rescaled by P^end; P is odd, so invertible)."""
    words = split_words(texts)
    n = words.buf.size
    with np.errstate(over="ignore"):
        prefix = np.concatenate([np.zeros(1, _U64), np.cumsum(words.buf * _powers(_POLY_INV, n), dtype=_U64)])
        hashes = fmix64((prefix[words.ends] - prefix[words.starts]) * _powers(_POLY, n)[words.ends - 1])
    return hashes, words.counts


def shingle_word_ranges(counts: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first word, last word, shingles per text): every n-gram of a text, or all its words when it is
    shorter than n, in text order (the layout of `ngram_hashes64`)."""
    ends = np.cumsum(counts)
    out_counts = np.where(counts >= ngram, counts - ngram + 1, np.minimum(counts, 1))
    word = np.arange(int(ends[-1]) if len(ends) else 0)
    doc_end = np.repeat(ends, counts)
    doc_start = doc_end - np.repeat(counts, counts)
    long_start = (word + ngram <= doc_end)
    short_start = (np.repeat(counts, counts) < ngram) & (word == doc_start)
    first = np.flatnonzero(long_start | short_start)
    last = np.where(long_start[first], first + ngram, doc_end[first]) - 1
    return first, last, out_counts


def ngram_hashes64(wh: np.ndarray, counts: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat uint64 n-gram hashes, per-doc counts) from word hashes; a short non-empty doc gives one."""
    total = int(counts.sum())
    out_counts = np.where(counts >= ngram, counts - ngram + 1, np.minimum(counts, 1))
    out = np.empty(int(out_counts.sum()), dtype=_U64)
    long_docs = counts >= ngram
    word_starts = np.cumsum(counts) - counts
    with np.errstate(over="ignore"):
        if total >= ngram and long_docs.any():
            width = total - ngram + 1
            acc = wh[:width].copy()
            for k in range(1, ngram):
                acc *= _U64(_POLY)
                acc += wh[k:k + width]
            ends = np.repeat(np.cumsum(counts), counts)[:width]
            valid = np.arange(width) + ngram <= ends
            out[np.repeat(long_docs, out_counts)] = acc[valid]
        out_starts = np.cumsum(out_counts) - out_counts
        for d in np.flatnonzero((counts > 0) & ~long_docs):
            acc_short = _U64(0)
            for value in wh[word_starts[d]:word_starts[d] + counts[d]]:
                acc_short = acc_short * _U64(_POLY) + value
            out[out_starts[d]] = acc_short
    return out, out_counts


def ngram_sets(texts: Sequence[str], ngram: int) -> list[np.ndarray]:
    """Distinct uint64 n-gram hashes of each text (containment's unit)."""
    hashes, counts = ngram_hashes64(*word_hashes(texts), ngram)
    return [sorted_distinct(part) for part in np.split(hashes, np.cumsum(counts)[:-1])] if len(texts) else []


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (by sorting: numpy 2.4's hash-based np.unique is slower on uint64)."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if values.size else values


class MinHasher:
    """Signatures [N, num_perm] uint32 for batches of texts (rows of empty texts are all MAX_HASH)."""

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5, shingle_hash: ShingleHash = "poly") -> None:
        self.num_perm, self.seed, self.ngram, self.shingle_hash = num_perm, seed, ngram, shingle_hash
        self.a, self.b = permutations(num_perm, seed)

    def shingle_hashes(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(flat uint32 shingle hashes before the finaliser, per-doc counts)."""
        if self.shingle_hash == "sha1":
            # The shingle bytes are slices of the batch's normalised text (words joined by one space).
            words = split_words(texts)
            data, word_start, word_end = words.compact()
            first, last, counts = shingle_word_ranges(words.counts, self.ngram)
            sha1 = hashlib.sha1
            digests = b"".join([sha1(data[a:b]).digest() for a, b in zip(word_start[first].tolist(), word_end[last].tolist())])
            return np.frombuffer(digests, dtype="<u4")[::5].astype(_U32), counts
        h64, counts = ngram_hashes64(*word_hashes(texts), self.ngram)
        with np.errstate(over="ignore"):
            return _fold32_np(h64), counts

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        hashes, counts = self.shingle_hashes(texts)
        sig_PN = np.full((self.num_perm, len(texts)), MAX_HASH, dtype=_U32)
        nonempty = np.flatnonzero(counts > 0)
        if nonempty.size:
            with np.errstate(over="ignore"):
                mixed = fmix32(hashes)
                starts = (np.cumsum(counts) - counts)[nonempty]
                buf = np.empty_like(mixed)
                for k in range(self.num_perm):
                    np.multiply(mixed, self.a[k], out=buf)
                    np.add(buf, self.b[k], out=buf)
                    sig_PN[k, nonempty] = np.minimum.reduceat(buf, starts)
        return np.ascontiguousarray(sig_PN.T)

    def signature_batches(self, texts: Sequence[str], batch_docs: int) -> np.ndarray:
        parts = [self.signatures(texts[i:i + batch_docs]) for i in range(0, len(texts), batch_docs)]
        return np.concatenate(parts) if parts else np.empty((0, self.num_perm), dtype=_U32)
