"""Real-data evaluation of the level-2 discipline classifier: bootstrap (no labels) vs label-trained.

Data (../shared/data, never copied into the repo):
  s2orc-metadata-sample  title + abstract, label = MAG field(s) of study through the taxonomy's MAG mapping
  mmlu-dev-val           question + choices, label = subject through the MMLU mapping (non-science -> general)
  unarxive-sample        title + abstract + beginning of the body, label = primary arXiv category
  bbc-news, wikitext-2   general (wikitext split into articles at its `= Title =` lines)
Records whose label does not map (social sciences, mixed MAG fields, econometrics, ...) are left out.

Three measurements, each with no document (no normalised text) on both sides, checked:
  single split   test = the 30% of documents with the smallest text hash; per-label table for both models.
  k-fold         every document's fold from its text hash (5 folds); each fold is the test side once: mean ± sd
                 over folds for both models, and (label-trained) per-label F1 and the most frequent confusions
                 pooled over folds, so every document is predicted once by a model that never saw it.
  leave one source out  label-trained on every other source, tested on all of one (s2orc, mmlu, unarxive, bbc,
                 wikitext): how the model does on a kind of text it has never seen.
Bootstrap: `bootstrap_models` with default settings on the train-side texts without their labels.
Label-trained: the same settings plus character n-grams 3-5, trained on the train-side labels; its temperature
is fitted on a share of the train side chosen by a second, independent hash (the test side is never seen).
Scores: discipline macro-F1 over every label present in the test set and over the labels with >= 10 test
documents (a label with 1-2 test documents, e.g. earth_environment with 5 documents in all, moves macro-F1 by a
whole 1/labels on one guess), accuracy, science-vs-general accuracy, ECE, per-source accuracy.

Measured here and not adopted (label-trained, 5-fold macro-F1 / science-vs-general unless said; 0.570 / 0.952
with the settings above): a separate science-vs-general fastText gate before the discipline model 0.569 / 0.955
(leave-s2orc-out science-vs-general 0.64 -> 0.72 but leave-mmlu-out 0.77 -> 0.75); digits read as 0 0.578 / 0.953
but leave-one-source-out worse (unarxive 0.89 -> 0.75, s2orc 0.64 -> 0.62); single split (0.554 / 0.937 then):
training on 200-token chunks with chunk-averaged prediction 0.546 / 0.931, 100-token chunks 0.530 / 0.932,
class_balance 1.0 0.559 / 0.937, dim 64 0.558 / 0.938, word n-grams 1 0.555 / 0.939, lr 0.2 0.548 / 0.942,
up to 300 epochs 0.566 / 0.938 at 5x the training time; leave-one-source-out with no character n-grams, word
n-grams 1 or class_balance 1.0: no better.

Run: .venv/bin/python benchmarks/eval_classifiers.py [--out report.json]   (7-13 min on 2 shared cores)
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

from sciloom.classifiers.bootstrap import bootstrap_models  # noqa: E402
from sciloom.classifiers.config import ClassifiersConfig, FastTextParams  # noqa: E402
from sciloom.classifiers.fasttext_model import DISCIPLINE, LabelModel  # noqa: E402
from sciloom.classifiers.metrics import evaluation_report, per_label_f1  # noqa: E402
from sciloom.classifiers.taxonomy import Taxonomy  # noqa: E402
from sciloom.classifiers.text import fasttext_line  # noqa: E402
from sciloom.classifiers.train import document_hash  # noqa: E402
from sciloom.classifiers.weak_labels import SeedKnowledge  # noqa: E402

DATA = REPO.parent / "shared" / "data"
Record = tuple[str, str, str]  # (source, text, label)
TEST_FRACTION = 0.3


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


def load_records(tax: Taxonomy) -> list[Record]:
    return s2orc(tax) + mmlu(tax) + unarxive(tax) + bbc(tax) + wikitext(tax)


def check_disjoint(train: list[Record], test: list[Record], max_tokens: int, what: str) -> None:
    seen = {fasttext_line(text, max_tokens) for _, text, _ in train}
    shared = sum(fasttext_line(text, max_tokens) in seen for _, text, _ in test)
    if shared:
        sys.exit(f"{what}: {shared} test documents also occur on the train side: the split is broken")


def train_labelled(train: list[Record], config: ClassifiersConfig, params: FastTextParams, tax: Taxonomy,
                   seeds: SeedKnowledge | None) -> LabelModel:
    """Train on the labels of `train`, fit the temperature on a share of it chosen by a hash independent of the
    test split (the test side is never seen)."""
    fraction = config.bootstrap.calibration_fraction
    held = [document_hash(text, params.max_tokens, "calibration") < fraction for _, text, _ in train]
    model = LabelModel.train(DISCIPLINE, tax.disciplines, [(t, label) for (_, t, label), h in zip(train, held) if not h],
                             params, tax, seeds)
    model.calibrate([t for (_, t, _), h in zip(train, held) if h], [label for (_, _, label), h in zip(train, held) if h])
    return model


def train_bootstrap(train: list[Record], config: ClassifiersConfig, tax: Taxonomy) -> tuple[LabelModel, dict]:
    """The bootstrap on the train-side texts, their labels unused."""
    with tempfile.TemporaryDirectory() as tmp:
        report = bootstrap_models(({"id": str(i), "text": t} for i, (_, t, _) in enumerate(train)), config, Path(tmp))
        return LabelModel.load(Path(tmp), DISCIPLINE, tax), report


def score(model: LabelModel, test: list[Record], tax: Taxonomy) -> dict:
    probs_NL = model.predict_proba([text for _, text, _ in test])
    truth = [label for _, _, label in test]
    report = evaluation_report(truth, probs_NL, tax.disciplines, general_label=tax.general_label)
    predicted = [tax.disciplines[i] for i in probs_NL.argmax(axis=1)]
    by_source: dict[str, list[bool]] = {}
    for (source, _, label), guess in zip(test, predicted):
        by_source.setdefault(source, []).append(label == guess)
    report["accuracy_by_source"] = {s: round(float(np.mean(v)), 4) for s, v in sorted(by_source.items())}
    report["predicted"] = predicted
    return report


SUMMARY_KEYS = ("macro_f1", "macro_f1_supported", "accuracy", "science_vs_general_accuracy", "ece")
FOLD_KEYS = ("macro_f1", "macro_f1_supported", "accuracy", "science_vs_general_accuracy")


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


def k_fold(records: list[Record], folds: int, config: ClassifiersConfig, params: FastTextParams, tax: Taxonomy,
           seeds: SeedKnowledge | None) -> dict:
    """Each document's fold comes from its text hash; every fold is the test side once. Per fold: label-trained
    and bootstrap scores; pooled over folds: per-label F1 and the most frequent confusions of the label-trained
    model (every document is predicted exactly once, by a model that never saw it)."""
    fold_of = [int(document_hash(text, params.max_tokens) * folds) for _, text, _ in records]
    out: dict = {"folds": folds, "label_trained": [], "bootstrap": []}
    truth: list[str] = []
    guesses: list[str] = []
    for k in range(folds):
        train = [r for r, f in zip(records, fold_of) if f != k]
        test = [r for r, f in zip(records, fold_of) if f == k]
        check_disjoint(train, test, params.max_tokens, f"fold {k}")
        labelled = score(train_labelled(train, config, params, tax, seeds), test, tax)
        truth += [label for _, _, label in test]
        guesses += labelled.pop("predicted")
        out["label_trained"].append({key: labelled[key] for key in FOLD_KEYS})
        boot = score(train_bootstrap(train, config, tax)[0], test, tax)
        out["bootstrap"].append({key: boot[key] for key in FOLD_KEYS})
        print(f"fold {k}: label-trained " + json.dumps({key: round(labelled[key], 3) for key in FOLD_KEYS}) +
              "; bootstrap " + json.dumps({key: round(boot[key], 3) for key in FOLD_KEYS}), file=sys.stderr)
    for name in ("label_trained", "bootstrap"):
        out[f"{name}_mean_sd"] = {key: (float(np.mean([f[key] for f in out[name]])),
                                        float(np.std([f[key] for f in out[name]], ddof=1))) for key in FOLD_KEYS}
    out["pooled_per_label_f1"] = per_label_f1(truth, guesses, sorted(set(truth)))
    out["pooled_support"] = dict(Counter(truth))
    out["top_confusions"] = [(t, p, n) for (t, p), n in Counter(
        (t, p) for t, p in zip(truth, guesses) if t != p).most_common(10)]
    return out


def leave_one_source_out(records: list[Record], config: ClassifiersConfig, params: FastTextParams, tax: Taxonomy,
                         seeds: SeedKnowledge | None) -> dict:
    """Train with labels on every other source, test on all of one source: how the model does on a kind of text
    it has never seen (documents shared across sources are left out of training)."""
    out = {}
    for source in sorted({s for s, _, _ in records}):
        test = [r for r in records if r[0] == source]
        held = {fasttext_line(text, params.max_tokens) for _, text, _ in test}
        train = [r for r in records if r[0] != source and fasttext_line(r[1], params.max_tokens) not in held]
        check_disjoint(train, test, params.max_tokens, f"without {source}")
        report = score(train_labelled(train, config, params, tax, seeds), test, tax)
        out[source] = {"documents": len(test), "labels": dict(Counter(label for _, _, label in test)),
                       **{key: report[key] for key in FOLD_KEYS}, "per_label_f1": report["per_label_f1"]}
    return out


def mean_sd(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.3f} ± {pair[1]:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the full JSON report here")
    parser.add_argument("--folds", type=int, default=5, help="folds of the k-fold evaluation")
    parser.add_argument("--smoke", action="store_true", help="every step on 1 record in 40, 2 folds (CI)")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"real evaluation data not found at {DATA}")
    # The bootstrap runs with the default settings (what a new user gets); the label-trained model adds character
    # n-grams 3-5, measured best with labels here (see FastTextParams.minn), but not for the bootstrap (measured:
    # macro-F1 0.485 -> 0.477, science-vs-general 0.869 -> 0.844 with them).
    config = ClassifiersConfig()
    params = config.fasttext.model_copy(update={"minn": 3, "maxn": 5})
    tax = config.taxonomy
    seeds = SeedKnowledge.load(tax) if params.seed_features else None
    records = load_records(tax)
    if args.smoke:
        records, args.folds = records[::40], 2
    sides: dict[str, list[Record]] = {"train": [], "test": []}
    for record in records:
        sides["test" if document_hash(record[1], params.max_tokens) < TEST_FRACTION else "train"].append(record)
    check_disjoint(sides["train"], sides["test"], params.max_tokens, "single split")
    print(f"records {len(records)}: " + ", ".join(f"{k} {len(v)}" for k, v in sides.items()), file=sys.stderr)
    print("labels (test): " + json.dumps(Counter(label for _, _, label in sides["test"])), file=sys.stderr)

    results: dict = {"records": len(records), "split": {k: len(v) for k, v in sides.items()},
                     "test_labels": dict(Counter(label for _, _, label in sides["test"])),
                     "test_sources": dict(Counter(source for source, _, _ in sides["test"]))}
    started = time.perf_counter()
    results["label_trained"] = score(train_labelled(sides["train"], config, params, tax, seeds), sides["test"], tax)
    results["label_trained"]["train_seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    bootstrapped, boot = train_bootstrap(sides["train"], config, tax)
    results["bootstrap"] = score(bootstrapped, sides["test"], tax)
    results["bootstrap"]["train_seconds"] = round(time.perf_counter() - started, 2)
    results["bootstrap"]["weak_labels"] = boot["weak_labels"]
    results["bootstrap"]["self_training_adopted"] = boot["self_training_adopted"]
    results["k_fold"] = k_fold(records, args.folds, config, params, tax, seeds)
    results["leave_one_source_out"] = leave_one_source_out(records, config, params, tax, seeds)

    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"== single split (test {TEST_FRACTION:.0%} by text hash)")
    for name in ("label_trained", "bootstrap"):
        print(name, json.dumps(summary(results[name])), f"train {results[name]['train_seconds']} s")
    print(per_label_table(results))
    kf = results["k_fold"]
    print(f"== {args.folds}-fold by text hash (mean ± sd over folds)")
    print(f"{'':32s} {'label_trained':>17s} {'bootstrap':>17s}")
    for key in FOLD_KEYS:
        print(f"{key:32s} {mean_sd(kf['label_trained_mean_sd'][key]):>17s} {mean_sd(kf['bootstrap_mean_sd'][key]):>17s}")
    print("pooled per-label F1 (label-trained): " + ", ".join(
        f"{label} {f1:.3f} ({kf['pooled_support'][label]})" for label, f1 in kf["pooled_per_label_f1"].items()))
    print("most frequent confusions (true -> predicted, count): " + ", ".join(
        f"{t}->{p} {n}" for t, p, n in kf["top_confusions"]))
    print("== leave one source out (label-trained on the other sources)")
    for source, r in results["leave_one_source_out"].items():
        print(f"{source:10s} docs {r['documents']:5d} acc {r['accuracy']:.3f} science-vs-general "
              f"{r['science_vs_general_accuracy']:.3f} macro-F1 {r['macro_f1']:.3f} labels {json.dumps(r['labels'])}")
    lt, bs = kf["label_trained_mean_sd"], kf["bootstrap_mean_sd"]
    print(f"targets (label-trained, {args.folds}-fold): science-vs-general acc "
          f"{mean_sd(lt['science_vs_general_accuracy'])} (>= 0.95), macro-F1 {mean_sd(lt['macro_f1'])} all labels / "
          f"{mean_sd(lt['macro_f1_supported'])} labels with >= {results['label_trained']['min_support']} test docs "
          f"(>= 0.85)")
    print(f"bootstrap / label-trained macro-F1 ratio ({args.folds}-fold means): "
          f"{bs['macro_f1'][0] / lt['macro_f1'][0]:.3f}")
    results["label_trained"].pop("predicted")
    results["bootstrap"].pop("predicted")


if __name__ == "__main__":
    main()
