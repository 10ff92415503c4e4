"""Dedup quality on the Clough & Stevenson plagiarism corpus (../shared/data/dedup/clough-stevenson-plagiarism).

95 short answers to 5 tasks, each labelled against its task's Wikipedia source: cut (copy-paste), light
(light revision), heavy (heavy paraphrase), non (written independently). The 5 sources come first in the
deterministic order, then the answers in file order. Reported separately:
- whole-document MinHash-LSH (fuzzy dedup alone): an answer is caught with its source when both land in
  the same cluster;
- containment alone: an answer is caught with its source when it is rejected as `contained` in the full
  run *and* judged against its source alone it is contained too (so the source, not another student's
  copy, explains it). Containment has no notion of first: of two documents sharing text, the one with fewer
  distinct n-grams goes (it loses less unique text), so a source that an answer longer than it copies from
  heavily is removed into that answer; the count of such sources is printed.
"non" answers must never be caught. The exact Jaccard and containment of each answer against its source
(computed with Python sets, independent of the sketches) are shown per category for context. Also runs the
DCLM-BFF checker documents of ../shared/data/dedup/dolma-tests.

Cross-run containment: the 5 sources are run 1 (their kept n-grams written as a containment index), the
answers are run 2 reading that index; answers caught per category.

LSH candidate verification (before: every pair sharing a band bucket is united; after: only pairs whose
signature agreement reaches the threshold) on BBC News (2225 articles with natural duplicates), Clough &
Stevenson and the Dolma checker, at several thresholds. Candidate pairs come from datasketch's
`MinHashLSH` over our signatures (its bands x rows equal ours); "all verified" are those pairs whose
datasketch `jaccard` reaches the threshold (the exact graph our bucket centres approximate). Ground truth
is exact 5-word-shingle Jaccard from Python sets (all pairs, via a sparse product): pair precision = share
of same-cluster pairs with exact Jaccard >= threshold, pair recall = share of such true pairs that end in
one cluster, removal precision = share of removed documents whose exact Jaccard with their cluster's kept
document reaches the threshold; for Clough & Stevenson also pairs across tasks (never duplicates) put in
one cluster. Run:
    .venv/bin/python benchmarks/eval_dedup_quality.py [--threshold 0.8] [--containment-threshold 0.5]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import statistics
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import datasketch
import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from sciloom.curation.containment import write_index  # noqa: E402
from sciloom.curation.dedup import dedup_documents  # noqa: E402
from sciloom.curation.dedup_config import ContainmentConfig, DedupConfig  # noqa: E402
from sciloom.curation.lsh import band_keys, shared_buckets, verified_pairs  # noqa: E402
from sciloom.curation.minhash import MinHasher, ngram_sets  # noqa: E402
from sciloom.curation.normalize import exact_hashes, normalized_words  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "dedup"
BBC = REPO.parent / "shared" / "data" / "general" / "bbc-news"
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
    parser.add_argument("--smoke", action="store_true",
                        help="accepted for CI's benchmark loop: the evaluation is small, it runs whole (~15 s)")
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

    print(f"Clough & Stevenson: {len(answers)} answers, {len(source_of)} sources")
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
    # The whole default pipeline (exact, MinHash, containment) in one run: every removed answer names what it
    # duplicates, and every cluster keeps exactly one document.
    full = dict(zip(names, dedup_documents(DedupConfig(threshold=args.threshold, containment=containment),
                                           names, texts, quality)))
    kept = {n for n, v in full.items() if v.reason is None}
    clusters: Counter[str] = Counter(v.cluster for v in full.values() if v.reason is None)
    orphans = sum(1 for v in full.values() if v.cluster not in kept)
    in_source = Counter(labels[n][1] for n in answers
                        if full[n].reason and full[n].cluster == full[source_of[labels[n][0]]].cluster)
    print(f"full pipeline: removed answers in the same cluster as their source {dict(sorted(in_source.items()))} of "
          f"{dict(sorted(totals.items()))}; clusters without a kept document: {orphans}; "
          f"clusters with more than one kept: {sum(1 for c in clusters.values() if c > 1)}")

    checker = DATA / "dolma-tests" / "dclm_bff_checker.jsonl.gz"
    if checker.is_file():
        records = [json.loads(line) for line in gzip.open(checker, "rt")]
        ids = [str(r.get("id", i)) for i, r in enumerate(records)]
        verdicts = dedup_documents(DedupConfig(containment=containment), ids, [r.get("text", "") for r in records])
        print(f"dolma dclm_bff_checker: {len(records)} docs, verdicts "
              f"{dict(Counter(v.reason or 'kept' for v in verdicts))}")
        for doc_id, v in zip(ids, verdicts):
            print(f"  {doc_id}: {v.reason or 'kept'} (cluster {v.cluster}, containment {v.containment})")

    cross_run(names, texts, labels, containment)
    print()
    print("LSH candidate verification (before = union of every bucket collision; after = verified pairs)")
    print("  cand/rej: datasketch MinHashLSH candidate pairs / those with datasketch jaccard < t; ours cmp/rej: pairs "
          "our bucket centres compared / rejected; max: largest cluster; ≠all-ver: documents whose cluster differs "
          "from the components of all datasketch-verified candidates")
    print(f"{'corpus':22s} {'t':>4s} {'cand':>6s} {'rej':>5s} {'ours cmp/rej':>12s} {'clusters>1':>10s} "
          f"{'max':>9s} {'removed':>9s} {'pair prec':>11s} {'pair rec':>11s} {'rm prec':>11s} {'≠all-ver':>8s}")
    bbc_paths = sorted(BBC.glob("*/*.txt"))
    if bbc_paths:
        articles = [" ".join(p.read_text(encoding="latin-1").split()) for p in bbc_paths]
        bbc = list(dict(zip(exact_hashes(articles), articles)).values())  # as in the pipeline: exact dedup first
        print(f"  (BBC News: {len(articles)} articles, {len(articles) - len(bbc)} exact duplicates removed first)")
        for threshold in (0.8, 0.5, 0.3):
            verification("BBC News", bbc, threshold)
    else:
        print(f"  BBC News not found at {BBC}")
    task_of, category_of = [labels[n][0] for n in names], [labels[n][1] for n in names]
    for threshold in (0.8, 0.5, 0.3):
        verification("Clough & Stevenson", texts, threshold, task_of, category_of)
    if checker.is_file():
        verification("Dolma dclm_bff_checker", [r.get("text", "") for r in records], 0.8)


def cross_run(names: list[str], texts: list[str], labels: dict[str, tuple[str, str]], config: ContainmentConfig) -> None:
    """Run 1 = the sources (their kept n-grams become an index); run 2 = the answers, reading it."""
    sources = [i for i, n in enumerate(names) if labels[n][1] == "orig"]
    answers = [i for i, n in enumerate(names) if labels[n][1] != "orig"]
    run1 = dedup_documents(DedupConfig(exact=False, fuzzy=False, containment=config), [names[i] for i in sources],
                           [texts[i] for i in sources])
    kept = [texts[i] for i, v in zip(sources, run1) if v.reason is None]
    with tempfile.TemporaryDirectory() as folder:
        write_index(Path(folder), config, ngram_sets(kept, config.ngram))
        later = DedupConfig(exact=False, fuzzy=False, containment=config.model_copy(update={"reference_indexes": [Path(folder)]}))
        verdicts = dedup_documents(later, [names[i] for i in answers], [texts[i] for i in answers])
    caught = Counter(labels[names[i]][1] for i, v in zip(answers, verdicts) if v.reason == "contained")
    print(f"cross-run containment (run 1: {len(sources)} sources -> index; run 2: {len(answers)} answers): "
          f"contained {dict((c, caught[c]) for c in CATEGORIES)}")


def partition_stats(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(same-cluster pairs as [K, 2] a < b, representative = smallest index per row)."""
    order = np.argsort(labels, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)
    pairs = [(a, b) for g in groups if len(g) > 1 for k, a in enumerate(g) for b in g[k + 1:]]
    rep = np.empty(len(labels), dtype=np.int64)
    for g in groups:
        rep[g] = g.min()
    return np.array(pairs, dtype=np.int64).reshape(-1, 2), rep


def components(n: int, pairs: set[tuple[int, int]] | np.ndarray) -> np.ndarray:
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def exact_jaccard_matrix(texts: list[str], ngram: int) -> tuple[csr_matrix, np.ndarray]:
    """(shared shingles per pair, shingles per document), from Python sets of word tuples."""
    vocabulary: dict[tuple[str, ...], int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        shingles = word_ngrams(text, ngram) if normalized_words(text) else set()
        for shingle in shingles:
            rows.append(i)
            cols.append(vocabulary.setdefault(shingle, len(vocabulary)))
    incidence = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(texts), len(vocabulary)))
    return (incidence @ incidence.T).tocsr(), np.asarray(incidence.sum(axis=1)).ravel()


def verification(corpus: str, texts: list[str], threshold: float, task_of: list[str] | None = None,
                 category_of: list[str] | None = None) -> None:
    config = DedupConfig(threshold=threshold, exact=False, containment=ContainmentConfig(enabled=False))
    n = len(texts)
    sig_NP = MinHasher(config.num_perm, config.seed, config.ngram).signatures(texts)
    sketches = [datasketch.LeanMinHash(seed=config.seed, hashvalues=row, scheme="affine32") for row in sig_NP]
    lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=config.num_perm)
    assert (lsh.b, lsh.r) == (config.lsh.bands, config.lsh.rows)
    for i, sketch in enumerate(sketches):
        lsh.insert(i, sketch)
    candidates = {(min(i, j), max(i, j)) for i in range(n) for j in lsh.query(sketches[i]) if i != j}
    all_verified = {p for p in candidates if sketches[p[0]].jaccard(sketches[p[1]]) >= threshold}
    keys_NB = band_keys(sig_NP, config.lsh.bands, config.lsh.rows)
    buckets = shared_buckets(np.tile(np.arange(config.lsh.bands), n), keys_NB.reshape(-1),
                             np.repeat(np.arange(n), config.lsh.bands))
    _, _, ok, _ = verified_pairs(buckets, buckets.node, sig_NP, threshold, config.max_centres_per_bucket)
    ids = [f"{i:05d}" for i in range(n)]
    ours = np.array([int(v.cluster) for v in dedup_documents(config, ids, texts)])

    inter, size = exact_jaccard_matrix(texts, config.ngram)
    coo = inter.tocoo()
    upper = coo.row < coo.col
    a, b, shared = coo.row[upper], coo.col[upper], coo.data[upper]
    true_pairs = {(x, y) for x, y, s in zip(a.tolist(), b.tolist(), shared.tolist())
                  if s / (size[x] + size[y] - s) >= threshold}

    def jaccard(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        s = np.asarray(inter[x, y]).ravel() if len(x) else np.empty(0)
        return s / np.maximum(size[x] + size[y] - s, 1)

    rejected_truly_similar = sum(jaccard(np.array([p[0]]), np.array([p[1]]))[0] >= threshold
                                 for p in candidates - all_verified)
    for label, labels in (("before", components(n, candidates)), ("after", ours)):
        pairs, rep = partition_stats(labels)
        same = set(map(tuple, pairs.tolist()))
        removed = np.flatnonzero(rep != np.arange(n))
        sizes = np.bincount(labels)
        precision = f"{(jaccard(pairs[:, 0], pairs[:, 1]) >= threshold).sum()}/{len(pairs)}"
        recall = f"{len(true_pairs & same)}/{len(true_pairs)}"
        removal = f"{(jaccard(removed, rep[removed]) >= threshold).sum()}/{len(removed)}"
        differs = (sum(len(c) for c in _partition(labels) - _partition(components(n, all_verified)))
                   if label == "after" else "")
        ours_counts = f"{len(ok)}/{int((~ok).sum())}" if label == "after" else ""
        print(f"{corpus[:22]:22s} {threshold:4.1f} {len(candidates):6d} {len(candidates - all_verified):5d} "
              f"{ours_counts:>12s} {int((sizes > 1).sum()):10d} {int(sizes.max()):9d} {len(removed):9d} "
              f"{precision:>11s} {recall:>11s} {removal:>11s} {differs!s:>8s}  {label}")
        if category_of is not None:
            cross = sum(task_of[x] != task_of[y] for x, y in same)
            print(f"{'':22s} {'':4s} same-cluster pairs across tasks (never duplicates): {cross}; removed by "
                  f"category {dict(sorted(Counter(category_of[i] for i in removed.tolist()).items()))}")
    print(f"{'':22s} {'':4s} rejected candidates with exact Jaccard >= t (false rejections): {rejected_truly_similar}")


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == k).tolist()) for k in np.unique(labels)}


if __name__ == "__main__":
    main()
