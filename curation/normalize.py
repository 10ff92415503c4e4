"""Text normalisation before hashing: two texts that differ only in case, punctuation, Unicode form or
spacing normalise to the same words, so they get the same exact hash and the same shingles."""
from __future__ import annotations

import hashlib
import re
import unicodedata

# Punctuation and symbols become word breaks; `_` counts as punctuation although `\w` matches it.
_NON_WORD = re.compile(r"[^\w\s]|_")


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_NON_WORD.sub(" ", text).split())


def normalized_words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).split()


def exact_hash(text: str) -> str:
    """128-bit hex digest of the normalised text (the `exact_hash` column)."""
    return hashlib.blake2b(normalize_text(text).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
