"""trafilatura's element selectors: lxml's XPath evaluation vs sciloom's compiled Python tests, same trees.

Every selector that `sciloom.curation.xpath_to_python` compiles runs on trafilatura's 990 evaluation pages twice
over: as parsed (`load_html`), and after trafilatura's own cleaning and tag conversion (the trees its pruning
selectors see, with `list` and `item` elements). Each selector's stock XPath and compiled test run on the same
trees, alternating by round; a selector's time is its best round, in CPU seconds. Prints each selector's times
and ratio, the total, and how many selections differ (0 expected: the run fails otherwise).

    .venv/bin/python benchmarks/bench_selectors.py [--limit N] [--repeats 3] [--smoke]
"""
from __future__ import annotations

import argparse
import sys
import time
from copy import deepcopy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_extraction_quality import evaluation_pages  # noqa: E402
from trafilatura.htmlprocessing import convert_tags, tree_cleaning  # noqa: E402
from trafilatura.settings import Extractor  # noqa: E402
from trafilatura.utils import load_html  # noqa: E402

from sciloom.curation import xpath_to_python  # noqa: E402


def trees(limit: int | None) -> list:
    parsed = [tree for tree in (load_html(html) for _, html, _ in evaluation_pages(limit)) if tree is not None]
    options = Extractor()
    return parsed + [convert_tags(tree_cleaning(deepcopy(tree), options), options) for tree in parsed]


def cpu_seconds(selector, forest: list) -> tuple[float, list]:
    start = time.process_time()
    selections = [selector(tree) for tree in forest]
    return time.process_time() - start, selections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N evaluation pages (default: all 990)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="20 pages, one round: checks that the benchmark runs")
    args = parser.parse_args()
    limit, repeats = (20, 1) if args.smoke else (args.limit, args.repeats)
    forest = trees(limit)
    print(f"{len(forest)} trees ({len(forest) // 2} pages, parsed and cleaned), best of {repeats} round(s), CPU seconds")
    print(f"{'selector':38s} {'lxml':>8s} {'compiled':>9s} {'ratio':>7s} {'selected':>9s}")
    totals, differing = [0.0, 0.0], 0
    for name, stock, compiled in xpath_to_python.compiled_selector_pairs():
        best = [float("inf"), float("inf")]
        for _ in range(repeats):
            for side, selector in enumerate((stock, compiled)):
                seconds, selections = cpu_seconds(selector, forest)
                best[side] = min(best[side], seconds)
                if side == 0:
                    expected = selections
                else:
                    differing += sum(a != b for a, b in zip(expected, selections))
        totals = [totals[0] + best[0], totals[1] + best[1]]
        print(f"{name:38s} {best[0]:8.3f} {best[1]:9.3f} {best[0] / max(best[1], 1e-9):6.2f}x "
              f"{sum(map(len, expected)):9d}")
    print(f"all {len(xpath_to_python.COMPILED_SELECTORS)} compiled selectors: lxml {totals[0]:.2f} s, compiled "
          f"{totals[1]:.2f} s: compiled / lxml speed {totals[0] / max(totals[1], 1e-9):.2f}x; "
          f"left to lxml: {', '.join(xpath_to_python.SELECTORS_LEFT_TO_LXML)}")
    print(f"selections that differ from lxml's: {differing}")
    if differing:
        sys.exit(1)


if __name__ == "__main__":
    main()
