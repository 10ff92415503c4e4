"""Text normalisation before hashing: NFKC, lower case, and every character that is not a letter, mark or
number (Unicode categories L*, M*, N*) becomes a word break. Two texts that differ only in case,
punctuation, Unicode form or spacing get the same words, hence the same exact hash and shingles.

`WORD_CHAR_BMP` is the single definition of a word character: `normalize_text` (the readable reference,
and what datasketch users feed) applies it with `str.translate`; `split_words` applies the same table to
the UTF-8 bytes of a whole batch in numpy, which is what the pipeline hashes (tested equal). Characters
outside the Basic Multilingual Plane (emoji, rare CJK) count as word characters.
"""
from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WORD_CHAR_BMP = np.array([unicodedata.category(chr(c))[0] in "LMN" for c in range(0x10000)], dtype=bool)
_TO_SPACE = {int(c): " " for c in np.flatnonzero(~WORD_CHAR_BMP)}


def case_folded(text: str) -> str:
    """The step shared by both implementations, before word characters are told apart."""
    return unicodedata.normalize("NFKC", text).lower()


def normalized_words(text: str) -> list[str]:
    return case_folded(text).translate(_TO_SPACE).split()


def normalize_text(text: str) -> str:
    return " ".join(normalized_words(text))


# Class of a byte seen alone: ASCII by the table; bytes of multi-byte characters are fixed up per character.
_BYTE_IS_WORD = np.concatenate([WORD_CHAR_BMP[:128], np.ones(128, dtype=bool)])


@dataclass(frozen=True)
class Words:
    """The normalised words of a batch of texts as byte ranges of one buffer (texts joined by a space)."""

    buf: np.ndarray  # uint8: case-folded UTF-8
    in_word: np.ndarray  # bool per byte
    starts: np.ndarray  # first byte of each word
    ends: np.ndarray  # one past its last byte
    counts: np.ndarray  # words per text

    def compact(self) -> tuple[bytes, np.ndarray, np.ndarray]:
        """(the batch's words, each text's joined by single spaces and texts back to back; every word's
        [start, end) in it). A run of consecutive words of one text is one contiguous slice."""
        keep = self.in_word.copy()
        doc_of_word = np.repeat(np.arange(len(self.counts)), self.counts)
        followed = doc_of_word[1:] == doc_of_word[:-1]
        keep[self.ends[:-1][followed]] = True  # the byte after a word, before the next word of its text
        spaced = np.where(self.in_word, self.buf, np.uint8(0x20))
        position = np.cumsum(keep)
        return spaced[keep].tobytes(), position[self.starts] - 1, position[self.ends - 1]

    def normalized(self) -> list[bytes]:
        """Each text's words joined by single spaces: `normalize_text(text).encode()`."""
        data, word_start, word_end = self.compact()
        last = np.cumsum(self.counts) - 1
        return [data[word_start[i - c + 1]:word_end[i]] if c else b"" for i, c in zip(last.tolist(), self.counts.tolist())]


def split_words(texts: Sequence[str]) -> Words:
    """Tokenise a batch without a Python loop over words or characters."""
    encoded = [case_folded(t).encode("utf-8", "surrogatepass") for t in texts]
    buf = np.frombuffer(b" ".join(encoded), dtype=np.uint8)
    n = buf.size
    in_word = _BYTE_IS_WORD[buf]
    leads = np.flatnonzero(buf >= 0xC0)
    if leads.size:
        b0 = buf[leads].astype(np.int64)
        c1 = buf[np.minimum(leads + 1, n - 1)].astype(np.int64) & 0x3F
        c2 = buf[np.minimum(leads + 2, n - 1)].astype(np.int64) & 0x3F
        code = np.where(b0 < 0xE0, ((b0 & 0x1F) << 6) | c1, np.where(b0 < 0xF0, ((b0 & 0x0F) << 12) | (c1 << 6) | c2, 0x10000))
        is_word = np.where(code < 0x10000, WORD_CHAR_BMP[np.minimum(code, 0xFFFF)], True)
        length = np.where(b0 < 0xE0, 2, np.where(b0 < 0xF0, 3, 4))
        for j in range(4):
            sel = j < length
            in_word[leads[sel] + j] = is_word[sel]
    edges = np.diff(np.concatenate([[False], in_word, [False]]).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    doc_starts = np.cumsum([0] + [len(e) + 1 for e in encoded[:-1]]) if encoded else np.zeros(0, np.int64)
    counts = np.diff(np.searchsorted(starts, np.concatenate([doc_starts, [n + 1]]))) if encoded else np.zeros(0, np.int64)
    return Words(buf, in_word, starts, ends, counts.astype(np.int64))


def exact_hashes(texts: Sequence[str]) -> list[str]:
    """128-bit hex digests of the normalised texts (the `exact_hash` column)."""
    return [hashlib.blake2b(b, digest_size=16).hexdigest() for b in split_words(texts).normalized()]
