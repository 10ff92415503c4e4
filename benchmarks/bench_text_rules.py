"""Language id + level-1 rules on already-extracted text, one core: sciloom vs datatrove, same documents.

Documents (../shared/data): about 5 KB each, built by joining paragraphs of one source in order (BBC news per
category, WikiText-2, S2ORC abstracts, each file of the labelled corpus, the Common Crawl text of
dolma-tests), and the web-text samples as they are (OSCAR in many languages, C4, news pages); shuffled with a
fixed seed. Both sides run as their pipelines do, language id first and the rules on what it keeps:
- sciloom: LanguageIdStep (batched, on its bounded sample) then RulesStep (`--profile`, default `stock`: the
  published thresholds that datatrove's filters implement);
- datatrove 0.10: LanguageFilter (the same lid.176.ftz, same languages and threshold), GopherRepetitionFilter,
  GopherQualityFilter, C4QualityFilter, FineWebQualityFilter (default thresholds), each document through the
  chain until a filter drops it.
Prints documents per CPU-second for both and their ratio, how often the final keep/reject verdicts agree, and,
over every document, how often the language verdict of the two passes (a short first sample, the full one where
the first is unsure) is the one-pass verdict, and how often the verdict on the bounded sample agrees with reading
the first 10,000 characters (what sciloom read before).

Each side runs `--repeats` rounds over the same documents, the rounds interleaved, and its speed is its best round
(a machine shared with other jobs stretches CPU-seconds by 10-15% from run to run; every round is printed).

    .venv/bin/python benchmarks/bench_text_rules.py [--limit N] [--profile stock|science] [--repeats 3] [--smoke]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# Imported first: it points HF_HOME into its scratch folder (removed at exit) before datatrove reads it.
from bench_curation_throughput import language_filter_with_local_model  # noqa: E402

from sciloom.curation.langid import (LABEL_PREFIX, LangIdConfig, LanguageIdStep, decided_by_first_sample,  # noqa: E402
                                     language_sample)
from sciloom.curation.line_cleaning import LineCleaner  # noqa: E402
from sciloom.curation.rules import RulesConfig, RulesStep  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DOCUMENT_CHARS = 5_000
WARM_UP = 50
PREVIOUS_LANGID_CHARS = 10_000  # sciloom's language id read the first 10,000 characters before sampling


def pack(paragraphs: Iterable[str], size: int = DOCUMENT_CHARS) -> Iterator[str]:
    """Consecutive paragraphs joined by blank lines into documents of at least `size` characters (the rest dropped)."""
    kept: list[str] = []
    length = 0
    for paragraph in paragraphs:
        paragraph = paragraph.strip()
        if paragraph:
            kept.append(paragraph)
            length += len(paragraph) + 2
            if length >= size:
                yield "\n\n".join(kept)
                kept, length = [], 0


def _jsonl(path: Path, field: str = "text") -> Iterator[str]:
    with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")) as lines:
        for line in lines:
            yield json.loads(line)[field]


def _s2orc_abstracts() -> Iterator[str]:
    for line in (DATA / "disciplines" / "s2orc-metadata-sample" / "metadata_sample_v2020-07-05.jsonl").open():
        paper = json.loads(line)
        if paper.get("abstract"):
            yield f"{paper['title']}\n\n{paper['abstract']}"


def _wikitext() -> Iterator[str]:
    for name in ("valid.txt", "test.txt"):
        for line in (DATA / "general" / "wikitext-2" / name).open(encoding="utf-8"):
            if line.strip() and not line.strip().startswith("="):
                yield line


def documents(seed: int = 0) -> list[tuple[str, str]]:
    """(source, text) of every benchmark document, shuffled with `seed`."""
    docs: list[tuple[str, str]] = []
    for category in sorted(p for p in (DATA / "general" / "bbc-news").iterdir() if p.is_dir()):
        docs += [(f"bbc/{category.name}", text) for text in pack(
            paragraph for article in sorted(category.glob("*.txt"))
            for paragraph in article.read_text(encoding="utf-8", errors="replace").split("\n\n"))]
    docs += [("wikitext-2", text) for text in pack(_wikitext())]
    docs += [("s2orc", text) for text in pack(_s2orc_abstracts())]
    for path in sorted((DATA / "disciplines" / "labelled-corpus").glob("*.jsonl")):
        docs += [(f"labelled/{path.stem}", text) for text in pack(_jsonl(path))]
    dolma = DATA / "warc" / "dolma-tests" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    docs += [("dolma-cc", text) for text in pack(_jsonl(dolma))]
    docs += [("web-text", text) for text in _jsonl(DATA / "quality" / "web-text-samples" / "web_text.jsonl.gz")]
    random.Random(seed).shuffle(docs)
    return docs


def run_sciloom(texts: list[str], langid: LanguageIdStep, rules: RulesStep) -> tuple[float, list[bool]]:
    """(CPU seconds, kept or not per document)."""
    docs = [{"id": str(i), "text": text} for i, text in enumerate(texts)]
    start = time.process_time()
    kept = {doc["id"] for doc in rules.run(langid.run(docs))}
    return time.process_time() - start, [doc["id"] in kept for doc in docs]


def datatrove_filters(langid: LangIdConfig) -> list:
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    return [language_filter_with_local_model(langid), GopherRepetitionFilter(), GopherQualityFilter(),
            C4QualityFilter(), FineWebQualityFilter()]


def run_datatrove(texts: list[str], filters: list) -> tuple[float, list[bool]]:
    """(CPU seconds, kept or not per document): each document through the chain until a filter drops it."""
    from datatrove.data import Document

    def passes(verdict: bool | tuple) -> bool:  # a filter answers True, False or (False, reason)
        return verdict is True or (isinstance(verdict, tuple) and bool(verdict[0]))

    kept = []
    start = time.process_time()
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        kept.append(all(passes(f.filter(doc)) for f in filters))
    return time.process_time() - start, kept


def _cpu(work) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def langid_sample_agreement(texts: list[str], step: LanguageIdStep) -> tuple[int, int]:
    """(documents whose language verdict on the sample equals the one on the first 10,000 characters, documents)."""
    labels, probs = step.model.predict([" ".join(text[:PREVIOUS_LANGID_CHARS].split()) for text in texts], k=1)
    agree = 0
    for text, label, prob, (lang, score) in zip(texts, labels, probs, step.predict(texts)):
        before = {"lang": label[0].removeprefix(LABEL_PREFIX), "lang_score": float(prob[0])}
        agree += step.apply(before) == step.apply({"lang": lang, "lang_score": score})
    return agree, len(texts)


def two_pass_agreement(texts: list[str], two_pass: LanguageIdStep, one_pass: LanguageIdStep) -> tuple[int, int, int]:
    """(documents the first sample decided: sure of them, or read them whole; documents with the one-pass verdict;
    documents)."""
    config = two_pass.config
    first = two_pass.model.predict([language_sample(text, config.first_sample_chars) for text in texts], k=1)[1]
    decided = sum(decided_by_first_sample(text, float(score[0]), config) for text, score in zip(texts, first))
    same = sum(two_pass.apply({"lang": a, "lang_score": b}) == one_pass.apply({"lang": c, "lang_score": d})
               for (a, b), (c, d) in zip(two_pass.predict(texts), one_pass.predict(texts)))
    return decided, same, len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=2000, help="documents timed on both sides (default 2000)")
    parser.add_argument("--profile", choices=["stock", "science"], default="stock", help="sciloom's rules profile")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per side, interleaved; speed: the best")
    parser.add_argument("--smoke", action="store_true", help="60 documents, one round: checks that it runs (CI)")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"real evaluation data not found at {DATA}")
    limit, repeats = (60, 1) if args.smoke else (args.limit, args.repeats)
    every = [text for _, text in documents()]
    texts = every[:limit]
    langid_config = LangIdConfig(languages=["en"])
    langid, rules = LanguageIdStep(langid_config), RulesStep(RulesConfig(profile=args.profile))
    filters = datatrove_filters(langid_config)
    # Warm-up on other documents, outside the clock: fastText and spaCy load lazily, and both sides keep small
    # caches of token properties that a real task fills in its first seconds.
    warm = every[limit:limit + WARM_UP]
    run_sciloom(warm, langid, RulesStep(rules.config))
    run_datatrove(warm[:20], filters)

    ours_rounds, theirs_rounds = [], []
    for _ in range(repeats):
        # A fresh RulesStep per round: the verdicts are the same, its statistics start at zero.
        ours_cpu, ours_kept = run_sciloom(texts, langid, RulesStep(rules.config))
        theirs_cpu, theirs_kept = run_datatrove(texts, filters)
        ours_rounds.append(ours_cpu)
        theirs_rounds.append(theirs_cpu)
    ours_cpu, theirs_cpu = min(ours_rounds), min(theirs_rounds)
    n, chars = len(texts), sum(map(len, texts))
    print(f"{n} documents, {chars / n:,.0f} characters on average; language id (en, threshold "
          f"{langid_config.threshold}) then level-1 rules, one core each (machine load {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs: CPU-seconds stretch when other jobs share the cores)")
    print(f"sciloom ({args.profile:7s}): {n / ours_cpu:8.1f} docs per CPU-second ({1e3 * ours_cpu / n:.2f} ms/doc), "
          f"kept {sum(ours_kept)}; rounds {', '.join(f'{n / c:.1f}' for c in ours_rounds)}")
    print(f"datatrove        : {n / theirs_cpu:8.1f} docs per CPU-second ({1e3 * theirs_cpu / n:.2f} ms/doc), "
          f"kept {sum(theirs_kept)}; rounds {', '.join(f'{n / c:.1f}' for c in theirs_rounds)}")
    agree = sum(a == b for a, b in zip(ours_kept, theirs_kept))
    print(f"sciloom / datatrove: {theirs_cpu / ours_cpu:.1f}x per CPU-second (best of {repeats} rounds each); "
          f"keep/reject verdicts agree on "
          f"{agree}/{n} ({agree / n:.1%})")
    one_pass = LanguageIdStep(LangIdConfig(languages=langid_config.languages, first_sample_chars=None))
    # The two passes against one pass through the full sample, interleaved; best round each.
    rounds = [(_cpu(lambda: langid.predict(texts)), _cpu(lambda: one_pass.predict(texts))) for _ in range(repeats)]
    langid_cpu, one_pass_cpu = (min(cpu[side] for cpu in rounds) for side in (0, 1))
    rules_cpu = _cpu(lambda: [rules.evaluate(text) for text in texts])
    cleaner = LineCleaner()
    cleaning_cpu = _cpu(lambda: [cleaner.clean(text) for text in texts])
    print(f"sciloom per document: language id {1e3 * langid_cpu / n:.2f} ms (one pass through the "
          f"{langid_config.sample_chars:,}-character sample: {1e3 * one_pass_cpu / n:.2f} ms), rules "
          f"{1e3 * rules_cpu / n:.2f} ms (every document); line cleaning of text inputs (not in the timings above) "
          f"{1e3 * cleaning_cpu / n:.2f} ms")
    sample = every[:limit] if args.smoke else every
    decided_first, same, total = two_pass_agreement(sample, langid, one_pass)
    print(f"language id in two passes ({langid_config.first_sample_chars} characters, then "
          f"{langid_config.sample_chars:,} where the top score is under {langid_config.first_sample_confidence}) vs one "
          f"pass: same verdict for {same}/{total} documents; the first pass decided {decided_first / total:.1%}")
    agree, total = langid_sample_agreement(sample, langid)
    print(f"language id on a {langid_config.sample_chars}-character sample vs the first {PREVIOUS_LANGID_CHARS:,}: "
          f"same verdict for {agree}/{total} documents ({agree / total:.2%})")


if __name__ == "__main__":
    main()
