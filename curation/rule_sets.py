"""The Gopher, C4 and FineWeb checks, computed from one pass of text statistics (`TextView`).

Thresholds are the published ones (Gopher: Rae et al. 2021, table A1; C4: Raffel et al. 2020; FineWeb:
Penedo et al. 2024), as datatrove implements them. Every check runs (no early exit) so that a document's
score is the fraction of checks it passes.

Cost (measured with benchmarks/bench_text_rules.py): the text is tokenised once (`TextView`: each distinct
whitespace-separated piece once, into token numbers) and every rule reads the same numbers, lines and counts.
Word statistics are numpy sums over per-token flags; n-gram repetition is counted on exact integer n-gram
numbers, only positions whose n-gram occurs more than once reach Python, and counting stops at the order whose
repeated n-grams are too few for any later order to fire. Regexes that the rules run per
line start with a literal where they can (re then scans for it in C).
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import chain

import numpy as np

from sciloom.curation.latex_source import latex_markup_lines

# Close to spaCy's English tokenizer (what datatrove uses) at a fraction of its cost: URLs, words with inner
# dots/apostrophes/slashes/colons (e.g, don't, 2019/06/19, 15:20), runs of dots or dashes, one symbol each.
_TOKEN = re.compile(r"https?://\S+|www\.\S+|\w+(?:[.'’/:]\w+)*|\.{2,}|-{2,}|[^\w\s]")
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)
# Braces that LaTeX writes in running text (arXiv's abstracts keep their LaTeX outside $..$ too): sub- and
# superscripts (10^{16}, C_{V}), accents (Schr\"{o}dinger), groups opened by a command ({\em new}, {\alpha}), the
# argument of an inline markup, math, reference or document-structure command (\emph{, \mathrm{, \frac{, \cite{,
# \section{, \caption{, \begin{ of a LaTeX source's body) and a command's next argument (\frac{a}{b}). A preamble
# (\usepackage{amsmath}), layout ({0.5cm}) and code keep theirs.
_LATEX_BRACE = re.compile(
    r"[_^}]\{|\\[\"'`~^=.uvHc]\{|\{\\[A-Za-z]|\\(?:emph|text(?:it|bf|rm|sl|sc|tt|sf|up|normal)?|mbox|underline|"
    r"math(?:rm|bf|it|cal|bb|sf|tt|frak)|boldsymbol|operatorname|frac|dfrac|tfrac|sqrt|hat|widehat|bar|tilde|"
    r"widetilde|vec|dot|ddot|overline|underbrace|cite[a-z]*|ref|eqref|autoref|cref|url|footnote|"
    r"(?:sub){0,2}section|chapter|part|paragraph|caption|label|begin|end)\*?\s*\{")
# A LaTeX source's citations and cross-references (`\cite{smith2020}`, `\eqref{eq:flow}`): markers, as `[3]` is, whose
# tokens repeat wherever a work or an equation is cited again (the science profile's word statistics leave them out).
_LATEX_REFERENCE = re.compile(
    r"\\(?:cite[a-zA-Z]*|ref|eqref|autoref|cref|Cref|pageref|label)\*?(?:\[[^\]]*\])*\{[^{}]*\}")
# Written to start with a literal character, which re finds with a fast scan (15x faster than "\n{2,}", "\n+").
# Paragraphs are separated by one or more blank lines, a line of spaces included (indentation left on blank lines).
_PARAGRAPH = re.compile(r"\n\s*\n")
_LINES = re.compile(r"\n\n*")
# One per run of sentence-ending marks followed by a space or the end (the last mark of the run matches).
_SENTENCE_END = re.compile(r"[.!?](?!\S)")
_NUMBER = re.compile(r"[-+]?\d[\d.,]*%?")
# A whitespace-separated cell that is a whole `_NUMBER`: counts the number cells of a line in one call.
_NUMBER_CELL = re.compile(r"(?<!\S)[-+]?\d[\d.,]*%?(?!\S)")
_DIGIT = re.compile(r"\d")
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_LONG_WORD = re.compile(r"\S{1001}")  # C4 skips a line holding a word over 1,000 characters

PROSE_PUNCTUATION = frozenset(".,;:!?()[]'\"-–—/%’‘“”")
GOPHER_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
TERMINAL_PUNCTUATION = (".", "?", "!", '"', "'", "…", "。", "！", "？", "”", ":", ";")
C4_END_PUNCTUATION = (".", "?", "!", '"', "'")
# Each holds "terms of use", "polic" or "cookie": three substring tests decide most lines (see `_c4`).
C4_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
GOPHER_TOP_NGRAMS = ((2, 0.20), (3, 0.18), (4, 0.16))
GOPHER_DUP_NGRAMS = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))

# Properties of one token, as bits (see `_flags`).
_WORD, _ALPHA, _NUMERIC, _PROSE_PUNCT = 1, 2, 4, 8


def _flags(tokens: list[str]) -> np.ndarray:
    """The property bits of each token.

    Most tokens are letters and digits only (str.isalnum): a word, with a letter unless every character is
    numeric, and a `_NUMBER` exactly when every character is a decimal digit; three C-level passes answer
    them all. The others (punctuation, "e.g", "don't", "3.5", URLs) go through `_token_flags`.
    """
    count = len(tokens)
    alnum = np.fromiter(map(str.isalnum, tokens), dtype=bool, count=count)
    numeric = np.fromiter(map(str.isnumeric, tokens), dtype=bool, count=count)
    decimal = np.fromiter(map(str.isdecimal, tokens), dtype=bool, count=count)
    flags = np.where(alnum, _WORD | np.where(numeric, 0, _ALPHA) | np.where(decimal, _NUMERIC, 0), 0)
    others = np.flatnonzero(~alnum).tolist()
    if others:
        flags[others] = [_OTHER_FLAGS[token] if token in _OTHER_FLAGS else _token_flags(token)
                         for token in map(tokens.__getitem__, others)]
    return flags


# Punctuation and the other non-alphanumeric tokens repeat across documents: their flags are kept (a plain dict
# answers faster than functools.lru_cache, and emptying it when full keeps memory flat).
_OTHER_FLAGS: dict[str, int] = {}
_OTHER_FLAGS_LIMIT = 1 << 16


def _token_flags(token: str) -> int:
    """The property bits of one token, remembered in `_OTHER_FLAGS`."""
    flags = _WORD if token[0].isalnum() or token[0] == "_" else 0
    if any(map(str.isalpha, token)):
        flags |= _ALPHA
    if _NUMBER.fullmatch(token):
        flags |= _NUMERIC
    if token in PROSE_PUNCTUATION:
        flags |= _PROSE_PUNCT
    if len(_OTHER_FLAGS) >= _OTHER_FLAGS_LIMIT:
        _OTHER_FLAGS.clear()
    _OTHER_FLAGS[token] = flags
    return flags


def unix_line_endings(text: str) -> str:
    """`text` with its Windows (CR LF) and old Mac (CR) line breaks as LF: a text saved on Windows holds a CR at
    the end of every line, and each blank line would be a one-character line repeated down the page (Gopher's
    duplicate-line share rejected articles for it)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


# A hard-wrapped text has its lines cut at one width: plain-text archives, pdftotext, mailing lists (72-80 columns).
_WRAP_WIDTHS = (40, 120)
_BULLETS = ("•", "- ", "* ")


def hard_wrap_joins(lines: list[str]) -> list[bool] | None:
    """Which lines of a hard-wrapped text go on from the line before them (the wrapper cut there); None when the
    text is not hard-wrapped.

    A wrapper cuts a line where the next word no longer fits: a break is a wrap when the line before it, plus a
    space and the next line's first word, is longer than the text's width (its longest lines, a few outliers
    allowed). The text counts as hard-wrapped when at least 3 and half of its breaks between non-blank lines are
    wraps, and at least 30% of the wrapped lines go on in lowercase (a list of truncated titles has the width but
    not the continuation). Blank lines, table rows, display math and bullets keep their breaks.
    """
    lengths = sorted([len(line) for line in lines if line.strip()])
    if len(lengths) < 4:
        return None
    width = lengths[len(lengths) - 1 - len(lengths) // 20]
    if not _WRAP_WIDTHS[0] <= width <= _WRAP_WIDTHS[1]:
        return None
    joins = [False] * len(lines)
    previous, previous_kept = lines[0], is_table_or_math_line(lines[0])
    breaks = wraps = lowercase = 0
    for i in range(1, len(lines)):
        line = lines[i]
        stripped = line.strip()
        kept = bool(stripped) and is_table_or_math_line(line)  # a table row or display math keeps its breaks
        if stripped and previous.strip():
            breaks += 1
            if len(previous.rstrip()) + 1 + len(stripped.split(None, 1)[0]) > width and not previous_kept and \
                    not kept and not stripped.startswith(_BULLETS):
                joins[i] = True
                wraps += 1
                lowercase += stripped[0].islower()
        previous, previous_kept = line, kept
    return joins if wraps >= 3 and 2 * wraps >= breaks and 10 * lowercase >= 3 * wraps else None


def wrapped_paragraphs(lines: list[str], joins: list[bool]) -> list[list[int]]:
    """The line numbers each output line is made of: a line and the lines that go on from it (`hard_wrap_joins`)."""
    groups: list[list[int]] = []
    for i, joined in enumerate(joins):
        if joined:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def join_lines(lines: list[str], group: list[int]) -> str:
    """One paragraph from the wrapped lines of `group`."""
    if len(group) == 1:
        return lines[group[0]]
    return " ".join([lines[group[0]].rstrip()] + [lines[i].strip() for i in group[1:]])


def unwrap_hard_wrapped(text: str) -> str:
    """`text` with the line breaks inside its paragraphs taken out when it is hard-wrapped (`hard_wrap_joins`), else
    `text` itself. Line rules then read paragraphs, not the wrapper's fragments: wrapped at 72 columns, 88% of
    unarXive papers and 74% of S2ORC abstracts were rejected for lines without punctuation or for math split across
    lines (benchmarks/eval_science_rules.py).
    """
    lines = text.split("\n")
    joins = hard_wrap_joins(lines)
    if joins is None:
        return text
    return "\n".join(join_lines(lines, group) for group in wrapped_paragraphs(lines, joins))


def encode(text: str) -> tuple[np.ndarray, list[str], int]:
    """(the tokens of `text` as numbers, the distinct tokens in order of first appearance: number → token, the
    length of its longest whitespace-separated piece).

    Each distinct whitespace-separated piece is tokenised once per document (a 5 KB text has ~950 pieces,
    ~500 distinct), and the number sequence is built without a per-token Python step.
    """
    pieces = text.split()
    numbers: dict[str, tuple[int, ...]] = dict.fromkeys(pieces)  # type: ignore[arg-type]
    number: dict[str, int] = {}
    setdefault = number.setdefault
    # No token holds whitespace, so tokenising piece by piece gives exactly `_TOKEN.findall` of the whole text.
    for piece in numbers:
        if piece.isalnum():  # a word or a number: one token
            numbers[piece] = (setdefault(piece, len(number)),)
        elif piece[:-1].isalnum() and not piece[-1].isalnum() and piece[-1] != "_":
            # "word," "word." "2019)": none of the regex's longer forms can start at the last character
            numbers[piece] = (setdefault(piece[:-1], len(number)), setdefault(piece[-1], len(number)))
        else:
            numbers[piece] = tuple([setdefault(token, len(number)) for token in _TOKEN.findall(piece)])
    ids = np.fromiter(chain.from_iterable(map(numbers.__getitem__, pieces)), dtype=np.int64)
    return ids, list(number), max(map(len, numbers), default=0)


class TextView:
    """The statistics every rule reads, computed once per document from one tokenisation.

    Lines end at LF, CR LF or CR, and a line of spaces is a blank line. With `science=True`, a hard-wrapped text is
    read as its paragraphs (`unwrap_hard_wrapped`); table rows, display-math lines and a LaTeX source's environment
    lines (`latex_source.latex_markup_lines`) are left out (`prose_text`, what the line rules see), and inline math
    and LaTeX's citations and cross-references are taken out as well before word statistics (`prose`).
    """

    def __init__(self, text: str, science: bool) -> None:
        self.science = science
        text = unix_line_endings(text)
        if science:
            text = unwrap_hard_wrapped(text)
            lines = text.split("\n")
            latex = latex_markup_lines(lines) if "\\" in text or "$$" in text else ()
            self.prose_text = "\n".join(line for i, line in enumerate(lines)
                                         if not is_table_or_math_line(line) and i not in latex)
            self.prose = _MATH.sub(" ", self.prose_text) if "$" in self.prose_text else self.prose_text
            if "\\" in self.prose:
                self.prose = _LATEX_REFERENCE.sub(" ", self.prose)
        else:
            self.prose_text = self.prose = text
        self.lines = [line for line in self.prose_text.split("\n") if line.strip()]
        """Non-empty lines of `prose_text`."""
        self.ids, distinct, longest = encode(self.prose)
        """The tokens, as numbers."""
        self.longest_word = longest if self.prose is self.prose_text else None
        """Characters of the longest whitespace-separated word of the lines (None: not known, math was taken out)."""
        self.n_tokens = len(self.ids)
        self.vocabulary_size = len(distinct)
        flags = _flags(distinct)[self.ids]
        self.token_lengths = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))[self.ids]
        is_word = (flags & _WORD) != 0
        self.n_words = int(np.count_nonzero(is_word))
        """Tokens with a letter or digit (Gopher's 'non-symbol words')."""
        self.word_chars = int(self.token_lengths[is_word].sum())
        if science:
            # Prose punctuation is not a word at all, and a number is as good a word as any in a results section.
            counted = (flags & _PROSE_PUNCT) == 0
            self.alpha_tokens = int(np.count_nonzero(counted & ((flags & (_ALPHA | _NUMERIC)) != 0)))
            self.counted_tokens = max(int(np.count_nonzero(counted)), 1)
        else:
            self.alpha_tokens = int(np.count_nonzero(flags & _ALPHA))
            self.counted_tokens = max(self.n_tokens, 1)
        self.stop_words = len(GOPHER_STOP_WORDS.intersection(distinct))
        """Distinct Gopher stop words among the tokens."""


def is_table_or_math_line(line: str) -> bool:
    stripped = line.strip()
    return (stripped.startswith("|") and stripped.endswith("|")) or "\t" in stripped or \
        (stripped.startswith("$$") and stripped.endswith("$$")) or _mostly_numbers(stripped)


def _mostly_numbers(line: str) -> bool:
    """At least 60% of at least two whitespace-separated cells are numbers (so at least two numbers)."""
    # Every number cell holds a digit: lines with too few digits are answered by fast C scans (str.count),
    # and only the rest meets the cell regex.
    ascii_digits = sum(map(line.count, "0123456789")) if line.isascii() else None
    if ascii_digits is not None and ascii_digits < 2 or ascii_digits is None and not _DIGIT.search(line):
        return False
    cells = len(line.split())
    needed = 0.6 * cells
    if cells < 2 or ascii_digits is not None and ascii_digits < needed:
        return False
    return len(_NUMBER_CELL.findall(line)) >= needed


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
    n_words, n_tokens = v.n_words, max(v.n_tokens, 1)
    # Science: a complete two-sentence abstract (20-50 words) is a whole document, not a fragment.
    yield "gopher_quality:short_doc", n_words < (20 if v.science else 50)
    yield "gopher_quality:long_doc", n_words > 100_000
    mean_length = v.word_chars / n_words if n_words else 0.0
    yield "gopher_quality:avg_word_length", not 3 <= mean_length <= 10
    yield "gopher_quality:hash_ratio", v.prose.count("#") / n_tokens > 0.1
    yield "gopher_quality:ellipsis_ratio", (v.prose.count("...") + v.prose.count("…")) / n_tokens > 0.1
    lines = v.lines or [""]
    yield "gopher_quality:bullet_lines", sum(line.lstrip().startswith(("•", "-")) for line in lines) / len(lines) > 0.9
    # Science: a title and a truncated abstract are two lines, one ending in "...": a share of two lines says nothing.
    judged = not v.science or len(lines) >= 5
    yield "gopher_quality:ellipsis_lines", judged and sum(
        line.rstrip().endswith(("...", "…")) for line in lines) / len(lines) > 0.3
    yield "gopher_quality:alpha_words", v.alpha_tokens / v.counted_tokens < 0.8
    yield "gopher_quality:stop_words", v.stop_words < 2


def _gopher_repetition(v: TextView):
    text = v.prose_text
    yield "gopher_repetition:empty", not text.strip()
    n_chars = max(len(text), 1)
    paragraphs = _PARAGRAPH.split(text.strip())
    dup_paras, dup_para_chars = _duplicates(paragraphs)
    yield "gopher_repetition:dup_para_frac", dup_paras / len(paragraphs) > 0.3
    yield "gopher_repetition:dup_para_char_frac", dup_para_chars / n_chars > 0.2
    # A line of spaces is a blank line, not a line repeated down the page.
    lines = [line for line in _LINES.split(text) if not line.isspace()] or [""]
    dup_lines, dup_line_chars = _duplicates(lines)
    yield "gopher_repetition:dup_line_frac", dup_lines / len(lines) > 0.3
    yield "gopher_repetition:dup_line_char_frac", dup_line_chars / n_chars > 0.2
    if v.science and v.n_words < 100:
        # In a short abstract one repeated term ("lead bromide perovskite") covers a large share of the characters:
        # the n-gram shares measure a page's repetition, not a paragraph's terminology.
        return
    yield from _ngram_checks(v, n_chars)


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(items equal to an earlier one, their characters)."""
    distinct = set(items)
    return len(items) - len(distinct), sum(map(len, items)) - sum(map(len, distinct))


def _ngram_checks(v: TextView, n_chars: int):
    """Gopher's top n-gram and duplicate n-gram shares over the tokens, n = 2..10.

    Every order numbers its n-grams exactly (no hashing): the n-gram at position i is the (n-1)-gram's group
    there and token i+n-1. A position can hold a repeated n-gram only if it holds a repeated (n-1)-gram, so
    each order looks only at the repeated positions of the order below: a few percent of the text in ordinary
    prose, which numpy's per-call cost would dominate, so small orders are grouped in Python. Once the repeated
    n-grams cover less of the text than every later limit, the later orders are answered without being counted.
    """
    n_tokens = v.n_tokens
    prefix_array = np.concatenate(([0], np.cumsum(v.token_lengths)))
    prefix = prefix_array.tolist()
    top_limits, dup_limits = dict(GOPHER_TOP_NGRAMS), dict(GOPHER_DUP_NGRAMS)
    top_orders = max(top_limits)
    positions, groups, ids = np.arange(n_tokens), v.ids, v.ids  # order 1: every position, its token
    for n in range(2, GOPHER_DUP_NGRAMS[-1][0] + 1):
        if isinstance(positions, np.ndarray) and len(positions) < _SMALL:
            positions, groups, ids = positions.tolist(), groups.tolist(), ids.tolist()
        level = _numpy_level if isinstance(positions, np.ndarray) else _python_level
        top, start, positions, groups = level(positions, groups, ids, n, n_tokens, v.vocabulary_size)
        if n in top_limits:
            top_chars = (prefix[start + n] - prefix[start] + n - 1) * top if n_tokens >= n else 0
            yield f"gopher_repetition:top_{n}_gram", top_chars / n_chars > top_limits[n]
        dup_chars = 0
        if n in dup_limits:
            dup_chars = _duplicate_ngram_chars(positions, groups, prefix, n)
            yield f"gopher_repetition:dup_{n}_gram", dup_chars / n_chars > dup_limits[n]
        later = [m for m in dup_limits if m > n]
        bound = n_chars * min([dup_limits[m] for m in later], default=0)
        # Duplicate characters are part of what the repeated n-grams cover: over the bound, there is no need to count.
        if n >= top_orders and later and dup_chars <= bound and _covered_chars(
                positions, n, prefix_array if isinstance(positions, np.ndarray) else prefix) <= bound:
            # No later order can fire: a repeated m-gram (m > n) is made of repeated n-grams, so every order's
            # duplicate characters lie inside the n-grams that repeat here (in ordinary prose a few percent of
            # the text, under every later limit).
            for m in later:
                yield f"gopher_repetition:dup_{m}_gram", False
            return


# Below this many positions, grouping n-grams in Python costs less than numpy's per-call overhead.
_SMALL = 64

# One order of `_ngram_checks`: from the positions that can hold a repeated n-gram (ascending) and the group
# of their (n-1)-gram, returns (count of the most frequent n-gram, position where the first of the most
# frequent ones starts, the positions of repeated n-grams, their n-gram's group). When nothing repeats, the most
# frequent n-gram is the first one, once (Gopher counts it even then).


def _numpy_level(positions: np.ndarray, groups: np.ndarray, ids: np.ndarray, n: int, n_tokens: int, base: int):
    whole = positions + n <= n_tokens
    positions, groups = positions[whole], groups[whole]
    if not positions.size:
        return 1, 0, positions, groups
    # Groups number fewer than n_tokens things and tokens fewer than the vocabulary: the pair fits an int64.
    groups, counts, first = _group(groups * base + ids[positions + n - 1])
    top = int(counts.max())
    start = int(positions[first[counts == top].min()]) if top > 1 else 0
    repeated = counts[groups] > 1
    return top, start, positions[repeated], groups[repeated]


def _python_level(positions: list[int], groups: list[int], ids: list[int], n: int, n_tokens: int, base: int):
    number: dict[int, int] = {}
    kept, kept_groups = [], []
    for position, group in zip(positions, groups):
        if position + n <= n_tokens:
            kept.append(position)
            kept_groups.append(number.setdefault(group * base + ids[position + n - 1], len(number)))
    counts = Counter(kept_groups)
    top = max(counts.values(), default=1)
    start = next(p for p, g in zip(kept, kept_groups) if counts[g] == top) if top > 1 else 0
    repeated = [(p, g) for p, g in zip(kept, kept_groups) if counts[g] > 1]
    return top, start, [p for p, _ in repeated], [g for _, g in repeated]


def _group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group of each key, size of each group, index of each group's first key): np.unique's inverse, counts
    and index with less overhead."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.empty(len(keys), dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    groups = np.empty(len(keys), dtype=np.int64)
    groups[order] = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    ends = np.concatenate((first[1:], (len(keys),)))
    return groups, ends - first, order[first]


def _covered_chars(repeated_at, n: int, prefix) -> int:
    """Characters (without spaces) of the tokens inside the n-grams that start at `repeated_at` (ascending).

    `prefix` holds the tokens' cumulative lengths: best an array when `repeated_at` is one (a list is converted, at a
    cost close to the rest of the call's), a list otherwise."""
    if isinstance(repeated_at, np.ndarray):  # many positions (a repetitive text): each n-gram adds what lies past
        ends = repeated_at + n                 # the furthest end before it
        begins = np.minimum(np.maximum(repeated_at, np.concatenate(([0], np.maximum.accumulate(ends)[:-1]))), ends)
        prefix_array = np.asarray(prefix)
        return int((prefix_array[ends] - prefix_array[begins]).sum())
    covered = end = 0
    for start in repeated_at:
        if start + n > end:
            covered += prefix[start + n] - prefix[max(start, end)]
            end = start + n
    return covered


def _duplicate_ngram_chars(repeated_at, groups, prefix: list[int], n: int) -> int:
    """Characters (without spaces) in n-grams seen before, skipping past each repeat (Gopher's definition).

    Only positions whose n-gram occurs more than once (`repeated_at`, ascending, with their n-gram's
    `groups`) can be a repeat; every other position only moves the scan on, so it is not visited here.
    """
    if isinstance(repeated_at, np.ndarray):
        repeated_at, groups = repeated_at.tolist(), groups.tolist()
    seen: set[int] = set()
    repeated = resume = 0  # positions before `resume` are skipped: they lie inside a counted repeat
    for start, group in zip(repeated_at, groups):
        if start < resume:
            continue
        if group in seen:
            repeated += prefix[start + n] - prefix[start]
            resume = start + n
        else:
            seen.add(group)
    return repeated


def _c4(v: TextView):
    """C4's rules in its order: lines are dropped one by one, and the document-level rules (lorem ipsum,
    curly bracket) look only at the lines kept so far, as in the reference implementation."""
    # C4's five sentences suit web pages. Science: an abstract of one or two long sentences is a whole document;
    # one sentence per 150 words keeps out lists of headings (a table of contents) that merely end in a period.
    needed = max(1, v.n_words // 150) if v.science else 5
    sentences = 0
    lorem = curly = False
    # Most documents have no word that long (known from the tokenisation): their lines are not searched for one.
    long_words = v.longest_word is None or v.longest_word > 1000
    for line in v.lines:
        if long_words and len(line) > 1000 and _LONG_WORD.search(line):
            continue
        few_words = len(line.split(None, 2)) < 3  # counted before citations go, as C4 counts them
        line = _CITATION.sub("", line.strip()) if "[" in line else line.strip()
        # Science: a paragraph whose last sentence lost its period (a truncated abstract, a caption) still
        # holds sentences; equation and table lines are already out of `v.lines`.
        ends_well = v.science or line.endswith(C4_END_PUNCTUATION) and not line.endswith("...")
        if not ends_well or few_words:
            continue
        lowered = line.lower()
        lorem = lorem or "lorem ipsum" in lowered
        if "javascript" in lowered:
            continue
        curly = curly or "{" in line and (not v.science or "{" in _LATEX_BRACE.sub(" ", _MATH.sub(" ", line)))
        if ("polic" in lowered or "cookie" in lowered or "terms of use" in lowered) and \
                any(p in lowered for p in C4_POLICY):
            continue
        if sentences < needed:  # counting further changes nothing
            sentences += len(_SENTENCE_END.findall(line))
    yield "c4:lorem_ipsum", lorem
    yield "c4:curly_bracket", curly
    yield "c4:too_few_sentences", sentences < needed


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
    yield "fineweb:list_ratio", text.count("\n") / max(v.n_words, 1) > 0.3
