"""MinHash signatures computed in vectorised batches, compatible with datasketch 2.x (scheme "affine32").

datasketch's default MinHash hashes each shingle to 32 bits (`hashfunc`), pre-mixes it with the 32-bit
MurmurHash3 finaliser, then applies `num_perm` permutations `a*h + b mod 2^32` with `a, b` drawn from
`np.random.RandomState(seed)`. We draw the same `a, b`, use the same finaliser and keep each document's
minimum, so `datasketch.LeanMinHash(seed=seed, hashvalues=our_row, scheme="affine32")` equals the
`MinHash(num_perm, seed, hashfunc=...)` of the same shingles (tested).

Two shingle hashes (`DedupConfig.shingle_hash`):
- "sha1": datasketch's default hashfunc over `shingle_bytes(text)` (space-joined normalised word n-grams);
  any plain `datasketch.MinHash(num_perm, seed)` of those bytes queries our signatures.
- "xxh3" (default, several times faster): each word is hashed once with xxh3-64 and an n-gram's hash is a
  polynomial of its word hashes, computed for a whole batch in numpy. To query, users pass
  `hashfunc=xxh3_shingle_hash` and feed `word_shingles(text)` (tuples of words).

The permutation step runs per permutation over one flat array holding every shingle hash of the batch
(contiguous 1-D uint32 arithmetic, the fastest numpy path) and is min-reduced per document with
`np.minimum.reduceat`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
import xxhash

from curation.normalize import normalized_words

ShingleHash = Literal["xxh3", "sha1"]
MAX_HASH = np.uint32(0xFFFFFFFF)  # datasketch's value for "no shingle seen"
SCHEME = "affine32"
_U32, _U64 = np.uint32, np.uint64
_POLY = 0x9E3779B97F4A7C15  # odd multiplier of the n-gram polynomial (mod 2^64)
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


def _word_hash(word: str) -> int:
    return xxhash.xxh3_64_intdigest(word.encode("utf-8", "surrogatepass"))


def _fold32(h64: int) -> int:
    h64 ^= h64 >> 33
    h64 = (h64 * 0xFF51AFD7ED558CCD) & _MASK64
    h64 ^= h64 >> 33
    return h64 >> 32


def xxh3_shingle_hash(shingle: Sequence[str]) -> int:
    """The 32-bit hash of one word shingle under shingle_hash="xxh3" (a datasketch `hashfunc`)."""
    acc = 0
    for word in shingle:
        acc = (acc * _POLY + _word_hash(word)) & _MASK64
    return _fold32(acc)


def _fold32_np(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _U64(33))
    h = h * _U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> _U64(33))
    return (h >> _U64(32)).astype(_U32)


def ngram_hashes64(words_per_doc: list[list[str]], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat uint64 n-gram polynomial hashes, per-doc counts) for a batch; short non-empty docs give one."""
    counts = np.fromiter((len(w) for w in words_per_doc), dtype=np.int64, count=len(words_per_doc))
    total = int(counts.sum())
    wh = np.fromiter((_word_hash(w) for ws in words_per_doc for w in ws), dtype=_U64, count=total)
    out_counts = np.where(counts >= ngram, counts - ngram + 1, np.minimum(counts, 1))
    out = np.empty(int(out_counts.sum()), dtype=_U64)
    long_docs = counts >= ngram
    if total >= ngram and long_docs.any():
        width = total - ngram + 1
        acc = wh[:width].copy()
        with np.errstate(over="ignore"):
            for k in range(1, ngram):
                acc *= _U64(_POLY)
                acc += wh[k:k + width]
        ends = np.repeat(np.cumsum(counts), counts)[:width]
        valid = np.arange(width) + ngram <= ends
        out[np.repeat(long_docs, out_counts)] = acc[valid]
    short = np.flatnonzero((counts > 0) & ~long_docs)
    if short.size:
        starts = np.cumsum(out_counts) - out_counts
        for d in short:
            acc_int = 0
            for word in words_per_doc[d]:
                acc_int = (acc_int * _POLY + _word_hash(word)) & _MASK64
            out[starts[d]] = acc_int
    return out, out_counts


class MinHasher:
    """Signatures [N, num_perm] uint32 for batches of texts (rows of empty texts are all MAX_HASH)."""

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5, shingle_hash: ShingleHash = "xxh3") -> None:
        self.num_perm, self.seed, self.ngram, self.shingle_hash = num_perm, seed, ngram, shingle_hash
        self.a, self.b = permutations(num_perm, seed)

    def shingle_hashes(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(flat uint32 shingle hashes before the finaliser, per-doc counts)."""
        if self.shingle_hash == "sha1":
            per_doc = [shingle_bytes(t, self.ngram) for t in texts]
            counts = np.fromiter((len(s) for s in per_doc), dtype=np.int64, count=len(per_doc))
            digests = b"".join(hashlib.sha1(s).digest() for shingles in per_doc for s in shingles)
            return np.frombuffer(digests, dtype="<u4")[::5].astype(_U32), counts
        h64, counts = ngram_hashes64([normalized_words(t) for t in texts], self.ngram)
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
