"""Training a level-2 model from labelled JSONL, with a held-out evaluation report.

Records are `{"text": ..., "label": ...}` (field names configurable). The label goes through a mapping onto
the model's labels: `identity` (labels are already discipline ids, or high/low for the quality model),
`arxiv` / `mag` / `mmlu` (the taxonomy's documented mappings), or a JSON file {raw label: discipline id}.
Records whose label does not map, or that have no text, are skipped and counted by reason.

The split is by a hash of the normalised text, so two copies of one document always land on the same side:
test (held out for the report), calibration (fits the temperature), train. A random split flatters a model trained
on few sources (it learns their style): with a group field (each record's source), whole groups are held out
instead, and the report gives each held-out group's numbers and the worst; or every group is held out in turn
(leave one group out: one model per group for the report, then the saved model from every group).
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, QUALITY_LABELS, LabelModel
from sciloom.classifiers.metrics import accuracy, evaluation_report, macro_f1
from sciloom.classifiers.taxonomy import Taxonomy
from sciloom.classifiers.text import fasttext_line
from sciloom.classifiers.weak_labels import SeedKnowledge
from sciloom.curation.atomic_write import write_json_atomic
from sciloom.curation.read_jsonl import TextField, read_json_lines

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


def read_labelled_jsonl(lines: Iterable[str | bytes], mapper: LabelMapper, text_field: TextField = "text",
                        label_field: str = "label", group_field: str | None = None
                        ) -> tuple[list[Example], Counter[str], list[str] | None]:
    """(text, label) examples, with each one's group (the `group_field` value, as text) when asked; every line
    that gives none is counted under its problem (curation/read_jsonl.py's names, plus `unmapped_label` and
    `missing_<group>_group`)."""
    examples: list[Example] = []
    groups: list[str] = []
    skipped: Counter[str] = Counter()
    for line in read_json_lines(lines, text_field):
        if line.problem is not None:
            skipped[line.problem] += 1
            continue
        label = mapper(line.record.get(label_field))
        if label is None:
            skipped["unmapped_label"] += 1
            continue
        if group_field is not None:
            group = line.record.get(group_field)
            if group is None or group == "":
                skipped[f"missing_{group_field}_group"] += 1
                continue
            groups.append(str(group))
        examples.append((line.value, label))
    return examples, skipped, (groups if group_field is not None else None)


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


def held_out_groups(groups: list[str], test_fraction: float) -> set[str]:
    """The groups held out whole: taken in the order of their names' hashes until they hold `test_fraction` of the
    examples; never none, never all."""
    sizes = Counter(groups)
    if len(sizes) < 2:
        raise ValueError(f"holding out whole groups needs at least 2 groups, got {len(sizes)}")
    chosen: set[str] = set()
    for group in sorted(sizes, key=lambda name: document_hash(name, 10_000, "group"))[:-1]:
        if sum(sizes[g] for g in chosen) >= test_fraction * len(groups):
            break
        chosen.add(group)
    return chosen


def train_and_evaluate(kind: str, examples: list[Example], config: ClassifiersConfig, out_dir: Path,
                       test_fraction: float = 0.2, groups: list[str] | None = None,
                       leave_one_group_out: bool = False) -> dict[str, Any]:
    """Train, calibrate, evaluate on the held-out split (whole groups, with `groups`; every group in turn, with
    `leave_one_group_out`, after which the saved model learns from every group); save the model and
    `<kind>_eval.json` in out_dir."""
    if kind not in (DISCIPLINE, QUALITY):
        raise ValueError(f"kind must be {DISCIPLINE!r} or {QUALITY!r}, got {kind!r}")
    if leave_one_group_out and groups is None:
        raise ValueError("leaving one group out needs each example's group")
    labels = config.taxonomy.disciplines if kind == DISCIPLINE else QUALITY_LABELS
    general = config.taxonomy.general_label if kind == DISCIPLINE else None
    seeds = SeedKnowledge.load(config.taxonomy, config.bootstrap.seeds_dir) if config.fasttext.seed_features else None
    held_out = None if groups is None or leave_one_group_out else held_out_groups(groups, test_fraction)
    sides: dict[str, list[Example]] = {"train": [], "calibration": [], "test": []}
    test_groups: list[str] = []
    for index, (text, label) in enumerate(examples):
        if held_out is not None and groups[index] in held_out:
            side = "test"
        else:
            fraction = test_fraction if groups is None else 0.0  # (with groups, only whole groups are tested)
            side = split_of(text, fraction, config.bootstrap.calibration_fraction, config.fasttext.max_tokens)
        sides[side].append((text, label))
        if side == "test" and groups is not None:
            test_groups.append(groups[index])
    if not sides["train"] or not (sides["test"] or leave_one_group_out):
        raise ValueError(f"too few examples ({len(examples)}) for a train / held-out split")
    model = LabelModel.train(kind, labels, sides["train"], config.fasttext, config.taxonomy, seeds)
    test_texts, test_labels = [t for t, _ in sides["test"]], [label for _, label in sides["test"]]
    uncalibrated = evaluation_report(test_labels, model.predict_proba(test_texts), labels) if test_texts else None
    temperature = model.calibrate([t for t, _ in sides["calibration"]], [label for _, label in sides["calibration"]])
    if leave_one_group_out:
        report = _leave_one_group_out(kind, labels, examples, groups, config, seeds)
    else:
        probs_NL = model.predict_proba(test_texts)
        report = evaluation_report(test_labels, probs_NL, labels, general_label=general)
        report["ece_before_calibration"] = uncalibrated["ece"]
        if groups is not None:
            report.update(_per_group(test_labels, [labels[i] for i in probs_NL.argmax(axis=1)], test_groups, general))
    report.update({
        "kind": kind,
        "split": {side: len(items) for side, items in sides.items()},
        "temperature": temperature,
        "train_labels": dict(sorted(Counter(label for _, label in sides["train"]).items())),
    })
    model.save(out_dir)
    write_json_atomic(out_dir / f"{kind}_eval.json", report)
    return report


def _leave_one_group_out(kind: str, labels: list[str], examples: list[Example], groups: list[str],
                         config: ClassifiersConfig, seeds: SeedKnowledge | None) -> dict[str, Any]:
    """Each group held out in turn: a model trained on every other group, tested on every example of this one."""
    truth: list[str] = []
    predicted: list[str] = []
    order: list[str] = []
    unseen: dict[str, list[str]] = {}
    general = config.taxonomy.general_label if kind == DISCIPLINE else None
    for held in sorted(set(groups)):
        train = [example for example, group in zip(examples, groups) if group != held]
        test = [example for example, group in zip(examples, groups) if group == held]
        model = LabelModel.train(kind, labels, train, config.fasttext, config.taxonomy, seeds)
        truth += [label for _, label in test]
        predicted += [labels[i] for i in model.predict_proba([t for t, _ in test]).argmax(axis=1)]
        order += [held] * len(test)
        # A label only this group has cannot be learnt without it: its F1 is 0 whatever the model.
        unseen[held] = sorted({label for _, label in test} - {label for _, label in train})
    report = {"evaluation": "leave_one_group_out", "examples": len(truth), "accuracy": accuracy(truth, predicted),
              **_per_group(truth, predicted, order, general)}
    for group, labels_unseen in unseen.items():
        report["per_group"][group]["labels_no_other_group_has"] = labels_unseen
    report["worst_group"]["labels_no_other_group_has"] = unseen[report["worst_group"]["group"]]
    return report


def _per_group(truth: list[str], predicted: list[str], groups: list[str], general: str | None) -> dict[str, Any]:
    """Each held-out group's numbers (macro-F1 over the labels present in it), their mean and the worst group."""
    rows: dict[str, dict[str, Any]] = {}
    for group in sorted(set(groups)):
        t = [label for label, g in zip(truth, groups) if g == group]
        p = [label for label, g in zip(predicted, groups) if g == group]
        rows[group] = {"examples": len(t), "labels": sorted(set(t)), "macro_f1": macro_f1(t, p),
                       "accuracy": accuracy(t, p)}
        if general is not None:
            rows[group]["science_vs_general_accuracy"] = accuracy([x == general for x in t], [x == general for x in p])
    worst = min(rows, key=lambda group: rows[group]["macro_f1"])
    return {"per_group": rows, "group_macro_f1_mean": float(np.mean([r["macro_f1"] for r in rows.values()])),
            "worst_group": {"group": worst, **rows[worst]}}
