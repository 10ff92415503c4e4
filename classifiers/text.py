"""One tokenisation for every level-2 component: the seed labeller and the fastText models see the same tokens."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+(?:[-']\w+)*|[^\w\s]")


def tokens(text: str, max_tokens: int | None = None) -> list[str]:
    """Lowercased words (hyphenated / apostrophe words kept whole) and single punctuation marks."""
    out: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        out.append(match.group())
        if max_tokens is not None and len(out) >= max_tokens:
            break
    return out


def fasttext_line(text: str, max_tokens: int) -> str:
    """A document as one fastText input line (fastText reads one example per line)."""
    return " ".join(tokens(text, max_tokens))
