"""Cheap decisions before extraction: the first half of the cascade.

Extraction (trafilatura) is nearly the whole cost of curating crawl pages, and most pages of a crawl are
thrown away after it, by language identification above all (824 of the 990 trafilatura evaluation pages
are not English). This step decides what it can on the raw record, before the expensive step:

- **URL block lists** (the approach of FineWeb's URL filter): a page whose host is a blocked domain or one of
  its subdomains goes as `blocked_domain`; a page whose URL holds a blocked word as one of its tokens (split on
  anything that is not a letter or digit) goes as `blocked_url_word`. Both apply to text inputs with a URL too.
- **Language on a fast rendering.** Resiliparse renders the page's main content as plain text (about ten
  times cheaper than trafilatura on the evaluation pages) and the language model reads it through the same
  bounded sample as the language-id step. A page goes as `language_<code>` only when the rendering is
  confidently in a language the run does not keep (`early_language_score`, above the language-id step's own
  threshold: the margin); every other page, borderline ones included, goes on to full extraction, and the
  language-id step decides it on the extracted text as before. On the 990 evaluation pages, at 0.8, 806
  pages are decided here and none of them would have been kept by the full pipeline
  (benchmarks/bench_curation_throughput.py lists every disagreement on the kept set).
  The language is read in the language-id step's two passes: at this margin, the early decision on the 4,419 page
  renderings of the crawl mix and the evaluation pages was the one-pass decision for all but one (measured once: a
  Chinese blog feed, zh 0.94 on the first sample and 0.75 on the full one, now decided here; the benchmark compares
  the kept sets on every run).
  A page whose `<html lang>` declares a language the run keeps is not rendered (noted as
  `declared_kept_language`): the rendering would only send it on to extraction, and rendering it costs a
  tenth of extracting it. On the crawl mix 826 of 3,364 pages declare English; 3 of them read as clearly foreign
  (their extraction costs 0.03 s), and rendering the rest cost 2.6 s, 7% of the cascade. A page declaring another
  language is rendered as before: a template's declaration is no proof that the text is foreign.

Pages over the extraction size cap pass untouched (extraction rejects them unparsed), and a page the fast
renderer cannot read passes to extraction (counted in notes as `render_failed`).
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from sciloom.curation.document import Document
from sciloom.curation.langid import LangIdConfig, load_language_model, predict_languages
from sciloom.curation.step import Step

_URL_TOKEN = re.compile(r"[^a-z0-9]+")
# The primary subtag of the <html> element's lang (or xml:lang) attribute: "en" of lang="en-US".
_DECLARED_LANGUAGE = re.compile(r"<html\b[^>]*?[\s:]lang\s*=\s*[\"']?([a-zA-Z]{2,3})(?![a-zA-Z])", re.IGNORECASE)
# The <html> tag follows a doctype and maybe comments: it is searched for in the page's beginning only.
_DECLARATION_CHARS = 8192


class PrefilterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Decide URL block lists and clearly foreign languages before extraction (off: every page is extracted).")
    blocked_domains: list[str] = Field(default_factory=list, description="Domains whose pages are dropped before extraction (a domain blocks its subdomains too), e.g. ['example.com'].")
    blocked_domains_file: Path | None = Field(None, description="A file of blocked domains, one per line ('#' starts a comment), e.g. a UT1 blacklist's domains file.")
    blocked_url_words: list[str] = Field(default_factory=list, description="Words that drop a page when one of its URL's tokens (split on non-alphanumerics, lowercased) equals one.")
    early_language_score: float | None = Field(0.8, gt=0.0, le=1.0, description=(
        "Drop a page before extraction when its fast plain-text rendering is in a language the run does not keep "
        "with at least this probability; null: language is decided only after extraction."))

    @field_validator("blocked_domains_file")
    @classmethod
    def _domains_file_exists(cls, value: Path | None) -> Path | None:
        # Checked with the recipe, not in every worker when its first task starts.
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file of domains")
        return value


class PrefilterStep(Step):
    name = "prefilter"

    def __init__(self, config: PrefilterConfig | None = None, langid: LangIdConfig | None = None,
                 max_page_bytes: int | None = None) -> None:
        super().__init__()
        self.config = config or PrefilterConfig()
        self.langid = langid or LangIdConfig()
        self.max_page_bytes = max_page_bytes
        self.blocked_domains = {domain.strip().lower().strip(".") for domain in self.config.blocked_domains}
        if self.config.blocked_domains_file is not None:
            self.blocked_domains |= read_domain_list(self.config.blocked_domains_file)
        self.blocked_words = {word.lower() for word in self.config.blocked_url_words}
        decides_language = self.config.early_language_score is not None and self.langid.languages is not None
        self.keep_languages = set(self.langid.languages or ())
        self.model = load_language_model(self.langid) if decides_language else None

    def apply(self, doc: Document) -> str | None:
        url = doc.get("url")
        if url and (self.blocked_domains or self.blocked_words):
            reason = self.url_verdict(url)
            if reason is not None:
                return reason
        html = doc.get("html")
        if self.model is None or not html or self._too_large(html):
            return None
        if declared_language(html) in self.keep_languages:
            self.note("declared_kept_language")
            return None
        rendered = self.render(html)
        if not rendered:
            return None
        (lang, score), = predict_languages(self.model, [rendered], self.langid)
        if lang not in self.keep_languages and score >= self.config.early_language_score:
            return f"language_{lang}"
        return None

    def url_verdict(self, url: str) -> str | None:
        try:
            host = (urlsplit(url).hostname or "").strip(".")
        except ValueError:  # a malformed URL (bad port, brackets) cannot match a domain; its words still can
            host = ""
        labels = host.split(".") if host else []
        if any(".".join(labels[i:]) in self.blocked_domains for i in range(len(labels))):
            return "blocked_domain"
        if self.blocked_words and not self.blocked_words.isdisjoint(_URL_TOKEN.split(url.lower())):
            return "blocked_url_word"
        return None

    def render(self, html: str) -> str:
        """The page's main content as plain text, from resiliparse (no boilerplate heuristics of trafilatura)."""
        try:
            return extract_plain_text(HTMLTree.parse(html), main_content=True)
        except Exception:  # noqa: BLE001 — a C++ parser's failure on one page must not stop the task
            self.note("render_failed")
            return ""

    def _too_large(self, html: str) -> bool:
        # Extraction rejects these without parsing; rendering them here would spend what that saves.
        return self.max_page_bytes is not None and len(html) > self.max_page_bytes


def declared_language(html: str) -> str | None:
    """The lowercased primary language subtag the page's `<html>` element declares, if any."""
    found = _DECLARED_LANGUAGE.search(html, 0, _DECLARATION_CHARS)
    return found.group(1).lower() if found else None


def read_domain_list(path: Path) -> set[str]:
    domains: set[str] = set()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            domain = line.split("#", 1)[0].strip().lower().strip(".")
            if domain:
                domains.add(domain)
    return domains
