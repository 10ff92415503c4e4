"""ExtractStep on pages written here and on real MathJax pages: math kept, tables kept, caps enforced."""
from __future__ import annotations

from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from sciloom.curation.extract import ExtractConfig, ExtractStep, ExtractTimeout, time_limit

ARTICLE = """<html><head><title>Heat equation</title></head><body>
<nav><a href="/">Home</a> | <a href="/about">About us</a> | <a href="/shop">Shop</a></nav>
<article><h1>The heat equation</h1>
<p>The temperature in a rod obeys the heat equation, one of the classic partial differential equations of
mathematical physics. Written with the diffusivity <math><mi>κ</mi></math> it reads</p>
<math display="block"><mfrac><mrow><mo>∂</mo><mi>u</mi></mrow><mrow><mo>∂</mo><mi>t</mi></mrow></mfrac><mo>=</mo>
<mi>κ</mi><mfrac><mrow><msup><mo>∂</mo><mn>2</mn></msup><mi>u</mi></mrow><mrow><mo>∂</mo><msup><mi>x</mi><mn>2</mn></msup></mrow></mfrac></math>
<p>Separation of variables gives solutions of the form <script type="math/tex">u = e^{-\\kappa k^2 t} \\sin(kx)</script>,
which decay faster for larger wave numbers, as the measurements in the table below confirm for three rods.</p>
<table><tr><th>Material</th><th>Diffusivity</th></tr><tr><td>Copper</td><td>111</td></tr>
<tr><td>Aluminium</td><td>97</td></tr><tr><td>Steel</td><td>18.8</td></tr></table>
</article><footer>Copyright 2026 Example Corp. All rights reserved. Privacy policy.</footer></body></html>"""


def _doc(html: str | None, text: str | None = None) -> dict:
    return {"id": "d1", "url": "https://example.org/heat", "html": html, "text": text}


def _run(step: ExtractStep, doc: dict) -> list[dict]:
    return list(step.run([doc]))


def test_article_keeps_math_as_latex_and_table_cells() -> None:
    step = ExtractStep()
    kept = _run(step, _doc(ARTICLE))
    assert len(kept) == 1
    text = kept[0]["text"]
    assert "diffusivity $\\kappa$ it reads" in text
    assert "$$\\frac{\\partial u}{\\partial t} = \\kappa \\frac{\\partial^2 u}{\\partial x^2}$$" in text
    assert "$u = e^{-\\kappa k^2 t} \\sin(kx)$" in text
    for cell in ("Material", "Diffusivity", "Copper", "111", "Aluminium", "97", "Steel", "18.8"):
        assert f"| {cell} |" in text or f"| {cell}" in text
    assert "About us" not in text and "All rights reserved" not in text
    assert step.stats.docs_out == 1


def test_without_math_conversion_the_formulas_are_lost() -> None:
    """The independent reference: plain trafilatura on the same page drops the script formula."""
    text = ExtractStep(ExtractConfig(keep_math=False)).extract_text(ARTICLE)[0]
    assert "\\sin(kx)" not in text and "$" not in text


def test_page_over_the_size_cap_is_rejected_without_its_html() -> None:
    step = ExtractStep(ExtractConfig(max_page_bytes=1000))
    assert _run(step, _doc(ARTICLE)) == []
    assert step.stats.rejected == {"page_too_large": 1}
    assert step.rejected[0]["reject_reason"] == "extract:page_too_large"
    assert step.rejected[0]["html"] is None


@pytest.mark.parametrize("limit", [1, 7, 100, 1000])
def test_the_size_cap_counts_utf8_bytes_without_always_encoding(limit: int) -> None:
    from sciloom.curation.extract import _over_byte_limit

    for unit in ("a", "é", "€", "𝔼", "\udc80"):  # 1, 2, 3, 4 bytes, and a lone surrogate (3, surrogatepass)
        for count in range(0, 2 * limit + 2, max(1, limit // 50)):
            text = unit * count
            size = len(text.encode("utf-8", "surrogatepass"))
            assert _over_byte_limit(text, limit) == (size > limit), (unit, count, limit)
            assert _over_byte_limit(text.encode("utf-8", "surrogatepass"), limit) == (size > limit)


def test_pathological_page_hits_the_time_limit() -> None:
    # Thousands of block elements: trafilatura needs a good fraction of a second for this page on any machine,
    # hundreds of times the 1 ms limit, so the limit fires however fast the machine is (no clock is read here).
    html = "<html><body>" + "".join(f"<div><p>Paragraph {i} with a few words.</p><span>x</span></div>"
                                    for i in range(4000)) + "</body></html>"
    step = ExtractStep(ExtractConfig(timeout_seconds=0.001, recall_escalation=False))
    assert _run(step, _doc(html)) == []
    assert step.stats.rejected == {"extract_timeout": 1}
    assert step.rejected[0]["reject_reason"] == "extract:extract_timeout"
    # interrupted, extraction still puts trafilatura's own settings back for its other users
    import trafilatura.core
    import trafilatura.xpaths
    from lxml import etree
    from trafilatura.utils import load_html

    assert all(isinstance(selector, etree.XPath) for selector in trafilatura.xpaths.BODY_XPATH)
    assert trafilatura.core.ESCALATION_MAX_LENGTH > 0
    assert type(load_html("<html><body><form></form></body></html>").find(".//form")).__name__ == "FormElement"

    # The same page under a generous limit extracts completely: the rejection above was the limit, not the page.
    text, reason = ExtractStep(ExtractConfig(timeout_seconds=600)).extract_text(html)
    assert reason is None and "Paragraph 3999" in text


def test_a_timeout_the_extractor_swallows_still_counts() -> None:
    """trafilatura catches every exception while parsing: the limit must fire through its `except`."""
    with pytest.raises(ExtractTimeout):
        with time_limit(0.01):
            try:
                while True:
                    pass
            except Exception:  # noqa: BLE001 — what trafilatura's load_html does
                pass


def test_page_without_text_and_text_only_documents() -> None:
    step = ExtractStep()
    assert _run(step, _doc("<html><body><script>var x = 1;</script></body></html>")) == []
    assert _run(step, _doc("")) == []
    passed = _run(step, _doc(None, text="Already extracted text from a WET record."))
    assert passed[0]["text"] == "Already extracted text from a WET record."
    assert step.stats.rejected == {"no_text": 2}


def _warc_pages(path: Path) -> dict[str, bytes]:
    with path.open("rb") as stream:
        return {record.rec_headers.get_header("WARC-Target-URI"): record.content_stream().read()
                for record in ArchiveIterator(stream) if record.rec_type == "response"}


def test_real_mathjax_page_from_dolma_fixtures(shared_data: Path) -> None:
    pages = _warc_pages(shared_data / "warc" / "dolma-tests" / "science-0.warc.gz")
    text, reason = ExtractStep().extract_text(pages["http://localhost:8000/math.html"])
    assert reason is None
    assert "inline equation: $E = mc^2$" in text
    assert "$$\\int_{a}^{b} f(x) \\,dx = F(b) - F(a)$$" in text


@pytest.mark.parametrize("name", ["sample-0000.warc.gz", "sample-0001.warc.gz"])
def test_real_crawl_pages_extract_or_count(shared_data: Path, name: str) -> None:
    step = ExtractStep()
    docs = [_doc(body.decode("utf-8", "replace")) for body in _warc_pages(shared_data / "warc" / "dolma-tests" / name).values()]
    kept = list(step.run(docs))
    assert step.stats.docs_in == len(docs) == len(kept) + sum(step.stats.rejected.values())
    assert len(kept) >= len(docs) // 2


def test_compiled_element_lookup_extracts_the_same_text(shared_data: Path) -> None:
    """The parser's compiled element lookup (every element a plain HtmlElement) changes no extracted text, on
    real pages with forms and selects: the elements whose class lxml.html's own lookup changes."""
    import gzip

    import trafilatura.utils
    from lxml.html import FormElement
    from trafilatura.utils import load_html

    from sciloom.curation.extract import compiled_element_lookup

    def has_form_class(page: str) -> bool:
        return any(isinstance(element, FormElement) for element in load_html(page).iter())

    files = sorted((shared_data / "extraction" / "trafilatura-evaldata" / "html").glob("*.gz"))
    pages = [page for page in (gzip.decompress(f.read_bytes()).decode("utf-8", "replace") for f in files)
             if "<form" in page and "<select" in page][:60]
    assert len(pages) == 60
    stock = [trafilatura.extract(page, include_comments=False) for page in pages]
    assert has_form_class(pages[0])
    with compiled_element_lookup():
        assert not has_form_class(pages[0])
        compiled = [trafilatura.extract(page, include_comments=False) for page in pages]
    assert has_form_class(pages[0])  # the stock parser again after our calls
    assert sum(text is not None for text in stock) >= 40
    assert compiled == stock


def test_recall_escalation_off_keeps_the_main_extraction_and_leaves_trafilatura_as_it_was(shared_data: Path) -> None:
    """trafilatura retries a short extraction in recall mode and with jusText, and keeps a clearly longer result;
    with `recall_escalation=False` those pages keep their first, shorter text, every other page is unchanged, and
    trafilatura called directly afterwards escalates as before."""
    import gzip
    import json

    import trafilatura

    folder = shared_data / "extraction" / "trafilatura-evaldata"
    annotations = sorted(json.loads((folder / "evaldata.json").read_text()).items())[:250]
    pages = [(url, gzip.decompress((folder / "html" / f"{item['file']}.gz").read_bytes())) for url, item in annotations]
    escalating, plain = ExtractStep(ExtractConfig()), ExtractStep(ExtractConfig(recall_escalation=False))
    changed = []
    for url, html in pages:
        with_escalation, without = escalating.extract_text(html, url)[0], plain.extract_text(html, url)[0]
        if with_escalation != without:
            changed.append((url, html, with_escalation, without))
    assert 1 <= len(changed) <= len(pages) // 10
    for _, _, with_escalation, without in changed:
        assert without is not None and len(without) < len(with_escalation)
    url, html, with_escalation, without = changed[0]
    stock = trafilatura.extract(html, url=url, include_comments=False, include_tables=True)
    assert len(stock) > len(without)  # the stock setting still escalates after our calls
