"""Main-text extraction from HTML with trafilatura, math kept as LaTeX, with a size cap and a time limit.

A page over the size cap is rejected before parsing (`page_too_large`; its HTML is not written aside, only
its id and url). A payload seen among the last pages of the task reuses their result instead of being
extracted again (counted in notes as `payload_seen_before`). Extraction runs under a real wall-clock limit:
a SIGALRM timer interrupts trafilatura (`extract_timeout`). A page that yields no text is rejected as `no_text`. Documents that arrive with text
and no HTML (WET, JSONL, Parquet inputs) pass through untouched.

The trafilatura settings below were chosen by measurement on trafilatura's 990 evaluation pages
(benchmarks/bench_extraction_quality.py): without comments F1 0.926, defaults 0.921, favor_recall 0.915.
trafilatura's recall escalation (`recall_escalation`) stays on by default: it changes 29 of the 990 pages, for
+0.002 F1, and costs a tenth of the extraction time there (56.2 against 61.8 pages/s without it) and a quarter of
the whole cascade's CPU on the crawl mix (83.2 against 109.1 documents per CPU-second,
benchmarks/bench_curation_throughput.py). While we extract, trafilatura's selectors run compiled
(`xpath_to_python`): the same elements at a fraction of lxml's cost.
"""
from __future__ import annotations

import hashlib
import signal
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import trafilatura
import trafilatura.core
import trafilatura.utils
from lxml import etree, html as lxml_html
from pydantic import BaseModel, ConfigDict, Field
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from sciloom.curation.document import Document
from sciloom.curation.math_html import convert_math, may_hold_math, normalize_tex_delimiters
from sciloom.curation.step import Step
from sciloom.curation.xpath_to_python import compiled_trafilatura_selectors


class ExtractConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_page_bytes: int = Field(5_000_000, gt=0, description="Pages larger than this (UTF-8 bytes of HTML) are rejected as page_too_large without parsing.")
    timeout_seconds: float = Field(10.0, gt=0, description="Wall-clock limit for parsing and extracting one page; over it the page is rejected as extract_timeout.")
    favor_recall: bool = Field(False, description="trafilatura favor_recall: keep more text when unsure (lower F1 on the evaluation pages).")
    favor_precision: bool = Field(False, description="trafilatura favor_precision: keep less text when unsure.")
    fast: bool = Field(False, description="trafilatura fast mode: skip the fallback extractors (about 1.5x faster, lower recall).")
    include_tables: bool = Field(True, description="Keep tables (cells separated by ' | ').")
    include_comments: bool = Field(False, description="Keep user comments below the main text (off: better precision, best F1).")
    recall_escalation: bool = Field(True, description=(
        "trafilatura's recall escalation: when a page's extraction is short and covers under a fifth of its text, "
        "retry in recall mode and with jusText and keep a clearly longer result. Off: about a tenth less CPU for "
        "extraction on the evaluation pages and a quarter less for the whole cascade on the crawl mix, F1 0.926 -> "
        "0.924 (29 of 990 pages change)."))
    keep_math: bool = Field(True, description="Convert MathML / MathJax / KaTeX to LaTeX ($...$, $$...$$) before extraction.")


# Results of the last pages extracted, by payload hash: bounded, so memory does not grow with a task's input.
RECENT_PAYLOADS = 1024


class ExtractTimeout(Exception):
    pass


# lxml.html's parser chooses each element's Python class (FormElement for <form>, InputElement, ...) in a Python
# method, called every time lxml hands trafilatura an element: 5 million calls, 8% of extraction's CPU on the
# crawl pages. trafilatura uses no form-specific class, so while we extract, its parser uses lxml's compiled
# lookup, which gives every element the plain HtmlElement: the same text on every page
# (tests/curation/test_extract.py). Scoped to our calls: other trafilatura users in the process (a forked
# datatrove sandbox in the benchmarks) keep the stock parser.
_COMPILED_ELEMENT_LOOKUP = etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=lxml_html.HtmlComment, pi=lxml_html.HtmlProcessingInstruction,
    entity=lxml_html.HtmlEntity)
_STOCK_ELEMENT_LOOKUP = lxml_html.HtmlElementClassLookup()


# trafilatura has no option for its stage-4 recall escalation; it runs for extractions shorter than this constant.
# Read here so that a trafilatura without it fails at import, not silently escalating again.
_STOCK_ESCALATION_MAX_LENGTH = trafilatura.core.ESCALATION_MAX_LENGTH


@contextmanager
def recall_escalation(enabled: bool) -> Iterator[None]:
    """trafilatura's recall escalation on or off for the calls inside; scoped like the element lookup below."""
    trafilatura.core.ESCALATION_MAX_LENGTH = _STOCK_ESCALATION_MAX_LENGTH if enabled else 0
    try:
        yield
    finally:
        trafilatura.core.ESCALATION_MAX_LENGTH = _STOCK_ESCALATION_MAX_LENGTH


@contextmanager
def compiled_element_lookup() -> Iterator[None]:
    parser = trafilatura.utils.HTML_PARSER
    parser.set_element_class_lookup(_COMPILED_ELEMENT_LOOKUP)
    try:
        yield
    finally:
        parser.set_element_class_lookup(_STOCK_ELEMENT_LOOKUP)


class ExtractStep(Step):
    name = "extract"
    removes = ("html",)

    def __init__(self, config: ExtractConfig | None = None) -> None:
        super().__init__()
        self.config = config or ExtractConfig()
        self._recent: OrderedDict[bytes, tuple[str | None, str | None]] = OrderedDict()

    def apply(self, doc: Document) -> str | None:
        html = doc.get("html")
        if html is None:
            return None if doc.get("text") else "no_text"
        key = hashlib.blake2b(html.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if key in self._recent:
            # The same payload again (an error page, a mirror): its result, not a second extraction. Both
            # documents go on; exact dedup chooses between them, as it would have after two extractions.
            self._recent.move_to_end(key)
            text, reason = self._recent[key]
            self.note("payload_seen_before")
        else:
            text, reason = self.extract_text(html, doc.get("url"))
            self._recent[key] = (text, reason)
            if len(self._recent) > RECENT_PAYLOADS:
                self._recent.popitem(last=False)
        if reason == "page_too_large":
            doc["html"] = None  # the reject row names the page; copying megabytes of HTML aside helps nobody
        doc["text"] = text
        return reason

    def extract_text(self, html: str | bytes, url: str | None = None) -> tuple[str | None, str | None]:
        """(text, None) or (None, reason) for one page."""
        if _over_byte_limit(html, self.config.max_page_bytes):
            return None, "page_too_large"
        try:
            # The time limit innermost: its alarm cannot fire while trafilatura's settings are put back.
            with (compiled_element_lookup(), compiled_trafilatura_selectors(),
                  recall_escalation(self.config.recall_escalation), time_limit(self.config.timeout_seconds)):
                text = self._extract(html, url)
        except ExtractTimeout:
            return None, "extract_timeout"
        if not text or not text.strip():
            return None, "no_text"
        return text, None

    def _extract(self, html: str | bytes, url: str | None) -> str | None:
        page: str | bytes | HtmlElement = html
        if self.config.keep_math and may_hold_math(html):
            page = load_html(html)
            if page is None:
                return None
            convert_math(page)
        # A page without math goes to trafilatura as it came: handed a tree, trafilatura deep-copies it first.
        text = trafilatura.extract(
            page,
            url=url,
            fast=self.config.fast,
            favor_recall=self.config.favor_recall,
            favor_precision=self.config.favor_precision,
            include_tables=self.config.include_tables,
            include_comments=self.config.include_comments,
        )
        if text and self.config.keep_math:
            text = normalize_tex_delimiters(text)
        return text


def _over_byte_limit(html: str | bytes, limit: int) -> bool:
    """Whether the page is more than `limit` bytes as UTF-8. Text is encoded only when its length cannot tell: a
    character is 1 to 4 bytes."""
    if isinstance(html, bytes) or len(html) > limit:
        return len(html) > limit
    return 4 * len(html) > limit and len(html.encode("utf-8", "surrogatepass")) > limit


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ExtractTimeout in the calling thread after `seconds` of wall-clock time.

    SIGALRM is the only way to interrupt a pure-Python computation we do not control; signals are delivered
    to the main thread, where Ray runs tasks and where the CLI runs.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("ExtractStep must run in the main thread of its process (its time limit uses SIGALRM)")

    fired = False

    def _raise(signum: int, frame: object) -> None:
        nonlocal fired
        fired = True
        raise ExtractTimeout(f"extraction exceeded {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if fired:
        # trafilatura catches every exception while parsing ("lxml parsing failed") and goes on: an interrupted
        # page must still count as a timeout, not as a page without text.
        raise ExtractTimeout(f"extraction exceeded {seconds} s")
