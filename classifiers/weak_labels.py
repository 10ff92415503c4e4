"""Weak supervision from the project's own seed knowledge (classifiers/seeds/).

Discipline: each discipline has a seed vocabulary (unigrams and bigrams). A document's hits per discipline
are the weighted counts of its seed terms (a term listed for k disciplines weighs 1/k; each term counts at most
`_MAX_TERM_COUNT` times, so one repeated word cannot decide). A document is labelled with its top discipline
when it has enough science hits, dense enough, and the top discipline holds a clear share of them; it is
labelled general when science terms are rare and general-text vocabulary outweighs them; otherwise it
abstains (None) and the fastText model trained on the confident part decides later.

Quality: a heuristic score in [0, 1] from length, sentence shape, the share of word tokens, explanatory
phrases ("because", "we show", "for example") against boilerplate and spam phrases, and the level-1 rule
score when curation computed one. Only its extremes are used, as high / low training examples.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sciloom.classifiers.config import BootstrapConfig
from sciloom.classifiers.taxonomy import Taxonomy
from sciloom.classifiers.text import tokens

_MAX_TERM_COUNT = 3
_MAX_TAGS = 10
_FUNCTION_WORDS = ("the", "of", "and", "in", "a", "is", "we", "to", "this", "that", "with", "for", "are", "on")


def packaged_seeds_dir() -> Path:
    return Path(__file__).resolve().parent / "seeds"


@dataclass(frozen=True)
class SeedKnowledge:
    vocabulary: dict[str, dict[str, float]]  # discipline -> term -> weight
    general_label: str
    educational: frozenset[str]
    boilerplate: frozenset[str]
    spam: frozenset[str]
    content_hash: str
    # term -> ((discipline, weight), ...), and the first words of two-word terms: hits() looks at the doc's
    # terms only, and builds bigrams only where one could match.
    index: dict[str, tuple[tuple[str, float], ...]]
    bigram_heads: frozenset[str]

    @classmethod
    def load(cls, taxonomy: Taxonomy, seeds_dir: Path | None = None) -> SeedKnowledge:
        folder = seeds_dir or packaged_seeds_dir()
        digest = hashlib.sha256()
        terms: dict[str, set[str]] = {}
        for discipline in taxonomy.disciplines:
            path = folder / "vocabulary" / f"{discipline}.txt"
            if not path.exists():
                raise FileNotFoundError(f"no seed vocabulary for discipline {discipline!r}: expected {path} "
                                        f"(one term per line) to bootstrap models for this taxonomy")
            raw = path.read_text(encoding="utf-8")
            digest.update(discipline.encode() + b"\0" + raw.encode())
            terms[discipline] = {" ".join(tokens(line)) for line in raw.splitlines()
                                 if line.strip() and not line.lstrip().startswith("#")}
        listed = Counter(term for vocab in terms.values() for term in vocab)
        vocabulary = {d: {term: 1.0 / listed[term] for term in vocab} for d, vocab in terms.items()}
        quality_raw = (folder / "quality.json").read_text(encoding="utf-8")
        digest.update(quality_raw.encode())
        quality = json.loads(quality_raw)
        phrases = {key: frozenset(" ".join(tokens(p)) for p in quality[key]) for key in ("educational", "boilerplate", "spam")}
        index: dict[str, list[tuple[str, float]]] = {}
        for discipline, vocab in vocabulary.items():
            for term, weight in vocab.items():
                index.setdefault(term, []).append((discipline, weight))
        heads = frozenset(term.split(" ", 1)[0] for term in index if " " in term)
        return cls(vocabulary, taxonomy.general_label, phrases["educational"], phrases["boilerplate"],
                   phrases["spam"], digest.hexdigest()[:16], {t: tuple(v) for t, v in index.items()}, heads)

    def feature_tokens(self, toks: Sequence[str]) -> list[str]:
        """Seed-lexicon features for fastText: `seedtag<discipline>` repeated by the doc's (rounded, capped)
        hits. They let a model trained on few examples generalise from the lexicon, not only from the
        words its examples happened to contain."""
        return [f"seedtag{d}" for d, hits in self.hits(toks).items() for _ in range(min(_MAX_TAGS, round(hits)))]

    def hits(self, toks: Sequence[str]) -> dict[str, float]:
        """Weighted seed-term hits per discipline (general included)."""
        counts = Counter(toks)
        heads = self.bigram_heads
        counts.update(f"{a} {b}" for a, b in zip(toks, toks[1:]) if a in heads)
        hits = dict.fromkeys(self.vocabulary, 0.0)
        for term in counts.keys() & self.index.keys():
            count = min(counts[term], _MAX_TERM_COUNT)
            for discipline, weight in self.index[term]:
                hits[discipline] += count * weight
        return hits


def _term_counts(toks: Sequence[str]) -> Counter[str]:
    counts = Counter(toks)
    counts.update(f"{a} {b}" for a, b in zip(toks, toks[1:]))
    return counts


def _word_count(toks: Sequence[str]) -> int:
    return sum(1 for t in toks if t[0].isalnum())


def weak_discipline(text: str, seeds: SeedKnowledge, config: BootstrapConfig, max_tokens: int) -> str | None:
    """The seed labeller's discipline for one document, or None when it abstains."""
    toks = tokens(text, max_tokens)
    words = _word_count(toks)
    if words < config.min_tokens:
        return None
    hits = seeds.hits(toks)
    general_hits = hits.pop(seeds.general_label)
    science = sum(hits.values())
    density = science / words
    if science >= config.min_hits and density >= config.min_density:
        top = max(hits, key=hits.__getitem__)
        return top if hits[top] >= config.min_share * science else None
    if density < config.general_max_density and general_hits > science:
        return seeds.general_label
    return None


def heuristic_quality(text: str, seeds: SeedKnowledge, max_tokens: int, l1_score: float | None = None) -> float:
    """Heuristic quality in [0, 1] (see module docstring)."""
    toks = tokens(text, max_tokens)
    words = _word_count(toks)
    if words == 0:
        return 0.0
    length = min(1.0, max(0.0, math.log(words / 30) / math.log(10))) if words > 30 else 0.0
    alphabetic = sum(1 for t in toks if t.isalpha()) / max(1, words)
    sentences = max(1, sum(1 for t in toks if t in {".", "!", "?"}))
    per_sentence = words / sentences
    sentence_shape = 1.0 if 8 <= per_sentence <= 40 else max(0.0, 1 - abs(per_sentence - 24) / 60)
    counts = _term_counts(toks)
    educational = sum(min(counts[p], _MAX_TERM_COUNT) for p in seeds.educational if p in counts) / words * 100
    bad = sum(counts[p] for p in seeds.boilerplate | seeds.spam if p in counts) / words * 100
    score = (0.25 * length + 0.15 * alphabetic + 0.2 * sentence_shape + 0.4 * min(1.0, educational / 3))
    score *= max(0.0, 1 - bad / 5)
    if l1_score is not None:
        score *= 0.5 + 0.5 * l1_score
    return float(min(1.0, max(0.0, score)))


def synthetic_documents(seeds: SeedKnowledge, label: str, count: int, seed: int) -> list[str]:
    """Documents written from the seeds alone: the anchor examples for a label the corpus lacks, and the
    corpus of the default models on a machine that has bootstrapped nothing yet."""
    rng = random.Random(f"{seed}:{label}")
    if label in seeds.vocabulary:
        pool, glue = sorted(seeds.vocabulary[label]), _FUNCTION_WORDS
    elif label == "high":
        pool = sorted(seeds.educational | {t for v in seeds.vocabulary.values() for t in v})
        glue = _FUNCTION_WORDS + (".", ",")
    elif label == "low":
        pool, glue = sorted(seeds.boilerplate | seeds.spam), ("|", ">", "!", "»", "home", "more")
    else:
        raise ValueError(f"no seeds for label {label!r}")
    docs = []
    for _ in range(count):
        words: list[str] = []
        for _ in range(rng.randint(40, 80)):
            words.append(rng.choice(pool))
            words.append(rng.choice(glue))
        docs.append(" ".join(words))
    return docs
