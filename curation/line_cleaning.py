"""Line-level boilerplate removal for text inputs (WET, JSONL, Parquet): menus, navigation, notices.

HTML goes through extraction, which drops a page's boilerplate; text that arrives already extracted (a WET
record, an existing corpus) still carries it: "Skip to main content / Help / Editing Step 12 — / Step Type: /
Drag to rearrange" above a repair guide. This step removes such lines from documents that came without HTML,
and counts every removed line under its reason (`lines_removed:<reason>` in the step's notes). A document
left with no line is rejected as `no_text_left`. Windows (CR LF) and old Mac (CR) line breaks become LF first
(`line_endings_to_lf`): training text holds one kind of line break.

The rules are C4's line filters (Raffel et al. 2020) and RefinedWeb's line-wise corrections (Penedo et al.
2023, the FineWeb authors), each narrowed so that real articles keep their lines (≤ 1% of the characters of
BBC articles and S2ORC abstracts, tests/curation/test_line_cleaning.py):
- C4 drops every line that mentions "javascript", a cookie or a policy, or "lorem ipsum". An article about
  JavaScript or privacy mentions them too: here a line goes only when it is the notice itself
  (`javascript_notice`, `cookie_or_policy`: the phrase in a short line, or the notice's wording), and
  `lorem_ipsum` lines go whatever their length.
- C4 keeps only lines that end in terminal punctuation and hold at least three words. That removes every
  title and heading. Here an unpunctuated short line goes when it is part of a run of such lines (a menu, a
  breadcrumb, a list of languages: `menu_run`), or when it has one or two words and is not a heading, i.e. no
  prose line follows it (`short_line`).
- Whole-line navigation phrases ("Skip to main content", "Back to top", "Log in": `navigation`).
- RefinedWeb: lines that are counters ("3 likes", "Views: 1,024": `counter`) or hold no letter or digit at
  all (separators, decorations: `no_letters`).
Table rows and display math (what the science rules read as tables and equations) are never removed, nor are a
LaTeX source's lines that start with a command or sit in display math (`latex_source.latex_command_lines`). Text a
reader built from a structured source (a `.tex` file, a JATS article: `document.STRUCTURED`) is left as it is,
counted as `structured_text_kept`: its short lines are headings and list items. A
hard-wrapped text (pdftotext, plain-text archives: every line cut at ~72 columns) is judged by its paragraphs
(rule_sets.hard_wrap_joins), not by the wrapper's fragments, and keeps its wrapping.
"""
from __future__ import annotations

import re
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sciloom.curation.document import STRUCTURED, Document
from sciloom.curation.latex_source import latex_command_lines
from sciloom.curation.rule_sets import (hard_wrap_joins, is_table_or_math_line, join_lines, unix_line_endings,
                                         wrapped_paragraphs)
from sciloom.curation.step import Step

REASONS = ("lorem_ipsum", "javascript_notice", "cookie_or_policy", "navigation", "counter", "no_letters",
           "menu_run", "short_line")
# C4's end-of-line punctuation, with the ellipsis and the CJK full stops (a colon ends a label, not a sentence).
END_PUNCTUATION = (".", "?", "!", '"', "'", "…", "。", "！", "？", "”")

_JAVASCRIPT_NOTICE = re.compile(
    r"\b(enable|enabled|disabled?|turn(ed)? on|activate|requires?|required|need|support(ed)?)\b.{0,40}\bjavascript\b"
    r"|\bjavascript\b.{0,40}\b(enabled?|disabled|required|turned off|not (available|supported|enabled))\b")
_COOKIE_NOTICE = re.compile(
    r"\b(we|this (web)?site|our (web)?site|site) (uses?|use of|is using) cookies\b|\bcookies? (policy|settings|preferences)\b"
    r"|\baccept (all )?cookies\b|\buse of cookies\b|\bconsent to (the use of )?cookies\b")
# C4's policy phrases, taken as the whole notice only in a short line (a footer link, a banner).
_POLICY = re.compile("terms of use|terms of service|terms and conditions|privacy policy|cookie policy|all rights reserved")
_POLICY_MAX_WORDS = 12
_NAVIGATION = frozenset({
    "skip to main content", "skip to content", "skip to navigation", "skip navigation", "jump to navigation",
    "jump to search", "jump to content", "toggle navigation", "main menu", "menu", "home", "help", "search",
    "log in", "login", "log out", "logout", "sign in", "sign up", "sign out", "register", "subscribe", "share",
    "share this", "share this article", "tweet", "print", "email", "back to top", "go to top", "scroll to top",
    "read more", "continue reading", "next", "previous", "next post", "previous post", "contact", "contact us",
    "about", "about us", "follow us", "cart", "my account", "close", "open menu", "close menu", "you are here",
    "advertisement", "sponsored", "related articles", "related posts", "comments", "leave a comment",
    "leave a reply", "post a comment", "cancel reply", "loading", "loading...", "view all", "see all", "more",
})
_NAVIGATION_EDGES = " \t»«›‹|•·>–—-:"
_COUNTER = re.compile(
    r"\d[\d,.\s]*[km]?\s*(likes?|comments?|shares?|views?|replies|reply|reviews?|followers?|retweets?|votes?|"
    r"points?|answers?|reads?)|(likes?|comments?|shares?|views?|replies|followers?|votes?)\s*:?\s*\d[\d,.\s]*[km]?",
    re.IGNORECASE)
_LETTER_OR_DIGIT = re.compile(r"\w")


class LineCleaningConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Remove boilerplate lines from text inputs (documents that come without HTML).")
    skip: list[str] = Field(default_factory=list, description=f"Rules not to apply, among: {', '.join(REASONS)}.")
    menu_run: int = Field(3, ge=2, description="Consecutive short unpunctuated lines (blank lines between them allowed) that make a menu.")
    menu_line_words: int = Field(5, ge=1, description="At most this many words makes a line short enough to be part of a menu.")

    @field_validator("skip")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(REASONS))
        if unknown:
            raise ValueError(f"unknown line rules {unknown}; known: {', '.join(REASONS)}")
        return value


class LineCleaner:
    """Which lines of a text are boilerplate, and why."""

    def __init__(self, config: LineCleaningConfig | None = None) -> None:
        self.config = config or LineCleaningConfig()
        self.rules = set(REASONS) - set(self.config.skip)

    def clean(self, text: str) -> tuple[str, Counter]:
        """(the text without its boilerplate lines, removed lines per reason).

        A hard-wrapped text (pdftotext, plain-text archives) is judged by its paragraphs: the wrapper's fragments
        are short unpunctuated lines, and judged one by one they went as menus and stray short lines (3.9% of the
        characters of unarXive papers wrapped at 72 columns). A paragraph that goes takes all its lines with it;
        the lines that stay keep their wrapping.
        """
        lines = text.split("\n")
        joins = hard_wrap_joins(lines)
        if joins is None:
            removed = self.reasons(lines)
        else:
            groups = wrapped_paragraphs(lines, joins)
            reasons = self.reasons([join_lines(lines, group) for group in groups])
            removed = {i: reason for k, reason in reasons.items() for i in groups[k]}
        if not removed:
            return text, Counter()
        kept = [line for i, line in enumerate(lines) if i not in removed]
        return "\n".join(kept).strip("\n"), Counter(removed.values())

    def reasons(self, lines: list[str]) -> dict[int, str]:
        """Index → reason of every line to remove."""
        found: dict[int, str] = {}
        latex = latex_command_lines(lines)
        content = [i for i, line in enumerate(lines)
                   if line.strip() and not is_table_or_math_line(line) and i not in latex]
        for i in content:
            reason = self._line_reason(lines[i].strip())
            if reason is not None:
                found[i] = reason
        # Menus and stray short lines, judged on the lines the rules above leave.
        remaining = [i for i in content if i not in found]
        short = [self._unpunctuated_words(lines[i]) for i in remaining]
        start = 0
        while start < len(remaining):
            end = start
            while end < len(remaining) and 0 < short[end] <= self.config.menu_line_words:
                end += 1
            if end - start >= self.config.menu_run and "menu_run" in self.rules:
                found.update((remaining[k], "menu_run") for k in range(start, end))
            elif "short_line" in self.rules:
                for k in range(start, end):
                    if short[k] <= 2 and not self._heading(lines, remaining, k):
                        found[remaining[k]] = "short_line"
            start = end + 1
        return found

    def _line_reason(self, line: str) -> str | None:
        lowered = line.lower()
        rules = self.rules
        if "lorem_ipsum" in rules and "lorem ipsum" in lowered:
            return "lorem_ipsum"
        if "javascript_notice" in rules and "javascript" in lowered and _JAVASCRIPT_NOTICE.search(lowered):
            return "javascript_notice"
        if "cookie_or_policy" in rules and (("cookie" in lowered and _COOKIE_NOTICE.search(lowered)) or (
                ("terms" in lowered or "polic" in lowered or "reserved" in lowered) and _POLICY.search(lowered)
                and len(line.split()) <= _POLICY_MAX_WORDS)):
            return "cookie_or_policy"
        if "navigation" in rules and lowered.strip(_NAVIGATION_EDGES) in _NAVIGATION:
            return "navigation"
        if "counter" in rules and len(line) <= 40 and _COUNTER.fullmatch(line.strip(_NAVIGATION_EDGES)):
            return "counter"
        if "no_letters" in rules and not _LETTER_OR_DIGIT.search(line):
            return "no_letters"
        return None

    @staticmethod
    def _unpunctuated_words(line: str) -> int:
        """Words of a line that does not end a sentence; 0 for a line that does."""
        stripped = line.strip()
        return 0 if stripped.endswith(END_PUNCTUATION) else len(stripped.split())

    @staticmethod
    def _heading(lines: list[str], remaining: list[int], k: int) -> bool:
        """A short line followed by a prose line (a title, a section heading) is a heading."""
        if k + 1 >= len(remaining):
            return False
        following = lines[remaining[k + 1]].strip()
        return len(following.split()) >= 8 and (following.endswith(END_PUNCTUATION) or len(following) >= 200)


class LineCleaningStep(Step):
    name = "line_cleaning"
    removes = (STRUCTURED,)

    def __init__(self, config: LineCleaningConfig | None = None) -> None:
        super().__init__()
        self.config = config or LineCleaningConfig()
        self.cleaner = LineCleaner(self.config)

    def apply(self, doc: Document) -> str | None:
        text = doc.get("text")
        if not self.config.enabled or doc.get("html") is not None or not text:
            return None  # HTML is cleaned by extraction; a document without text is the extract step's to judge
        if doc.get(STRUCTURED):
            self.note("structured_text_kept")  # built from LaTeX or JATS: no page boilerplate to remove
            return None
        if "\r" in text:
            text = doc["text"] = unix_line_endings(text)
            self.note("line_endings_to_lf")
        cleaned, removed = self.cleaner.clean(text)
        for reason, count in removed.items():
            self.note(f"lines_removed:{reason}", count)
        if not removed:
            return None
        self.note("chars_removed", len(text) - len(cleaned))
        doc["text"] = cleaned
        return None if cleaned.strip() else "no_text_left"
