"""Training a level-2 model from labelled JSONL, with a held-out evaluation report.

Records are `{"text": ..., "label": ...}` (field names configurable). The label goes through a mapping onto
the model's labels: `identity` (labels are already discipline ids, or high/low for the quality model),
`arxiv` / `mag` / `mmlu` (the taxonomy's documented mappings), or a JSON file {raw label: discipline id}.
Records whose label does not map, or that have no text, are skipped and counted by reason.

The split is by a hash of the normalised text, so two copies of one document always land on the same side:
test (held out for the report), calibration (fits the temperature), train.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, QUALITY_LABELS, LabelModel
from sciloom.classifiers.metrics import evaluation_report
from sciloom.classifiers.taxonomy import Taxonomy
from sciloom.classifiers.text import fasttext_line
from sciloom.classifiers.weak_labels import SeedKnowledge
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.curation.read_jsonl import read_json_lines

BUILTIN_MAPPINGS = ("identity", "arxiv", "mag", "mmlu")
LabelMapper = Callable[[Any], "str | None"]
Example = tuple[str, str]  # (text, label)


def label_mapper(mapping: str, kind: str, taxonomy: Taxonomy) -> LabelMapper:
    """`mapping` is one of BUILTIN_MAPPINGS or the path of a JSON object {raw label: model label}."""
    labels = set(taxonomy.disciplines if kind == DISCIPLINE else QUALITY_LABELS)
    if mapping == "identity":
        return lambda raw: raw if isinstance(raw, str) and raw in labels else None
    if mapping in ("arxiv", "mag", "mmlu"):
        if kind != DISCIPLINE:
            raise ValueError(f"the {mapping} mapping gives disciplines; it cannot label a {kind} model")
        return getattr(taxonomy, f"map_{mapping}")
    path = Path(mapping)
    if not path.exists():
        raise FileNotFoundError(f"label mapping {mapping!r} is neither one of {BUILTIN_MAPPINGS} nor a JSON file")
    table = json.loads(path.read_text())
    unknown = sorted({v for v in table.values() if v not in labels})
    if unknown:
        raise ValueError(f"label mapping {path} maps onto {unknown}, which are not labels of the {kind} model "
                         f"({sorted(labels)})")
    return lambda raw: table.get(raw if isinstance(raw, str) else json.dumps(raw))


def read_labelled_jsonl(lines: Iterable[str | bytes], mapper: LabelMapper, text_field: str = "text",
                        label_field: str = "label") -> tuple[list[Example], Counter[str]]:
    """(text, label) examples; every line that gives none is counted under its problem (curation/read_jsonl.py's
    names, plus `unmapped_label`)."""
    examples: list[Example] = []
    skipped: Counter[str] = Counter()
    for line in read_json_lines(lines, text_field):
        if line.problem is not None:
            skipped[line.problem] += 1
            continue
        label = mapper(line.record.get(label_field))
        if label is None:
            skipped["unmapped_label"] += 1
            continue
        examples.append((line.value, label))
    return examples, skipped


def document_hash(text: str, max_tokens: int, salt: str = "") -> float:
    """A number in [0, 1) from the normalised text (and `salt`, for a split independent of another one), so that
    a document and its exact copies always get the same number."""
    digest = hashlib.blake2b(f"{salt}\x1f{fasttext_line(text, max_tokens)}".encode() if salt else
                             fasttext_line(text, max_tokens).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def split_of(text: str, test_fraction: float, calibration_fraction: float, max_tokens: int) -> str:
    """test | calibration | train, from a hash of the normalised text (duplicates share a side)."""
    u = document_hash(text, max_tokens)
    if u < test_fraction:
        return "test"
    return "calibration" if u < test_fraction + calibration_fraction else "train"


def train_and_evaluate(kind: str, examples: list[Example], config: ClassifiersConfig, out_dir: Path,
                       test_fraction: float = 0.2) -> dict[str, Any]:
    """Train, calibrate, evaluate on the held-out split; save the model and `<kind>_eval.json` in out_dir."""
    if kind not in (DISCIPLINE, QUALITY):
        raise ValueError(f"kind must be {DISCIPLINE!r} or {QUALITY!r}, got {kind!r}")
    labels = config.taxonomy.disciplines if kind == DISCIPLINE else QUALITY_LABELS
    sides: dict[str, list[Example]] = {"train": [], "calibration": [], "test": []}
    for text, label in examples:
        sides[split_of(text, test_fraction, config.bootstrap.calibration_fraction, config.fasttext.max_tokens)].append(
            (text, label))
    if not sides["train"] or not sides["test"]:
        raise ValueError(f"too few examples ({len(examples)}) for a train / held-out split")
    seeds = SeedKnowledge.load(config.taxonomy, config.bootstrap.seeds_dir) if config.fasttext.seed_features else None
    model = LabelModel.train(kind, labels, sides["train"], config.fasttext, config.taxonomy, seeds)
    test_texts, test_labels = [t for t, _ in sides["test"]], [label for _, label in sides["test"]]
    uncalibrated = evaluation_report(test_labels, model.predict_proba(test_texts), labels)
    temperature = model.calibrate([t for t, _ in sides["calibration"]], [label for _, label in sides["calibration"]])
    general = config.taxonomy.general_label if kind == DISCIPLINE else None
    report = evaluation_report(test_labels, model.predict_proba(test_texts), labels, general_label=general)
    report.update({
        "kind": kind,
        "split": {side: len(items) for side, items in sides.items()},
        "temperature": temperature,
        "ece_before_calibration": uncalibrated["ece"],
        "train_labels": dict(sorted(Counter(label for _, label in sides["train"]).items())),
    })
    model.save(out_dir)
    write_json_atomic(out_dir / f"{kind}_eval.json", report)
    return report
