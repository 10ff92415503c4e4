"""trafilatura's element-selecting XPath expressions, compiled to Python tests over lxml elements.

trafilatura decides what to prune and where the article body is with XPath expressions full of EXSLT regular
expressions (`re:test(@class, '...')`). lxml evaluates each `re:test` by calling back into Python for every
candidate element, with the attribute turned into a "smart" string that carries its parent element: on the crawl
mix's pages that reach extraction these expressions take about a third of extraction's CPU, most of it in those
callbacks. The same selection written as one Python test per element, over lxml's C-level tag filter, does the
work without the callback machinery.

`compile_xpath` accepts the subset of XPath 1.0 that trafilatura's selectors use and rejects anything else
(`UnsupportedXPath`), so an expression it does not understand keeps lxml's own evaluation. The semantics kept:

- `.//T` selects descendants of the context element (not the element itself; lxml evaluates on a whole tree
  from its root element), in document order; `*` any element, not comments or processing instructions.
- A string function of an attribute union (`@id|@class`) sees the first of those attributes in the element's
  attribute order (XPath's document order), or '' when none is present; `re:test` searches with Python's `re`,
  as lxml's EXSLT implementation does, with `'i'` for IGNORECASE.
- `@a='v'` is true when any attribute of the union has that value; `@a` alone when it is present.
- `.//T[...][1]` keeps the first match among each parent's children; `(.//T[...])[1]` the first in the document.
- `A|B|C` of unpositioned paths: every element that any branch selects, once, in document order.

`re:` is taken to be the EXSLT regular-expressions namespace, as trafilatura binds it. The compiled test is a
generated Python function (each attribute read once per element), executed once at import: the inputs are
trafilatura's own constant expressions, every string literal goes through repr(), and names come from the grammar
only. tests/curation/test_xpath_to_python.py checks each compiled expression against lxml's result
on real pages and on attribute-order and nesting cases written for it.
"""
from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

import trafilatura.xpaths
from lxml import etree

_TOKEN = re.compile(r"""\s*(?:('[^']*'|"[^"]*")|(\.//|::|[\[\]()|,=@*])|([A-Za-z_][\w-]*(?::[A-Za-z_][\w-]*)?)|(\d+))""")


class UnsupportedXPath(ValueError):
    """The expression uses XPath beyond the subset compiled here; lxml keeps evaluating it."""


def _tokens(path: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    path = path.strip()
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise UnsupportedXPath(f"cannot read {path[position:position + 20]!r}")
        string, symbol, name, number = match.groups()
        if string is not None:
            tokens.append(("string", string[1:-1]))
        elif symbol is not None:
            tokens.append(("symbol", symbol))
        elif name is not None:
            tokens.append(("name", name))
        else:
            tokens.append(("number", number))
        position = match.end()
    return tokens


@dataclass(frozen=True)
class _Expr:
    """A boolean XPath expression as Python source over `el`, and its value on an element without attributes
    (True or False whatever its tag and descendants; None when those decide)."""

    source: str
    bare: bool | None


def _all_of(values: Iterable[bool | None]) -> bool | None:
    values = list(values)
    return False if any(v is False for v in values) else True if all(v is True for v in values) else None


@dataclass
class _Branch:
    """One `.//tag[test]` path: the tags it can select (None: any element) and its test, a Python expression
    over `el`."""

    tags: tuple[str, ...] | None
    test: _Expr


class _Parser:
    """Recursive descent over the token list, emitting Python source; constants go into `namespace`."""

    def __init__(self, path: str) -> None:
        self.tokens = _tokens(path)
        self.at = 0
        self.namespace: dict[str, object] = {"_first_of": _first_of, "_has_descendant": _has_descendant}
        # each attribute the expression reads is read once per element, into a local named here
        self.attribute_locals: dict[str, str] = {}
        self.reads_tag = False

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise UnsupportedXPath(f"expected {value or kind}, found {token}")
        self.at += 1
        return token[1]

    def accept(self, kind: str, value: str) -> bool:
        if self.peek() == (kind, value):
            self.at += 1
            return True
        return False

    def attribute(self, name: str) -> str:
        return self.attribute_locals.setdefault(name, f"a{len(self.attribute_locals)}")

    def constant(self, value: object) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def done(self) -> None:
        if self.peek() is not None:
            raise UnsupportedXPath(f"unexpected {self.peek()}")

    # path := './/' nodetest predicate* ; a trailing [1] is returned apart, as the caller decides its meaning
    def path(self) -> tuple[_Branch, bool]:
        self.take("symbol", ".//")
        tags = None if self.accept("symbol", "*") else (self.take("name"),)
        if tags is None:
            tags = self.self_axis_tags()
        tests, first = [], False
        while self.accept("symbol", "["):
            if self.peek() == ("number", "1"):
                self.at += 1
                first = True
            elif first:
                raise UnsupportedXPath("a predicate after [1]")
            else:
                tests.append(self.or_expression())
            self.take("symbol", "]")
        test = _Expr(" and ".join(f"({t.source})" for t in tests) or "True", _all_of(t.bare for t in tests))
        return _Branch(tags, test), first

    def self_axis_tags(self) -> tuple[str, ...] | None:
        """`*[self::a or self::b]` as the tags (a, b), so that lxml's C-level tag filter does the choosing."""
        tags, at = [], self.at
        if self.tokens[at:at + 1] != [("symbol", "[")]:
            return None
        at += 1
        while self.tokens[at:at + 2] == [("name", "self"), ("symbol", "::")] and at + 2 < len(self.tokens):
            kind, tag = self.tokens[at + 2]
            if kind != "name":
                return None
            tags.append(tag)
            at += 3
            if self.tokens[at:at + 1] == [("symbol", "]")]:
                self.at = at + 1
                return tuple(tags)
            if self.tokens[at:at + 1] != [("name", "or")]:
                return None
            at += 1
        return None

    def or_expression(self) -> _Expr:
        parts = [self.and_expression()]
        while self.accept("name", "or"):
            parts.append(self.and_expression())
        bare = True if any(p.bare is True for p in parts) else False if all(p.bare is False for p in parts) else None
        return _Expr(" or ".join(p.source for p in parts), bare)

    def and_expression(self) -> _Expr:
        parts = [self.term()]
        while self.accept("name", "and"):
            parts.append(self.term())
        return _Expr(" and ".join(p.source for p in parts), _all_of(p.bare for p in parts))

    def term(self) -> _Expr:
        if self.accept("symbol", "("):
            inner = self.or_expression()
            self.take("symbol", ")")
            return _Expr(f"({inner.source})", inner.bare)
        if self.accept("symbol", ".//"):
            return _Expr(f"_has_descendant(el, {self.take('name')!r})", None)
        if self.peek() == ("symbol", "@"):
            names = self.attributes()
            if self.accept("symbol", "="):
                value = self.take("string")
                return _Expr(" or ".join(f"({self.attribute(name)} == {value!r})" for name in names), False)
            return _Expr(" or ".join(f"({self.attribute(name)} is not None)" for name in names), False)
        name = self.take("name")
        if name == "self":
            self.take("symbol", "::")
            self.reads_tag = True
            return _Expr(f"(tag == {self.take('name')!r})", None)
        self.take("symbol", "(")
        if name == "not":
            inner = self.or_expression()
            self.take("symbol", ")")
            return _Expr(f"(not ({inner.source}))", None if inner.bare is None else not inner.bare)
        if name == "re:test":
            subject = self.string_value()
            self.take("symbol", ",")
            pattern = self.take("string")
            flags = self.take("string") if self.accept("symbol", ",") else ""
            self.take("symbol", ")")
            if set(flags) - {"i"}:
                raise UnsupportedXPath(f"re:test flags {flags!r}")
            compiled = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
            return _Expr(f"({self.constant(compiled)}.search({subject}) is not None)", compiled.search("") is not None)
        if name in ("contains", "starts-with"):
            subject = self.string_value()
            self.take("symbol", ",")
            needle = self.take("string")
            self.take("symbol", ")")
            source = f"({needle!r} in {subject})" if name == "contains" else f"{subject}.startswith({needle!r})"
            return _Expr(source, needle == "")
        raise UnsupportedXPath(f"function {name}()")

    def attributes(self) -> tuple[str, ...]:
        names = []
        while True:
            self.take("symbol", "@")
            names.append(self.take("name"))
            if not (self.peek() == ("symbol", "|") and self.peek(1) == ("symbol", "@")):
                return tuple(names)
            self.at += 1

    # the string value of an attribute union, or of translate() over one
    def string_value(self) -> str:
        if self.accept("name", "translate"):
            self.take("symbol", "(")
            subject = self.string_value()
            self.take("symbol", ",")
            source = self.take("string")
            self.take("symbol", ",")
            target = self.take("string")
            self.take("symbol", ")")
            # XPath's translate: characters of `source` beyond `target`'s length are removed
            table = str.maketrans(source[:len(target)], target[:len(source)], source[len(target):])
            return f"{subject}.translate({self.constant(table)})"
        names = self.attributes()
        if len(names) == 1:
            return f"({self.attribute(names[0])} or '')"
        if len(names) == 2:
            # the element's attribute list decides only when both are present
            first, second = (self.attribute(name) for name in names)
            return (f"(({second} or '') if {first} is None else {first} if {second} is None "
                    f"else _first_of(el, {names!r}))")
        return f"_first_of(el, {names!r})"


def _first_of(el: etree._Element, names: tuple[str, ...]) -> str:
    for name, value in el.items():
        if name in names:
            return value
    return ""


def _has_descendant(el: etree._Element, tag: str) -> bool:
    return next(el.iterdescendants(tag), None) is not None


def _candidates(context: etree._Element | etree._ElementTree, tags: tuple[str, ...] | None) -> Iterator[etree._Element]:
    # lxml's XPath called on a whole tree evaluates from its root element, as on that element
    root = context.getroot() if isinstance(context, etree._ElementTree) else context
    return root.iterdescendants(*(tags if tags is not None else (etree.Element,)))


class CompiledXPath:
    """Callable like lxml's XPath on an element or tree: the selected elements, as a list in document order."""

    def __init__(self, path: str) -> None:
        self.path = path
        parser = _Parser(path)
        if parser.peek() == ("symbol", "("):
            parser.take("symbol", "(")
            branch, first = parser.path()
            if first:
                raise UnsupportedXPath("[1] inside parentheses")
            parser.take("symbol", ")")
            parser.take("symbol", "[")
            parser.take("number", "1")
            parser.take("symbol", "]")
            parser.done()
            branches, self._mode = [branch], "first_in_document"
        else:
            branch, first = parser.path()
            branches = [branch]
            while parser.accept("symbol", "|"):
                branch, positioned = parser.path()
                branches.append(branch)
                first = first or positioned
            parser.done()
            if first and len(branches) > 1:
                raise UnsupportedXPath("[1] in a union")
            self._mode = "first_per_parent" if first else "all"
        self._tags = (None if any(b.tags is None for b in branches)
                      else tuple(dict.fromkeys(tag for b in branches for tag in b.tags)))
        if len(branches) == 1:
            expression = branches[0].test.source
        else:
            parser.reads_tag = True
            expression = " or ".join(f"({b.test.source})" if b.tags is None else f"(tag in {b.tags!r} and ({b.test.source}))"
                                     for b in branches)
        lines = ["def test(el):"]
        if all(b.test.bare is False for b in branches):
            # most elements carry no attribute at all: one cheap look instead of every attribute's
            lines.append("    if not el.keys(): return False")
        lines += [f"    {local} = el.get({name!r})" for name, local in parser.attribute_locals.items()]
        if parser.reads_tag:
            lines.append("    tag = el.tag")
        lines.append(f"    return {expression}")
        self.source = "\n".join(lines)
        exec(self.source, parser.namespace)  # noqa: S102
        self._test: Callable[[etree._Element], bool] = parser.namespace["test"]

    def __call__(self, context: etree._Element | etree._ElementTree) -> list[etree._Element]:
        test = self._test
        candidates = _candidates(context, self._tags)
        if self._mode == "all":
            return [el for el in candidates if test(el)]
        if self._mode == "first_in_document":
            return next(([el] for el in candidates if test(el)), [])
        selected, parents = [], set()
        for el in candidates:
            if test(el):
                parent = el.getparent()
                if parent not in parents:
                    parents.add(parent)
                    selected.append(el)
        return selected

    def __repr__(self) -> str:
        return f"CompiledXPath({' '.join(self.path.split())!r})"


def compile_xpath(path: str) -> CompiledXPath:
    """The expression as a Python selector, or UnsupportedXPath when it leaves the subset above."""
    return CompiledXPath(path)


# trafilatura's selectors live in lists (trafilatura.xpaths) that its modules import by reference, and one in
# trafilatura.baseline's globals: swapping the entries in place reaches every caller.
_BASELINE = importlib.import_module("trafilatura.baseline")


def _selector_slots() -> tuple[list[_Slot], list[str]]:
    slots, left_to_lxml = [], []
    places: list[tuple[str, list | ModuleType, int | str, object]] = [
        (f"{name}[{index}]", value, index, expression)
        for name, value in sorted(vars(trafilatura.xpaths).items()) if isinstance(value, list)
        for index, expression in enumerate(value)]
    places.append(("BASIC_CLEAN_XPATH", _BASELINE, "BASIC_CLEAN_XPATH", _BASELINE.BASIC_CLEAN_XPATH))
    for name, container, key, stock in places:
        if not isinstance(stock, etree.XPath):
            continue
        try:
            slots.append(_Slot(name, container, key, stock, compile_xpath(stock.path)))
        except UnsupportedXPath:
            left_to_lxml.append(name)
    return slots, left_to_lxml


@dataclass(frozen=True)
class _Slot:
    name: str
    container: list | ModuleType
    key: int | str
    stock: etree.XPath
    compiled: CompiledXPath

    def put(self, selector: object) -> None:
        if isinstance(self.container, list):
            self.container[self.key] = selector
        else:
            setattr(self.container, self.key, selector)


_SLOTS, SELECTORS_LEFT_TO_LXML = _selector_slots()
COMPILED_SELECTORS = tuple(slot.name for slot in _SLOTS)


def compiled_selector_pairs() -> list[tuple[str, etree.XPath, CompiledXPath]]:
    """(name, trafilatura's XPath, its compiled test) for every selector swapped in: for tests and benchmarks."""
    return [(slot.name, slot.stock, slot.compiled) for slot in _SLOTS]


@contextmanager
def compiled_trafilatura_selectors() -> Iterator[None]:
    """trafilatura's selectors as compiled Python for the calls inside, its stock XPath objects again afterwards
    (scoped like extract.py's other trafilatura settings, so other trafilatura users in the process see the
    stock library)."""
    for slot in _SLOTS:
        slot.put(slot.compiled)
    try:
        yield
    finally:
        for slot in _SLOTS:
            slot.put(slot.stock)
