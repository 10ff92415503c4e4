"""Rejection rate of the level-1 rules, stock vs science profile, on real science text and on junk.

Science text (../shared/data/disciplines): unarXive full papers (formula placeholders filled with their
LaTeX as `$...$`, as our extractor writes math) and S2ORC title + abstract: every record that has an abstract
(488 of the sample's 1000; the others are titles only), and those with at least 80 words. Junk: typical
web junk written here (keyword spam, menus, cookie banners, lorem ipsum, repeated lines, code, link lists,
price lists, gibberish, symbol soup), several random variants of each. Each set also hard-wrapped at 72 columns,
as pdftotext, plain-text archives and mailing lists write text. Last, the unarXive papers written back as LaTeX
sources and read as a run reads a `.tex` file (its cleaning, then line cleaning).

    .venv/bin/python benchmarks/eval_science_rules.py [--show-reasons] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sciloom.curation.latex_source import clean_latex_source  # noqa: E402
from sciloom.curation.line_cleaning import LineCleaner  # noqa: E402
from sciloom.curation.paper_placeholders import resolve_placeholders  # noqa: E402
from sciloom.curation.rules import RulesConfig, RulesStep  # noqa: E402

DISCIPLINES = Path(__file__).resolve().parents[2] / "shared" / "data" / "disciplines"
def _unarxive_sections(limit: int | None) -> Iterator[tuple[dict, list[tuple[str | None, str]]]]:
    """(paper, its paragraphs as (the section heading that starts before it, or None; its text, placeholders
    resolved as the reader does: math as `$...$`, citations as `[n]`))."""
    path = DISCIPLINES / "unarxive-sample" / "unarXive_data_sample" / "arXiv_src_2212_086.jsonl"
    with path.open() as lines:
        for index, line in enumerate(lines):
            if limit is not None and index >= limit:
                return
            paper = json.loads(line)
            paragraphs, section = [], None
            for paragraph in paper["body_text"]:
                heading = None
                if paragraph.get("section") and paragraph["section"] != section:
                    heading = section = paragraph["section"]
                paragraphs.append((heading, resolve_placeholders(paragraph["text"], paper).strip()))
            yield paper, paragraphs


def unarxive_papers(limit: int | None = None) -> Iterator[str]:
    """Full papers as text: title, abstract, sections and their paragraphs."""
    for paper, paragraphs in _unarxive_sections(limit):
        parts = [paper["metadata"]["title"], paper["metadata"]["abstract"].strip()]
        for heading, text in paragraphs:
            parts += [heading, text] if heading else [text]
        yield "\n\n".join(" ".join(part.split()) for part in parts if part.strip())


def s2orc_abstracts(min_words: int = 1, limit: int | None = None) -> Iterator[str]:
    path = DISCIPLINES / "s2orc-metadata-sample" / "metadata_sample_v2020-07-05.jsonl"
    count = 0
    with path.open() as lines:
        for line in lines:
            paper = json.loads(line)
            abstract = paper.get("abstract") or ""
            if len(abstract.split()) >= min_words:
                yield f"{paper['title']}\n\n{abstract}"
                count += 1
                if limit is not None and count >= limit:
                    return


_WORDS = ("cheap best buy online free shipping discount deal sale offer viagra casino bonus win money fast "
          "click here now top rated hot new").split()
_NAV = ["Home", "About", "Contact", "Blog", "Shop", "Login", "Register", "Cart", "FAQ", "Sitemap", "Careers",
        "Press", "Help", "Search", "Privacy Policy", "Terms of Use"]


def junk_documents(variants: int = 5, seed: int = 0) -> Iterator[tuple[str, str]]:
    """(kind, text) pairs of web junk that any quality filter must reject."""
    rng = random.Random(seed)
    for _ in range(variants):
        yield "keyword spam", " ".join(rng.choice(_WORDS) for _ in range(rng.randint(150, 400)))
        yield "navigation menu", "\n".join(rng.sample(_NAV, len(_NAV)) * rng.randint(3, 6))
        yield "cookie banner", ("We use cookies to improve your experience. By continuing to browse you agree to our use of "
                                "cookies. Accept all cookies. Manage preferences. Privacy policy. Terms of use.\n") * rng.randint(3, 8)
        yield "lorem ipsum", " ".join(["Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
                                       "incididunt ut labore et dolore magna aliqua."] * rng.randint(5, 12))
        line = f"Click here to subscribe to our newsletter and get {rng.randint(5, 50)}% off your next order today!"
        yield "repeated lines", "\n".join([line] * rng.randint(10, 30) + ["Thanks for visiting the shop and have a nice day."])
        yield "code", "\n".join(f"function f{i}(x) {{ var y = x * {rng.randint(1, 9)}; return y; }}" for i in range(rng.randint(20, 40)))
        yield "link list", "\n".join(f"» {rng.choice(_WORDS).title()} {rng.choice(_WORDS)} ({rng.randint(1, 999)})"
                                     for _ in range(rng.randint(30, 80)))
        yield "price list", "\n".join(f"Item {rng.randint(1000, 9999)} - ${rng.randint(1, 500)}.{rng.randint(0, 99):02d} - In stock"
                                      for _ in range(rng.randint(30, 80)))
        yield "gibberish", " ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(2, 14)))
                                    for _ in range(rng.randint(100, 300)))
        yield "symbol soup", " ".join(rng.choice(["#", "@@", "***", "|", "%%", ">>", "...", "#tag", "$$$"]) for _ in range(300))
        yield "too short", "Page not found. The page you requested could not be found."
        yield "hashtag spam", " ".join(f"#{rng.choice(_WORDS)}" for _ in range(rng.randint(80, 200)))


def unarxive_latex_sources(limit: int | None = None) -> Iterator[str]:
    """The papers of `unarxive_papers` written back as the LaTeX sources they came from look: a preamble with a
    macro and the authors' comments, title and abstract, `\\section{..}` headings, display formulas in `equation`
    environments, citations as `\\cite{..}`, a bibliography. The words and formulas are the papers' own; the markup
    is written here (../shared/data holds no arXiv source)."""
    for paper, paragraphs in _unarxive_sections(limit):
        parts = ["\\documentclass{article}\n\\usepackage{amsmath}\n\\newcommand{\\R}{\\mathbb{R}}",
                 f"\\title{{{paper['metadata']['title']}}}\n% TODO: check the affiliations\n\\begin{{document}}",
                 f"\\maketitle\n\\begin{{abstract}}\n{paper['metadata']['abstract'].strip()}\n\\end{{abstract}}"]
        for heading, paragraph in paragraphs:
            if heading:
                parts.append(f"\\section{{{heading}}}")
            # As `unarxive_papers` reads them (a paragraph's whitespace collapsed), display formulas aside.
            pieces = _DISPLAY.split(paragraph)
            text = "\n".join(f"\\begin{{equation}}\n{piece.strip()}\n\\end{{equation}}" if k % 2 else
                             " ".join(piece.split()) for k, piece in enumerate(pieces) if piece.strip())
            parts.append(_NUMBERED_CITATION.sub(lambda m: "\\cite{" + m.group(1).replace(" ", "") + "}", text))
        parts.append("\\begin{thebibliography}{9}\n\\bibitem{1} A. Author, A paper, 2020.\n"
                     "\\end{thebibliography}\n\\end{document}")
        yield "\n\n".join(parts)


_DISPLAY = re.compile(r"^\$\$(.+?)\$\$$", re.MULTILINE | re.DOTALL)
_NUMBERED_CITATION = re.compile(r"\[(\d+(?:,\s*\d+)*)\]")


def as_read(source: str) -> str:
    """A LaTeX source as a run hands it to the rules: the `.tex` reader's cleaning, then line cleaning."""
    return LineCleaner().clean(clean_latex_source(source)[0])[0]


def hard_wrapped(text: str, width: int = 72) -> str:
    """`text` with each paragraph's lines cut at `width` columns, as a plain-text archive or pdftotext writes it."""
    return "\n".join("\n".join(textwrap.wrap(line, width)) if line.strip() else "" for line in text.split("\n"))


def rejection_rate(step: RulesStep, texts: list[str]) -> tuple[float, Counter]:
    """(fraction rejected, first rejecting check per rejected doc + `flagged:<check>` per kept doc's flags)."""
    reasons: Counter = Counter()
    rejected = 0
    for text in texts:
        fired, _ = step.evaluate(text)
        rejection = step.rejection(fired)
        if rejection is not None:
            rejected += 1
            reasons[rejection] += 1
        else:
            reasons.update(f"flagged:{check}" for check in fired)
    return rejected / max(len(texts), 1), reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show-reasons", action="store_true", help="print the first rejecting check per set")
    parser.add_argument("--smoke", action="store_true", help="10 documents per set: checks that it runs (CI)")
    args = parser.parse_args()
    if not DISCIPLINES.is_dir():
        sys.exit(f"science data not found at {DISCIPLINES}")
    limit = 10 if args.smoke else None
    sets = {
        "unarXive papers": list(unarxive_papers(limit)),
        "S2ORC abstracts (all with one)": list(s2orc_abstracts(1, limit)),
        "S2ORC abstracts (>=80 words)": list(s2orc_abstracts(80, limit)),
        "junk (written here)": [text for _, text in junk_documents()][:limit],
    }
    sets |= {f"{label}, hard-wrapped": [hard_wrapped(text) for text in texts] for label, texts in list(sets.items())}
    sets["unarXive papers as LaTeX sources, read"] = [as_read(source) for source in unarxive_latex_sources(limit)]
    profiles = {name: RulesStep(RulesConfig(profile=name)) for name in ("stock", "science")}
    print(f"{'set':45s} {'docs':>5s} {'stock rejects':>14s} {'science rejects':>16s}")
    for label, texts in sets.items():
        results = {name: rejection_rate(step, texts) for name, step in profiles.items()}
        print(f"{label:45s} {len(texts):5d} {results['stock'][0]:14.1%} {results['science'][0]:16.1%}")
        if args.show_reasons:
            for name, (_, reasons) in results.items():
                print(f"    {name}: {dict(reasons.most_common(8))}")


if __name__ == "__main__":
    main()
