"""Compiled selectors against lxml's own XPath evaluation: cases written for the semantics that are easy to get
wrong (attribute order in a union, missing attributes, positional [1], the context element), then every
trafilatura selector on real pages, then trafilatura's extraction with and without the swap."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree, html

from sciloom.curation.xpath_to_python import (
    COMPILED_SELECTORS, SELECTORS_LEFT_TO_LXML, UnsupportedXPath, compile_xpath, compiled_selector_pairs,
    compiled_trafilatura_selectors)

REGEXP_NS = "http://exslt.org/regular-expressions"

PAGE = """<html><body>
<div id="cookie-box" class="plain">first: id before class</div>
<div class="plain" id="cookie-box">second: class before id</div>
<div class="">empty class</div>
<section role="Navigation" data-lp-replacement-content="">
  <div class="Comment-list"><ol class="comment-list"><li>one</li></ol></div>
  <p style="display: none" aria-hidden="true">hidden</p>
  <div class="infinite-scroll"><h1>Title</h1><div class="infinite-scroll">inner</div></div>
</section>
<!-- a comment, not an element -->
<article class="post"><div class="post">nested post</div><div class="post">sibling post</div></article>
<div class="post">later post</div>
<span id="reply-1" class="Teaser">reply</span>
<ul id="comments"><li class="x"></li></ul>
</body></html>"""

EXPRESSIONS = [
    ".//*[re:test(@id|@class, 'cookie')]",
    ".//*[re:test(@class|@id, 'cookie')]",
    ".//*[starts-with(@id|@class, 'reply-')]",
    ".//div[contains(@class|@id, 'plain')]",
    ".//*[self::div or self::p or self::span][re:test(@class, '^comment', 'i')]",
    ".//*[@class='' or @aria-hidden='true']",
    ".//*[@data-lp-replacement-content or contains(translate(@role, 'N', 'n'), 'nav')]",
    ".//*[contains(translate(@class, 'TE', 't'), 'tasr')]",
    ".//*[contains(@style, 'display: none') or re:test(@id|@style, 'hidden')]",
    ".//*[self::div or self::section][re:test(@class, 'infinite-?scroll')][not(.//h1) or re:test(@class, 'nothing')]",
    ".//*[self::div or self::ol or self::ul][re:test(@id, '^comments') or re:test(@class, 'comment')][not(self::ol or self::ul) or @id='comments']",
    ".//*[self::article or self::div][@class='post'][1]",
    "(.//*[self::article or self::div][@class='post'])[1]",
    "(.//*[self::main][@class='post'])[1]",
    "(.//article)[1]",
    ".//article|.//div[@class='post']|.//*[re:test(@id, 'reply')]",
    ".//*[not(@class)]",
    ".//*[re:test(@class, '^$|x?')]",
    ".//*",
]


@pytest.fixture(scope="module")
def page() -> html.HtmlElement:
    return html.fromstring(PAGE)


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_compiled_selector_selects_what_lxml_selects(page: html.HtmlElement, expression: str) -> None:
    stock = etree.XPath(expression, namespaces={"re": REGEXP_NS})
    compiled = compile_xpath(expression)
    for context in (page, page.find("body"), page.find(".//section"), page.getroottree()):
        assert compiled(context) == stock(context), (expression, context)


def test_cases_reach_the_semantics_they_are_written_for(page: html.HtmlElement) -> None:
    """Each hard case above really discriminates: a selector that ignored attribute order, the per-parent
    meaning of [1], or the context element would fail the comparison."""
    def texts(expression: str, context: object = page) -> list[str]:
        return [el.text for el in compile_xpath(expression)(context)]

    assert texts(".//*[re:test(@id|@class, 'cookie')]") == ["first: id before class"]
    # [1] is the first match among each parent's children: the article in body, the first div in the article
    assert texts(".//*[self::article or self::div][@class='post'][1]") == [None, "nested post"]
    assert texts("(.//*[self::article or self::div][@class='post'])[1]") == [None]
    assert [el.tag for el in compile_xpath(".//*")(page)][0] == "body"  # the context element is not selected
    # an element that two branches select comes once, in document order
    assert [el.tag for el in compile_xpath(".//article|.//*[@class='post']")(page)] == ["article", "div", "div", "div"]


@pytest.mark.parametrize("expression", [
    "//div",  # from the document root, not the context element
    ".//div[position() > 2]",
    ".//div[@class != 'x']",
    ".//div[re:test(@class, 'x', 'g')]",
    "(.//article)[1]|(.//main)[1]",
    ".//div[string-length(@class) > 3]",
    ".//div/p",
])
def test_expressions_outside_the_subset_are_refused(expression: str) -> None:
    etree.XPath(expression, namespaces={"re": REGEXP_NS})  # valid XPath, so the refusal is ours
    with pytest.raises(UnsupportedXPath):
        compile_xpath(expression)


def test_the_selectors_trafilatura_extracts_with_are_compiled_and_swapped_only_inside() -> None:
    import trafilatura.xpaths

    for used in ("BODY_XPATH[0]", "BODY_XPATH[2]", "BODY_XPATH[3]", "OVERALL_DISCARD_XPATH[0]",
                 "OVERALL_DISCARD_XPATH[1]", "REMOVE_COMMENTS_AND_LISTS_XPATH[0]", "RAW_TREE_PRUNE_XPATH[0]",
                 "PRECISION_DISCARD_XPATH[1]", "COMMENTS_DISCARD_XPATH[2]", "BASIC_CLEAN_XPATH"):
        assert used in COMPILED_SELECTORS
    assert "BODY_XPATH[4]" in SELECTORS_LEFT_TO_LXML  # a union of positioned paths
    assert all(isinstance(e, etree.XPath) for e in trafilatura.xpaths.OVERALL_DISCARD_XPATH)
    with compiled_trafilatura_selectors():
        assert not any(isinstance(e, etree.XPath) for e in trafilatura.xpaths.OVERALL_DISCARD_XPATH)
    assert all(isinstance(e, etree.XPath) for e in trafilatura.xpaths.OVERALL_DISCARD_XPATH)


def _evaluation_pages(benchmark, count: int) -> list[tuple[str, bytes]]:
    return [(url, html) for url, html, _ in benchmark("bench_extraction_quality").evaluation_pages(count)]


def test_every_compiled_trafilatura_selector_agrees_with_lxml_on_real_pages(shared_data: Path, benchmark) -> None:
    """On real pages as parsed, and after trafilatura's own cleaning and tag conversion (which creates the
    `list` and `item` elements its selectors name)."""
    from copy import deepcopy

    from trafilatura.htmlprocessing import convert_tags, tree_cleaning
    from trafilatura.settings import Extractor
    from trafilatura.utils import load_html

    options = Extractor()
    trees = [tree for tree in (load_html(page) for _, page in _evaluation_pages(benchmark, 300)) if tree is not None]
    trees += [convert_tags(tree_cleaning(deepcopy(tree), options), options) for tree in trees[:100]]
    pairs = compiled_selector_pairs()
    assert [name for name, _, _ in pairs] == list(COMPILED_SELECTORS)
    selected = 0
    for name, stock, compiled in pairs:
        assert compiled.path == stock.path
        for tree in trees:
            expected = stock(tree)
            assert compiled(tree) == expected, name
            selected += len(expected)
    assert selected > 10_000


def test_extraction_is_the_same_with_compiled_selectors(shared_data: Path, benchmark) -> None:
    import trafilatura

    pages = _evaluation_pages(benchmark, 150)
    stock = [trafilatura.extract(page, url=url, include_comments=False) for url, page in pages]
    with compiled_trafilatura_selectors():
        compiled = [trafilatura.extract(page, url=url, include_comments=False) for url, page in pages]
    assert sum(text is not None for text in stock) >= 120
    assert compiled == stock
