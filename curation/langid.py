"""Language identification with fastText's lid.176.ftz, shipped inside this package (curation/models/, CC BY-SA 3.0).

The model is loaded from the installed package (no download, ever) and applied in batches: fastText's
`predict` on a list of lines is one C++ call, which matters at crawl scale. fastText's cost grows with the
characters it reads (about 0.2 ms per thousand), so it reads a bounded sample: a document up to
`sample_chars` whole, a longer one as its beginning, middle and end. On the 11,263 real documents of
benchmarks/bench_text_rules.py (most ~5 KB, many languages) the keep/reject verdict at 1,200 characters is the
one reading the first 10,000 gave for 99.57% of them (1,500: 99.61%, 2,000: 99.62%); of the 48 that differ,
23 are English scored near the threshold (kept on one side, low_confidence on the other), the rest mostly
mixed-language pages.

Most texts do not need even that: every text is read first through a shorter sample (`first_sample_chars`, 600),
and only those whose top language scores under `first_sample_confidence` (0.9) there are read again through the
full one. The first pass reads half the characters and decides 88% of those 11,263 documents; keeping
English, German or every language, the verdict after two passes is the one-pass verdict for every one of them,
and (measured once, outside the benchmarks) for the fast renderings of the 1,490 crawl-mix pages that reach
extraction and of the 978 evaluation pages (tests/curation/test_langid.py checks 4,000 of the documents;
benchmarks/bench_text_rules.py prints all 11,263).
"""
from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Iterator
from pathlib import Path

import fasttext
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sciloom.curation.document import Document
from sciloom.curation.step import Step

LABEL_PREFIX = "__label__"


def shipped_model_path() -> Path:
    """lid.176.ftz inside the installed sciloom.curation package (see models/README.md for its source and licence)."""
    path = Path(str(importlib.resources.files("sciloom.curation") / "models" / "lid.176.ftz"))
    if not path.is_file():
        raise FileNotFoundError(f"lid.176.ftz not found at {path}: the sciloom installation is incomplete (package data)")
    return path


class LangIdConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    languages: list[str] | None = Field(["en"], description="ISO 639-1 codes to keep (e.g. ['en', 'de']); null keeps every language.")
    threshold: float = Field(0.65, ge=0.0, le=1.0, description="Minimum probability of the top language for a document to be kept.")
    sample_chars: int = Field(1_200, ge=30, description="Characters shown to the model: a text up to this length whole, a longer one as its beginning, middle and end (a third each, cut at spaces); bounds the cost per document.")
    first_sample_chars: int | None = Field(600, ge=30, description="Characters of a first, shorter sample that every text is read through; a text whose top language scores at least `first_sample_confidence` on it is decided there, the others are read again through `sample_chars`. null: one pass through `sample_chars`.")
    first_sample_confidence: float = Field(0.9, ge=0.0, le=1.0, description="Score of the top language on the first sample above which that sample decides (at least `threshold`).")
    batch_size: int = Field(256, gt=0, description="Documents per fastText predict call.")
    model_path: Path | None = Field(None, description="A fastText language-id model file; default: the lid.176.ftz shipped in sciloom.curation.")

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not code or code != code.strip().lower() for code in value)):
            raise ValueError("languages must be null or a non-empty list of lowercase ISO codes like 'en'")
        return value

    @model_validator(mode="after")
    def _first_sample_decides_only_when_sure(self) -> LangIdConfig:
        if self.first_sample_chars is None:
            return self
        if self.first_sample_chars >= self.sample_chars:
            raise ValueError(f"first_sample_chars ({self.first_sample_chars}) must be below sample_chars "
                             f"({self.sample_chars}), or null for one pass")
        if self.first_sample_confidence < self.threshold:
            raise ValueError(f"first_sample_confidence ({self.first_sample_confidence}) must be at least threshold "
                             f"({self.threshold}): the first sample decides only texts it is sure of")
        return self


def language_sample(text: str, size: int) -> str:
    """What the model reads of `text`, as one line (fastText predicts per line: newlines become spaces).

    Up to `size` characters, the whole text. Beyond, a third of `size` from the beginning, the middle and the
    end, each without the word its cut falls into: a page that opens with a header or a foreign-language
    notice is still judged by its body, at a cost that no longer grows with the text. A sample in capitals only is
    read in lower case.
    """
    if len(text) <= size:
        sample = " ".join(text.split())
    else:
        third = size // 3
        middle = (len(text) - third) // 2
        sample = " ".join(text[:third].split()[:-1] + text[middle:middle + third].split()[1:-1]
                          + text[-third:].split()[1:])
    # lid.176 learnt from mixed-case text: an all-capitals English page scores 'en' near 0.17 (or 'ja'), lower case
    # gives the model the words it knows.
    return sample.lower() if sample.isupper() else sample


def load_language_model(config: LangIdConfig) -> fasttext.FastText._FastText:
    return fasttext.load_model(str(config.model_path or shipped_model_path()))


def predict_languages(model: fasttext.FastText._FastText, texts: list[str], config: LangIdConfig) -> list[tuple[str, float]]:
    """(language code, probability) of each text, read through its bounded sample: one C++ call for the list through
    the first sample, and one for the texts it leaves unsure (longer than it) through the full sample."""
    first = config.first_sample_chars
    if first is None:
        return _predict(model, [language_sample(text, config.sample_chars) for text in texts])
    predictions = _predict(model, [language_sample(text, first) for text in texts])
    unsure = [i for i, (text, (_, score)) in enumerate(zip(texts, predictions))
              if not decided_by_first_sample(text, score, config)]
    if unsure:
        again = _predict(model, [language_sample(texts[i], config.sample_chars) for i in unsure])
        for i, prediction in zip(unsure, again):
            predictions[i] = prediction
    return predictions


def decided_by_first_sample(text: str, score: float, config: LangIdConfig) -> bool:
    """Whether the first sample's prediction for `text`, of top score `score`, is final: it is sure enough, or the
    sample held the whole text (the full sample would read the same)."""
    return score >= config.first_sample_confidence or len(text) <= config.first_sample_chars


def _predict(model: fasttext.FastText._FastText, lines: list[str]) -> list[tuple[str, float]]:
    labels, probs = model.predict(lines, k=1)
    return [(label[0].removeprefix(LABEL_PREFIX) if label else "unknown", float(prob[0]) if len(prob) else 0.0)
            for label, prob in zip(labels, probs)]


class LanguageIdStep(Step):
    name = "langid"
    columns = {"lang": pa.string(), "lang_score": pa.float32()}

    def __init__(self, config: LangIdConfig | None = None) -> None:
        super().__init__()
        self.config = config or LangIdConfig()
        self.model = load_language_model(self.config)
        self._keep = set(self.config.languages) if self.config.languages is not None else None

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """(language code, probability) of each text."""
        return predict_languages(self.model, texts, self.config)

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= self.config.batch_size:
                yield from self._run_batch(batch)
                batch = []
        if batch:
            yield from self._run_batch(batch)

    def _run_batch(self, batch: list[Document]) -> Iterator[Document]:
        with self.stats.timer():
            predictions = self.predict([doc.get("text") or "" for doc in batch])
        for doc, (lang, score) in zip(batch, predictions):
            doc["lang"], doc["lang_score"] = lang, score
        yield from super().run(batch)

    def apply(self, doc: Document) -> str | None:
        if self._keep is not None and doc["lang"] not in self._keep:
            return f"language_{doc['lang']}"
        if doc["lang_score"] < self.config.threshold:
            return "low_confidence"
        return None
