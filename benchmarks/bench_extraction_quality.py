"""Extraction quality on trafilatura's evaluation pages: ours (ExtractStep) vs plain trafilatura settings.

Metric (trafilatura tests/evaluate.py): per page, every `with` snippet found in the output is a true
positive (else a false negative), every `without` snippet found is a false positive (else a true negative);
precision, recall and F1 over all snippets of all pages. Output whitespace is collapsed as upstream does.

    .venv/bin/python benchmarks/bench_extraction_quality.py [--limit N] [--settings all] [--smoke]
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sciloom.curation.extract import ExtractConfig, ExtractStep  # noqa: E402

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


def score(extract: Callable[[bytes, str], str | None], pages: list[tuple[str, bytes, dict]]) -> dict[str, float]:
    tp = fp = tn = fn = 0
    start = time.perf_counter()
    for url, html, item in pages:
        result = extract(html, url)
        text = " ".join(result.split()) if result else ""
        for snippet in item["with"]:
            if snippet in text:
                tp += 1
            else:
                fn += 1
        for snippet in item["without"]:
            if snippet in text:
                fp += 1
            else:
                tn += 1
    seconds = time.perf_counter() - start
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "docs_per_s": len(pages) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages (default: all 990)")
    parser.add_argument("--settings", choices=["baseline", "all"], default="baseline",
                        help="baseline: defaults, no_fallback, no comments; all: also the other plain settings we tried")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds: checks that it runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.limit = 20
    if not EVALDATA.is_dir():
        sys.exit(f"evaluation pages not found at {EVALDATA}")
    pages = list(evaluation_pages(args.limit))
    settings = {**PLAIN_SETTINGS, **(EXTRA_SETTINGS if args.settings == "all" else {})}

    print(f"{len(pages)} pages, trafilatura {trafilatura.__version__}")
    print(f"{'setting':40s} {'precision':>9s} {'recall':>7s} {'F1':>7s} {'docs/s':>7s}", flush=True)
    rows: dict[str, dict[str, float]] = {}
    ours = ExtractStep(ExtractConfig())
    extractors = {"sciloom ExtractStep": lambda html, url: ours.extract_text(html, url)[0]}
    for label, kwargs in settings.items():
        extractors[label] = lambda html, url, kw=kwargs: trafilatura.extract(html, url=url, **kw)
    for label, extract in extractors.items():
        row = rows[label] = score(extract, pages)
        print(f"{label:40s} {row['precision']:9.4f} {row['recall']:7.4f} {row['f1']:7.4f} {row['docs_per_s']:7.1f}", flush=True)
    best_plain = max((label for label in rows if label.startswith("trafilatura")), key=lambda k: rows[k]["f1"])
    print(f"ours F1 {rows['sciloom ExtractStep']['f1']:.4f} vs best plain ({best_plain}) {rows[best_plain]['f1']:.4f}: "
          f"ratio {rows['sciloom ExtractStep']['f1'] / rows[best_plain]['f1']:.4f}")


if __name__ == "__main__":
    main()
