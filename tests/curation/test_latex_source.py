"""LaTeX sources: what the reader keeps of a `.tex` file, and line cleaning and the science rules reading LaTeX."""
from __future__ import annotations

import gzip
from pathlib import Path

from sciloom.curation.latex_source import (BIBLIOGRAPHY, COMMENT_LINES, FRONT_MATTER, MACROS_EXPANDED, PREAMBLE,
                                           clean_latex_source, latex_command_lines, latex_markup_lines)
from sciloom.curation.line_cleaning import LineCleaner
from sciloom.curation.read_text_files import TextFileReader
from sciloom.curation.rules import RulesConfig, RulesStep

# A short paper written for these tests, in the shape arXiv's sources have: a preamble with macros, comments the
# authors left, front matter, display math, a theorem, a figure, a verbatim block and a bibliography.
PAPER = r"""\documentclass[11pt]{article}
\usepackage{amsmath,amssymb}
\newcommand{\R}{\mathbb{R}}
\newcommand\Rplus{\R_{+}}
\newcommand{\norm}[1]{\left\lVert #1 \right\rVert}
\DeclareMathOperator{\grad}{grad}
\def\eps{\varepsilon}
\title{Stability of Gradient Flows\\ on Compact Manifolds\thanks{Supported by grant 12345.}}
\author{A. Author \and B. Author}
% TODO: ask Carol whether the second lemma is really needed
\begin{document}
\maketitle
\begin{abstract}
We study the long-time behaviour of gradient flows of smooth functions on compact Riemannian manifolds.
\end{abstract}
Gradient flows are the simplest dissipative dynamical systems, and their convergence is a classical question.

\section{Introduction}
Let $M$ be a compact manifold and let $f\colon M \to \R$ be smooth, with values in $\Rplus$ and $\grad f \ne 0$.
% The following paragraph was cut from the journal version.
% It claimed a stronger result that turned out to be false.
About 50\% of the examples in the literature satisfy the inequality for every $\eps > 0$, so that $\Rightarrow$ holds.
The gradient flow of $f$ is the solution of the ordinary differential equation
\begin{equation}
  \dot{x}(t) = -\nabla f(x(t)), \qquad x(0) = x_0 .
  \label{eq:flow}
\end{equation}
Along a solution of \eqref{eq:flow} the value of $f$ decreases, since % a trailing remark
\begin{align}
  \frac{d}{dt} f(x(t)) &= \langle \nabla f(x(t)), \dot{x}(t) \rangle \\
  &= -\norm{\nabla f(x(t))}^2 \le 0 .
\end{align}
\begin{comment}
An older proof that no longer applies.
\end{comment}
\section*{Main result}
\begin{theorem}\label{thm:main}
Suppose that $f$ satisfies the inequality near every critical point. Then every trajectory of the gradient flow has
finite length and converges to a single critical point.
\end{theorem}
\begin{verbatim}
rate = 100 % of the step
\end{verbatim}
\begin{figure}[t]
  \centering
  \includegraphics[width=0.6\textwidth]{trajectories.pdf}
  \caption{Trajectories of the gradient flow of a height function on the torus.}
\end{figure}
\begin{thebibliography}{9}
\bibitem{palis} J. Palis and W. de Melo, Geometric Theory of Dynamical Systems, 1982.
\end{thebibliography}
\end{document}
Anything after the end of the document is not part of it.
"""


def test_a_paper_keeps_its_title_abstract_and_body_as_latex_and_loses_preamble_comments_and_bibliography() -> None:
    text, notes = clean_latex_source(PAPER)
    lines = text.split("\n")
    assert lines[0] == "Stability of Gradient Flows on Compact Manifolds"  # the line break a space, the grant gone
    assert lines[2].startswith("We study the long-time behaviour")
    assert "Gradient flows are the simplest dissipative" in text  # after \maketitle, before the first section
    for gone in ("\\usepackage", "\\author", "A. Author", "\\maketitle", "TODO", "journal version", "stronger result",
                 "trailing remark", "older proof", "Palis", "\\bibitem", "after the end of the document", "\\newcommand",
                 "\\begin{abstract}", "Supported by grant"):
        assert gone not in text, gone
    # Macros without arguments expanded (one using another), \Rightarrow left alone, a macro with arguments kept.
    assert "f\\colon M \\to \\mathbb{R}" in text and "$\\mathbb{R}_{+}$" in text and "\\operatorname{grad} f" in text
    assert "$\\varepsilon > 0$" in text and "$\\Rightarrow$" in text and "-\\norm{\\nabla f(x(t))}^2" in text
    assert "About 50\\% of the examples" in text and "rate = 100 % of the step" in text  # escaped %, verbatim
    assert "Along a solution of \\eqref{eq:flow} the value of $f$ decreases, since\n\\begin{align}" in text
    for kept in ("\\begin{equation}", "\\label{eq:flow}", "\\section*{Main result}", "\\begin{theorem}\\label{thm:main}",
                 "\\caption{Trajectories", "\\end{figure}"):
        assert kept in text, kept
    assert notes == {COMMENT_LINES: 5, PREAMBLE: 1, FRONT_MATTER: 1, BIBLIOGRAPHY: 1, MACROS_EXPANDED: 5}


def test_a_file_without_a_document_environment_is_all_body_and_recursive_macros_stop() -> None:
    """A section that the main file `\\input`s has no preamble: nothing of it goes but its comments. A macro that
    uses itself is expanded a bounded number of times."""
    text, notes = clean_latex_source("\\def\\loop{\\loop x}\n% a note\nThe results follow. \\loop\nThe end.\n")
    assert text == "The results follow. \\loop x x x x x\nThe end."
    assert notes[PREAMBLE] == 0 and notes[COMMENT_LINES] == 1 and notes[MACROS_EXPANDED] == 5


def test_front_matter_in_the_body_goes_and_an_abstract_command_is_kept() -> None:
    """revtex puts authors and affiliations in the body, before \\maketitle; some classes take \\abstract{..}."""
    source = ("\\documentclass{revtex4}\n\\begin{document}\n\\title{Cold Atoms}\n\\author{C. Author}\n"
              "\\affiliation{Institute of Physics, Somewhere}\n\\abstract{We trap cold atoms in an optical lattice.}\n"
              "\\maketitle\n\\section{Setup}\nThe lattice is formed by two counter-propagating beams.\n\\end{document}\n")
    text, _ = clean_latex_source(source)
    assert text == ("Cold Atoms\n\nWe trap cold atoms in an optical lattice.\n\n\\section{Setup}\n"
                    "The lattice is formed by two counter-propagating beams.")


def test_the_reader_cleans_tex_files_plain_or_compressed_and_counts_what_it_removed(tmp_path: Path) -> None:
    (tmp_path / "paper.tex").write_text(PAPER, encoding="utf-8")
    (tmp_path / "paper2.tex.gz").write_bytes(gzip.compress(PAPER.encode("utf-8")))
    (tmp_path / "notes.txt").write_text(PAPER, encoding="utf-8")  # text that is not a .tex file is left as it is
    reader = TextFileReader()
    docs = {name: doc["text"] for name in ("paper.tex", "paper2.tex.gz", "notes.txt")
            for doc in reader.read(str(tmp_path / name))}
    assert docs["paper.tex"] == docs["paper2.tex.gz"] == clean_latex_source(PAPER)[0]
    assert docs["notes.txt"] == PAPER
    assert reader.stats.notes[PREAMBLE] == 2 and reader.stats.notes[COMMENT_LINES] == 10


def test_line_cleaning_keeps_every_line_of_a_latex_source_and_still_cleans_web_text() -> None:
    """Judged as web text, an equation's lines are a menu (before: 17 lines of this paper removed as menu runs and
    short lines, leaving `\\begin{align}` without its `\\end{align}`). A corpus of LaTeX in JSON lines (RedPajama's
    arXiv) meets line cleaning as it is."""
    body, _ = clean_latex_source(PAPER)
    cleaned, removed = LineCleaner().clean(body)
    assert (cleaned, removed) == (body, {})
    web = "Skip to main content\nHome\nAbout us\nContact\n" + body.split("\n\\section{Introduction}")[0]
    cleaned, removed = LineCleaner().clean(web)
    assert cleaned.startswith("Stability of Gradient Flows") and sum(removed.values()) == 4


def test_science_rules_read_a_latex_source_as_science_and_stock_rules_as_published() -> None:
    body, _ = clean_latex_source(PAPER)
    assert RulesStep(RulesConfig(profile="science")).evaluate(body) == ([], 1.0)
    # Stock rules, unchanged: display math counts as words that are not alphabetic, braces as code.
    fired, _ = RulesStep(RulesConfig(profile="stock")).evaluate(body)
    assert "gopher_quality:alpha_words" in fired and "c4:curly_bracket" in fired


def test_markup_lines_are_display_math_and_environment_markers_and_command_lines_add_the_rest() -> None:
    lines = ["Prose with $x$ inline.", "\\begin{align*}", "a &= b \\\\", "c &= d", "\\end{align*}", "\\[ x = 1 \\]",
             "\\[", "y = 2", "\\]", "$$", "z = 3", "$$", "\\begin{lemma}[Key]\\label{k}", "\\section{Results}",
             "\\item A point on the list.", "\\begin{equation} e = mc^2 \\end{equation}", "More prose."]
    assert latex_markup_lines(lines) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15}
    assert latex_command_lines(lines) == latex_markup_lines(lines) | {13, 14}
    assert latex_command_lines(["No LaTeX here.", "Home", "Menu"]) == set()
