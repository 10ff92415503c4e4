"""LaTeX sources (arXiv's `.tex` files, corpora of them in JSON lines): what a reader keeps of a source file, and
which of a text's lines are LaTeX rather than prose.

`clean_latex_source` follows the recipe of LLaMA's arXiv subset (Touvron et al. 2023; RedPajama's is the same):
comments removed, the preamble and the bibliography dropped, the author's macros without arguments expanded where
they are used, the body's math and markup kept as LaTeX (as extraction keeps math). Unlike that recipe, macros with
arguments (`\\newcommand{\\norm}[1]{\\lVert #1 \\rVert}`, `\\def\\pair#1#2{..}`) are expanded too, their arguments
read as TeX reads them: a model should learn the notation every paper shares, not each author's shorthand. And the
title and the abstract are kept: dropping everything before the first section loses a paper's densest summary. The
authors, affiliations and the rest of the front matter go.

`latex_markup_lines`: the lines of a text that are LaTeX, not prose: display math (`equation`, `align`, `\\[..\\]`,
`$$` on lines of their own, every line between their begin and end), lines that only open or close an
environment (`\\begin{theorem}\\label{thm:main}`, `\\end{proof}`) or place a figure, and a table's rows (`&` between
cells, `\\\\` at the end). `latex_command_lines` adds every line that starts with a command (`\\section{Results}`,
`\\item ...`, `\\caption{...}`) or ends with a line break. Line cleaning removes
none of the latter: judged as web text, `\\begin{align}`, an equation's rows and `\\end{align}` are a run of short
unpunctuated lines, a menu. The science rules leave the markup lines out of their statistics, as they leave out
`$$..$$` lines and table rows.
"""
from __future__ import annotations

import json
import posixpath
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

COMMENT_LINES = "latex:comment_lines_removed"
MACROS_EXPANDED = "latex:macros_expanded"
PREAMBLE = "latex:preamble_removed"
FRONT_MATTER = "latex:front_matter_removed"
BIBLIOGRAPHY = "latex:bibliography_removed"
STANDALONE_FIGURES = "latex:standalone_figures_left_out"

# `%` starts a comment unless escaped: preceded by an odd number of backslashes (`50\%`; `\\%` is a line break and
# a comment).
_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%.*")
_URL = re.compile(r"\\(?:url|href)[ \t]*\{([^{}\s]*)\}")
_VERBATIM_BEGIN = re.compile(r"\\begin\{(verbatim|lstlisting|minted|Verbatim)\*?\}")
_COMMENT_ENV = re.compile(r"\\begin\{comment\}.*?\\end\{comment\}[ \t]*\n?", re.DOTALL)
_COMMENT_END = "\\end{comment}"
# `\iffalse .. \fi`: a block the author switched off (drafts, notes); only blocks without another conditional inside,
# whose `\fi` is certain.
_IFFALSE = re.compile(r"\\iffalse\b(?:(?!\\if[a-zA-Z@]*\b|\\fi\b).)*\\fi\b[ \t]*\n?", re.DOTALL)
_DOCUMENT = re.compile(r"\\begin\{document\}(.*?)(?:\\end\{document\}|\Z)", re.DOTALL)
_SECTIONING = re.compile(r"^[ \t]*\\(?:part|chapter|section)\*?[ \t]*[\[{]", re.MULTILINE)
_BIBLIOGRAPHY_ENV = re.compile(r"\\begin\{thebibliography\}.*?(?:\\end\{thebibliography\}|\Z)", re.DOTALL)
_BIBLIOGRAPHY_COMMANDS = re.compile(
    r"^[ \t]*\\(?:bibliography|bibliographystyle|addbibresource)[ \t]*\{[^}]*\}[ \t]*\n?"
    r"|^[ \t]*\\printbibliography\b.*\n?",
    re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
# Definitions of macros: \newcommand{\R}{..}, \newcommand\R{..}, \renewcommand, \providecommand,
# \DeclareRobustCommand (`[n]` after the name declares n arguments, a second `[default]` makes the first optional),
# \def\R{..} (`#1#2` before the brace declares them), \DeclareMathOperator{\tr}{tr}, \let\eps\varepsilon.
_NEWCOMMAND = re.compile(
    r"\\(newcommand|renewcommand|providecommand|DeclareRobustCommand)\*?[ \t]*"
    r"(?:\{[ \t]*\\([A-Za-z]+)[ \t]*\}|\\([A-Za-z]+)(?![A-Za-z@]))"
    r"[ \t]*(?:\[[ \t]*([1-9])[ \t]*\][ \t]*(?:\[([^\[\]{}]*)\])?)?[ \t]*")
_NEWENVIRONMENT = re.compile(r"\\(?:re)?newenvironment\*?[ \t]*\{[^{}]*\}[ \t]*(?:\[[ \t]*[1-9][ \t]*\][ \t]*"
                             r"(?:\[[^\[\]{}]*\])?)?")
_DEF = re.compile(r"\\def[ \t]*\\([A-Za-z]+)[ \t]*((?:#[1-9])*)(?=[ \t]*\{)")
_MATH_OPERATOR = re.compile(r"\\DeclareMathOperator(\*?)[ \t]*\{[ \t]*\\([A-Za-z]+)[ \t]*\}[ \t]*")
# `@` ends no name: in a preamble or a style file (between \makeatletter and \makeatother) it is a letter, and
# `\let\cites\cite@internal` is not `\cites` = `\cite`.
_LET = re.compile(r"\\let[ \t]*\\([A-Za-z]+)[ \t]*=?[ \t]*(\\[A-Za-z]+)(?![A-Za-z@])[ \t]*")
_PARAMETER = re.compile(r"#([1-9#])")
_OPTIONAL_ARGUMENT = re.compile(r"[ \t]*\[([^\[\]{}]*)\]")
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[^\s{}\\%]")  # one TeX token: a command, or a character
_MAX_EXPANSION_PASSES = 5

# Display math: environments whose every line is math, and the delimiters that open a display on a line of its own.
_MATH_ENVIRONMENTS = ("equation", "align", "alignat", "gather", "multline", "flalign", "eqnarray", "displaymath",
                      "math", "IEEEeqnarray", "dmath", "subequations")
_MATH_BEGIN = re.compile(r"\\begin\{(" + "|".join(_MATH_ENVIRONMENTS) + r")(\*?)\}")
# A line that only opens or closes environments (with their options and labels).
_ENVIRONMENT_ONLY = re.compile(
    r"[ \t]*(?:(?:\\(?:begin|end)[ \t]*\{[^{}]*\}(?:[ \t]*\[[^\]]*\]|[ \t]*\{[^{}]*\})*|\\label\{[^{}]*\}"
    r"|\\includegraphics(?:\[[^\]]*\])?\{[^{}]*\}|\\centering|\\noindent|\\maketitle|\\\[|\\\]|\$\$)[ \t]*)+")


def clean_latex_source(source: str) -> tuple[str, Counter]:
    """The text a model should read of a LaTeX source file, and what was taken out of it (counts by note)."""
    notes: Counter = Counter()
    text = _without_comments(source.replace("\r\n", "\n").replace("\r", "\n"), notes)
    text = _ENDINPUT.sub("", text, count=1)
    macros, text = _macro_definitions(text)
    document = _DOCUMENT.search(text)
    if document is not None:
        notes[PREAMBLE] += 1
        body = _front_matter_kept(text, document.group(1), notes)
    else:
        body = text  # a file that another includes, or a fragment: all of it is body
    body, removed = _BIBLIOGRAPHY_ENV.subn("", body)
    body, commands = _BIBLIOGRAPHY_COMMANDS.subn("", body)
    if removed or commands:
        notes[BIBLIOGRAPHY] += 1
    body = _expand_macros(body, macros, notes)
    return _BLANK_RUNS.sub("\n\n", body).strip(), notes


def _without_comments(text: str, notes: Counter) -> str:
    """Comments out, verbatim environments untouched. A line that was only a comment goes whole (in LaTeX the `%`
    takes the line break with it); the `comment` package's environments and `\\iffalse` blocks go whole (each
    counted as one comment)."""
    # (Only up to the last `\end{comment}`: after it, an unclosed environment's search would run to the end of the
    # text for each one, 4.7 s for 2,000 in 530 KB.)
    environments = 0
    if (last := text.rfind(_COMMENT_END)) >= 0:
        cut = _skip_spaces(text, last + len(_COMMENT_END), " \t")
        cut += text.startswith("\n", cut)
        head, environments = _COMMENT_ENV.subn("", text[:cut])
        text = head + text[cut:]
    text, switched_off = _IFFALSE.subn("", text)
    notes[COMMENT_LINES] += environments + switched_off
    if "%" not in text:
        return text
    kept: list[str] = []
    verbatim_end: str | None = None
    for line in text.split("\n"):
        if verbatim_end is not None:
            kept.append(line)
            if verbatim_end in line:
                verbatim_end = None
            continue
        if (opened := _VERBATIM_BEGIN.search(line)) is not None:
            kept.append(line)
            verbatim_end = "\\end{" + line[opened.start(1):opened.end()]
            continue
        found = _COMMENT.search(line) if "%" in line else None
        if found is not None and ("\\url" in line or "\\href" in line):
            found = _comment_outside_urls(line)
        if found is None:
            kept.append(line)
            continue
        notes[COMMENT_LINES] += 1
        before = line[:found.start()] + found.group(1)
        if before.strip():
            kept.append(before.rstrip())
    return "\n".join(kept)


def _comment_outside_urls(line: str) -> re.Match | None:
    """The comment of a line that holds URLs: a `%` inside `\\url{..}` or `\\href{..}`'s address is part of it
    (percent-encoding), as the url package reads it."""
    urls = [found.span(1) for found in _URL.finditer(line)]
    position = 0
    while (found := _COMMENT.search(line, position)) is not None:
        percent = found.end(1)
        inside = next((end for start, end in urls if start <= percent < end), None)
        if inside is None:
            return found
        position = inside
    return None


def _balanced(text: str, start: int, pairs: dict[int, int] | None = None) -> tuple[str, int] | None:
    """(the content of the brace group that opens at `start`, the index after it); None when none opens there or it
    never closes. With the text's `pairs` (`_brace_pairs`), a lookup (`_Groups`)."""
    if start >= len(text) or text[start] != "{":
        return None
    if pairs is not None:
        return (text[start + 1:pairs[start]], pairs[start] + 1) if start in pairs else None
    depth = 0
    position = start
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:position], position + 1
        position += 1
    return None


# A brace, or an escaped brace or backslash (`\\{` is no group; `\\\\{` is a line break, then a group).
_BRACE_OR_ESCAPE = re.compile(r"\\[{}\\]|[{}]")


def _brace_pairs(text: str) -> dict[int, int]:
    """Where each brace group of `text` that closes opens → where its closing brace is (escaped braces, `\\{`, are
    none), in one pass over the braces."""
    pairs: dict[int, int] = {}
    opened: list[int] = []
    for found in _BRACE_OR_ESCAPE.finditer(text):
        brace = found.group()  # (an escaped one is two characters)
        if brace == "{":
            opened.append(found.start())
        elif brace == "}" and opened:
            pairs[opened.pop()] = found.start()
    return pairs


class _Groups:
    """The brace groups of one text (`at`: `_balanced`), each found by scanning from where it opens until one never
    closes; from then on looked up in the text's brace pairs (`_brace_pairs`, one pass): after a stray brace, every
    later group's scan ran to the end of the text (6,000 macro uses in 350 KB: 100 s)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._pairs: dict[int, int] | None = None

    def at(self, start: int) -> tuple[str, int] | None:
        found = _balanced(self.text, start, self._pairs)
        if found is None and self._pairs is None and self.text.startswith("{", start):
            self._pairs = _brace_pairs(self.text)
        return found


def _skip_spaces(text: str, position: int, spaces: str = " \t\n") -> int:
    while position < len(text) and text[position] in spaces:
        position += 1
    return position


# Spacing commands that print nothing, which authors end their macros with (`\newcommand{\eg}{e.g.\@\xspace}`):
# left in the text where the macro is used, they were noise in every sentence that used it.
_SPACING = re.compile(r"\\xspace(?![A-Za-z])|\\@(?![A-Za-z@])")


@dataclass(frozen=True)
class Macro:
    """An author's macro: what it stands for, with `#1`.. where its arguments go, and the default of an optional
    first argument (`\\newcommand{\\vect}[2][x]{..}`), None when every argument is required."""

    replacement: str
    arguments: int = 0
    default: str | None = None


def _macro_definitions(text: str) -> tuple[dict[str, Macro], str]:
    """(macros defined anywhere in the source: name → macro, the source without their definitions): a definition
    left in the body would be expanded into itself. In the source's order, as TeX reads it: a later definition
    replaces an earlier one, `\\providecommand` defines only a name not yet defined, and a definition inside
    another's body (a style switch that redefines `\\title` when it is used) is part of that body, not one of its
    own."""
    # (start, end, name, what it defines: a macro, for `\let\name\other` the other command, None for an
    # environment; whether by \providecommand)
    definitions: list[tuple[int, int, str, Macro | str | None, bool]] = []
    groups = _Groups(text)

    def define(found: re.Match, name: str, meaning: Callable[[str], Macro] | str | None, provide: bool = False
               ) -> None:
        if isinstance(meaning, str):
            end = found.end()
        elif (body := groups.at(_skip_spaces(text, found.end()))) is None:
            return
        elif meaning is None:  # an environment: its begin and end code, read as one body
            if (closing := groups.at(_skip_spaces(text, body[1]))) is None:
                return
            end = closing[1]
        else:
            meaning, end = meaning(body[0]), body[1]
        if found.start() == 0 or text[found.start() - 1] == "\n":  # a line of its own goes with its line break
            end = _skip_spaces(text, end, " \t")
            end += text.startswith("\n", end)
        definitions.append((found.start(), end, name, meaning, provide))

    for found in _NEWCOMMAND.finditer(text):
        define(found, found.group(2) or found.group(3),
               lambda body, found=found: Macro(_SPACING.sub("", body), int(found.group(4) or 0), found.group(5)),
               provide=found.group(1) == "providecommand")
    for found in _DEF.finditer(text):
        define(found, found.group(1), lambda body, found=found: Macro(_SPACING.sub("", body), len(found.group(2)) // 2))
    for found in _MATH_OPERATOR.finditer(text):
        define(found, found.group(2), lambda body, found=found: Macro(f"\\operatorname{found.group(1)}{{{body}}}"))
    for found in _LET.finditer(text):
        if found.group(2)[1:] != found.group(1):
            define(found, found.group(1), found.group(2))
    for found in _NEWENVIRONMENT.finditer(text):
        define(found, "", None)  # (not expanded; the definitions inside it are its own)
    macros: dict[str, Macro] = {}
    # Commands a `\let` saved before the source defined them: standard ones (`\let\oldsection\section`), which a
    # later redefinition wraps (`\renewcommand{\section}{\oldsection*}`), a change of style: the standard command is
    # kept as written (expanded, the new one would be its own expansion).
    saved_standard: set[str] = set()
    kept, position = [], 0
    for start, end, name, meaning, provide in sorted(definitions, key=lambda definition: definition[0]):
        if start < position:
            continue  # inside the body of the definition before it
        kept.append(text[position:start])
        position = end
        if meaning is None:
            continue
        if isinstance(meaning, str):  # \let\name\other: what other means now
            macros[name] = macros.get(meaning[1:]) or Macro(meaning)
            if meaning[1:] not in macros:
                saved_standard.add(meaning[1:])
        elif name not in saved_standard and not (provide and name in macros):
            macros[name] = meaning
    kept.append(text[position:])
    return macros, "".join(kept)


def _expand_macros(body: str, macros: dict[str, Macro], notes: Counter) -> str:
    if not macros or "\\" not in body:
        return body
    # Longest names first, and never followed by a letter: \R is not the start of \Rightarrow. The empty group
    # written after a macro to end its name before a space (`\method{} improves`) prints nothing: it goes too.
    simple = {name: macro.replacement for name, macro in macros.items() if not macro.arguments}
    with_arguments = {name: macro for name, macro in macros.items() if macro.arguments}
    simple_use = _uses(simple, r"(?:\{\})?")
    argument_use = _uses(with_arguments)
    limit = 4 * len(body) + 10_000  # a macro that doubles itself at each use stops growing here
    for _ in range(_MAX_EXPANSION_PASSES):  # a macro may use another; a recursive one stops here
        count = 0
        # Those with arguments first: TeX takes an argument as written (`\norm\R`: `\R` is the argument).
        if argument_use is not None:
            body, count = _expand_uses_with_arguments(body, argument_use, with_arguments)
        if simple_use is not None:  # (one C-level substitution for the macros without arguments, most of them)
            body, expanded = simple_use.subn(lambda found: simple[found.group(1)], body)
            count += expanded
        notes[MACROS_EXPANDED] += count
        if not count or len(body) > limit:
            break
    return body


def _uses(macros: dict, after: str = "") -> re.Pattern | None:
    """The uses of these macros' names (longest first, never followed by a letter), then `after`; None for none."""
    if not macros:
        return None
    return re.compile(r"\\(" + "|".join(map(re.escape, sorted(macros, key=len, reverse=True))) + r")(?![A-Za-z])"
                      + after)


def _expand_uses_with_arguments(body: str, use: re.Pattern, macros: dict[str, Macro]) -> tuple[str, int]:
    """`body` with each use of a macro with arguments replaced (`_expanded`), and how many were."""
    parts, position, count = [], 0, 0
    groups = _Groups(body)
    for found in use.finditer(body):
        macro = macros[found.group(1)]
        if found.start() < position:
            continue  # (inside the arguments of a macro expanded just before: the next pass takes it)
        if (expanded := _expanded(groups, found.end(), macro)) is None:
            continue  # its arguments are not there as written: left as it is
        parts += [body[position:found.start()], expanded[0]]
        position, count = expanded[1], count + 1
    return "".join([*parts, body[position:]]), count


def _expanded(groups: _Groups, start: int, macro: Macro) -> tuple[str, int] | None:
    """(what a macro's use whose name ends at `start` stands for, where the use ends), None when its arguments are
    not there as written. An argument is a brace group or, as TeX reads it, one token after spaces (`\\vect x`)."""
    body = groups.text
    arguments, position = [], start
    if macro.default is not None:
        optional = _OPTIONAL_ARGUMENT.match(body, position)
        arguments.append(optional.group(1) if optional is not None else macro.default)
        position = optional.end() if optional is not None else position
    while len(arguments) < macro.arguments:
        position = _skip_spaces(body, position)
        if (group := groups.at(position)) is not None:
            arguments.append(group[0])
            position = group[1]
        elif body.startswith("{", position):
            return None  # a group that never closes
        elif (token := _TOKEN.match(body, position)) is not None:
            arguments.append(token.group(0))
            position = token.end()
        else:
            return None
    return _PARAMETER.sub(lambda found: "#" if found.group(1) == "#" else arguments[int(found.group(1)) - 1]
                          if int(found.group(1)) <= len(arguments) else found.group(0), macro.replacement), position


def _command_argument(text: str, command: str) -> str | None:
    """The (last) brace argument of the first `\\command[..]{..}` in `text`."""
    found = re.search(r"\\" + command + r"\*?[ \t]*(?:\[[^\]]*\][ \t]*)?(?=\{)", text)
    if found is None:
        return None
    argument = _balanced(text, found.end())
    return argument[0] if argument is not None else None


def _title(text: str) -> str | None:
    title = _command_argument(text, "title")
    if title is None:
        return None
    # Footnotes of the title are about the authors (grants, affiliations); a forced line break is a space.
    while (thanks := re.search(r"\\thanks[ \t]*(?=\{)", title)) is not None:
        end = _balanced(title, thanks.end())
        title = title[:thanks.start()] + (title[end[1]:] if end is not None else "")
    return " ".join(title.replace("\\\\", " ").split()) or None


def _abstract(part: str) -> tuple[str | None, str]:
    """(the abstract of `part`, `part` without it): an `abstract` environment, or an `\\abstract{..}` command."""
    environment = re.search(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", part, re.DOTALL)
    if environment is not None:
        return environment.group(1).strip(), part[:environment.start()] + part[environment.end():]
    return _command_argument(part, "abstract"), part


def _front_matter_kept(text: str, body: str, notes: Counter) -> str:
    """The document's body with its front matter (before the first section: authors, affiliations, \\maketitle)
    replaced by its title and abstract. What follows \\maketitle before the first section (an unnumbered
    introduction) stays. A body without sections is kept whole, after the title."""
    title = _title(text)
    head = [title] if title else []
    first_section = _SECTIONING.search(body)
    if first_section is None:
        return "\n\n".join([*head, body.strip()])
    front = body[:first_section.start()]
    abstract, front = _abstract(front)
    if abstract is None:  # some classes take the abstract in the preamble
        abstract, _ = _abstract(text[:text.find("\\begin{document}")])
    if abstract:
        head.append(abstract.strip())
    titles = list(re.finditer(r"\\maketitle\b", front))
    after_title = front[titles[-1].end():].strip() if titles else ""
    if after_title:
        head.append(after_title)
    notes[FRONT_MATTER] += 1
    return "\n\n".join([*head, body[first_section.start():].strip()])


def latex_markup_lines(lines: list[str]) -> set[int]:
    """Indices of the lines that are display math or only open or close environments (see the module's doc)."""
    found: set[int] = set()
    closing: str | None = None  # what ends the display math we are in
    for i, line in enumerate(lines):
        if "\\" not in line and "$$" not in line and closing is None:
            continue
        stripped = line.strip()
        if closing is not None:
            found.add(i)
            if closing in stripped:
                closing = None
            continue
        opened = _MATH_BEGIN.search(stripped)
        if opened is not None and stripped.startswith("\\"):
            found.add(i)
            end = f"\\end{{{opened.group(1)}{opened.group(2)}}}"
            if end not in stripped[opened.end():]:
                closing = end
        elif stripped.startswith("\\["):
            found.add(i)
            if "\\]" not in stripped:
                closing = "\\]"
        elif stripped == "$$":
            found.add(i)
            closing = "$$"
        elif _ENVIRONMENT_ONLY.fullmatch(stripped) or ("&" in stripped and stripped.endswith("\\\\")):
            found.add(i)  # markers only, or a table's row (`Method & Accuracy \\\\`)
    return found


def latex_command_lines(lines: list[str]) -> set[int]:
    """`latex_markup_lines`, every line that starts with a command (`\\section{..}`, `\\item ..`) and every line that
    ends with LaTeX's line break (`\\\\`)."""
    if "\\" not in "".join(lines):  # one C-level scan: line cleaning asks this of every text document
        return set()
    found = latex_markup_lines(lines)
    found.update(i for i, line in enumerate(lines)
                 if line.lstrip().startswith("\\") and line.lstrip()[1:2].isalpha() or line.rstrip().endswith("\\\\"))
    return found


# `\input{a}`, `\include{a}`, `\subfile{a}`, `\input a`; the import package's `\import{dir/}{a}` (from the
# paper's folder) and `\subimport{dir/}{a}` (from the including file's).
_INCLUDE = re.compile(r"\\(?:input|include|subfile)[ \t]*\{[ \t]*([^{}]+?)[ \t]*\}|\\input[ \t]+([^\s{}\\]+)"
                      r"|\\(sub)?(?:import|inputfrom|includefrom)\*?[ \t]*\{[ \t]*([^{}]*?)[ \t]*\}[ \t]*"
                      r"\{[ \t]*([^{}]+?)[ \t]*\}")
# LaTeX stops reading a file at `\endinput`.
_ENDINPUT = re.compile(r"^[ \t]*\\endinput(?![A-Za-z]).*", re.MULTILINE | re.DOTALL)
# Packages a source loads (`\usepackage[opts]{a,b}`): a paper's own `.sty` file among them defines its macros.
_USEPACKAGE = re.compile(r"\\(?:usepackage|RequirePackage)[ \t]*(?:\[[^\]]*\][ \t]*)?\{([^{}]+)\}")
_MAX_INCLUDE_DEPTH = 10
_STANDALONE = re.compile(r"\\documentclass[ \t]*(?:\[[^\]]*\][ \t]*)?\{standalone\}")
# A section of a paper written with the subfiles package: `\documentclass[../main.tex]{subfiles}` names its paper.
_SUBFILE = re.compile(r"\\documentclass[ \t]*(?:\[[^\]]*\][ \t]*)?\{subfiles\}")
TEX_SUFFIX = ".tex"
STY_SUFFIX = ".sty"


def included_names(source: str, base: str = "") -> list[tuple[str, str]]:
    """(name, its import path) of each file a source `\\input`s, `\\include`s, `\\subfile`s or imports, in order
    (commented-out ones left out): the name relative to the paper's folder, with the `.tex` a bare name implies. A
    file's import path (`base`) is where the names it gives are read from: the paper's folder, or for a file the
    import package took in, the folder it was imported from (`\\import{dir/}{file}`: `dir/`, from the paper's
    folder; `\\subimport{dir/}{file}`: `dir/` from the including file's import path)."""
    names = []
    for found in _INCLUDE.finditer(_without_comments(source, Counter())):
        name, name_base = _included_name(found, base)
        names.append((name if name.lower().endswith(TEX_SUFFIX) else name + TEX_SUFFIX, name_base))
    return names


def _included_name(found: re.Match, base: str) -> tuple[str, str]:
    """(the name an `_INCLUDE` match names relative to the paper's folder, the import path of that file), for a
    match in a file whose import path is `base`."""
    if found.group(5) is None:
        return _relative(base, (found.group(1) or found.group(2)).strip()), base
    folder = _relative(base, found.group(4)) if found.group(3) else _relative("", found.group(4))
    return _relative(folder, found.group(5)), folder


def _relative(folder: str, name: str) -> str:
    """`name` in `folder`, both relative to the paper's folder, `./` and `../` resolved ("" for the folder)."""
    joined = posixpath.normpath(posixpath.join(folder, name.strip())) if name.strip() else folder
    return "" if joined == "." else joined


def package_names(source: str) -> list[str]:
    """The `.sty` file names of the packages a source loads (most are installed packages, not the paper's own)."""
    return [name.strip() + STY_SUFFIX for found in _USEPACKAGE.finditer(_without_comments(source, Counter()))
            for name in found.group(1).split(",") if name.strip()]


def is_main_file(source: str) -> bool:
    """Whether a source holds `\\begin{document}` outside its comments: a paper's main file."""
    return "\\begin{document}" in _without_comments(source, Counter())


def is_standalone_figure(source: str) -> bool:
    """Whether a source is a figure compiled on its own (`\\documentclass{standalone}`, TikZ mostly)."""
    # (Asked of every .tex file read: the comments are stripped only of a file that names the class at all.)
    return "{standalone}" in source and _STANDALONE.search(_without_comments(source, Counter())) is not None


def is_subfile(source: str) -> bool:
    """Whether a source is a section of a paper that compiles on its own (`\\documentclass[main.tex]{subfiles}`):
    a document of its own only when its paper is not there."""
    return "{subfiles}" in source and _SUBFILE.search(_without_comments(source, Counter())) is not None


def main_files(files: dict[str, str], toplevel: list[str]) -> list[str]:
    """The names of a paper's main files among its `.tex` files (name → source), by name: those that hold
    `\\begin{document}` (after their comments are removed), else the only file; none when that is not decidable.
    The submitter's own word comes first: `toplevel`, the top-level files its `00README` names (`arxiv_readme`)."""
    if toplevel:
        return toplevel
    sources = [name for name in sorted(files) if name.lower().endswith(TEX_SUFFIX)]
    mains = [name for name in sources if is_main_file(files[name])]
    if mains:
        return mains
    return sources if len(sources) == 1 else []


ARXIV_README_NAMES = ("00README.XXX", "00README.json")


def arxiv_readme(files: dict[str, str]) -> tuple[list[str], set[str]]:
    """(top-level files, ignored files) that a submission's `00README` names, of those among `files`: arXiv's
    directives to its own compiler, `main.tex toplevelfile` / `draft.tex ignore` lines in `00README.XXX`, or
    `{"sources": [{"filename": "main.tex", "usage": "toplevel"}, ..]}` in `00README.json`."""
    usage = arxiv_readme_usage(files)
    toplevel = [name for name, use in usage.items() if use == "toplevel" and name in files]
    return toplevel, {name for name, use in usage.items() if use == "ignore" and name in files}


def arxiv_readme_usage(files: dict[str, str]) -> dict[str, str]:
    """What a submission's `00README` (among `files`) says of each file it names (`toplevel`, `ignore`, ..), by the
    file's name in the submission (`sections/old.tex`), whether or not it is among `files`."""
    usage: dict[str, str] = {}
    for readme in ARXIV_README_NAMES:
        text = files.get(readme)
        if text is None:
            continue
        if readme.endswith(".json"):
            try:
                sources = json.loads(text).get("sources", [])
                usage |= {str(entry["filename"]): str(entry.get("usage", "")) for entry in sources
                          if isinstance(entry, dict) and "filename" in entry}
            except (ValueError, AttributeError, TypeError):
                continue  # a damaged file tells nothing
        else:
            usage |= {parts[0]: {"toplevelfile": "toplevel"}.get(parts[1], parts[1])
                      for parts in map(str.split, text.splitlines()) if len(parts) >= 2}
    return usage


# A document beside the paper, by its file's name: a supplement, an appendix compiled apart, a response to the
# referees, a cover letter (`supp.tex`, `SI_main.tex`, `response_to_reviewers.tex`, `cover-letter.tex`; not
# `letter.tex`: a paper for a Letters journal is often named so).
_SIDE_DOCUMENT = re.compile(r"(?:^|[^a-z])(?:supp|suppl|supplement\w*|si|appendi\w*|response\w*|reply|rebuttal|cover\w*"
                            r"|referees?|reviewers?|erratum|corrigendum)(?:[^a-z]|$)", re.IGNORECASE)
# The xr package: a supplement refers to the paper's labels with `\externaldocument[S-]{main}`.
_EXTERNAL_DOCUMENT = re.compile(r"\\externaldocument[ \t]*(?:\[[^\]]*\][ \t]*)?\{[ \t]*([^{}]+?)[ \t]*\}")


def _paper_first(documents: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The documents of a paper's files with the paper first, then by length: the paper is the one a supplement
    names as its external document (the xr package), else one not named as a side document (`supp.tex`,
    `response.tex`), the longest of those."""
    referenced = {_relative(main.rpartition("/")[0], found.group(1)) for main, source in documents
                  for found in _EXTERNAL_DOCUMENT.finditer(_without_comments(source, Counter()))}

    def rank(document: tuple[str, str]) -> tuple[int, int]:
        main, source = document
        if main.removesuffix(TEX_SUFFIX) in referenced or main in referenced:
            return 0, -len(source)
        side = _SIDE_DOCUMENT.search(main.rpartition("/")[2].removesuffix(TEX_SUFFIX)) is not None
        return (2 if side or _EXTERNAL_DOCUMENT.search(source) else 1), -len(source)

    return sorted(documents, key=rank)


def paper_sources(files: dict[str, str], notes: Counter) -> list[tuple[str, str]]:
    """(main file, its source with what it takes in: `paper_source`) of each document of a paper's files, the
    paper first (`_paper_first`): sources holding several documents (the paper, its supplement, a response to the
    referees) give each. A main file that another takes in (a `subfiles` section) is part of that one; a standalone
    figure (`\\documentclass{standalone}`) is no document (`latex:` notes)."""
    toplevel, ignored = arxiv_readme(files)
    files = {name: source for name, source in files.items() if name not in ignored}
    found, taken = [], set()
    for main in main_files(files, [name for name in toplevel if name in files]):
        inlined: set[str] = set()
        found.append((main, paper_source(files, notes, main, inlined)))
        taken |= inlined
    # (Main files that all take each other in, a cycle, leave the first.)
    documents = [(main, source) for main, source in found if main not in taken] or found[:1]
    figures = [(main, source) for main, source in documents if is_standalone_figure(files[main])]
    notes[STANDALONE_FIGURES] += len(figures)
    return _paper_first([document for document in documents if document not in figures])


def paper_source(files: dict[str, str], notes: Counter, main: str, taken: set[str] | None = None) -> str:
    """One LaTeX source for a paper written in several files (name → source, names relative to the paper's folder):
    its main file with every `\\input`, `\\include` and `\\subfile` replaced by the file it names (comments
    removed first, so an input commented out stays out; of a file with a document of its own, a subfile, its
    document's body), as LaTeX reads it, and the paper's own packages (a `macros.sty` it `\\usepackage`s) after the
    command that loads them, for their macro definitions. Files the main one never includes (an old draft) are not
    part of it; those it does go into `taken`."""
    folder = main.rpartition("/")[0]
    taken = taken if taken is not None else set()

    def find(name: str) -> str | None:
        name = name.strip().removeprefix("./")
        for candidate in (name, name + TEX_SUFFIX):
            for path in (_relative(folder, candidate), candidate):  # (`../shared/macros` from `paper/main.tex`)
                if path in files:
                    return path
        return None

    def inlined(name: str, depth: int, seen: tuple[str, ...], base: str = "") -> str:
        source = _ENDINPUT.sub("", _without_comments(files[name], notes), count=1)

        def include(found: re.Match) -> str:
            included, included_base = _included_name(found, base)
            target = find(included)
            if target is None or target in seen or depth >= _MAX_INCLUDE_DEPTH:
                return ""  # a file the archive does not hold (a figure's .pdf_tex, a style) or a cycle
            taken.add(target)
            text = inlined(target, depth + 1, (*seen, target), included_base)
            document = _DOCUMENT.search(text)
            return document.group(1) if document is not None else text

        def package(found: re.Match) -> str:
            own = [target for name in found.group(1).split(",") if name.strip()
                   and (target := find(name.strip() + STY_SUFFIX)) is not None and target not in seen]
            taken.update(own)
            loaded = [inlined(target, depth + 1, (*seen, target)) for target in own if depth < _MAX_INCLUDE_DEPTH]
            return "\n".join([found.group(0), *loaded])

        # (Packages first: an included file's own packages are loaded where it is inlined, once.)
        return _INCLUDE.sub(include, _USEPACKAGE.sub(package, source))

    return inlined(main, 0, (main,))
