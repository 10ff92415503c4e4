"""One tokenisation for every level-2 component: the seed labeller and the fastText models see the same tokens."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+(?:[-']\w+)*|[^\w\s]")


# A token is one character or more: reading `max_tokens * _CHARS_PER_TOKEN` characters bounds the work on
# a long document and yields max_tokens tokens unless the beginning is mostly whitespace.
_CHARS_PER_TOKEN = 16


def tokens(text: str, max_tokens: int | None = None) -> list[str]:
    """Lowercased words (hyphenated / apostrophe words kept whole) and single punctuation marks: the first
    `max_tokens` of them within the first `max_tokens * 16` characters."""
    if max_tokens is None:
        return _TOKEN.findall(text.lower())
    return _TOKEN.findall(text[: max_tokens * _CHARS_PER_TOKEN].lower())[:max_tokens]


def fasttext_line(text: str, max_tokens: int) -> str:
    """A document as one fastText input line (fastText reads one example per line)."""
    return " ".join(tokens(text, max_tokens))
