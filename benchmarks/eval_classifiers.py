"""Leave-one-source-out evaluation of the default discipline and quality models, beside a plain fastText baseline.

Data: classifiers.reference_corpus over ../shared/data (never copied into the repo): the 30 files of the
labelled corpus, s2orc, unarxive (whole papers), mmlu, bbc and wikitext for disciplines; for quality, that
curated text (high) against raw crawl text and removed boilerplate (low).

Discipline: for every source, train on all the others (at most PER_SOURCE_CAP documents per (source, label),
both models) and test on every document of the held-out source. Per source: macro-F1 over the labels present
in it, science-vs-general accuracy; summary: mean and the worst source.
Quality: the sources are dealt into 3 groups (each low source in its own group, high sources round-robin in
sorted order); each group is held out once: ROC-AUC of P(high) on its documents.
Ours: classifiers.default_models, the recipe of the shipped models, quantised as they ship (quantising costs ~8 s
per model: the full run takes ~15 minutes; `--unquantised` measures the models before quantisation in ~4).
Baseline: fastText's own defaults (dim 100, lr 0.1, 5 epochs, softmax, unigrams) on the first 600 tokens.

Run: nice .venv/bin/python benchmarks/eval_classifiers.py [--out report.json] [--unquantised] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sciloom.classifiers import default_models  # noqa: E402
from sciloom.classifiers.config import ClassifiersConfig  # noqa: E402
from sciloom.classifiers.fasttext_isolated import train_supervised_isolated  # noqa: E402
from sciloom.classifiers.fasttext_model import QUALITY_LABELS  # noqa: E402
from sciloom.classifiers.metrics import macro_f1  # noqa: E402
from sciloom.classifiers.reference_corpus import Record, discipline_records, quality_records  # noqa: E402
from sciloom.classifiers.taxonomy import Taxonomy  # noqa: E402
from sciloom.classifiers.text import fasttext_line  # noqa: E402
from sciloom.curation.atomic_write import write_text_atomic  # noqa: E402

DATA = REPO.parent / "shared" / "data"
BASELINE_TOKENS = 600
Predictor = Callable[[Sequence[str]], np.ndarray]  # texts -> probabilities over the labels given at training


def train_baseline(records: Sequence[Record], labels: Sequence[str]) -> Predictor:
    """fastText with its default settings (one thread, seed 0 for determinism)."""
    import fasttext

    with tempfile.TemporaryDirectory(prefix="sciloom-eval-") as tmp:
        path, model_path = Path(tmp) / "train.txt", Path(tmp) / "model.bin"
        path.write_text("".join(f"__label__{label} {fasttext_line(text, BASELINE_TOKENS)}\n"
                                for _, text, label in records), encoding="utf-8")
        train_supervised_isolated(path, model_path, {"thread": 1, "seed": 0, "verbose": 0})
        model = fasttext.load_model(str(model_path))
    column = {f"__label__{label}": i for i, label in enumerate(labels)}

    def predict(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(labels)))
        names, probs = model.predict([fasttext_line(t, BASELINE_TOKENS) for t in texts], k=-1, threshold=0.0)
        for row, (ns, ps) in enumerate(zip(names, probs)):
            for n, p in zip(ns, ps):
                out[row, column[n]] = p
        return out

    return predict


def roc_auc(positive_N: np.ndarray, score_N: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half), by ranks."""
    order = np.argsort(score_N, kind="mergesort")
    ranks = np.empty(len(score_N))
    sorted_scores = score_N[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, n in zip(first, counts):
        ranks[order[start:start + n]] = start + (n + 1) / 2
    pos = positive_N.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc_interval(positive_N: np.ndarray, score_N: np.ndarray, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the ROC-AUC, positives and negatives resampled separately: a group with few
    negatives has a wide one."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(positive_N), np.flatnonzero(~positive_N.astype(bool))
    labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    aucs = [roc_auc(labels, np.r_[score_N[rng.choice(pos, len(pos))], score_N[rng.choice(neg, len(neg))]])
            for _ in range(rounds)]
    return float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))


def mean_interval(values: Sequence[float], rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the mean of `values`."""
    rng = np.random.default_rng(seed)
    array = np.asarray(values, dtype=float)
    means = [array[rng.choice(len(array), len(array))].mean() for _ in range(rounds)]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def discipline_loso(records: list[Record], tax: Taxonomy, cap: int, sources: Sequence[str], quantize: bool) -> dict:
    labels, general = tax.disciplines, tax.general_label
    out: dict = {}
    for source in sources:
        train = default_models.capped([r for r in records if r[0] != source], cap)
        test = [r for r in records if r[0] == source]
        texts, truth = [t for _, t, _ in test], [label for _, _, label in test]
        row = {"documents": len(test), "labels": sorted(set(truth))}
        for name, predictor in (("baseline", train_baseline(train, labels)),
                                ("ours", default_models.train_discipline(train, tax, quantize).predict_proba)):
            predicted = [labels[i] for i in predictor(texts).argmax(axis=1)]
            row[name] = {"macro_f1": macro_f1(truth, predicted),
                         "science_vs_general": float(np.mean([(t == general) == (p == general)
                                                              for t, p in zip(truth, predicted)]))}
        out[source] = row
        print(f"  {source:26s} {len(test):6d} docs  macro-F1 {row['baseline']['macro_f1']:.3f} -> "
              f"{row['ours']['macro_f1']:.3f}   sci-vs-gen {row['baseline']['science_vs_general']:.3f} -> "
              f"{row['ours']['science_vs_general']:.3f}", flush=True)
    return out


def quality_groups(records: list[Record], groups: int = 3) -> list[set[str]]:
    low = sorted({s for s, _, label in records if label == "low"})
    high = sorted({s for s, _, label in records if label == "high"} - set(low))
    dealt = [set() for _ in range(groups)]
    for i, source in enumerate(low):
        dealt[i % groups].add(source)
    for i, source in enumerate(high):
        dealt[i % groups].add(source)
    return dealt


def quality_held_out(records: list[Record], tax: Taxonomy, cap: int, quantize: bool) -> dict:
    out: dict = {"groups": []}
    for held in quality_groups(records):
        train = default_models.capped([r for r in records if r[0] not in held], cap)
        test = default_models.capped([r for r in records if r[0] in held], cap)
        texts = [t for _, t, _ in test]
        positive = np.array([label == "high" for _, _, label in test])
        row = {"held_out": sorted(held), "documents": len(test), "low_documents": int((~positive).sum())}
        high_column = QUALITY_LABELS.index("high")
        for name, predictor in (("baseline", train_baseline(train, QUALITY_LABELS)),
                                ("ours", default_models.train_quality(train, tax, quantize).predict_proba)):
            scores = predictor(texts)[:, high_column]
            row[name], row[f"{name}_interval"] = roc_auc(positive, scores), auc_interval(positive, scores)
        out["groups"].append(row)
        low, high = row["ours_interval"]
        print(f"  quality, held out {', '.join(s for s in sorted(held) if s in {'dolma_cc', 'web_text_crawl', 'boilerplate'})}"
              f" + {len(held)} sources ({row['low_documents']} low documents): ROC-AUC {row['baseline']:.3f} -> "
              f"{row['ours']:.3f} (95% bootstrap interval {low:.3f}-{high:.3f})", flush=True)
    return out


def sample_crawl_order(tax: Taxonomy) -> dict[str, float] | None:
    """Mean quality score of the shipped model on the sample crawl's pages by kind: junk, articles (general pages,
    extracted), science pages (extracted), and the same pages boilerplate-heavy (each page's whole HTML as text:
    navigation, cookie banner, footer and all), per kind: a boilerplate-heavy page is compared with its own
    extracted text, not a science page's whole HTML with a news article. None without shipped models."""
    import html as html_lib
    import re

    from warcio.archiveiterator import ArchiveIterator

    from sciloom.classifiers.fasttext_model import QUALITY, LabelModel
    from sciloom.curation.extract import ExtractStep
    from sciloom.curation.sample_crawl import write_sample_crawl

    folder = default_models.packaged_models(tax)
    if folder is None:
        return None
    model = LabelModel.load(folder, QUALITY, tax)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crawl.warc.gz"
        kinds = {page.url: page.kind for page in write_sample_crawl(path) if page.record_type == "response"}
        groups: dict[str, list[str]] = {"junk": [], "boilerplate_heavy_articles": [], "articles": [],
                                        "boilerplate_heavy_science": [], "science": []}
        extract = ExtractStep()
        with open(path, "rb") as f:
            for record in ArchiveIterator(f):
                url = record.rec_headers.get_header("WARC-Target-URI")
                kind = kinds.get(url) if record.rec_type == "response" else None
                if kind not in ("junk", "general", "science"):
                    continue
                page = record.content_stream().read().decode("utf-8", errors="replace")
                text, _ = extract.extract_text(page, url)
                if kind == "junk":
                    groups["junk"].append(text or "")
                    continue
                groups["articles" if kind == "general" else "science"].append(text or "")
                whole = re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", " ", page, flags=re.S | re.I)
                groups["boilerplate_heavy_" + ("articles" if kind == "general" else "science")].append(html_lib.unescape(whole))
    high = QUALITY_LABELS.index("high")
    return {kind: float(model.predict_proba([t for t in texts if t.strip()])[:, high].mean())
            for kind, texts in groups.items() if any(t.strip() for t in texts)}


def rules_agreement(data: Path, tax: Taxonomy) -> dict | None:
    """Mean shipped quality score by how many level-1 checks (science profile) fire, on web text the models never
    saw (dragnet's 1,381 human-corrected page texts): monotone means fewer fired checks, higher mean score."""
    import gzip

    from sciloom.classifiers.fasttext_model import QUALITY, LabelModel
    from sciloom.curation.rules import RulesStep

    folder = default_models.packaged_models(tax)
    if folder is None:
        return None
    with gzip.open(data / "quality/web-text-samples/web_text.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [row["text"] for row in map(json.loads, f) if row["source"] == "dragnet_corrected" and row["text"].strip()]
    rules = RulesStep()
    checks = [rules.evaluate(t)[0] for t in texts]
    kept = np.array([rules.rejection(fired) is None for fired in checks])
    scores = LabelModel.load(folder, QUALITY, tax).predict_proba(texts)[:, QUALITY_LABELS.index("high")]
    buckets: dict[str, list[float]] = {}
    for fired, score in zip(checks, scores):
        n = len(fired)
        buckets.setdefault(str(min(n, 3)) + ("+" if n >= 3 else ""), []).append(float(score))
    out = {f"{k} checks fired": {"documents": len(v), "mean_quality": float(np.mean(v)), "interval": mean_interval(v)}
           for k, v in sorted(buckets.items())}
    out["kept vs rejected by the rules"] = {"documents": len(texts), "rejected": int((~kept).sum()),
                                            "roc_auc": roc_auc(kept, scores), "interval": auc_interval(kept, scores)}
    return out


def agreement_line(agreement: dict) -> str:
    """The rules agreement as one line: mean score per number of fired checks, and the kept-vs-rejected ROC-AUC."""
    parts = []
    for name, row in agreement.items():
        low, high = row["interval"]
        if "roc_auc" in row:
            parts.append(f"{name} ({row['rejected']} of {row['documents']} rejected): ROC-AUC {row['roc_auc']:.3f} "
                         f"(95% bootstrap interval {low:.3f}-{high:.3f})")
        else:
            parts.append(f"{name}: {row['mean_quality']:.3f} ({row['documents']} docs; {low:.3f}-{high:.3f})")
    return "; ".join(parts)


def summarise(discipline: dict, quality: dict) -> dict:
    def stats(model: str, metric: str) -> dict:
        values = {s: row[model][metric] for s, row in discipline.items()}
        worst = min(values, key=values.get)
        return {"mean": float(np.mean(list(values.values()))), "worst": values[worst], "worst_source": worst}

    return {model: {"discipline_macro_f1": stats(model, "macro_f1"),
                    "science_vs_general": stats(model, "science_vs_general"),
                    "quality_roc_auc": {"mean": float(np.mean([g[model] for g in quality["groups"]])),
                                        "worst": float(min(g[model] for g in quality["groups"]))}}
            for model in ("baseline", "ours")}


def evaluation_markdown(summary: dict, discipline: dict, quality: dict, order: dict | None, cap: int,
                        quantize: bool) -> str:
    """The measured numbers, as the model card's companion (classifiers/default_models/EVALUATION.md)."""
    lines = ["# Measured numbers of the default models", "",
             "Leave-one-source-out over every source file (train on all others, at most "
             f"{cap} documents per (source, label); test on every document of the held-out one); quality: 3 "
             "source groups, each held out once. Ours: the shipped recipe, "
             + ("quantised as the models ship" if quantize else "not quantised (`--unquantised`)")
             + ". Baseline: plain fastText with its default settings on the same training data. Reproduce: `nice .venv/bin/python benchmarks/eval_classifiers.py "
             "--evaluation-md classifiers/default_models/EVALUATION.md`.", "",
             "| | discipline macro-F1 mean | worst source | science-vs-general mean | worst source | quality ROC-AUC mean | worst group |",
             "|---|---|---|---|---|---|---|"]
    for model, n in summary.items():
        d, s, q = n["discipline_macro_f1"], n["science_vs_general"], n["quality_roc_auc"]
        lines.append(f"| {model} | {d['mean']:.3f} | {d['worst']:.3f} ({d['worst_source']}) | {s['mean']:.3f} | "
                     f"{s['worst']:.3f} ({s['worst_source']}) | {q['mean']:.3f} | {q['worst']:.3f} |")
    lines += ["", "| held-out source | documents | labels | macro-F1 baseline | ours | sci-vs-gen baseline | ours |",
              "|---|---|---|---|---|---|---|"]
    for source, row in discipline.items():
        lines.append(f"| {source} | {row['documents']} | {', '.join(row['labels'])} | {row['baseline']['macro_f1']:.3f} | "
                     f"{row['ours']['macro_f1']:.3f} | {row['baseline']['science_vs_general']:.3f} | "
                     f"{row['ours']['science_vs_general']:.3f} |")
    lines += ["", "| quality held-out group | documents (low) | ROC-AUC baseline | ours | ours, 95% bootstrap interval |",
              "|---|---|---|---|---|"]
    for group in quality["groups"]:
        low, high = group["ours_interval"]
        lines.append(f"| {', '.join(group['held_out'])} | {group['documents']} ({group['low_documents']}) | "
                     f"{group['baseline']:.3f} | {group['ours']:.3f} | {low:.3f}-{high:.3f} |")
    if order is not None:
        lines += ["", "Shipped quality model on the sample crawl, mean P(high): "
                  + ", ".join(f"{kind} {score:.3f}" for kind, score in order.items())]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the full JSON report here")
    parser.add_argument("--smoke", action="store_true", help="3 held-out sources, 40 training docs per source: seconds")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--evaluation-md", type=Path, default=None, help="write the numbers as markdown here")
    parser.add_argument("--unquantised", action="store_true",
                        help="measure our models before quantisation (~4 instead of ~15 minutes; not what ships)")
    parser.add_argument("--cap", type=int, default=default_models.PER_SOURCE_CAP,
                        help="training documents per (source, label) in each fold (default: the shipped models' cap)")
    args = parser.parse_args()
    if not (args.data / "disciplines/labelled-corpus").is_dir():
        print(f"skipped: no labelled corpus under {args.data} (the shared data folder is absent)")
        return 0
    started = time.perf_counter()
    tax = ClassifiersConfig().taxonomy
    records = discipline_records(args.data, tax)
    cap = 20 if args.smoke else args.cap
    sources = sorted({s for s, _, _ in records})
    if args.smoke:
        sources = ["mmlu", "openstax_physics", "bbc"]
        records = default_models.capped(records, cap)
    print(f"discipline, leave one source out ({len(sources)} sources), baseline -> ours:")
    quantize = not args.unquantised
    discipline = discipline_loso(records, tax, cap, sources, quantize)
    quality = quality_held_out(quality_records(args.data, tax), tax, cap, quantize)
    summary = summarise(discipline, quality)
    order = sample_crawl_order(tax)
    if order is not None:
        print("shipped quality model on the sample crawl, mean P(high): "
              + ", ".join(f"{kind} {score:.3f}" for kind, score in order.items()))
    for model, numbers in summary.items():
        d, s, q = numbers["discipline_macro_f1"], numbers["science_vs_general"], numbers["quality_roc_auc"]
        print(f"{model:9s} discipline macro-F1 mean {d['mean']:.3f} worst {d['worst']:.3f} ({d['worst_source']}); "
              f"science-vs-general mean {s['mean']:.3f} worst {s['worst']:.3f} ({s['worst_source']}); "
              f"quality ROC-AUC mean {q['mean']:.3f} worst {q['worst']:.3f}")
    print(f"({time.perf_counter() - started:.0f} s)")
    agreement = rules_agreement(args.data, tax)
    if agreement is not None:
        print("shipped quality by level-1 checks fired (dragnet page texts): " + agreement_line(agreement))
    if args.evaluation_md is not None:
        write_text_atomic(args.evaluation_md, evaluation_markdown(summary, discipline, quality, order, cap, quantize)
                          + ("\nShipped quality by level-1 checks fired (dragnet page texts, unseen; mean, its 95% "
                             "bootstrap interval): " + agreement_line(agreement) + "\n" if agreement else ""))
    if args.out is not None:
        args.out.write_text(json.dumps({"summary": summary, "discipline": discipline, "quality": quality,
                                         "sample_crawl_quality": order,
                                         "rules_agreement": agreement}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
