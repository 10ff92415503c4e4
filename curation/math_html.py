"""Math in HTML → LaTeX text, done on the parsed page before main-text extraction.

Extractors drop `<script>` and `<math>` elements and flatten rendered MathJax/KaTeX into glyph soup, so a
scientific page would lose its equations. We replace every math element by a plain text node holding its
LaTeX source, `$...$` inline and `$$...$$` for display math, which the extractor then keeps like any text:

- MathML `<math>`: the `annotation encoding="application/x-tex"` when the page ships one (KaTeX, Wikipedia,
  MathJax's assistive MathML), otherwise a translation of the presentation elements (mi, mn, mo, msup,
  msub, msubsup, mfrac, msqrt, mroot, mrow, munder, mover, munderover, mtable, mfenced, mtext, ...).
- MathJax sources `<script type="math/tex">` (`; mode=display` for display math); MathJax's rendered
  copies (`.MathJax`, `.MathJax_Preview`, `mjx-container` output) are removed so nothing is duplicated.
- KaTeX `.katex` spans (their `annotation`), display when inside `.katex-display`.
- TeX delimiters already in the text, `\\(..\\)` and `\\[..\\]`, are normalised to `$..$` / `$$..$$` in the
  extracted text (`normalize_tex_delimiters`); `$..$` and `$$..$$` pass through untouched.
"""
from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

TEX_ENCODINGS = ("application/x-tex", "tex", "text/x-tex", "application/x-latex")

# Glyphs a MathML <mo>/<mi> may carry that have a LaTeX command of their own.
_SYMBOLS = {
    "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∮": r"\oint", "∞": r"\infty", "∂": r"\partial", "∇": r"\nabla",
    "±": r"\pm", "∓": r"\mp", "×": r"\times", "÷": r"\div", "·": r"\cdot", "⋅": r"\cdot", "∘": r"\circ",
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "≡": r"\equiv", "∼": r"\sim", "≃": r"\simeq",
    "∝": r"\propto", "→": r"\to", "←": r"\leftarrow", "↔": r"\leftrightarrow", "⇒": r"\Rightarrow",
    "⇔": r"\Leftrightarrow", "↦": r"\mapsto", "∈": r"\in", "∉": r"\notin", "⊂": r"\subset", "⊆": r"\subseteq",
    "⊃": r"\supset", "∪": r"\cup", "∩": r"\cap", "∅": r"\emptyset", "∀": r"\forall", "∃": r"\exists",
    "¬": r"\neg", "∧": r"\wedge", "∨": r"\vee", "⊗": r"\otimes", "⊕": r"\oplus", "…": r"\ldots", "⋯": r"\cdots",
    "′": "'", "−": "-", "⁡": "", "⁢": "", "⁣": ",",
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\epsilon", "ϵ": r"\epsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu",
    "ν": r"\nu", "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "υ": r"\upsilon",
    "φ": r"\phi", "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta",
    "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi", "Σ": r"\Sigma", "Φ": r"\Phi", "Ψ": r"\Psi",
    "Ω": r"\Omega", "ℏ": r"\hbar", "ℓ": r"\ell", "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}",
    "ℚ": r"\mathbb{Q}", "ℂ": r"\mathbb{C}",
}
_FUNCTION_NAMES = {"sin", "cos", "tan", "log", "ln", "exp", "lim", "max", "min", "sup", "inf", "det", "arg"}
_MATHJAX_RENDERED = re.compile(r"\b(MathJax|MathJax_Preview|MathJax_Display|MathJax_SVG|MathJax_CHTML|MJX_Assistive_MathML)\b")
# Only elements that may hold math are visited (XPath runs in C: most pages have none, and this stays cheap).
_CANDIDATES = etree.XPath(
    '//*[local-name()="math" or substring-after(local-name(), ":")="math" or local-name()="mjx-container"]'
    ' | //script[starts-with(translate(@type, "MATHTEX", "mathtex"), "math/tex")]'
    ' | //*[contains(@class, "katex") or contains(@class, "MathJax") or contains(@class, "MJX")'
    ' or contains(@class, "mwe-math-fallback-image")]')
# Every element `_CANDIDATES` selects has one of these (lower-cased) in its tag, type or class attribute: "katex",
# "mjx", or "math" followed by what makes it markup (plain "math" is in most pages' scripts: Math.floor).
_BYTE_MARKERS = ((b"katex", b"mjx"), b"math", (b"<math", b":math", b"math/tex", b"mathjax", b"mwe-math"))
_INLINE_PAREN = re.compile(r"\\\((.+?)\\\)", re.DOTALL)
_DISPLAY_BRACKET = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)


def may_hold_math(html: str | bytes) -> bool:
    """False only for a page none of whose elements `convert_math` could visit: the raw page names no math
    element, MathJax or KaTeX (substring scans in C, ~0.4 ms a page, where the tree walk costs ~1.6 ms; 925 of the
    990 evaluation pages skip it). Bytes that may be UTF-16 or UTF-32 (a NUL near the start) cannot be scanned as
    ASCII, and are always visited. Text is scanned as its UTF-8 bytes: the markers and `_CANDIDATES`' own tests are
    ASCII, and lower-casing bytes costs half of str.lower() on a 100 KB page."""
    if isinstance(html, bytes):
        if b"\x00" in html[:1024]:
            return True
    else:
        html = html.encode("utf-8", "surrogatepass")
    always, math, math_markers = _BYTE_MARKERS
    lowered = html.lower()
    return any(marker in lowered for marker in always) or (
        math in lowered and any(marker in lowered for marker in math_markers))


def convert_math(tree: HtmlElement) -> int:
    """Replace every math element of the tree by its LaTeX text; returns how many were converted."""
    converted = 0
    for element in _CANDIDATES(tree):
        if _is_detached(element, tree):
            continue
        tag = _local_name(element.tag)
        if tag == "script" and (element.get("type") or "").lower().startswith("math/tex"):
            display = "mode=display" in (element.get("type") or "").lower()
            _replace_with_text(element, _delimit((element.text or "").strip(), display))
            converted += 1
        elif _has_class(element, "katex"):
            tex = _tex_annotation(element)
            if tex is not None:
                _replace_with_text(element, _delimit(tex, _inside_class(element, "katex-display")))
                converted += 1
        elif tag == "mjx-container":
            math = next((m for m in element.iter(etree.Element) if _local_name(m.tag) == "math"), None)
            if math is None:
                _drop(element)  # MathJax 3 output without assistive MathML: its source script carries the TeX.
            else:
                _replace_with_text(element, _delimit(mathml_to_latex(math), element.get("display") == "true"))
                converted += 1
        elif tag == "math":
            _replace_with_text(element, _delimit(mathml_to_latex(element), element.get("display") == "block"))
            converted += 1
        elif _MATHJAX_RENDERED.search(element.get("class") or "") or "mwe-math-fallback-image" in (element.get("class") or ""):
            _drop(element)
    return converted


def normalize_tex_delimiters(text: str) -> str:
    r"""`\(x\)` → `$x$` and `\[x\]` → `$$x$$`, so every formula in the output uses one notation."""
    if "\\(" in text:
        text = _INLINE_PAREN.sub(lambda m: f"${m.group(1).strip()}$", text)
    if "\\[" in text:
        text = _DISPLAY_BRACKET.sub(lambda m: f"$${m.group(1).strip()}$$", text)
    return text


def mathml_to_latex(math: etree._Element) -> str:
    """LaTeX of a MathML element: its TeX annotation when present, else its presentation markup."""
    tex = _tex_annotation(math)
    if tex is not None:
        return tex
    return _squash(_node(math))


def _tex_annotation(element: etree._Element) -> str | None:
    for node in element.iter(etree.Element):
        if _local_name(node.tag) == "annotation" and (node.get("encoding") or "").lower() in TEX_ENCODINGS:
            return (node.text or "").strip()
    return None


def _node(el: etree._Element) -> str:
    tag = _local_name(el.tag)
    kids = [k for k in el if isinstance(k.tag, str)]
    args = [_node(k) for k in kids]
    if tag in ("mi", "mn", "mo", "mtext", "ms"):
        return _token(tag, "".join(el.itertext()).strip(), el.get("mathvariant"))
    if tag == "mspace":
        return " "
    if tag in ("annotation", "annotation-xml"):
        return ""
    if tag == "semantics":
        return args[0] if args else ""
    if tag == "msup" and len(args) == 2:
        return f"{_base(args[0])}^{_group(args[1])}"
    if tag == "msub" and len(args) == 2:
        return f"{_base(args[0])}_{_group(args[1])}"
    if tag == "msubsup" and len(args) == 3:
        return f"{_base(args[0])}_{_group(args[1])}^{_group(args[2])}"
    if tag == "mfrac" and len(args) == 2:
        return rf"\frac{{{args[0]}}}{{{args[1]}}}"
    if tag == "msqrt":
        return rf"\sqrt{{{' '.join(args)}}}"
    if tag == "mroot" and len(args) == 2:
        return rf"\sqrt[{args[1]}]{{{args[0]}}}"
    if tag in ("munder", "munderover", "mover") and args:
        return _under_over(tag, args)
    if tag == "mfenced":
        open_, close = el.get("open", "("), el.get("close", ")")
        return f"\\left{open_}{el.get('separators', ',')[:1].join(args)}\\right{close}"
    if tag == "mtable":
        return r"\begin{matrix}" + r" \\ ".join(args) + r"\end{matrix}"
    if tag in ("mtr", "mlabeledtr"):
        return " & ".join(args)
    if tag == "menclose":
        return rf"\boxed{{{' '.join(args)}}}"
    # math, mrow, mstyle, mpadded, mphantom, mtd, merror and anything unknown: concatenate the children.
    return " ".join(a for a in args if a)


def _token(tag: str, text: str, variant: str | None) -> str:
    if tag == "mtext":
        return rf"\text{{{text}}}" if text else ""
    if text in _FUNCTION_NAMES:
        return "\\" + text
    if len(text) == 1 and text in _SYMBOLS:
        return _SYMBOLS[text]
    if text in ("{", "}"):
        return "\\" + text
    if tag == "mi" and len(text) == 1 and variant in ("double-struck", "bold", "script", "fraktur"):
        command = {"double-struck": "mathbb", "bold": "mathbf", "script": "mathcal", "fraktur": "mathfrak"}[variant]
        return rf"\{command}{{{text}}}"
    if tag == "mi" and len(text) > 1:
        return rf"\mathrm{{{text}}}"
    return "".join(_SYMBOLS.get(ch, ch) for ch in text)


def _under_over(tag: str, args: list[str]) -> str:
    base = args[0]
    big_operator = base in (r"\sum", r"\prod", r"\int", r"\lim", r"\max", r"\min", r"\sup", r"\inf", r"\oint")
    if tag == "munderover" and len(args) == 3:
        return f"{base}_{_group(args[1])}^{_group(args[2])}" if big_operator else rf"\overset{{{args[2]}}}{{\underset{{{args[1]}}}{{{base}}}}}"
    if tag == "munder" and len(args) == 2:
        return f"{base}_{_group(args[1])}" if big_operator else rf"\underset{{{args[1]}}}{{{base}}}"
    if tag == "mover" and len(args) == 2:
        # The accent arrives already translated (→ is \to by now).
        accents = {"^": r"\hat", "ˆ": r"\hat", "¯": r"\bar", "‾": r"\overline", r"\to": r"\vec", "~": r"\tilde", "˙": r"\dot"}
        if args[1] in accents:
            return f"{accents[args[1]]}{{{base}}}"
        return rf"\overset{{{args[1]}}}{{{base}}}"
    return " ".join(args)


def _group(arg: str) -> str:
    return arg if len(arg) == 1 else f"{{{arg}}}"


def _base(arg: str) -> str:
    # A compound base needs braces, or the script would attach to its last character only.
    return arg if len(arg) == 1 or arg.startswith("\\") and " " not in arg else f"{{{arg}}}"


def _squash(tex: str) -> str:
    return re.sub(r"\s+", " ", tex).strip()


def _delimit(tex: str, display: bool) -> str:
    tex = _squash(tex)
    if not tex:
        return ""
    return f"$${tex}$$" if display else f"${tex}$"


def _local_name(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _has_class(element: etree._Element, name: str) -> bool:
    return name in (element.get("class") or "").split()


def _inside_class(element: etree._Element, name: str) -> bool:
    return any(_has_class(parent, name) for parent in element.iterancestors())


def _is_detached(element: etree._Element, root: etree._Element) -> bool:
    """True once an ancestor was replaced earlier in this walk (the element left the tree with it)."""
    for ancestor in element.iterancestors():
        if ancestor is root:
            return False
    return element is not root


def _replace_with_text(element: etree._Element, text: str) -> None:
    """Put `text` where the element was, keeping its tail (the extractor unwraps the span)."""
    parent = element.getparent()
    if parent is None:
        return
    replacement = parent.makeelement("span", {})
    replacement.text = text
    replacement.tail = element.tail
    parent.replace(element, replacement)


def _drop(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)
