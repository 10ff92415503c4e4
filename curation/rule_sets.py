"""The Gopher, C4 and FineWeb checks, computed from one pass of text statistics (`TextView`).

Thresholds are the published ones (Gopher: Rae et al. 2021, table A1; C4: Raffel et al. 2020; FineWeb:
Penedo et al. 2024), as datatrove implements them. Every check runs (no early exit) so that a document's
score is the fraction of checks it passes.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import cached_property
from itertools import accumulate

# Close to spaCy's English tokenizer (what datatrove uses) at a fraction of its cost: URLs, words with inner
# dots/apostrophes/slashes/colons (e.g, don't, 2019/06/19, 15:20), runs of dots or dashes, one symbol each.
_TOKEN = re.compile(r"https?://\S+|www\.\S+|\w+(?:[.'’/:]\w+)*|\.{2,}|-{2,}|[^\w\s]")
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)
_PARAGRAPH = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_NUMBER = re.compile(r"[-+]?\d[\d.,]*%?")
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")

PROSE_PUNCTUATION = frozenset(".,;:!?()[]'\"-–—/%’‘“”")
GOPHER_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
TERMINAL_PUNCTUATION = (".", "?", "!", '"', "'", "…", "。", "！", "？", "”", ":", ";")
C4_END_PUNCTUATION = (".", "?", "!", '"', "'")
C4_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
GOPHER_TOP_NGRAMS = ((2, 0.20), (3, 0.18), (4, 0.16))
GOPHER_DUP_NGRAMS = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))


class TextView:
    """The statistics every rule reads, computed lazily once per document.

    With `science=True`, table rows and display-math lines are left out (`prose_text`, what the line rules
    see), and inline math is taken out as well before word statistics (`prose`).
    """

    def __init__(self, text: str, science: bool) -> None:
        self.text = text
        self.science = science
        if science:
            self.prose_text = "\n".join(line for line in text.split("\n") if not _is_table_or_math_line(line))
            self.prose = _MATH.sub(" ", self.prose_text) if "$" in self.prose_text else self.prose_text
        else:
            self.prose_text = self.prose = text

    @cached_property
    def tokens(self) -> list[str]:
        return _TOKEN.findall(self.prose)

    @cached_property
    def words(self) -> list[str]:
        """Tokens with a letter or digit (Gopher's 'non-symbol words')."""
        return [t for t in self.tokens if t[0].isalnum() or t[0] == "_"]

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines of `prose_text`."""
        return [line for line in self.prose_text.split("\n") if line.strip()]


def _is_table_or_math_line(line: str) -> bool:
    stripped = line.strip()
    return (stripped.startswith("|") and stripped.endswith("|")) or "\t" in stripped or \
        (stripped.startswith("$$") and stripped.endswith("$$")) or _mostly_numbers(stripped)


def _mostly_numbers(line: str) -> bool:
    cells = line.split()
    return len(cells) >= 2 and sum(bool(_NUMBER.fullmatch(c)) for c in cells) >= 0.6 * len(cells)


def run_checks(view: TextView) -> tuple[list[str], int]:
    """(names of the checks that fired, number of checks run)."""
    fired: list[str] = []
    total = 0
    for group in (_gopher_quality, _gopher_repetition, _c4, _fineweb):
        for name, hit in group(view):
            total += 1
            if hit:
                fired.append(name)
    return fired, total


def _gopher_quality(v: TextView):
    words, n_tokens = v.words, max(len(v.tokens), 1)
    n_words = len(words)
    # Science: a complete two-sentence abstract (20-50 words) is a whole document, not a fragment.
    yield "gopher_quality:short_doc", n_words < (20 if v.science else 50)
    yield "gopher_quality:long_doc", n_words > 100_000
    mean_length = sum(map(len, words)) / n_words if n_words else 0.0
    yield "gopher_quality:avg_word_length", not 3 <= mean_length <= 10
    yield "gopher_quality:hash_ratio", v.prose.count("#") / n_tokens > 0.1
    yield "gopher_quality:ellipsis_ratio", (v.prose.count("...") + v.prose.count("…")) / n_tokens > 0.1
    lines = v.lines or [""]
    yield "gopher_quality:bullet_lines", sum(line.lstrip().startswith(("•", "-")) for line in lines) / len(lines) > 0.9
    # Science: a title and a truncated abstract are two lines, one ending in "...": a share of two lines says nothing.
    judged = not v.science or len(lines) >= 5
    yield "gopher_quality:ellipsis_lines", judged and sum(
        line.rstrip().endswith(("...", "…")) for line in lines) / len(lines) > 0.3
    if v.science:
        # Prose punctuation is not a word at all, and a number is as good a word as any in a results section.
        counted = [t for t in v.tokens if t not in PROSE_PUNCTUATION]
        alpha = sum(any(c.isalpha() for c in t) or bool(_NUMBER.fullmatch(t)) for t in counted)
        n_counted = max(len(counted), 1)
    else:
        alpha = sum(any(c.isalpha() for c in t) for t in v.tokens)
        n_counted = n_tokens
    yield "gopher_quality:alpha_words", alpha / n_counted < 0.8
    yield "gopher_quality:stop_words", len(GOPHER_STOP_WORDS.intersection(v.tokens)) < 2


def _gopher_repetition(v: TextView):
    text = v.prose_text
    yield "gopher_repetition:empty", not text.strip()
    n_chars = max(len(text), 1)
    paragraphs = _PARAGRAPH.split(text.strip())
    dup_paras, dup_para_chars = _duplicates(paragraphs)
    yield "gopher_repetition:dup_para_frac", dup_paras / len(paragraphs) > 0.3
    yield "gopher_repetition:dup_para_char_frac", dup_para_chars / n_chars > 0.2
    lines = _LINES.split(text)
    dup_lines, dup_line_chars = _duplicates(lines)
    yield "gopher_repetition:dup_line_frac", dup_lines / len(lines) > 0.3
    yield "gopher_repetition:dup_line_char_frac", dup_line_chars / n_chars > 0.2
    words = v.tokens
    if v.science and len(v.words) < 100:
        # In a short abstract one repeated term ("lead bromide perovskite") covers a large share of the characters:
        # the n-gram shares measure a page's repetition, not a paragraph's terminology.
        return
    lengths = [len(w) for w in words]
    for n, limit in GOPHER_TOP_NGRAMS:
        yield f"gopher_repetition:top_{n}_gram", _top_ngram_chars(words, n) / n_chars > limit
    for n, limit in GOPHER_DUP_NGRAMS:
        yield f"gopher_repetition:dup_{n}_gram", _duplicate_ngram_chars(words, lengths, n) / n_chars > limit


def _duplicates(items: list[str]) -> tuple[int, int]:
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _top_ngram_chars(words: list[str], n: int) -> int:
    """Characters covered by the most frequent n-gram (its length with spaces × its count, even a count of 1)."""
    if len(words) < n:
        return 0
    counts = Counter(zip(*(words[i:] for i in range(n))))
    gram, count = counts.most_common(1)[0]
    return (sum(map(len, gram)) + n - 1) * count


def _duplicate_ngram_chars(words: list[str], lengths: list[int], n: int) -> int:
    """Characters (without spaces) in n-grams seen before, skipping past each repeat (Gopher's definition)."""
    if len(words) < n:
        return 0
    prefix = [0, *accumulate(lengths)]
    seen: set[tuple[str, ...]] = set()
    repeated, i, last = 0, 0, len(words) - n
    while i <= last:
        gram = tuple(words[i:i + n])
        if gram in seen:
            repeated += prefix[i + n] - prefix[i]
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated


def _c4(v: TextView):
    """C4's rules in its order: lines are dropped one by one, and the document-level rules (lorem ipsum,
    curly bracket) look only at the lines kept so far, as in the reference implementation."""
    sentences = 0
    lorem = curly = False
    for line in v.lines:
        words = line.split()
        if any(len(w) > 1000 for w in words):
            continue
        line = _CITATION.sub("", line.strip())
        # Science: a paragraph whose last sentence lost its period (a truncated abstract, a caption) still
        # holds sentences; equation and table lines are already out of `v.lines`.
        ends_well = v.science or line.endswith(C4_END_PUNCTUATION) and not line.endswith("...")
        if not ends_well or len(words) < 3:
            continue
        lowered = line.lower()
        lorem = lorem or "lorem ipsum" in lowered
        if "javascript" in lowered:
            continue
        curly = curly or "{" in (_MATH.sub(" ", line) if v.science else line)
        if any(p in lowered for p in C4_POLICY):
            continue
        sentences += len(_SENTENCE_END.findall(line))
    yield "c4:lorem_ipsum", lorem
    yield "c4:curly_bracket", curly
    # C4's five sentences suit web pages. Science: an abstract of one or two long sentences is a whole document;
    # one sentence per 150 words keeps out lists of headings (a table of contents) that merely end in a period.
    yield "c4:too_few_sentences", sentences < (max(1, len(v.words) // 150) if v.science else 5)


def _is_prose_paragraph(line: str) -> bool:
    """A long line of several sentences whose end carries a reference, keywords or a copyright instead of a period."""
    return len(line) >= 200 and len(_SENTENCE_END.findall(line)) >= 2


def _fineweb(v: TextView):
    lines = v.lines
    if not lines:
        for name in ("line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio"):
            yield f"fineweb:{name}", True
        return
    punctuated = sum(line.endswith(TERMINAL_PUNCTUATION) or v.science and _is_prose_paragraph(line) for line in lines)
    yield "fineweb:line_punct_ratio", punctuated / len(lines) < 0.12
    yield "fineweb:short_line_ratio", sum(len(line) <= 30 for line in lines) / len(lines) > 0.67
    text = v.prose_text
    yield "fineweb:char_dup_ratio", _duplicates(lines)[1] / max(len(text) - text.count("\n"), 1) > 0.01
    yield "fineweb:list_ratio", text.count("\n") / max(len(v.words), 1) > 0.3
