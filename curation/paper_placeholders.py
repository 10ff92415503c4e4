"""Placeholders in papers' full texts: unarXive writes each formula, citation, figure and table of an arXiv paper's
`body_text` as `{{formula:<id>}}`, `{{cite:<id>}}`, ..., with the formula's LaTeX in the record's `ref_entries`.

Read as they are, the placeholders are most of a mathematical paper's words: a curation run (science rules) kept 31
of the 49 papers of unarXive's sample (language identification unsure of 4, the rules rejecting 12 for too few
alphabetic words and 2 for repeated n-grams); with the formulas back as LaTeX, it keeps 44. Formulas become
`$latex$` (`$$latex$$` alone on their line, as displayed equations are), a run of citations a numbered reference
(`[1, 2]`, numbered by first citation in the text, as LaTeX prints them), and figures and tables, whose captions are
not part of the running text, are dropped.
"""
from __future__ import annotations

import re
from typing import Any

_ID = r"[^{}\s]+"
_DISPLAY_FORMULA = re.compile(rf"^[ \t]*\{{\{{formula:({_ID})\}}\}}[ \t]*$", re.MULTILINE)
_FORMULA = re.compile(rf"\{{\{{formula:({_ID})\}}\}}")
_CITATIONS = re.compile(rf"\{{\{{cite:{_ID}\}}\}}(?:[\s\u00a0]*[,;][\s\u00a0]*\{{\{{cite:{_ID}\}}\}})*")
_CITATION_ID = re.compile(rf"\{{\{{cite:({_ID})\}}\}}")
_FLOAT = re.compile(rf"[ \t]*\{{\{{(?:figure|table):{_ID}\}}\}}")


def resolve_placeholders(text: str, record: dict[str, Any]) -> str:
    """`text` with unarXive's placeholders replaced, when `record` holds their `ref_entries`; else `text`. A formula
    whose id the entries lack keeps its placeholder (nothing is invented)."""
    entries = record.get("ref_entries")
    if not isinstance(entries, dict) or "{{" not in text:
        return text

    def latex(match: re.Match[str], fence: str) -> str:
        entry = entries.get(match.group(1))
        if not isinstance(entry, dict) or not isinstance(entry.get("latex"), str):
            return match.group(0)
        return f"{fence}{entry['latex'].strip()}{fence}"

    numbers: dict[str, int] = {}

    def citations(match: re.Match[str]) -> str:
        cited = [numbers.setdefault(key, len(numbers) + 1) for key in _CITATION_ID.findall(match.group(0))]
        return "[" + ", ".join(map(str, cited)) + "]"

    text = _DISPLAY_FORMULA.sub(lambda match: latex(match, "$$"), text)
    text = _FORMULA.sub(lambda match: latex(match, "$"), text)
    text = _CITATIONS.sub(citations, text)
    return _FLOAT.sub("", text)
