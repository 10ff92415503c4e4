"""Labelling documents with the level-2 models: discipline, its probabilities, science and quality scores, tier;
and, in a run with a judge, the level-3 verdicts of the judged sample (null for the documents it did not judge)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np
import pyarrow as pa

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, LabelModel
from sciloom.classifiers.judge import JUDGE_FIELDS
from sciloom.classifiers.tiers import quality_tier
from sciloom.curation.document import Document
from sciloom.curation.step import Step

LABEL_COLUMNS: dict[str, pa.DataType] = {
    "discipline": pa.string(),
    # A list of (label, score) rather than an Arrow map: Hugging Face `datasets` cannot load map columns.
    "discipline_scores": pa.list_(pa.struct([("label", pa.string()), ("score", pa.float32())])),
    "science_score": pa.float32(),
    "quality_score": pa.float32(),
    "quality_tier": pa.string(),
}
# Beside the labels in the labelled parts: UTF-8 bytes of `text`, so the mixer plans its buckets from this
# column without reading the text.
TEXT_BYTES_COLUMN: dict[str, pa.DataType] = {"text_bytes": pa.int64()}
# judge_score, judge_reason, judge_discipline, judge_error
JUDGE_COLUMNS: dict[str, pa.DataType] = dict(zip(JUDGE_FIELDS, (pa.int8(), pa.string(), pa.string(), pa.string())))
NO_TEXT = "no_text"
NO_KNOWN_WORD = "no_known_word"
Verdicts = Mapping[str, Mapping[str, object]]  # document id -> its JUDGE_FIELDS


class TextScores(NamedTuple):
    disciplines_NL: np.ndarray | None  # calibrated probabilities per taxonomy label; None unless asked for
    quality_N: np.ndarray  # P(high) of the quality model, 0 for a text holding no word it knows
    unread_discipline: list[bool]  # the texts holding no word the discipline model knows
    unread_quality: list[bool]


class Labeller:
    """The discipline and quality models of one models folder, applied to batches of documents; with `verdicts`
    (a judged sample), each document also gets its judge fields, and its tier uses the judge's score."""

    def __init__(self, models_dir: Path, config: ClassifiersConfig, verdicts: Verdicts | None = None) -> None:
        self.config = config
        self.verdicts = verdicts
        seeds_dir = config.bootstrap.seeds_dir
        self.discipline = LabelModel.load(models_dir, DISCIPLINE, config.taxonomy, seeds_dir)
        self.quality = LabelModel.load(models_dir, QUALITY, config.taxonomy, seeds_dir)
        self._high = self.quality.labels.index("high")
        self._general = config.taxonomy.index(config.taxonomy.general_label)
        self._only_general = np.eye(len(self.discipline.labels), dtype=np.float32)[self._general]

    def annotate(self, docs: list[Document]) -> dict[str, int]:
        """Add the label columns to each document (all must have non-empty text); returns notes to count.

        A document holding no word a model knows ("xxxx", a script the models never saw) gives that model no
        evidence: it is labelled general (science score 0) and its quality score is 0, rather than whatever the
        model's hashed n-gram buckets say. Such documents are counted as `no_known_word:<model>`."""
        if self.config.tiers.mode == "quantile":
            raise ValueError("tiers in mode quantile need their cut points fitted to the corpus first "
                             "(classifiers.quantile_tiers.fit_quantile_tiers)")
        scores = self.score([doc["text"] for doc in docs])
        names = self.discipline.labels
        for doc, probs_L, discipline, quality in zip(docs, scores.disciplines_NL,
                                                     self.discipline_names(scores.disciplines_NL), scores.quality_N):
            if self.verdicts is not None:
                verdict = self.verdicts.get(doc["id"], {})
                doc.update({name: verdict.get(name) for name in JUDGE_FIELDS})
            doc["discipline"] = discipline
            doc["discipline_scores"] = {name: float(p) for name, p in zip(names, probs_L)}
            doc["science_score"] = float(1.0 - probs_L[self._general])
            doc["quality_score"] = float(quality)
            doc["quality_tier"] = quality_tier(float(quality), self.config.tiers, l1_score=doc.get("l1_score"),
                                               l1_flags=doc.get("l1_flags"), judge_score=doc.get("judge_score"),
                                               discipline=doc["discipline"])
        counts = {DISCIPLINE: sum(scores.unread_discipline), QUALITY: sum(scores.unread_quality)}
        return {f"{NO_KNOWN_WORD}:{model}": count for model, count in counts.items() if count}

    def score(self, texts: list[str], *, disciplines: bool = True) -> TextScores:
        """Both models' predictions for non-empty texts (the discipline model's only when asked). Each text is turned
        into its input line once when both models read alike (the shipped ones do not: the discipline model reads
        words only)."""
        quality_tokens = [self.quality.line_tokens(text) for text in texts]
        quality_lines = [" ".join(tokens) for tokens in quality_tokens]
        quality_N, unread_quality = self._quality_of_lines(quality_lines, quality_tokens)
        if not disciplines:
            return TextScores(None, quality_N, [], unread_quality)
        if self.quality.reads_like(self.discipline):
            lines, line_tokens = quality_lines, quality_tokens
        else:
            line_tokens = [self.discipline.line_tokens(text) for text in texts]
            lines = [" ".join(tokens) for tokens in line_tokens]
        disciplines_NL, unread_discipline = self._disciplines_of_lines(lines, line_tokens)
        return TextScores(disciplines_NL, quality_N, unread_discipline, unread_quality)

    def discipline_names(self, disciplines_NL: np.ndarray) -> list[str]:
        """The discipline `annotate` gives each row of probabilities (its most probable label)."""
        return [self.discipline.labels[i] for i in disciplines_NL.argmax(axis=1).tolist()]

    def _disciplines_of_lines(self, lines: list[str], line_tokens: list[list[str]]) -> tuple[np.ndarray, list[bool]]:
        disciplines_NL = self.discipline.predict_lines(lines)
        unread_N = [not self.discipline.reads_any_word(tokens) for tokens in line_tokens]
        disciplines_NL[unread_N] = self._only_general
        return disciplines_NL, unread_N

    def _quality_of_lines(self, lines: list[str], line_tokens: list[list[str]]) -> tuple[np.ndarray, list[bool]]:
        quality_N = self.quality.predict_lines(lines)[:, self._high]
        unread_N = [not self.quality.reads_any_word(tokens) for tokens in line_tokens]
        quality_N[unread_N] = 0.0
        return quality_N, unread_N


class LabelStep(Step):
    """A curation step that labels documents in batches; a document without text is rejected as `no_text`."""

    name = "classify"
    columns: ClassVar[dict[str, pa.DataType]] = {**LABEL_COLUMNS, **TEXT_BYTES_COLUMN}

    def __init__(self, labeller: Labeller) -> None:
        super().__init__()
        self.labeller = labeller

    def run(self, docs: Iterable[Document]) -> Iterator[Document]:
        batch: list[Document] = []
        for doc in docs:
            self.stats.docs_in += 1
            text = doc.get("text")
            nbytes = len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else 0
            self.stats.bytes_in += nbytes
            if not isinstance(text, str) or not text.strip():
                self.reject(doc, NO_TEXT)
                continue
            doc["text_bytes"] = nbytes
            batch.append(doc)
            if len(batch) >= self.labeller.config.batch_size:
                yield from self._flush(batch)
                batch = []
        yield from self._flush(batch)

    def _flush(self, batch: list[Document]) -> Iterator[Document]:
        with self.stats.timer():
            notes = self.labeller.annotate(batch)
        for note, count in notes.items():
            self.note(note, count)
        for doc in batch:
            doc["discipline_scores"] = [{"label": k, "score": v} for k, v in doc["discipline_scores"].items()]
            self.keep(doc)
            yield doc


class JudgedLabelStep(LabelStep):
    """LabelStep in a run with a judge: its output also has the judge columns."""

    columns: ClassVar[dict[str, pa.DataType]] = {**LABEL_COLUMNS, **TEXT_BYTES_COLUMN, **JUDGE_COLUMNS}
