"""Extraction quality on trafilatura's evaluation pages: ours (ExtractStep) vs plain trafilatura settings.

Metric (trafilatura tests/evaluate.py): per page, every `with` snippet found in the output is a true
positive (else a false negative), every `without` snippet found is a false positive (else a true negative);
precision, recall and F1 over all snippets of all pages. Output whitespace is collapsed as upstream does.
Then F1 per language (fastText lid.176 on the page's `with` snippets; languages with fewer than 20 pages
together as `other`) and per page type, told from the URL: `hard` (the pages trafilatura's authors file as
hard), `blog` (wordpress, blogspot and `/blog` addresses), `shop` (shop, product and cart addresses), and
`other`; ours beside trafilatura's defaults. Ours runs twice: as configured by default, and with trafilatura's recall
escalation off (ExtractConfig.recall_escalation), the cheaper setting.

    .venv/bin/python benchmarks/bench_extraction_quality.py [--limit N] [--settings all] [--repeats 3] [--smoke]
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections import Counter, defaultdict
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sciloom.curation.extract import ExtractConfig, ExtractStep  # noqa: E402
from sciloom.curation.langid import LanguageIdStep  # noqa: E402

EVALDATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "extraction" / "trafilatura-evaldata"

PLAIN_SETTINGS: dict[str, dict] = {
    "trafilatura defaults": {},
    "trafilatura no_fallback": {"fast": True},  # 2.x's name for no_fallback
    "trafilatura no comments": {"include_comments": False},
}
EXTRA_SETTINGS: dict[str, dict] = {
    "trafilatura favor_recall": {"favor_recall": True},
    "trafilatura favor_precision no comments": {"favor_precision": True, "include_comments": False},
}


def evaluation_pages(limit: int | None = None) -> Iterator[tuple[str, bytes, dict]]:
    """(url, raw html bytes, annotation) for each annotated page, in a fixed order."""
    annotations = json.loads((EVALDATA / "evaldata.json").read_text())
    for index, (url, item) in enumerate(sorted(annotations.items())):
        if limit is not None and index >= limit:
            return
        yield url, gzip.decompress((EVALDATA / "html" / f"{item['file']}.gz").read_bytes()), item


Counts = Counter  # tp, fp, tn, fn


def page_counts(extract: Callable[[bytes, str], str | None], pages: list[tuple[str, bytes, dict]]) -> tuple[list[Counts], float]:
    """(snippet counts of each page, seconds spent extracting)."""
    counts: list[Counts] = []
    seconds = 0.0
    for url, html, item in pages:
        start = time.perf_counter()
        result = extract(html, url)
        seconds += time.perf_counter() - start
        text = " ".join(result.split()) if result else ""
        found_with = sum(snippet in text for snippet in item["with"])
        found_without = sum(snippet in text for snippet in item["without"])
        counts.append(Counter(tp=found_with, fn=len(item["with"]) - found_with,
                              fp=found_without, tn=len(item["without"]) - found_without))
    return counts, seconds


def f1_of(counts: Counts) -> tuple[float, float, float]:
    """(precision, recall, F1) of summed snippet counts."""
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


_BLOG = re.compile(r"wordpress|blogspot|/blog|blog\.", re.I)
_SHOP = re.compile(r"shop|/product|/produkt|/p/|cart|/artikel/\d|store", re.I)


def page_type(url: str) -> str:
    if url.startswith("hard::"):
        return "hard"
    if _BLOG.search(url):
        return "blog"
    return "shop" if _SHOP.search(url) else "other"


def page_languages(pages: list[tuple[str, bytes, dict]], min_pages: int = 20) -> list[str]:
    """Each page's language, from its gold snippets; rare languages as `other`."""
    found = [lang for lang, _ in LanguageIdStep().predict([" ".join(item["with"]) for _, _, item in pages])]
    common = {lang for lang, n in Counter(found).items() if n >= min_pages}
    return [lang if lang in common else "other" for lang in found]


def breakdown(title: str, groups: list[str], ours: list[Counts], theirs: list[Counts]) -> None:
    summed: dict[str, list[Counts]] = defaultdict(lambda: [Counter(), Counter()])
    for group, a, b in zip(groups, ours, theirs):
        summed[group][0].update(a)
        summed[group][1].update(b)
    print(f"F1 by {title}: {'pages':>5s} {'ours':>7s} {'trafilatura defaults':>21s}")
    pages = Counter(groups)
    for group in sorted(summed, key=lambda g: (-pages[g], g)):
        a, b = summed[group]
        print(f"  {group:18s} {pages[group]:5d} {f1_of(a)[2]:7.4f} {f1_of(b)[2]:21.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages (default: all 990)")
    parser.add_argument("--settings", choices=["baseline", "all"], default="baseline",
                        help="baseline: defaults, no_fallback, no comments; all: also the other plain settings we tried")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the pages per extractor (speed: best)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.limit, args.repeats = 20, 1
    if not EVALDATA.is_dir():
        sys.exit(f"evaluation pages not found at {EVALDATA}")
    pages = list(evaluation_pages(args.limit))
    settings = {**PLAIN_SETTINGS, **(EXTRA_SETTINGS if args.settings == "all" else {})}

    print(f"{len(pages)} pages, trafilatura {trafilatura.__version__}")
    print(f"{'setting':40s} {'precision':>9s} {'recall':>7s} {'F1':>7s} {'docs/s':>7s}", flush=True)
    per_page: dict[str, list[Counts]] = {}
    rows: dict[str, float] = {}
    ours = ExtractStep(ExtractConfig())
    ours_without_escalation = ExtractStep(ExtractConfig(recall_escalation=False))
    extractors = {"sciloom ExtractStep": lambda html, url: ours.extract_text(html, url)[0],
                  "sciloom, recall escalation off": lambda html, url: ours_without_escalation.extract_text(html, url)[0]}
    for label, kwargs in settings.items():
        extractors[label] = lambda html, url, kw=kwargs: trafilatura.extract(html, url=url, **kw)
    # Each extractor runs `repeats` times, the rounds interleaved, and its speed is its best round: whoever runs
    # first warms trafilatura's caches for the others, and a busy moment of the machine hits one round, not all.
    seconds: dict[str, float] = {}
    for _ in range(args.repeats):
        for label, extract in extractors.items():
            per_page[label], elapsed = page_counts(extract, pages)
            seconds[label] = min(seconds.get(label, elapsed), elapsed)
    for label in extractors:
        precision, recall, rows[label] = f1_of(sum(per_page[label], Counter()))
        print(f"{label:40s} {precision:9.4f} {recall:7.4f} {rows[label]:7.4f} {len(pages) / seconds[label]:7.1f}",
              flush=True)
    print(f"speed: ours {len(pages) / seconds['sciloom ExtractStep']:.1f} docs/s vs trafilatura defaults "
          f"{len(pages) / seconds['trafilatura defaults']:.1f}: ratio "
          f"{seconds['trafilatura defaults'] / seconds['sciloom ExtractStep']:.3f} (best of {args.repeats} rounds each)")
    best_plain = max((label for label in rows if label.startswith("trafilatura")), key=rows.get)
    print(f"ours F1 {rows['sciloom ExtractStep']:.4f} vs best plain ({best_plain}) {rows[best_plain]:.4f}: "
          f"ratio {rows['sciloom ExtractStep'] / rows[best_plain]:.4f}")
    ours_pages, theirs_pages = per_page["sciloom ExtractStep"], per_page["trafilatura defaults"]
    breakdown("language", page_languages(pages, 2 if args.smoke else 20), ours_pages, theirs_pages)
    breakdown("page type", [page_type(url) for url, _, _ in pages], ours_pages, theirs_pages)

if __name__ == "__main__":
    main()
