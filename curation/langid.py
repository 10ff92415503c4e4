"""Language identification with fastText's lid.176.ftz, shipped inside this package (curation/models/, CC BY-SA 3.0).

The model is loaded from the installed package (no download, ever) and applied in batches: fastText's
`predict` on a list of lines is one C++ call, which matters at crawl scale. fastText's cost grows with the
characters it reads (about 0.2 ms per thousand), so it reads a bounded sample: a document up to
`sample_chars` whole, a longer one as its beginning, middle and end. On the 11,263 real documents of
benchmarks/bench_text_rules.py (most ~5 KB, many languages) the keep/reject verdict at 1,200 characters is the
one reading the first 10,000 gave for 99.57% of them (1,500: 99.61%, 2,000: 99.62%); of the 48 that differ,
23 are English scored near the threshold (kept on one side, low_confidence on the other), the rest mostly
mixed-language pages.
"""
from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Iterator
from pathlib import Path

import fasttext
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    batch_size: int = Field(256, gt=0, description="Documents per fastText predict call.")
    model_path: Path | None = Field(None, description="A fastText language-id model file; default: the lid.176.ftz shipped in sciloom.curation.")

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not code or code != code.strip().lower() for code in value)):
            raise ValueError("languages must be null or a non-empty list of lowercase ISO codes like 'en'")
        return value


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


def predict_languages(model: fasttext.FastText._FastText, texts: list[str], sample_chars: int) -> list[tuple[str, float]]:
    """(language code, probability) of each text, read through its bounded sample; one C++ call for the list."""
    labels, probs = model.predict([language_sample(text, sample_chars) for text in texts], k=1)
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
        return predict_languages(self.model, texts, self.config.sample_chars)

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
