"""Dedup quality on the Clough & Stevenson plagiarism corpus (../shared/data/dedup/clough-stevenson-plagiarism).

95 short answers to 5 tasks, each labelled against its task's Wikipedia source: cut (copy-paste), light
(light revision), heavy (heavy paraphrase), non (written independently). The 5 sources come first in the
deterministic order, then the answers in file order. Reported separately:
- whole-document MinHash-LSH (fuzzy dedup alone): an answer is caught with its source when both land in
  the same cluster;
- containment alone: an answer is caught with its source when it is rejected as `contained` in the full
  run *and* judged against its source alone (source, then answer) it is contained too (so the source,
  not another student's copy, explains it); the source is never removed.
"non" answers must never be caught. The exact Jaccard and containment of each answer against its source
(computed with Python sets, independent of the sketches) are shown per category for context. Also runs the
DCLM-BFF checker documents of ../shared/data/dedup/dolma-tests. Run:
    .venv/bin/python benchmarks/eval_dedup_quality.py [--threshold 0.8] [--containment-threshold 0.5]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from curation.dedup import dedup_documents  # noqa: E402
from curation.dedup_config import ContainmentConfig, DedupConfig  # noqa: E402
from curation.normalize import normalized_words  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "dedup"
CATEGORIES = ("cut", "light", "heavy", "non")


def load_corpus() -> tuple[list[str], list[str], dict[str, tuple[str, str]]]:
    folder = DATA / "clough-stevenson-plagiarism" / "data"
    if not folder.is_dir():
        sys.exit(f"corpus not found at {folder}")
    labels = {row["File"]: (row["Task"], row["Category"]) for row in csv.DictReader(open(folder / "file_information.csv"))}
    names = sorted(labels, key=lambda name: (labels[name][1] != "orig", name))  # sources first
    texts = [(folder / name).read_text(encoding="utf-8", errors="replace") for name in names]
    return names, texts, labels


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = normalized_words(text)
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=DedupConfig().threshold)
    parser.add_argument("--containment-threshold", type=float, default=ContainmentConfig().threshold)
    parser.add_argument("--containment-ngram", type=int, default=ContainmentConfig().ngram)
    args = parser.parse_args()
    names, texts, labels = load_corpus()
    source_of = {labels[n][0]: n for n in names if labels[n][1] == "orig"}
    containment = ContainmentConfig(threshold=args.containment_threshold, ngram=args.containment_ngram)
    fuzzy_only = DedupConfig(threshold=args.threshold, exact=False, containment=ContainmentConfig(enabled=False))
    containment_only = DedupConfig(exact=False, fuzzy=False, containment=containment)

    # Sources rated higher, so a cluster holding a source keeps it (otherwise the smallest id wins).
    quality = [1.0 if labels[n][1] == "orig" else 0.0 for n in names]
    fuzzy = dict(zip(names, dedup_documents(fuzzy_only, names, texts, quality)))
    contained = dict(zip(names, dedup_documents(containment_only, names, texts)))
    text_of = dict(zip(names, texts))
    answers = [n for n in names if labels[n][1] != "orig"]
    fuzzy_caught: Counter[str] = Counter()
    contained_caught: Counter[str] = Counter()
    totals: Counter[str] = Counter(labels[n][1] for n in answers)
    jaccard, fraction = defaultdict(list), defaultdict(list)
    for name in answers:
        task, category = labels[name]
        source = source_of[task]
        if fuzzy[name].cluster == fuzzy[source].cluster:
            fuzzy_caught[category] += 1
        pair = dedup_documents(containment_only, [source, name], [text_of[source], text_of[name]])
        if contained[name].reason == "contained" and pair[1].reason == "contained":
            contained_caught[category] += 1
        a, s = word_ngrams(text_of[name], 5), word_ngrams(text_of[source], 5)
        jaccard[category].append(len(a & s) / len(a | s))
        a, s = word_ngrams(text_of[name], containment.ngram), word_ngrams(text_of[source], containment.ngram)
        fraction[category].append(len(a & s) / len(a))
    sources_removed = sum(contained[s].reason is not None for s in source_of.values())

    print(f"Clough & Stevenson: {len(answers)} answers, {len(source_of)} sources first in order")
    print(f"MinHash-LSH: threshold {args.threshold}, {fuzzy_only.num_perm} perms, {fuzzy_only.ngram}-word shingles, "
          f"bands x rows {fuzzy_only.lsh.bands}x{fuzzy_only.lsh.rows}")
    print(f"containment: {containment.ngram}-word n-grams, threshold {containment.threshold}")
    print(f"{'category':9s} {'answers':>7s} {'MinHash caught':>15s} {'containment caught':>19s}"
          f" {'Jaccard5 med [min,max]':>24s} {'containment med [min,max]':>27s}")
    for category in CATEGORIES:
        j, f = jaccard[category], fraction[category]
        print(f"{category:9s} {totals[category]:7d} {fuzzy_caught[category]:15d} {contained_caught[category]:19d}"
              f"   {statistics.median(j):.2f} [{min(j):.2f},{max(j):.2f}]"
              f"      {statistics.median(f):.2f} [{min(f):.2f},{max(f):.2f}]")
    either = Counter(labels[n][1] for n in answers
                     if fuzzy[n].cluster == fuzzy[source_of[labels[n][0]]].cluster or contained[n].reason == "contained")
    print(f"removed by either stage in the full runs: {dict(sorted(either.items()))}")
    print(f"sources removed by containment: {sources_removed}; by MinHash: "
          f"{sum(fuzzy[s].reason is not None for s in source_of.values())}")
    print(f"'non' caught: MinHash {fuzzy_caught['non']}, containment {contained_caught['non']} (must be 0)")

    checker = DATA / "dolma-tests" / "dclm_bff_checker.jsonl.gz"
    if checker.is_file():
        records = [json.loads(line) for line in gzip.open(checker, "rt")]
        ids = [str(r.get("id", i)) for i, r in enumerate(records)]
        verdicts = dedup_documents(DedupConfig(containment=containment), ids, [r.get("text", "") for r in records])
        print(f"dolma dclm_bff_checker: {len(records)} docs, verdicts "
              f"{dict(Counter(v.reason or 'kept' for v in verdicts))}")
        for doc_id, v in zip(ids, verdicts):
            print(f"  {doc_id}: {v.reason or 'kept'} (cluster {v.cluster}, containment {v.containment})")


if __name__ == "__main__":
    main()
