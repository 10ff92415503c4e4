"""MathML / MathJax / KaTeX → LaTeX on pages written here, and delimiter normalisation."""
from __future__ import annotations

import lxml.html
import pytest

from sciloom.curation.math_html import convert_math, mathml_to_latex, normalize_tex_delimiters


def _converted_text(html: str) -> str:
    tree = lxml.html.fromstring(html)
    convert_math(tree)
    return " ".join(tree.text_content().split())


@pytest.mark.parametrize(("mathml", "latex"), [
    ("<math><msup><mi>x</mi><mn>2</mn></msup></math>", "x^2"),
    ("<math><msub><mi>a</mi><mrow><mi>i</mi><mo>+</mo><mn>1</mn></mrow></msub></math>", "a_{i + 1}"),
    ("<math><mfrac><mn>1</mn><mi>n</mi></mfrac></math>", r"\frac{1}{n}"),
    ("<math><msqrt><mi>x</mi></msqrt></math>", r"\sqrt{x}"),
    ("<math><mroot><mi>x</mi><mn>3</mn></mroot></math>", r"\sqrt[3]{x}"),
    ("<math><munderover><mo>∑</mo><mrow><mi>i</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi></munderover><msub><mi>x</mi><mi>i</mi></msub></math>",
     r"\sum_{i = 1}^n x_i"),
    ("<math><mi>α</mi><mo>≤</mo><mi>β</mi></math>", r"\alpha \leq \beta"),
    ("<math><mi>sin</mi><mi>θ</mi></math>", r"\sin \theta"),
    ("<math><mover><mi>v</mi><mo>→</mo></mover></math>", r"\vec{v}"),
    ("<math><mi mathvariant='double-struck'>R</mi></math>", r"\mathbb{R}"),
])
def test_presentation_mathml_to_latex(mathml: str, latex: str) -> None:
    assert mathml_to_latex(lxml.html.fromstring(mathml)) == latex


def test_tex_annotation_is_preferred_over_presentation_markup() -> None:
    mathml = ('<math><semantics><mrow><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></mrow>'
              '<annotation encoding="application/x-tex">E = mc^{2}</annotation></semantics></math>')
    assert mathml_to_latex(lxml.html.fromstring(mathml)) == "E = mc^{2}"


def test_inline_and_display_mathml_in_a_page() -> None:
    text = _converted_text('<div><p>Energy <math><mi>E</mi></math> and</p>'
                           '<math display="block"><mi>F</mi><mo>=</mo><mi>m</mi><mi>a</mi></math><p>end</p></div>')
    assert "Energy $E$ and" in text
    assert "$$F = m a$$" in text


def test_mathjax_scripts_become_latex_and_rendered_copies_go() -> None:
    text = _converted_text(
        '<div><p>Let <span class="MathJax_Preview">x2</span><span class="MathJax">x2 glyphs</span>'
        '<script type="math/tex">x^2</script> be given, and</p>'
        '<script type="math/tex; mode=display">\\int_0^1 f</script></div>')
    assert "Let $x^2$ be given, and" in text
    assert "$$\\int_0^1 f$$" in text
    assert "glyphs" not in text and "x2" not in text


def test_katex_uses_its_annotation_and_display_wrapper() -> None:
    katex = ('<span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>y</mi></mrow>'
             '<annotation encoding="application/x-tex">{tex}</annotation></semantics></math></span>'
             '<span class="katex-html" aria-hidden="true">rendered glyphs</span></span>')
    text = _converted_text(f'<div><p>Inline {katex.format(tex="a+b")} here.</p>'
                           f'<span class="katex-display">{katex.format(tex="c^2")}</span></div>')
    assert "Inline $a+b$ here." in text
    assert "$$c^2$$" in text
    assert "rendered glyphs" not in text


def test_mathjax3_container_with_assistive_mathml() -> None:
    text = _converted_text('<p>Value <mjx-container class="MathJax" jax="CHTML"><mjx-math>glyphs</mjx-math>'
                           '<mjx-assistive-mml><math><mi>k</mi><mo>=</mo><mn>3</mn></math></mjx-assistive-mml>'
                           '</mjx-container> ok</p>')
    assert text == "Value $k = 3$ ok"


def test_tex_delimiters_in_text_are_normalised() -> None:
    assert normalize_tex_delimiters(r"inline \( E = mc^2 \) and \[ \int f \] and $x$") == \
        r"inline $E = mc^2$ and $$\int f$$ and $x$"


MATH_PAGES = [
    "<html><body><p>Energy <math><mi>E</mi></math></p></body></html>",
    "<html><body><p>Energy <m:math xmlns:m='http://www.w3.org/1998/Math/MathML'><m:mi>E</m:mi></m:math></p></body></html>",
    "<html><body><p>Let <script type='MATH/TEX'>x^2</script></p></body></html>",
    "<html><body><p>A <span class='katex'>rendered</span></p></body></html>",
    "<html><body><p>A <span class='MathJax_Preview'>x2</span></p></body></html>",
    "<html><body><p>A <mjx-container jax='CHTML'>glyphs</mjx-container></p></body></html>",
    "<html><body><p>A <span class='MJX-TEX'>glyphs</span></p></body></html>",
    "<html><body><p>A <img class='mwe-math-fallback-image-inline' alt='x'></p></body></html>",
]


@pytest.mark.parametrize("page", MATH_PAGES)
def test_every_kind_of_math_element_is_seen_by_the_raw_scan(page: str) -> None:
    from sciloom.curation.math_html import _CANDIDATES, may_hold_math

    assert len(_CANDIDATES(lxml.html.fromstring(page))) > 0  # the page has what convert_math visits
    for raw in (page, page.encode(), page.encode("utf-16"), page.encode("utf-16-le"), page.encode("utf-32")):
        assert may_hold_math(raw), raw[:40]
    assert not may_hold_math(page.replace("math", "mth").replace("MATH", "MTH").replace("katex", "ktx")
                             .replace("MathJax", "MJ").replace("mjx", "m").replace("MJX", "M"))


def test_a_utf16_page_keeps_its_formula() -> None:
    from sciloom.curation.extract import ExtractConfig, ExtractStep

    page = ("<html><head><meta charset='utf-16'><title>t</title></head><body><article><p>The energy of a body at "
            "rest is <math><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></math> as Einstein "
            "showed in 1905, and this relation is central to nuclear physics and to the physics of stars.</p>"
            "<p>It follows from special relativity and has been confirmed by many experiments since then.</p>"
            "</article></body></html>")
    text, reason = ExtractStep(ExtractConfig()).extract_text(page.encode("utf-16"))
    assert reason is None and "$E = m c^2$" in text


def test_pages_the_raw_scan_skips_have_no_math_element(shared_data) -> None:
    """On the 990 real evaluation pages, every page whose tree walk is skipped has nothing it would visit."""
    import gzip

    from trafilatura.utils import load_html

    from sciloom.curation.math_html import _CANDIDATES, may_hold_math

    pages = sorted((shared_data / "extraction" / "trafilatura-evaldata" / "html").glob("*.gz"))
    assert len(pages) > 900
    skipped = 0
    for path in pages:
        html = gzip.decompress(path.read_bytes())
        if not may_hold_math(html):
            skipped += 1
            tree = load_html(html)
            assert tree is None or not _CANDIDATES(tree), path.name
    assert skipped > len(pages) // 2  # the scan does skip most pages, or it would save nothing
