"""One tokenisation for every level-2 component: the seed labeller and the fastText models see the same tokens."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+(?:[-']\w+)*|[^\w\s]")
# Words only: punctuation marks say more about a source's typesetting than about its discipline (measured
# leave-one-source-out by benchmarks/eval_classifiers.py; see default_models).
_WORD = re.compile(r"\w+(?:[-']\w+)*")
# LaTeX command names (\frac, \mathrm, {\em ...}) are typesetting as well: some sources write their formulas in
# LaTeX (cs_textbooks, engineering_statics), others in Unicode (the OpenStax books), and a run reads arXiv papers
# with their formulas as LaTeX. Leave-one-source-out, leaving them out is within noise (default_models).
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")


# A token is one character or more: reading `max_tokens * _CHARS_PER_TOKEN` characters bounds the work on
# a long document and yields max_tokens tokens unless the beginning is mostly whitespace.
_CHARS_PER_TOKEN = 16


def tokens(text: str, max_tokens: int | None = None, words_only: bool = False) -> list[str]:
    """Lowercased words (hyphenated / apostrophe words kept whole) and, unless `words_only`, single punctuation
    marks: the first `max_tokens` of them within the first `max_tokens * 16` characters. `words_only` leaves
    punctuation marks and LaTeX command names out."""
    if max_tokens is None:
        return _find(text, words_only)
    return _find(text[: max_tokens * _CHARS_PER_TOKEN], words_only)[:max_tokens]


def _find(text: str, words_only: bool) -> list[str]:
    if not words_only:
        return _TOKEN.findall(text.lower())
    return _WORD.findall((_LATEX_COMMAND.sub(" ", text) if "\\" in text else text).lower())


def fasttext_line(text: str, max_tokens: int) -> str:
    """A document as one fastText input line (fastText reads one example per line)."""
    return " ".join(tokens(text, max_tokens))


def window_tokens(text: str, max_tokens: int, windows: int, words_only: bool = False) -> list[str]:
    """Up to `max_tokens` tokens from `windows` equal stretches spread evenly across a long document (its
    beginning, its end and between), so a whole paper or a long page is read beyond its first paragraphs; a
    document that fits in one window is read from its beginning, as `tokens`. fastText averages the embeddings
    of its input, so the windows' tokens in one line is the mean over the windows. The first token of a stretch
    that starts mid-document may be a cut word: it is dropped. `words_only` leaves punctuation marks and LaTeX
    command names out."""
    budget = max_tokens * _CHARS_PER_TOKEN
    if windows <= 1 or len(text) <= budget:
        return tokens(text, max_tokens, words_only)
    width, per_window = budget // windows, max_tokens // windows
    step = (len(text) - width) / (windows - 1)
    out: list[str] = []
    for i in range(windows):
        start = round(i * step)
        found = _find(text[start:start + width], words_only)
        out += found[(start > 0):][:per_window]
    return out
