"""Reading JATS XML, the format of PubMed Central's articles (`.nxml`, `.xml`): a document per article.

An article becomes its title, its abstract (and its summaries for lay readers) and its body, as a reader meets them:
section titles on lines of their own, paragraphs separated by blank lines, lists as one line per item (`- ` first; a
nested list's items indented under theirs), figure and table captions as paragraphs, tables in Markdown (`| a | b |`
rows, a rule under a header row: as extraction writes an HTML table), math as LaTeX (`$..$` inline, `$$..$$` on
lines of their own: the article's `tex-math` when it gives one, else its MathML translated by
`math_html.mathml_to_latex`); figures and tables gathered after the body (`floats-group`) come last. The reference
list, acknowledgements, footnotes, author notes and supplementary material are left out; appendices stay. A
sub-article (a decision letter, the authors' response, a translation) is a document of its own.

The XML is parsed without its DTD and without the network (PubMed Central's files name a DTD on the web); a named
entity the DTD would define (`&ndash;`) is read as HTML defines it. A file that is not well-formed XML (a truncated
download) is skipped as `malformed_xml`, one whose root is not a JATS `<article>` as `not_a_jats_article`.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator

from lxml import etree

from sciloom.curation.document import STRUCTURED, Document
from sciloom.curation.math_html import mathml_to_latex
from sciloom.curation.read_warc import DEFAULT_MAX_RECORD_BYTES, READER_COLUMNS, reader_document, source_name
from sciloom.curation.step import Reader

JATS_SUFFIXES = (".nxml", ".xml")
MALFORMED = "malformed_xml"
NOT_AN_ARTICLE = "not_a_jats_article"

_PARSER = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
                          remove_comments=True, remove_pis=True)
# Blocks whose content is not the article's text.
_LEFT_OUT = frozenset({"ref-list", "ack", "fn-group", "fn", "notes", "author-notes", "supplementary-material",
                       "graphic", "media", "alt-text", "long-desc", "permissions", "object-id", "label",
                       "inline-graphic", "glossary"})
_BLOCKS = frozenset({"p", "sec", "title", "list", "list-item", "fig", "table-wrap", "caption", "disp-formula",
                     "boxed-text", "disp-quote", "statement", "def-list", "app", "app-group", "abstract", "table",
                     "verse-group", "speech", "def-item", "term", "def", "fig-group", "table-wrap-group"})
_MAIN_ABSTRACT = (None, "structured")
_SUMMARIES = ("summary", "author-summary", "executive-summary", "plain-language-summary", "lay-summary", "key-points")
# PubMed Central's tex-math often holds a whole LaTeX document around the formula.
_TEX_DOCUMENT = re.compile(r"\\begin\{document\}(.*?)\\end\{document\}", re.DOTALL)
_TEX_DELIMITERS = re.compile(r"^\s*(?:\$\$|\$|\\\[|\\\()\s*|\s*(?:\$\$|\$|\\\]|\\\))\s*$")


def article_texts(xml: bytes) -> tuple[list[tuple[str, str]], str | None]:
    """([(part, text)], None): the article's text (part "") and that of each of its sub-articles (part
    `/sub-article/<its id or number>`: eLife's decision letter and the authors' response, a peer-review report, a
    translation), each a document of its own; or ([], the reason there is none: `malformed_xml`,
    `not_a_jats_article`)."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError:
        return [], MALFORMED
    if root is None:
        return [], MALFORMED
    if _name(root) != "article":
        return [], NOT_AN_ARTICLE
    texts = [("", _text(root, _first(root, "front", "article-meta")))]
    subs = [element for element in root.iter("{*}sub-article", "sub-article")]
    for number, sub in enumerate(subs, 1):
        stub = next((child for child in sub if _name(child) in ("front-stub", "front")), None)
        if stub is not None and _name(stub) == "front":
            stub = _first(stub, "article-meta")
        if text := _text(sub, stub):
            texts.append((f"/sub-article/{sub.get('id') or number}", text))
    return texts, None


def _text(article: etree._Element, meta: etree._Element | None) -> str:
    """An article's (or a sub-article's) title, abstracts, body, appendices and floats, as one text."""
    blocks: list[str] = []
    if meta is not None:
        title = _first(meta, "title-group", "article-title")
        if title is not None:
            blocks.append(_inline(title))
        for abstract, is_main in _abstracts(meta):
            _blocks(abstract, blocks, heading=not is_main)
    for part in (_first(article, "body"), _first(article, "back", "app-group"), _first(article, "floats-group")):
        if part is not None:
            _blocks(part, blocks)
    return "\n\n".join(block for block in blocks if block.strip())


def _abstracts(meta: etree._Element) -> list[tuple[etree._Element, bool]]:
    """(abstract, whether it is the article's own) of the abstracts kept, in order: the article's own (the first
    without a type, or structured; else the first summary) and the summaries written for readers outside the field
    (PLOS's author summary, eLife's digest, JAMA's key points), each under its own title. Graphical abstracts,
    teasers and table-of-contents blurbs say the abstract again in a line; translated abstracts are in another
    language."""
    found = [a for a in meta if _name(a) == "abstract" and a.get("abstract-type") in (*_MAIN_ABSTRACT, *_SUMMARIES)]
    main = next((a for a in found if a.get("abstract-type") in _MAIN_ABSTRACT), found[0] if found else None)
    return [(a, a is main) for a in found if a is main or a.get("abstract-type") in _SUMMARIES]


def _name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _first(element: etree._Element, *path: str) -> etree._Element | None:
    for name in path:
        element = next((child for child in element if _name(child) == name), None)
        if element is None:
            return None
    return element


def _blocks(element: etree._Element, out: list[str], heading: bool = True) -> None:
    """The block-level content of `element` appended to `out`, one string per paragraph, title, item or row."""
    inline: list[str] = []  # text directly inside a block that also holds blocks (a <sec>'s stray text)

    def flush() -> None:
        if "".join(inline).strip():
            out.append(" ".join("".join(inline).split()))
        inline.clear()

    if element.text:
        inline.append(element.text)
    for child in element:
        name = _name(child)
        if isinstance(child, etree._Entity):
            inline.append(html.unescape(child.text))
        elif name in _LEFT_OUT or name == "":
            pass
        elif name == "title":
            flush()
            if heading:
                out.append(_inline(child))
        elif name == "p" and not any(_name(c) in _BLOCKS for c in child):
            flush()
            out.append(_inline(child))
        elif name == "disp-formula":
            flush()
            tex = _formula(child)
            if tex:
                out.append(f"$${tex}$$")
        elif name == "list-item" or name == "def-item":
            flush()
            items: list[str] = []
            _blocks(child, items)
            # A list inside an item: its items on lines of their own under the item's, indented.
            nested = [line for item in items if item.startswith("- ") for line in item.split("\n")]
            own = " ".join(item for item in items if not item.startswith("- "))
            if own or nested:
                out.append("\n".join(["- " + own] * bool(own) + ["  " + line for line in nested]))
        elif name == "tr":
            flush()
            cells = [cell for cell in child if _name(cell) in ("td", "th")]
            texts = [_inline(cell) for cell in cells]
            if any(texts):
                out.append("| " + " | ".join(texts) + " |")
                if all(_name(cell) == "th" for cell in cells):
                    out.append("|" + "---|" * len(cells))
        elif name in ("list", "def-list", "table", "array"):
            flush()
            lines: list[str] = []  # a list's items and a table's rows stay together, a line each
            _blocks(child, lines)
            if lines:
                out.append("\n".join(lines))
        elif name in _BLOCKS or name in ("thead", "tbody", "tfoot", "table-wrap-foot"):
            flush()
            _blocks(child, out)
        else:
            inline.append(_inline(child))
        if child.tail:
            inline.append(child.tail)
    flush()


def _inline(element: etree._Element) -> str:
    """The text of an inline element (or of a paragraph), its formulas as `$..$`, spaces collapsed."""
    parts: list[str] = [element.text or ""]
    for child in element:
        name = _name(child)
        if name == "inline-formula" or name == "disp-formula":
            tex = _formula(child)
            parts.append(f"${tex}$" if tex else "")
        elif name == "math":
            parts.append(f"${mathml_to_latex(child)}$")
        elif isinstance(child, etree._Entity):
            parts.append(html.unescape(child.text))
        elif name not in _LEFT_OUT and name != "":
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _formula(element: etree._Element) -> str:
    """A formula's LaTeX: its `tex-math` (unwrapped from a whole document and its delimiters) or its MathML's."""
    for node in element.iter():
        if _name(node) == "tex-math":
            tex = "".join(node.itertext())
            inner = _TEX_DOCUMENT.search(tex)
            tex = inner.group(1) if inner is not None else tex
            return " ".join(_TEX_DELIMITERS.sub("", tex.strip()).split())
    for node in element.iter():
        if _name(node) == "math":
            return mathml_to_latex(node)
    return _inline(element)


class JatsFileReader(Reader):
    """One JATS article per file (plain or compressed; local path or fsspec URL)."""

    name = "read_jats"
    columns = READER_COLUMNS

    def __init__(self, source: str | None = None, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> None:
        super().__init__()
        self.source, self.max_record_bytes = source, max_record_bytes

    def read(self, location: str, name: str | None = None) -> Iterator[Document]:
        self.stats.docs_in += 1
        if (body := self.read_capped(location, self.max_record_bytes)) is None:
            return
        yield from article_documents(self, body, self.source or source_name(location), name or location,
                                     self.max_record_bytes)


def article_documents(reader: Reader, body: bytes, source: str, locator: str,
                      max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Iterator[Document]:
    """The documents of one article's XML (counted by `reader` as one input, kept or skipped with its reason; a
    sub-article's document as one more): the article named by `locator`, a sub-article by `locator` and its part;
    `body` read up to one byte over the record cap."""
    if len(body) > max_record_bytes:
        reader.skip("record_too_large")
        return
    texts, problem = article_texts(body)
    if problem is not None:
        reader.skip(problem)
        return
    reader.stats.bytes_in += len(body)
    for part, text in texts:
        reader.stats.docs_in += part != ""
        doc = reader_document(source, locator + part, None, text=text)
        doc[STRUCTURED] = True
        reader.keep(doc)
        yield doc
