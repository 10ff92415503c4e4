"""Level-1 quality rules: Gopher quality and repetition, C4 and FineWeb line/document rules, two profiles.

`stock` reproduces the published thresholds (as in datatrove's filters). `science` keeps the same rules
but reads the text the way a scientific document is written:
- math spans (`$...$`, `$$...$$`, left by the extractor) and a LaTeX source's citations and cross-references
  (`\\cite{..}`, `\\eqref{..}`) are taken out before word statistics, so symbols and one-letter variables do not
  count as junk words, nor a work cited again as a repeated n-gram, and LaTeX braces (in math, and those of running text:
  `{\em new}`, `10^{16}`, `\cite{k}`) do not trip C4's curly-bracket rule;
- table rows (`| a | b |`) and display-math lines are left out of the line rules (they have no terminal
  punctuation, are short and repeat separators by nature), and so are a LaTeX source's display math and the lines
  that only open or close its environments;
- numbers count as words for Gopher's alphabetic-word ratio (a results section is full of them);
- a hard-wrapped text (pdftotext, plain-text archives: every line cut at ~72 columns) is read as its paragraphs,
  so that the line rules do not take the wrapper's line ends for unpunctuated fragments.
Everything that makes junk junk (too few words, no stop words, repeated lines and n-grams, lorem ipsum,
boilerplate lines, lists of fragments) still rejects.

Words are split with one regex (no spaCy): datatrove's Gopher filter spends most of its time in spaCy.
Each document gets `l1_score`, the fraction of checks passed, and `l1_flags`, the checks that fired
without rejecting (those the active profile only flags).
"""
from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from sciloom.curation.document import Document
from sciloom.curation.rule_sets import TextView, run_checks
from sciloom.curation.step import Step

Profile = Literal["stock", "science"]

# Checks the science profile reports but does not reject on: each is a property of well-formed scientific
# writing that stock rules read as noise (measured in benchmarks/eval_science_rules.py).
SCIENCE_FLAG_ONLY = frozenset({
    "c4:curly_bracket",      # braces LaTeX's running-text markup does not explain (a preamble, layout, set notation)
    "fineweb:char_dup_ratio",  # repeated short lines: "Proof.", figure labels, equation numbers
})


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: Profile = Field("science", description="'stock': published Gopher/C4/FineWeb thresholds; 'science': the same rules reading math, tables and numbers as scientific text.")
    flag_only: list[str] = Field(default_factory=list, description="Extra checks (e.g. 'c4:too_few_sentences') that only flag instead of rejecting.")


class RulesStep(Step):
    name = "rules"
    columns = {"l1_flags": pa.list_(pa.string()), "l1_score": pa.float32()}

    def __init__(self, config: RulesConfig | None = None) -> None:
        super().__init__()
        self.config = config or RulesConfig()
        self.science = self.config.profile == "science"
        self.flag_only = set(self.config.flag_only) | (SCIENCE_FLAG_ONLY if self.science else set())

    def evaluate(self, text: str) -> tuple[list[str], float]:
        """(checks that fired, fraction of checks passed) for one text."""
        fired, total = run_checks(TextView(text, science=self.science))
        return fired, 1.0 - len(fired) / total

    def rejection(self, fired: list[str]) -> str | None:
        """The check that rejects a document whose `fired` checks these are (None: kept; flag-only checks flag)."""
        return next((check for check in fired if check not in self.flag_only), None)

    def apply(self, doc: Document) -> str | None:
        fired, score = self.evaluate(doc.get("text") or "")
        doc["l1_score"] = score
        doc["l1_flags"] = [check for check in fired if check in self.flag_only]
        return self.rejection(fired)
