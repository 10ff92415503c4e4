"""A fastText classifier over a fixed label list, with temperature-calibrated probabilities.

A model is two files: `<kind>.bin` (fastText) and `<kind>.json` (what the model is: its labels, the
taxonomy hash it was trained for, its calibration temperature and training settings). Loading a
discipline model under a taxonomy with another hash is refused with a clear error, because its output
indices would silently mean other disciplines.

Loss: `FastTextParams.loss`, one-vs-all (`ova`, default) or `softmax`; either way the probabilities are
normalised to sum to 1. The softmax loss of the pinned fastText build (fasttext-numpy2-wheel 0.9.2) stopped
with "Encountered NaN" on most runs at lr 0.5 in a shared process; at lr 0.1-0.2 in a fresh process
(classifiers.fasttext_isolated) it finished 2 of 2 real-data trainings, but gave a lower discipline macro-F1
than `ova` (measured 0.56-0.58 against 0.60 on labels with >= 10 test docs), hence the default.

Class balance: fastText has no example weights, so rarer labels are oversampled (`class_balance`) and the
training file is written in hash order (see _balanced_and_shuffled).

No bias through the end-of-line token: fastText appends `</s>` to every line and averages its embedding in with
the document's words and n-grams. Having no bias term, training grows that one row into the labels' bias (norm 13
in a discipline model, against 0.06 for the median word), weighted by 1 / (number of features + 1): nothing in a
long document, everything in a short one. An empty line was read as mathematics (0.998) and as high quality
(0.9998), and short quiz questions leaned to mathematics. The row is zeroed after training, so a document is read
from its own words at any length. Leave-one-source-out (before quantisation, benchmarks/eval_classifiers.py):
discipline macro-F1 0.762 / worst 0.144 before, 0.762 / 0.150 after; science-vs-general on MMLU 0.799 -> 0.853;
as shipped (quantised) 0.760 / 0.187 -> 0.759 / 0.184, MMLU 0.820 -> 0.847, quality unchanged (0.946 / 0.907), and
the quality score separates dragnet's rule-rejected pages a little better (ROC-AUC 0.790 -> 0.800).

Probabilities are computed from the model's exact scores (its document vector times its output layer), not read
from fastText's `predict`: that takes its sigmoid from a 512-entry table over [-8, 8], so a one-vs-all model's
probabilities came in a few hundred steps and stopped at sigmoid(8). On 2,000 distinct BBC articles the shipped
quality model gave 276 distinct scores, the same top score to 157 of them: a score could not rank curated text.
Computed exactly, the (calibrated) probabilities of both shipped models differ from predict's by at most 0.005
there, and the articles get 1,991 distinct quality scores
(tests/classifiers/test_default_models.py).

Calibration: fastText's probabilities are over-confident after many epochs. A single temperature T,
fitted on held-out examples by minimising the negative log-likelihood, rescales them: p_T ∝ p^(1/T), which
is softmax(logits / T) since log p differs from the logits by a per-document constant.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import fasttext
import fasttext_pybind
import numpy as np

from sciloom.classifiers.config import FastTextParams
from sciloom.classifiers.fasttext_isolated import train_supervised_isolated
from sciloom.classifiers.taxonomy import Taxonomy
from sciloom.classifiers.text import window_tokens
from sciloom.classifiers.weak_labels import SeedKnowledge
from sciloom.curation.atomic_write import atomic_path, write_json_atomic

FORMAT = "sciloom-fasttext/2"
DISCIPLINE = "discipline"
QUALITY = "quality"


def model_files(folder: Path) -> list[Path]:
    """The four files a models folder holds: each kind's `.bin` and `.json`."""
    return [folder / f"{kind}.{suffix}" for kind in (DISCIPLINE, QUALITY) for suffix in ("bin", "json")]
QUALITY_LABELS = ("low", "high")
_PREFIX = "__label__"
_END_OF_LINE = "</s>"
# The temperature is searched in [1e-3, 1e3]: NLL is convex in 1/T, so unimodal in log T, and a golden-section
# search finds its minimum to ~1e-6 relative (a fixed grid ended at its edge for under-confident models).
_LOG_T_RANGE = (float(np.log(1e-3)), float(np.log(1e3)))
_GOLDEN_STEPS = 60
# Fewer held-out examples than this (or a single label among them) cannot tell a temperature: keep T = 1.
MIN_CALIBRATION_EXAMPLES = 30

# fastText prints nothing useful on load but warns about deprecated API on stderr; keep stderr clean.
fasttext.FastText.eprint = lambda *args, **kwargs: None


class TaxonomyMismatch(ValueError):
    """A discipline model used under a taxonomy other than the one it was trained for."""


class ModelNotFound(FileNotFoundError):
    """A models folder without the model files asked for (a usage error: the command names the wrong folder)."""


@dataclass(frozen=True)
class ModelInfo:
    kind: str  # discipline | quality
    labels: tuple[str, ...]  # output columns of predict_proba, in order
    taxonomy_hash: str | None  # discipline models only
    seeds_hash: str | None  # the seed knowledge whose lexicon features the model reads, if any
    temperature: float
    max_tokens: int
    trained_examples: int
    epochs: int
    params: dict
    windows: int = 1  # stretches of a long document read (text.window_tokens); models before windows read 1
    words_only: bool = False  # punctuation marks left out of the tokens (FastTextParams.words_only)


class LabelModel:
    def __init__(self, model: fasttext.FastText._FastText, info: ModelInfo, seeds: SeedKnowledge | None,
                 output_KD: np.ndarray | None = None) -> None:
        """`output_KD`: the output layer (one row per label fastText knows, in its order); read from `model` when not
        given, which a quantised model cannot give (`load` reads it from the file)."""
        self.model = model
        self.info = info
        self.seeds = seeds
        self._column = {f"{_PREFIX}{label}": i for i, label in enumerate(info.labels)}
        self._rows = [self._column[name] for name in model.get_labels()]  # fastText's label order -> our columns
        self._output_KD = (model.get_output_matrix() if output_KD is None else output_KD).astype(np.float64)
        self._words: frozenset[str] | None = None

    def reads_any_word(self, line_tokens: Sequence[str]) -> bool:
        """True when an input line's tokens (`line(text).split()`) hold a word of the model's vocabulary; without one,
        its prediction comes from hashed n-gram buckets alone, noise rather than evidence."""
        if self._words is None:
            self._words = frozenset(self.model.get_words()) - {_END_OF_LINE}
        return not self._words.isdisjoint(line_tokens)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    @classmethod
    def train(cls, kind: str, labels: Sequence[str], examples: Sequence[tuple[str, str]], params: FastTextParams,
              taxonomy: Taxonomy | None = None, seeds: SeedKnowledge | None = None) -> LabelModel:
        """Train on (text, label) pairs; every label must be one of `labels`, and at least one example given.
        With `seeds`, each document also carries seed-lexicon feature tokens (see SeedKnowledge)."""
        if kind == DISCIPLINE and taxonomy is None:
            raise ValueError("a discipline model needs the taxonomy it is trained for")
        known = set(labels)
        unknown = sorted({label for _, label in examples if label not in known})
        if unknown:
            raise ValueError(f"training labels {unknown} are not in the model's labels {list(labels)}")
        lines = [(" ".join(_line_tokens(text, params.max_tokens, params.windows, params.words_only, seeds)), label)
                 for text, label in examples]
        lines = [(line, label) for line, label in lines if line]
        if not lines:
            raise ValueError(f"no non-empty training text for the {kind} model")
        epochs = params.epochs_for(sum(line.count(" ") + 1 for line, _ in lines))
        with tempfile.TemporaryDirectory(prefix="sciloom-ft-") as tmp:
            path, model_path = Path(tmp) / "train.txt", Path(tmp) / "model.bin"
            path.write_text("".join(f"{_PREFIX}{label} {line}\n"
                                    for line, label in _balanced_and_shuffled(lines, params.class_balance)),
                            encoding="utf-8")
            train_supervised_isolated(path, model_path, dict(
                dim=params.dim, epoch=epochs, lr=params.lr, wordNgrams=params.word_ngrams,
                bucket=params.bucket, minCount=params.min_count, minn=params.minn, maxn=params.maxn,
                loss=params.loss, thread=1, seed=params.seed, verbose=0))
            model = fasttext.load_model(str(model_path))
        _zero_end_of_line(model)
        info = ModelInfo(kind=kind, labels=tuple(labels),
                         taxonomy_hash=taxonomy.content_hash if kind == DISCIPLINE else None,
                         seeds_hash=seeds.content_hash if seeds is not None else None,
                         temperature=1.0, max_tokens=params.max_tokens, trained_examples=len(lines), epochs=epochs,
                         params=params.model_dump(), windows=params.windows, words_only=params.words_only)
        return cls(model, info, seeds)

    def line(self, text: str) -> str:
        """The model's input line for a document."""
        return " ".join(self.line_tokens(text))

    def line_tokens(self, text: str) -> list[str]:
        """The tokens of the model's input line for a document (`line` joins them with spaces)."""
        return _line_tokens(text, self.info.max_tokens, self.info.windows, self.info.words_only, self.seeds)

    def reads_like(self, other: LabelModel) -> bool:
        """True when both models turn a document into the same input line (so it can be computed once)."""
        return ((self.info.max_tokens, self.info.windows, self.info.words_only, self.info.seeds_hash)
                == (other.info.max_tokens, other.info.windows, other.info.words_only, other.info.seeds_hash))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape [len(texts), len(labels)], float32; rows sum to 1."""
        return self.predict_lines([self.line(text) for text in texts])

    def predict_lines(self, lines: Sequence[str]) -> np.ndarray:
        """predict_proba for input lines made by `line` (of this model or one that `reads_like` it)."""
        return _with_temperature(self._raw_proba(lines), self.info.temperature).astype(np.float32)

    def quantize(self) -> None:
        """fastText's product quantisation of the input embeddings (a few MB), keeping the `quantize_cutoff` rows of
        largest norm when the model's parameters set one; the output layer stays as it is."""
        self.model.quantize(qnorm=True, retrain=False, cutoff=self.info.params.get("quantize_cutoff", 0))

    def _raw_proba(self, lines: Sequence[str]) -> np.ndarray:
        probs_NL = np.zeros((len(lines), len(self.labels)), dtype=np.float64)
        if not lines:
            return probs_NL
        # The document vector fastText's predict computes (the mean of the line's input rows), then exact scores.
        # Through the binding into one reused vector: the get_sentence_vector wrapper copies the model's settings on
        # every call, 15 us a line, and this loop then costs what predict does.
        hidden_ND = np.empty((len(lines), self._output_KD.shape[1]), dtype=np.float32)
        vector = fasttext_pybind.Vector(hidden_ND.shape[1])
        vector_D = np.array(vector, copy=False)
        for row, line in enumerate(lines):
            self.model.f.getSentenceVector(vector, line + "\n")
            hidden_ND[row] = vector_D
        logits_NK = hidden_ND.astype(np.float64) @ self._output_KD.T
        if self.info.params.get("loss", "ova") == "softmax":
            logits_NK -= logits_NK.max(axis=1, keepdims=True)
            scores_NK = np.exp(logits_NK)
        else:
            scores_NK = np.exp(-np.logaddexp(0.0, -logits_NK))  # sigmoid, without overflow
        probs_NL[:, self._rows] = scores_NK
        # One-vs-all sigmoids do not sum to 1; labels absent from training keep probability 0.
        probs_NL /= probs_NL.sum(axis=1, keepdims=True)
        return probs_NL

    def calibrate(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Fit the temperature on held-out (text, label) pairs by minimum NLL; returns it. With fewer than
        MIN_CALIBRATION_EXAMPLES examples or a single label among them, the model stays uncalibrated (T = 1)."""
        if len(texts) < MIN_CALIBRATION_EXAMPLES or len(set(labels)) < 2:
            return self.info.temperature
        probs_NL = self._raw_proba([self.line(text) for text in texts])
        target_N = np.array([self.labels.index(label) for label in labels])
        best = _fit_temperature(probs_NL, target_N)
        self.info = ModelInfo(**{**asdict(self.info), "temperature": float(best)})
        return float(best)

    def save(self, folder: Path) -> Path:
        bin_path = folder / f"{self.info.kind}.bin"
        with atomic_path(bin_path) as tmp:
            self.model.save_model(str(tmp))
        write_json_atomic(folder / f"{self.info.kind}.json", {"format": FORMAT, **asdict(self.info)})
        return bin_path

    @classmethod
    def load(cls, folder: Path, kind: str, taxonomy: Taxonomy, seeds_dir: Path | None = None) -> LabelModel:
        meta_path, bin_path = folder / f"{kind}.json", folder / f"{kind}.bin"
        if not meta_path.exists() or not bin_path.exists():
            raise ModelNotFound(f"no {kind} model in {folder}: expected {bin_path.name} and {meta_path.name} "
                                f"(train one with `sciloom classifiers train` or `sciloom classifiers bootstrap`)")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{meta_path} has model format {meta.get('format')!r}, this sciloom reads {FORMAT!r}: "
                             f"retrain or re-bootstrap the models (a run bootstraps again when its models folder "
                             f"is deleted)")
        info = ModelInfo(**{k: v for k, v in meta.items() if k != "format"} | {"labels": tuple(meta["labels"])})
        if info.kind != kind:
            raise ValueError(f"{meta_path} describes a {info.kind} model, not a {kind} model")
        if kind == DISCIPLINE and (info.taxonomy_hash != taxonomy.content_hash or info.labels != taxonomy.disciplines):
            raise TaxonomyMismatch(
                f"discipline model {bin_path} was trained for taxonomy {info.taxonomy_hash} with labels "
                f"{list(info.labels)}, but the active taxonomy is {taxonomy.content_hash} with "
                f"{list(taxonomy.disciplines)}: retrain or bootstrap models for this taxonomy")
        seeds = None
        if info.seeds_hash is not None:
            seeds = SeedKnowledge.load(taxonomy, seeds_dir)
            if seeds.content_hash != info.seeds_hash:
                raise ValueError(f"{kind} model {bin_path} reads seed-lexicon features of seeds {info.seeds_hash}, but "
                                 f"the seeds found ({seeds_dir or 'packaged'}) are {seeds.content_hash}: use the seeds "
                                 f"it was trained with, or retrain it")
        model = fasttext.load_model(str(bin_path))
        return cls(model, info, seeds, _saved_output_layer(bin_path, model) if model.f.isQuant() else None)


def _saved_output_layer(bin_path: Path, model: fasttext.FastText._FastText) -> np.ndarray:
    """The output layer of a quantised model, which fastText's Python API does not give: its file ends with it, unquantised
    (`quantize(qout=False)`) as fastText writes a dense matrix: rows and columns (int64), then the float32 values."""
    rows, dim = len(model.get_labels()), model.get_dimension()
    with open(bin_path, "rb") as file:
        file.seek(-(16 + 4 * rows * dim), os.SEEK_END)
        raw = file.read()
    shape = tuple(np.frombuffer(raw[:16], dtype="<i8"))
    if shape != (rows, dim):
        raise ValueError(f"{bin_path}: cannot read its output layer (the file ends with a {shape} matrix, the model has "
                         f"{rows} labels of dimension {dim}; quantised with qout?): retrain the model")
    return np.frombuffer(raw[16:], dtype="<f4").reshape(rows, dim)


def _zero_end_of_line(model: fasttext.FastText._FastText) -> None:
    """Zero the embedding of fastText's end-of-line token (see the module docstring)."""
    row = model.get_word_id(_END_OF_LINE)
    if row < 0:  # -1 would be the last n-gram bucket
        return
    input_VD, output_LD = model.get_input_matrix(), model.get_output_matrix()
    input_VD[row] = 0.0
    model.set_matrices(input_VD, output_LD)


def _balanced_and_shuffled(lines: list[tuple[str, str]], power: float) -> list[tuple[str, str]]:
    """Each example repeated (top label count / its label count) ** power times on average (the fraction by a
    hash, so deterministically), then all lines in hash order. fastText has no example weights, and a
    majority label (general text is most of any corpus) otherwise wins every doubtful document; a file in
    corpus order would also end on one label while the learning rate decays."""
    counts = Counter(label for _, label in lines)
    top = max(counts.values())
    out: list[tuple[bytes, tuple[str, str]]] = []
    for line, label in lines:
        copies = (top / counts[label]) ** power
        whole = int(copies)
        copies_here = whole + (_unit_hash(f"{label}\x1f{line}") < copies - whole)
        out += [(hashlib.blake2b(f"{i}\x1f{line}".encode(), digest_size=8).digest(), (line, label))
                for i in range(copies_here)]
    out.sort(key=lambda keyed: keyed[0])
    return [example for _, example in out]


def _unit_hash(text: str) -> float:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") / 2**64


def _line_tokens(text: str, max_tokens: int, windows: int, words_only: bool, seeds: SeedKnowledge | None) -> list[str]:
    """A document's tokens as one fastText input line (from `windows` stretches, plus seed features when the model
    uses them)."""
    toks = window_tokens(text, max_tokens, windows, words_only)
    return toks + seeds.feature_tokens(toks) if seeds is not None and toks else toks


def _with_temperature(probs_NL: np.ndarray, temperature: float) -> np.ndarray:
    # A label the model never saw keeps probability 0 at any temperature.
    with np.errstate(divide="ignore"):
        logits_NL = np.log(probs_NL) / temperature
    logits_NL -= logits_NL.max(axis=1, keepdims=True)
    scaled_NL = np.exp(logits_NL)
    return scaled_NL / scaled_NL.sum(axis=1, keepdims=True)


def _fit_temperature(probs_NL: np.ndarray, target_N: np.ndarray) -> float:
    """The temperature of least held-out NLL (golden-section search over log T); T = 1 unless another is better."""
    def loss(log_t: float) -> float:
        return _nll(_with_temperature(probs_NL, float(np.exp(log_t))), target_N)

    ratio = (np.sqrt(5) - 1) / 2
    lo, hi = _LOG_T_RANGE
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    loss_a, loss_b = loss(a), loss(b)
    for _ in range(_GOLDEN_STEPS):
        if loss_a <= loss_b:
            hi, b, loss_b = b, a, loss_a
            a = hi - ratio * (hi - lo)
            loss_a = loss(a)
        else:
            lo, a, loss_a = a, b, loss_b
            b = lo + ratio * (hi - lo)
            loss_b = loss(b)
    log_t = (lo + hi) / 2
    return float(np.exp(log_t)) if loss(log_t) < loss(0.0) else 1.0


def _nll(probs_NL: np.ndarray, target_N: np.ndarray) -> float:
    return float(-np.log(np.clip(probs_NL[np.arange(len(target_N)), target_N], 1e-12, 1.0)).mean())
