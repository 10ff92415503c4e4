"""Real-data evaluation of the level-2 discipline classifier: bootstrap (no labels) vs label-trained.

Data (../shared/data, never copied into the repo):
  s2orc-metadata-sample  title + abstract, label = MAG field(s) of study through the taxonomy's MAG mapping
  mmlu-dev-val           question + choices, label = subject through the MMLU mapping (non-science -> general)
  unarxive-sample        title + abstract + beginning of the body, label = primary arXiv category
  bbc-news, wikitext-2   general (wikitext split into articles at its `= Title =` lines)
Records whose label does not map (social sciences, mixed MAG fields, econometrics, ...) are left out.

Split: by a hash of the normalised text (test 30%), so a document and its exact copies are on one side only.
Bootstrap: `bootstrap_models` with default settings on the train-side texts without their labels.
Label-trained: the same settings plus character n-grams 3-5, trained on the train-side labels (calibration on a
share of them). Both are scored on the same test
side: discipline macro-F1 over every label present in the test set and over the labels with >= 10 test
documents (a label with 1-2 test documents moves macro-F1 by a whole 1/labels on one guess), per-label support
and F1, accuracy, science-vs-general accuracy, ECE, and per-source accuracy. The script checks that no
normalised text is on two sides.

Run: .venv/bin/python benchmarks/eval_classifiers.py [--out report.json]
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classifiers.bootstrap import bootstrap_models  # noqa: E402
from classifiers.config import ClassifiersConfig  # noqa: E402
from classifiers.fasttext_model import DISCIPLINE, LabelModel  # noqa: E402
from classifiers.metrics import evaluation_report  # noqa: E402
from classifiers.taxonomy import DEFAULT_TAXONOMY, Taxonomy  # noqa: E402
from classifiers.text import fasttext_line  # noqa: E402
from classifiers.train import split_of  # noqa: E402
from classifiers.weak_labels import SeedKnowledge  # noqa: E402

DATA = REPO.parent / "shared" / "data"
Record = tuple[str, str, str]  # (source, text, label)


def s2orc(tax: Taxonomy) -> list[Record]:
    out = []
    with open(DATA / "disciplines/s2orc-metadata-sample/metadata_sample_v2020-07-05.jsonl") as f:
        for line in f:
            paper = json.loads(line)
            label = tax.map_mag(paper.get("mag_field_of_study"))
            if paper.get("abstract") and label:
                out.append(("s2orc", f"{paper['title']}\n{paper['abstract']}", label))
    return out


def mmlu(tax: Taxonomy) -> list[Record]:
    out = []
    for path in sorted((DATA / "disciplines/mmlu-dev-val/data").glob("*/*.csv")):
        subject = re.sub(r"_(dev|val)$", "", path.stem)
        label = tax.map_mmlu(subject)
        if label is None:
            continue
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                out.append(("mmlu", " ".join(row[:5]), label))
    return out


def unarxive(tax: Taxonomy) -> list[Record]:
    out = []
    with open(DATA / "disciplines/unarxive-sample/unarXive_data_sample/arXiv_src_2212_086.jsonl") as f:
        for line in f:
            paper = json.loads(line)
            label = tax.map_arxiv(paper["metadata"]["categories"])
            if label is None:
                continue
            body = " ".join(section["text"] for section in paper["body_text"][:6])
            out.append(("unarxive", f"{paper['metadata']['title']}\n{paper['metadata']['abstract']}\n{body[:6000]}", label))
    return out


def bbc(tax: Taxonomy) -> list[Record]:
    return [("bbc", p.read_text(encoding="utf-8", errors="replace"), tax.general_label)
            for p in sorted((DATA / "general/bbc-news").glob("*/*.txt"))]


def wikitext(tax: Taxonomy) -> list[Record]:
    out = []
    for name in ("valid.txt", "test.txt"):
        article: list[str] = []
        for line in (DATA / "general/wikitext-2" / name).read_text(encoding="utf-8").splitlines():
            if re.match(r"^ = [^=].* = $", line) and article:
                out.append(("wikitext", "\n".join(article), tax.general_label))
                article = []
            if line.strip():
                article.append(line)
        if article:
            out.append(("wikitext", "\n".join(article), tax.general_label))
    return out


def score(model: LabelModel, test: list[Record], tax: Taxonomy) -> dict:
    probs_NL = model.predict_proba([text for _, text, _ in test])
    truth = [label for _, _, label in test]
    report = evaluation_report(truth, probs_NL, tax.disciplines, general_label=tax.general_label)
    predicted = [tax.disciplines[i] for i in probs_NL.argmax(axis=1)]
    by_source: dict[str, list[bool]] = {}
    for (source, _, label), guess in zip(test, predicted):
        by_source.setdefault(source, []).append(label == guess)
    report["accuracy_by_source"] = {s: round(float(np.mean(v)), 4) for s, v in sorted(by_source.items())}
    return report


SUMMARY_KEYS = ("macro_f1", "macro_f1_supported", "accuracy", "science_vs_general_accuracy", "ece")


def summary(report: dict) -> dict:
    return {k: round(report[k], 4) for k in SUMMARY_KEYS} | {"accuracy_by_source": report["accuracy_by_source"]}


def per_label_table(results: dict) -> str:
    names = ("label_trained", "bootstrap")
    rows = [f"{'label':22s} {'test docs':>9s} " + " ".join(f"{'F1 ' + n:>17s}" for n in names)]
    for label, support in results["label_trained"]["support"].items():
        f1 = [results[n]["per_label_f1"].get(label) for n in names]
        rows.append(f"{label:22s} {support:9d} " + " ".join(f"{'-' if v is None else f'{v:.3f}':>17s}" for v in f1))
    for key in SUMMARY_KEYS:
        rows.append(f"{key:32s} " + " ".join(f"{results[n][key]:17.3f}" for n in names))
    rows.append(f"(macro_f1_supported: labels with >= {results['label_trained']['min_support']} test docs: "
                f"{', '.join(results['label_trained']['supported_labels'])})")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the full JSON report here")
    parser.add_argument("--no-seed-features", action="store_true", help="models without seed-lexicon features")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"real evaluation data not found at {DATA}")
    # The bootstrap runs with the default settings (what a new user gets); the label-trained model adds character
    # n-grams 3-5, measured best with labels here (see FastTextParams.minn), but not for the bootstrap (measured:
    # macro-F1 0.485 -> 0.477, science-vs-general 0.869 -> 0.844 with them).
    config = ClassifiersConfig(fasttext={"seed_features": not args.no_seed_features})
    labelled_params = config.fasttext.model_copy(update={"minn": 3, "maxn": 5})
    tax = DEFAULT_TAXONOMY
    records = s2orc(tax) + mmlu(tax) + unarxive(tax) + bbc(tax) + wikitext(tax)
    sides: dict[str, list[Record]] = {"train": [], "calibration": [], "test": []}
    for record in records:
        sides[split_of(record[1], 0.3, 0.1, config.fasttext.max_tokens)].append(record)
    train_all = sides["train"] + sides["calibration"]
    seen = {fasttext_line(text, config.fasttext.max_tokens) for _, text, _ in train_all}
    shared = sum(fasttext_line(text, config.fasttext.max_tokens) in seen for _, text, _ in sides["test"])
    if shared:
        sys.exit(f"{shared} test documents also occur on the train side: the split is broken")
    print(f"records {len(records)}: " + ", ".join(f"{k} {len(v)}" for k, v in sides.items()), file=sys.stderr)
    print("labels (test): " + json.dumps(Counter(label for _, _, label in sides["test"])), file=sys.stderr)

    results: dict = {"records": len(records), "split": {k: len(v) for k, v in sides.items()},
                     "test_labels": dict(Counter(label for _, _, label in sides["test"])),
                     "test_sources": dict(Counter(source for source, _, _ in sides["test"]))}
    started = time.perf_counter()
    seeds = SeedKnowledge.load(tax) if config.fasttext.seed_features else None
    labelled = LabelModel.train(DISCIPLINE, tax.disciplines, [(t, label) for _, t, label in sides["train"]],
                                labelled_params, tax, seeds)
    labelled.calibrate([t for _, t, _ in sides["calibration"]], [label for _, _, label in sides["calibration"]])
    results["label_trained"] = score(labelled, sides["test"], tax)
    results["label_trained"]["train_seconds"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        boot = bootstrap_models(({"id": str(i), "text": t} for i, (_, t, _) in enumerate(train_all)), config, Path(tmp))
        bootstrapped = LabelModel.load(Path(tmp), DISCIPLINE, tax)
        results["bootstrap"] = score(bootstrapped, sides["test"], tax)
    results["bootstrap"]["train_seconds"] = round(time.perf_counter() - started, 2)
    results["bootstrap"]["weak_labels"] = boot["weak_labels"]
    results["bootstrap"]["self_training_adopted"] = boot["self_training_adopted"]

    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("label_trained", "bootstrap"):
        print(name, json.dumps(summary(results[name])))
    print(per_label_table(results))
    lt, bs = results["label_trained"], results["bootstrap"]
    print(f"targets (label-trained): science-vs-general acc {lt['science_vs_general_accuracy']:.3f} (>= 0.95), "
          f"macro-F1 {lt['macro_f1']:.3f} all labels / {lt['macro_f1_supported']:.3f} labels with >= "
          f"{lt['min_support']} test docs (>= 0.85)")
    print(f"bootstrap / label-trained macro-F1 ratio: {bs['macro_f1'] / lt['macro_f1']:.3f}")


if __name__ == "__main__":
    main()
