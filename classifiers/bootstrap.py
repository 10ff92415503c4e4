"""Models for a user with no labelled data and no GPU: weak supervision, then fastText, then self-training.

1. The seed labeller (classifiers.weak_labels) labels the confident part of the user's own corpus with a
   discipline (or general), and ranks documents by a heuristic quality score.
2. fastText is trained on those confident labels (balanced by a per-label cap); a label the corpus gives no
   confident example of gets synthetic anchor documents written from its seed vocabulary, so the model can
   still predict it. The quality model learns high = top, low = bottom of the heuristic ranking.
3. Self-training: the discipline model labels the documents the seed labeller abstained on; predictions at
   or above `self_training_min_prob` join the training set and the model is retrained.
   Documents whose discipline is known (`known`: the level-3 judge's verdicts on its sample, the FineWeb-Edu
   pattern) take that label instead of the seed labeller's and are never left to self-training.
4. Each model's temperature is fitted on a held-out share of its weak labels.

Default models (`ensure_default_models`): the packaged models (classifiers.default_models, trained on real
labelled text) for the packaged taxonomy; for a custom taxonomy on a machine that has bootstrapped nothing yet,
`sciloom label` trains models from synthetic documents written from the seeds alone and caches them under the
user cache dir; `sciloom classifiers bootstrap --corpus ...` writes corpus-bootstrapped models into the same folder by
default, and from then on those are the default.
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, QUALITY_LABELS, LabelModel
from sciloom.classifiers.weak_labels import SeedKnowledge, heuristic_quality, synthetic_documents, weak_discipline
from sciloom.curation.read_jsonl import empty_field, missing_field
from sciloom.curation.document import Document
from sciloom.curation.atomic_write import write_json_atomic

REPORT_FILE = "bootstrap_report.json"


def _held_out(doc_key: str, fraction: float) -> bool:
    """A deterministic, order-independent split: a document's key decides its side."""
    digest = hashlib.blake2b(doc_key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def _capped(examples: list[tuple[str, str, str]], cap: int) -> list[tuple[str, str, str]]:
    """At most `cap` examples per label, chosen by key hash (not by corpus order)."""
    kept: list[tuple[str, str, str]] = []
    taken: Counter[str] = Counter()
    for key, text, label in sorted(examples, key=lambda e: hashlib.blake2b(e[0].encode(), digest_size=8).digest()):
        if taken[label] < cap:
            taken[label] += 1
            kept.append((key, text, label))
    return kept


def _train_calibrated(kind: str, labels: tuple[str, ...], examples: list[tuple[str, str, str]],
                      config: ClassifiersConfig, seeds: SeedKnowledge) -> tuple[LabelModel, dict[str, Any]]:
    fraction = config.bootstrap.calibration_fraction
    train = [(text, label) for key, text, label in examples if not _held_out(key, fraction)]
    held = [(text, label) for key, text, label in examples if _held_out(key, fraction)]
    model = LabelModel.train(kind, labels, train, config.fasttext, config.taxonomy,
                             seeds if config.fasttext.seed_features else None)
    temperature = model.calibrate([t for t, _ in held], [label for _, label in held])
    return model, {"train_examples": len(train), "calibration_examples": len(held), "temperature": temperature,
                   "labels": dict(sorted(Counter(label for _, _, label in examples).items()))}


def _anchors(seeds: SeedKnowledge, counts: Counter[str], labels: Iterable[str], config: ClassifiersConfig
             ) -> list[tuple[str, str, str]]:
    """Synthetic seed documents for labels with fewer confident examples than `seed_docs_per_class`."""
    wanted = config.bootstrap.seed_docs_per_class
    anchors = []
    for label in labels:
        missing = wanted - counts[label]
        for i, text in enumerate(synthetic_documents(seeds, label, max(0, missing), config.fasttext.seed)):
            anchors.append((f"seed:{label}:{i}", text, label))
    return anchors


def bootstrap_models(docs: Iterable[Document], config: ClassifiersConfig, out_dir: Path,
                     known: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Bootstrap discipline and quality models from a corpus of documents (`id`, `text`, optional
    `l1_score`); saves them and `bootstrap_report.json` into `out_dir`; returns the report. `known` maps document
    ids to discipline ids of the taxonomy that replace the seed labeller's labels (ids not in the corpus and
    labels not in the taxonomy are counted in the report, not used)."""
    cfg, taxonomy = config.bootstrap, config.taxonomy
    max_tokens = config.fasttext.max_tokens
    seeds = SeedKnowledge.load(taxonomy, cfg.seeds_dir)
    corpus: list[tuple[str, str, float | None]] = []
    skipped: Counter[str] = Counter()
    for doc in docs:
        if len(corpus) >= cfg.max_docs:
            break
        text = doc.get("text")
        if not isinstance(text, str) or not text.strip():
            skipped[missing_field("text") if not isinstance(text, str) else empty_field("text")] += 1
            continue
        corpus.append((str(doc.get("id", len(corpus))), text, doc.get("l1_score")))
    if not corpus:
        raise ValueError("cannot bootstrap models from an empty corpus (no document with text)")

    known = known or {}
    usable_known = {key: label for key, label in known.items() if label in taxonomy.disciplines}
    weak = {key: usable_known.get(key) or weak_discipline(text, seeds, cfg, max_tokens) for key, text, _ in corpus}
    known_used = sum(key in usable_known for key, _, _ in corpus)
    confident = [(key, text, weak[key]) for key, text, _ in corpus if weak[key] is not None]
    confident = _capped(confident, cfg.max_per_class)
    counts = Counter(label for _, _, label in confident)
    anchors = _anchors(seeds, counts, taxonomy.disciplines, config)
    discipline_model, discipline_report = _train_calibrated(DISCIPLINE, taxonomy.disciplines, confident + anchors,
                                                            config, seeds)

    adopted_total = 0
    abstained = [(key, text) for key, text, _ in corpus if weak[key] is None]
    for _ in range(cfg.self_training_rounds):
        if not abstained:
            break
        probs_NL = discipline_model.predict_proba([text for _, text in abstained])
        adopted = [(key, text, taxonomy.disciplines[int(row.argmax())])
                   for (key, text), row in zip(abstained, probs_NL) if row.max() >= cfg.self_training_min_prob]
        if not adopted:
            break
        adopted_total += len(adopted)
        adopted_keys = {key for key, _, _ in adopted}
        abstained = [(key, text) for key, text in abstained if key not in adopted_keys]
        confident = _capped(confident + adopted, cfg.max_per_class)
        counts = Counter(label for _, _, label in confident)
        anchors = _anchors(seeds, counts, taxonomy.disciplines, config)
        discipline_model, discipline_report = _train_calibrated(DISCIPLINE, taxonomy.disciplines, confident + anchors,
                                                            config, seeds)

    ranked = sorted(corpus, key=lambda d: (heuristic_quality(d[1], seeds, max_tokens, d[2]), d[0]))
    edge = max(1, int(len(ranked) * cfg.quality_fraction))
    quality_examples = [(key, text, "low") for key, text, _ in ranked[:edge]]
    quality_examples += [(key, text, "high") for key, text, _ in ranked[-edge:]]
    quality_counts = Counter(label for _, _, label in quality_examples)
    quality_model, quality_report = _train_calibrated(
        QUALITY, QUALITY_LABELS, quality_examples + _anchors(seeds, quality_counts, QUALITY_LABELS, config), config,
        seeds)

    discipline_model.save(out_dir)
    quality_model.save(out_dir)
    report = {
        "corpus_documents": len(corpus),
        "skipped": dict(skipped),
        "seeds_hash": seeds.content_hash,
        "taxonomy_hash": taxonomy.content_hash,
        "weak_labels": dict(sorted(Counter(label or "abstained" for label in weak.values()).items())),
        "known_labels": {"given": len(known), "used": known_used, "not_in_taxonomy": len(known) - len(usable_known),
                         "not_in_corpus": len(usable_known) - known_used},
        "self_training_adopted": adopted_total,
        "anchor_documents": len(anchors),
        "discipline_model": discipline_report,
        "quality_model": quality_report,
    }
    write_json_atomic(out_dir / REPORT_FILE, report)
    return report


def seed_corpus(config: ClassifiersConfig, docs_per_label: int = 60) -> list[Document]:
    """A corpus written from the seeds alone (for machines with no corpus yet): documents of every discipline's
    vocabulary, plus explanatory and boilerplate/spam documents for the quality ranking."""
    seeds = SeedKnowledge.load(config.taxonomy, config.bootstrap.seeds_dir)
    docs = []
    for label in (*config.taxonomy.disciplines, *QUALITY_LABELS):
        for i, text in enumerate(synthetic_documents(seeds, label, docs_per_label, config.fasttext.seed)):
            docs.append({"id": f"seed:{label}:{i}", "text": text})
    return docs


def default_models_dir(config: ClassifiersConfig) -> Path:
    """Where `sciloom label` looks for models by default: $SCILOOM_MODELS, else the user cache dir, per taxonomy."""
    if os.environ.get("SCILOOM_MODELS"):
        return Path(os.environ["SCILOOM_MODELS"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "sciloom" / "models" / config.taxonomy.content_hash


def ensure_default_models(config: ClassifiersConfig) -> Path:
    """The default models: those in `default_models_dir` when the user put some there ($SCILOOM_MODELS or
    `sciloom classifiers bootstrap`), else the packaged models trained on real labelled text when they fit the
    taxonomy, else models bootstrapped from the seed corpus into `default_models_dir` on first use."""
    from sciloom.classifiers.default_models import packaged_models

    folder = default_models_dir(config)
    if (folder / f"{DISCIPLINE}.json").exists() and (folder / f"{QUALITY}.json").exists():
        return folder
    packaged = packaged_models(config.taxonomy, config.bootstrap.seeds_dir)
    if packaged is not None:
        return packaged
    bootstrap_models(seed_corpus(config), config, folder)
    return folder
