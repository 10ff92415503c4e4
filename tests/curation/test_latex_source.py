"""LaTeX sources: what the reader keeps of a `.tex` file, and line cleaning and the science rules reading LaTeX."""
from __future__ import annotations

import gzip
import json
import io
import tarfile
from collections import Counter
from pathlib import Path

import fsspec

from sciloom.curation.document import document_id
from sciloom.curation.latex_source import (BIBLIOGRAPHY, COMMENT_LINES, FRONT_MATTER, MACROS_EXPANDED, PREAMBLE,
                                           STANDALONE_FIGURES, clean_latex_source, latex_command_lines,
                                           latex_markup_lines)
from sciloom.curation.inputs import InputReader, InputsConfig, find_inputs, format_of, group_names, resolve_inputs
from sciloom.curation.line_cleaning import LineCleaner
from sciloom.curation.read_archives import ArchiveReader
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
\iffalse
A draft of the main theorem, switched off.
\fi
\section*{Main result}
\begin{theorem}\label{thm:main}
Suppose that $f$ satisfies the inequality near every critical point. Then every trajectory of the gradient flow has
finite length and converges to a single critical point.
\end{theorem}
\begin{verbatim}
rate = 100 % of the step
\end{verbatim}
\begin{table}[h]
\begin{tabular}{lc}
Method & Length \\
Flow & finite \\
Perturbed & unknown \\
\end{tabular}
\end{table}
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
                 "trailing remark", "older proof", "switched off", "Palis", "\\bibitem",
                 "after the end of the document", "\\newcommand", "\\begin{abstract}", "Supported by grant"):
        assert gone not in text, gone
    # Macros expanded (one using another, one with an argument), \Rightarrow left alone.
    assert "f\\colon M \\to \\mathbb{R}" in text and "$\\mathbb{R}_{+}$" in text and "\\operatorname{grad} f" in text
    assert "$\\varepsilon > 0$" in text and "$\\Rightarrow$" in text
    assert "-\\left\\lVert \\nabla f(x(t)) \\right\\rVert^2" in text
    assert "About 50\\% of the examples" in text and "rate = 100 % of the step" in text  # escaped %, verbatim
    assert "Along a solution of \\eqref{eq:flow} the value of $f$ decreases, since\n\\begin{align}" in text
    for kept in ("\\begin{equation}", "\\label{eq:flow}", "\\section*{Main result}",
                 "\\begin{theorem}\\label{thm:main}", "\\caption{Trajectories", "\\end{figure}"):
        assert kept in text, kept
    assert notes == {COMMENT_LINES: 6, PREAMBLE: 1, FRONT_MATTER: 1, BIBLIOGRAPHY: 1, MACROS_EXPANDED: 6}


def test_a_file_without_a_document_environment_is_all_body_and_recursive_macros_stop() -> None:
    """A section that the main file `\\input`s has no preamble: nothing of it goes but its comments. A macro that
    uses itself is expanded a bounded number of times."""
    text, notes = clean_latex_source("\\def\\loop{\\loop x}\n% a note\nThe results follow. \\loop\nThe end.\n")
    assert text == "The results follow. \\loop x x x x x\nThe end."
    assert notes[PREAMBLE] == 0 and notes[COMMENT_LINES] == 1 and notes[MACROS_EXPANDED] == 5
    urls, notes = clean_latex_source("Data at \\url{https://example.org/a%20b} and \\href{https://x.org/%7Eme}{here}."
                                     " % a comment\n")
    assert urls == "Data at \\url{https://example.org/a%20b} and \\href{https://x.org/%7Eme}{here}."
    assert notes[COMMENT_LINES] == 1
    robust, _ = clean_latex_source("\\DeclareRobustCommand{\\etal}{et al.}\nAs Smith \\etal{} showed.\n")
    assert robust == "As Smith et al. showed."
    # The spacing commands a macro ends with print nothing (xspace's, the end-of-sentence `\\@`).
    spaced, _ = clean_latex_source("\\newcommand{\\eg}{e.g.\\@\\xspace}\n\\def\\ie{i.e.\\xspace}\n"
                                   "Flows, \\eg gradient ones, \\ie dissipative.\n")
    assert spaced == "Flows, e.g. gradient ones, i.e. dissipative."


def test_macros_with_arguments_are_expanded_as_tex_reads_their_arguments() -> None:
    """An author's macro with arguments (`\\newcommand{\\vect}[2][x]{..}`, `\\def\\pair#1#2{..}`) is replaced by
    what it stands for with its arguments in place, as TeX reads them: brace groups, or one token each; an optional
    first argument takes its default when not given; macros in arguments are expanded too; `\\let` names another
    command. A use without its arguments, or a `\\def` with delimited arguments, is left as written."""
    source = ("\\newcommand{\\norm}[1]{\\left\\lVert #1 \\right\\rVert}\n"
              "\\newcommand*{\\vect}[2][x]{\\mathbf{#1}_{#2}}\n"
              "\\let\\eps=\\varepsilon\n"
              "\\def\\pair#1#2{(#1, #2)}\n"
              "\\def\\upto#1.{#1}\n"
              "\\renewcommand\\R{\\mathbb{R}}\n"
              "Let $\\norm{\\vect{i}} + \\vect[y] {j} + \\pair a{\\R^2} + \\norm\\R < \\eps$ hold.\n"
              "Then \\upto x. follows}\n")
    text, notes = clean_latex_source(source)
    assert text == ("\\def\\upto#1.{#1}\n"
                    "Let $\\left\\lVert \\mathbf{x}_{i} \\right\\rVert + \\mathbf{y}_{j} + (a, \\mathbb{R}^2) "
                    "+ \\left\\lVert \\mathbb{R} \\right\\rVert < \\varepsilon$ hold.\n"
                    "Then \\upto x. follows}")
    assert notes[MACROS_EXPANDED] == 8
    # A command the source saves and redefines to wrap it (a change of style) is kept as the standard command.
    saved, _ = clean_latex_source("\\documentclass{article}\n\\let\\oldsection\\section\n"
                                  "\\renewcommand{\\section}{\\oldsection*}\n\\begin{document}\n\\section{Results}\n"
                                  "\\end{document}\n")
    assert saved == "\\section{Results}"
    # After a stray brace, a use whose group closes is expanded and one whose group never closes is left.
    stray, _ = clean_latex_source("\\newcommand{\\norm}[1]{|#1|}\nA { stray brace, \\norm{x} and \\norm{y.\n")
    assert stray == "A { stray brace, |x| and \\norm{y."
    broken, _ = clean_latex_source("\\newcommand{\\broken}{never closed\n\\newcommand{\\y}{Y}\nUse \\y.\n")
    assert broken == "\\newcommand{\\broken}{never closed\nUse Y."
    unfinished, _ = clean_latex_source("\\newcommand{\\pair}[2]{(#1, #2)}\nThe pair \\pair{a}\n")
    assert unfinished == "The pair \\pair{a}"
    doubling, _ = clean_latex_source("\\newcommand{\\twice}[1]{\\twice{#1}\\twice{#1}}\n\\twice{x}\n")
    assert len(doubling) < 4 * len("\\twice{x}") + 10_000  # a macro that doubles itself stops growing


def test_macro_definitions_are_read_in_the_sources_order_as_tex_reads_them() -> None:
    """`\\providecommand` defines (it was not read at all) but never replaces; a later `\\renewcommand` does; a
    definition inside another's body (a style switch, as docutils' `\\DUCLASSabstract` redefines `\\DUtitle`) is
    part of that body, not a definition of its own, and so is one inside an environment's definition; `\\let` copies
    what a command means where it stands."""
    source = ("\\documentclass{article}\n"
              "\\providecommand*{\\DUrole}[2]{\\textit{#2}}\n"
              "\\newcommand{\\R}{\\mathbb{R}}\n"
              "\\providecommand{\\R}{R}\n"
              "\\newcommand{\\field}{K}\n"
              "\\renewcommand{\\field}{\\mathbb{F}}\n"
              "\\let\\reals\\R\n"
              "\\providecommand*{\\DUtitle}[1]{\\section*{#1}}\n"
              "\\providecommand*{\\DUCLASSabstract}{\\renewcommand{\\DUtitle}[1]{\\centerline{\\textbf{##1}}}}\n"
              "\\newenvironment{sketch}[1][Sketch]{\\renewcommand{\\R}{R}\\begin{proof}[#1]}{\\end{proof}}\n"
              "\\begin{document}\n\\DUtitle{Results}\n"
              "Over \\DUrole{red}{the reals} $\\reals$, $\\R$ and the field $\\field$.\n\\end{document}\n")
    text, _ = clean_latex_source(source)
    assert text == ("\\section*{Results}\n"
                    "Over \\textit{the reals} $\\mathbb{R}$, $\\mathbb{R}$ and the field $\\mathbb{F}$.")


def test_internal_names_with_at_signs_are_whole_names() -> None:
    """Between `\\makeatletter` and `\\makeatother` (a preamble, a style file) `@` is a letter: `\\cite@internal` is one
    command, not `\\cite` followed by text, and the definitions of internal commands define nothing the body uses."""
    source = ("\\documentclass{article}\n\\makeatletter\n"
              "\\let\\cites\\cite@internal\n"
              "\\def\\section@title{WRONG}\n"
              "\\newcommand\\vec@arrow[1]{WRONG #1}\n"
              "\\newcommand{\\ps@plain}{WRONG}\n"
              "\\let\\R@old\\R\n"
              "\\makeatother\n\\newcommand{\\R}{\\mathbb{R}}\n"
              "\\begin{document}\n\\section{Results}\nAs shown \\cites{a}, $\\vec x \\in \\R$.\n\\end{document}\n")
    text, _ = clean_latex_source(source)
    assert text == "\\section{Results}\nAs shown \\cites{a}, $\\vec x \\in \\mathbb{R}$."


def test_front_matter_in_the_body_goes_and_an_abstract_command_is_kept() -> None:
    """revtex puts authors and affiliations in the body, before \\maketitle; some classes take \\abstract{..}."""
    source = ("\\documentclass{revtex4}\n\\begin{document}\n\\title{Cold Atoms}\n\\author{C. Author}\n"
              "\\affiliation{Institute of Physics, Somewhere}\n\\abstract{We trap cold atoms in an optical lattice.}\n"
              "\\maketitle\n\\section{Setup}\nThe lattice is formed by two counter-propagating beams.\n"
              "\\end{document}\n")
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
    assert reader.stats.notes[PREAMBLE] == 2 and reader.stats.notes[COMMENT_LINES] == 12


def test_line_cleaning_keeps_every_line_of_a_latex_source_and_still_cleans_web_text() -> None:
    """Judged as web text, an equation's lines are a menu (before: 17 lines of this paper removed as menu runs and
    short lines, leaving `\\begin{align}` without its `\\end{align}`), and so are a table's short rows. A corpus of
    LaTeX in JSON lines (RedPajama's arXiv) meets line cleaning as it is."""
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
             "\\item A point on the list.", "\\begin{equation} e = mc^2 \\end{equation}", "More prose.",
             "Method & Accuracy \\\\", "First line of an address \\\\"]
    assert latex_markup_lines(lines) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 17}
    assert latex_command_lines(lines) == latex_markup_lines(lines) | {13, 14, 18}
    assert latex_command_lines(["No LaTeX here.", "Home", "Menu"]) == set()


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return out.getvalue()


MAIN = (b"\\documentclass{article}\n\\title{Two Files}\n\\begin{document}\n\\maketitle\n\\begin{abstract}\n"
        b"An abstract of the paper in two files.\n\\end{abstract}\n\\input{sections/intro}\n% \\input{old_results}\n"
        b"\\include{results.tex}\n\\end{document}\n")
INTRO = b"\\section{Introduction}\nThe introduction, written in a file of its own. % its comment\n"
RESULTS = b"\\section{Results}\nThe results, in another file, included with their extension.\n"


def test_an_arxiv_bulk_archive_gives_a_document_per_paper_and_counts_what_it_cannot_read(tmp_path: Path) -> None:
    """arXiv's bulk source files: one gzip per paper, holding the paper's tar of files or its one .tex file; papers
    submitted as PDF or PostScript, and damaged ones, are counted and the archive goes on."""
    papers = {
        "2301/2301.00001.gz": gzip.compress(_tar({"main.tex": MAIN, "sections/intro.tex": INTRO,
                                                  "results.tex": RESULTS, "old_results.tex": b"A draft.\n",
                                                  "fig.png": b"\x89PNG\r\n\x1a\n\x00\x00"})),
        "2301/2301.00002.gz": gzip.compress(PAPER.encode("utf-8")),
        "2301/2301.00003.pdf": b"%PDF-1.4 ...",
        "2301/2301.00004.gz": b"\x1f\x8b\x08\x00 not gzip after all",
        "2301/2301.00005.gz": gzip.compress(_tar({"refs.bib": b"@article{a, title={A}}"})),
        "2301/2301.00006.gz": gzip.compress(b"%!PS-Adobe-2.0\n%%Title: figure\n"),
    }
    path = tmp_path / "arXiv_src_2301_001.tar"
    path.write_bytes(_tar(papers))
    reader = ArchiveReader()
    docs = list(reader.read(str(path)))
    assert [doc["text"] for doc in docs] == [
        "Two Files\n\nAn abstract of the paper in two files.\n\n\\section{Introduction}\nThe introduction, written in "
        "a file of its own.\n\n\\section{Results}\nThe results, in another file, included with their extension.",
        clean_latex_source(PAPER)[0]]
    assert {doc["source"] for doc in docs} == {"arXiv_src_2301_001"}
    assert reader.stats.skipped == {"pdf_only_submission": 1, "corrupt_member": 1, "no_tex_source": 1,
                                    "not_a_latex_source": 1}
    assert reader.stats.docs_in == 6 and reader.stats.docs_out == 2
    assert [doc["id"] for doc in ArchiveReader().read(str(path))] == [doc["id"] for doc in docs]  # stable ids

    # Cut inside the second paper: the first is kept, the damage counted.
    cut = tmp_path / "cut.tar"
    cut.write_bytes(path.read_bytes()[:512 + len(papers["2301/2301.00001.gz"]) + 700])
    reader = ArchiveReader()
    assert len(list(reader.read(str(cut)))) == 1 and reader.stats.skipped == {"corrupt_stream": 1}


def test_a_papers_own_source_archive_is_one_document_read_by_its_name(tmp_path: Path) -> None:
    """A paper downloaded on its own (arxiv.org/e-print, saved as .tar.gz) is its tar of files; `format: auto` reads
    `.tar`, `.tar.gz` and `.tgz` as LaTeX archives."""
    archive = gzip.compress(_tar({"./main.tex": MAIN, "./sections/intro.tex": INTRO, "./results.tex": RESULTS,
                                  "./figures/growth.pdf": b"%PDF-1.5 a figure",
                                  "./data/table.csv.gz": gzip.compress(b"a,b")}))
    # Groups of small files end where a name's hash does (group_names), and the names hold the random tmp_path: a
    # folder whose first name would end a group on its own (1 in 64) is renamed, so the two names share a group.
    folder = tmp_path / "eprints-0"
    folder.mkdir()
    (folder / "2301.00001.tar.gz").write_bytes(archive)
    (folder / "2301.00002.tgz").write_bytes(archive)
    for attempt in range(1, 200):
        if len(list(group_names(sorted(find_inputs(InputsConfig(paths=[str(folder)])).found)))) == 1:
            break
        folder = folder.rename(tmp_path / f"eprints-{attempt}")
    assert format_of("2301.00001.tar.gz") == format_of("a.tgz") == format_of("a.tar") == "archive"
    # Small archives share a task, as small JSON files do (a folder of e-prints is thousands of them).
    assert [len(task.inputs) for task in resolve_inputs(InputsConfig(paths=[str(folder)]))] == [2]
    reader = InputReader(InputsConfig(paths=[str(folder)]))
    docs = [doc for name in ("2301.00001.tar.gz", "2301.00002.tgz") for doc in reader.read(str(folder / name))]
    assert len(docs) == 2 and docs[0]["text"] == docs[1]["text"] and docs[0]["text"].startswith("Two Files\n\n")
    assert "The results, in another file" in docs[0]["text"] and "A draft" not in docs[0]["text"]
    assert reader.stats.notes["latex:comment_lines_removed"] == 4  # the commented \input and intro's comment, twice
    assert reader.stats.notes["archive_members_passed_over"] == 4 and reader.stats.docs_in == 2  # figures, data


def test_a_switched_off_block_goes_only_when_its_end_is_certain() -> None:
    """`\\iffalse .. \\fi` goes whole; one holding another conditional is left as written (its `\\fi` could be
    either's)."""
    assert clean_latex_source("Kept.\n\\iffalse\nA note to self.\n\\fi\nAlso kept.\n")[0] == "Kept.\nAlso kept."
    nested = "Kept.\n\\iffalse\n\\ifdraft draft\\fi\nA note.\n\\fi\nAlso kept."
    assert clean_latex_source(nested)[0] == nested


def test_a_main_file_in_a_folder_reads_the_files_it_inputs_from_beside_it(tmp_path: Path) -> None:
    """Unpacked sources: the main file is the paper, its inputs read from its folder (a missing one, such as a
    generated .bbl, noted); an included file read on its own is a fragment, kept whole."""
    (tmp_path / "sections").mkdir()
    (tmp_path / "main.tex").write_bytes(MAIN.replace(b"\\end{document}", b"\\input{main.bbl}\n\\end{document}"))
    (tmp_path / "sections" / "intro.tex").write_bytes(INTRO)
    (tmp_path / "results.tex").write_bytes(RESULTS)
    reader = TextFileReader()
    main = next(reader.read(str(tmp_path / "main.tex")))["text"]
    assert main == next(ArchiveReader().read(str(_archive(tmp_path))))["text"]
    assert reader.stats.notes["latex:input_not_found"] == 1 and reader.stats.notes[COMMENT_LINES] == 2
    # A fragment no main file takes in is a document of its own, kept whole.
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "results.tex").write_bytes(RESULTS)
    assert next(TextFileReader().read(str(tmp_path / "fragments" / "results.tex")))["text"] == RESULTS.decode().strip()


def test_a_folder_of_unpacked_papers_gives_one_document_per_paper(tmp_path: Path, monkeypatch) -> None:
    """arXiv's sources unpacked into a folder per paper: each paper is one document, its main file with what it
    inputs; the files it takes in (from its folder or one below) are counted as parts of it, not read again as
    documents; a file no main file takes in (an old draft) and a folder of fragments are read as they are."""
    first, second = tmp_path / "papers" / "2301.00001", tmp_path / "papers" / "2301.00002"
    (first / "sections").mkdir(parents=True)
    second.mkdir()
    (first / "main.tex").write_bytes(MAIN)
    (first / "sections" / "intro.tex").write_bytes(INTRO)
    (first / "results.tex").write_bytes(RESULTS)
    (first / "old_results.tex").write_bytes(b"A draft the main file no longer inputs.\n")
    (second / "paper.tex").write_bytes(MAIN.replace(b"Two Files", b"The Second Paper"))
    (second / "sections.tex").write_bytes(RESULTS)  # a name the main file does not input
    (tmp_path / "snippets").mkdir()
    for k in range(3):
        (tmp_path / "snippets" / f"{k}.tex").write_bytes(RESULTS)
    config = InputsConfig(paths=[str(tmp_path)])
    reader = InputReader(config)
    listed: list[str] = []
    listing = TextFileReader._listing
    monkeypatch.setattr(TextFileReader, "_listing", lambda self, folder: listed.append(folder) or listing(self, folder))
    texts = {Path(location).relative_to(tmp_path).as_posix(): doc["text"]
             for task in resolve_inputs(config) for location in task.inputs for doc in reader.read(location)}
    # A paper's folder is where the search for its main file ends: the folder of all papers is never listed (in an
    # object store, a million papers' listing for every task).
    assert str(tmp_path / "papers") not in listed and str(first) in listed
    assert sorted(texts) == ["papers/2301.00001/main.tex", "papers/2301.00001/old_results.tex",
                             "papers/2301.00002/paper.tex", "papers/2301.00002/sections.tex",
                             "snippets/0.tex", "snippets/1.tex", "snippets/2.tex"]
    assert texts["papers/2301.00001/main.tex"] == next(ArchiveReader().read(str(_archive(tmp_path))))["text"]
    assert "The introduction" in texts["papers/2301.00001/main.tex"]
    assert reader.stats.skipped == {"part_of_a_paper": 2}
    assert reader.stats.docs_in == 9 and reader.stats.docs_out == 7


def test_an_unpacked_paper_is_read_once_file_by_file(tmp_path: Path, monkeypatch) -> None:
    """Each file of an unpacked paper is opened once to find the paper and its parts, and only the main file once
    more, as the document: from an object store every open is a request (a paper's parts were read three times)."""
    folder = _unpacked(tmp_path / "2301.00001", {"main.tex": MAIN, "sections/intro.tex": INTRO,
                                                  "results.tex": RESULTS})
    expected = next(ArchiveReader().read(str(_archive(tmp_path))))["text"]
    opened: Counter = Counter()
    real_open = fsspec.open
    monkeypatch.setattr(fsspec, "open", lambda path, *args, **kwargs: opened.update([Path(path).name])
                        or real_open(path, *args, **kwargs))
    texts, reader = _read_folder(folder)
    assert texts == {"main.tex": expected}
    assert reader.stats.skipped == {"part_of_a_paper": 2}
    assert opened == {"main.tex": 2, "intro.tex": 1, "results.tex": 1}


def _unpacked(folder: Path, files: dict[str, bytes]) -> Path:
    """A paper's files written into a folder, as its source archive unpacks."""
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)
    return folder


def _read_folder(folder: Path) -> tuple[dict[str, str], InputReader]:
    """(text of each document by its file's name, the reader) of a folder read as a run reads it."""
    config = InputsConfig(paths=[str(folder)])
    reader = InputReader(config)
    texts = {Path(location).name: doc["text"]
             for task in resolve_inputs(config) for location in task.inputs for doc in reader.read(location)}
    return texts, reader


def _archive(folder: Path) -> Path:
    path = folder / "paper.tar.gz"
    path.write_bytes(gzip.compress(_tar({"main.tex": MAIN, "sections/intro.tex": INTRO, "results.tex": RESULTS})))
    return path


def test_a_papers_own_package_defines_macros_that_are_expanded_from_its_archive_and_its_folder(tmp_path: Path) -> None:
    """`\\usepackage{macros}` with the paper's own macros.sty (arXiv sources often keep the authors' macros there):
    its definitions are expanded in the text, as those of the preamble are; installed packages are left alone."""
    main = (b"\\documentclass{article}\n\\usepackage{amsmath, macros}\n\\begin{document}\n"
            b"\\method{} improves on \\baseline{} for every $x \\in \\R$.\n\\end{document}\n")
    package = (b"\\ProvidesPackage{macros}\n% the authors' macros\n\\newcommand{\\method}{SciLoom}\n"
               b"\\newcommand{\\baseline}{DataTrove}\n\\newcommand{\\R}{\\mathbb{R}}\n")
    expected = "SciLoom improves on DataTrove for every $x \\in \\mathbb{R}$."
    archive = tmp_path / "paper.tar.gz"
    archive.write_bytes(gzip.compress(_tar({"main.tex": main, "macros.sty": package})))
    assert next(ArchiveReader().read(str(archive)))["text"] == expected
    bulk = tmp_path / "arXiv_src_2301_001.tar"
    bulk.write_bytes(_tar({"2301/2301.00003.gz": gzip.compress(_tar({"main.tex": main, "macros.sty": package}))}))
    assert next(ArchiveReader().read(str(bulk)))["text"] == expected
    folder = tmp_path / "unpacked"
    folder.mkdir()
    (folder / "main.tex").write_bytes(main)
    (folder / "macros.sty").write_bytes(package)
    assert next(TextFileReader().read(str(folder / "main.tex")))["text"] == expected


SUBFILE = (b"\\documentclass[main.tex]{subfiles}\n\\begin{document}\n\\section{Methods}\n"
           b"The methods, in a subfile that compiles on its own.\n\\end{document}\n")
FIGURE = (b"\\documentclass[tikz]{standalone}\n\\begin{document}\n\\begin{tikzpicture}\\draw (0,0) -- (1,1);"
          b"\\end{tikzpicture}\n\\end{document}\n")
RESPONSE = (b"\\documentclass{letter}\n\\begin{document}\nWe thank the referee for the careful reading and answer "
            b"each point below.\n\\end{document}\n")


def test_a_paper_with_subfiles_a_standalone_figure_and_a_response_to_referees(tmp_path: Path) -> None:
    """A subfile (its own `\\begin{document}`) gives the paper its body, not its end; a standalone TikZ figure is
    no document, and one named before the paper no longer stands in for it; a response to the referees, a document
    of its own, is one, named after the paper's files, and the paper (the most text) keeps the paper's name."""
    main = MAIN.replace(b"\\include{results.tex}", b"\\subfile{methods}\n\\include{results.tex}")
    files = {"main.tex": main, "sections/intro.tex": INTRO, "results.tex": RESULTS, "methods.tex": SUBFILE,
             "a_figure.tex": FIGURE, "response.tex": RESPONSE}
    bulk = tmp_path / "arXiv_src_2301_001.tar"
    bulk.write_bytes(_tar({"2301/2301.00004.gz": gzip.compress(_tar(files))}))
    reader = ArchiveReader()
    docs = list(reader.read(str(bulk)))
    assert [doc["id"] for doc in docs] == [document_id("arXiv_src_2301_001", f"{bulk}:2301/2301.00004.gz"),
                                           document_id("arXiv_src_2301_001", f"{bulk}:2301/2301.00004.gz/response.tex")]
    paper, response = (doc["text"] for doc in docs)
    assert paper.index("The introduction") < paper.index("The methods") < paper.index("The results")
    assert "documentclass" not in paper and "tikzpicture" not in paper + response
    assert response == "We thank the referee for the careful reading and answer each point below."
    assert reader.stats.docs_in == reader.stats.docs_out == 2 and reader.stats.notes[STANDALONE_FIGURES] == 1
    # Unpacked into a folder: the same paper; the subfile is part of it, the figure is no document.
    texts, reader = _read_folder(_unpacked(tmp_path / "2301.00004", files))
    assert texts == {"main.tex": paper, "response.tex": response}
    assert reader.stats.skipped == {"part_of_a_paper": 3, "standalone_figure": 1}


def test_a_subfile_in_a_folder_of_its_own_is_part_of_the_paper_above_it(tmp_path: Path) -> None:
    """A subfile kept in the paper's `sections/` compiles on its own (its own `\\begin{document}`), but its folder is
    not a paper's: read from an unpacked folder it is part of the paper above it, as in the paper's archive, not a
    document again; with no paper above it, it is one."""
    main = MAIN.replace(b"\\include{results.tex}", b"\\subfile{sections/methods}\n\\include{results.tex}")
    files = {"main.tex": main, "sections/intro.tex": INTRO, "results.tex": RESULTS,
             "sections/methods.tex": SUBFILE.replace(b"[main.tex]", b"[../main.tex]")}
    archive = tmp_path / "paper.tar.gz"
    archive.write_bytes(gzip.compress(_tar(files)))
    paper = next(ArchiveReader().read(str(archive)))["text"]
    assert "The methods" in paper
    texts, reader = _read_folder(_unpacked(tmp_path / "2301.00005", files))
    assert texts == {"main.tex": paper}
    assert reader.stats.skipped == {"part_of_a_paper": 3}
    alone, _ = _read_folder(_unpacked(tmp_path / "alone", {"sections/methods.tex": files["sections/methods.tex"]}))
    assert alone == {"methods.tex": "\\section{Methods}\nThe methods, in a subfile that compiles on its own."}


def test_a_supplement_longer_than_its_paper_does_not_take_the_papers_name(tmp_path: Path) -> None:
    """A paper's supplement is often longer than the paper. The paper keeps the paper's id: it is the document a
    supplement names with the xr package's `\\externaldocument{main}`, else the longest not named as a supplement or
    a response (`supp.tex`, `SI.tex`, `response_to_reviewers.tex`)."""
    supplement = (b"\\documentclass{article}\n\\usepackage{xr}\n\\externaldocument[M-]{main}\n\\begin{document}\n"
                  b"\\section{Supplementary methods}\n" + b"Every step of the derivation in full. " * 200 +
                  b"\n\\end{document}\n")
    for supplement_name in ("extra.tex", "supp.tex"):
        for xr in (True, False):
            if not xr and supplement_name == "extra.tex":
                continue  # (a neutral name and no reference: the longer is taken as the paper, as before)
            body = supplement if xr else supplement.replace(b"\\externaldocument[M-]{main}\n", b"")
            files = {"main.tex": MAIN, "sections/intro.tex": INTRO, "results.tex": RESULTS, supplement_name: body}
            archive = tmp_path / "paper.tar.gz"
            archive.write_bytes(gzip.compress(_tar(files)))
            paper, other = ArchiveReader().read(str(archive))
            assert "The introduction" in paper["text"] and "derivation in full" in other["text"], (supplement_name, xr)
            assert paper["id"] == document_id("paper", f"{archive}") and other["id"] == document_id(
                "paper", f"{archive}/{supplement_name}")


def test_imported_files_are_found_from_the_including_file_and_a_file_ends_at_endinput(tmp_path: Path) -> None:
    """The import package: `\\import{dir/}{file}` from the paper's folder, `\\subimport{dir/}{file}` from the
    including file's, and an `\\input` inside an imported file from its folder too; LaTeX reads no further in a file
    than its `\\endinput`, in the main file or an included one."""
    main = (b"\\documentclass{article}\n\\usepackage{import}\n\\begin{document}\n\\import{chapters/}{one}\n"
            b"\\input{two}\nThe end of the paper.\n\\endinput\nNotes to self after the end.\n\\end{document}\n")
    one = b"\\section{One}\nChapter one.\n\\subimport{parts/}{detail}\n\\input{parts/more}\n"
    detail = b"A detail of chapter one, imported from the chapter's folder.\n"
    two = b"\\section{Two}\nChapter two.\n\\endinput\nA paragraph cut from chapter two.\n"
    more = b"More of chapter one, input from the folder it was imported from.\n"
    files = {"main.tex": main, "chapters/one.tex": one, "chapters/parts/detail.tex": detail,
             "chapters/parts/more.tex": more, "two.tex": two}
    archive = tmp_path / "paper.tar.gz"
    archive.write_bytes(gzip.compress(_tar(files)))
    text = next(ArchiveReader().read(str(archive)))["text"]
    assert text == ("\\section{One}\nChapter one.\nA detail of chapter one, imported from the chapter's folder.\n\n"
                    "More of chapter one, input from the folder it was imported from.\n\n"
                    "\\section{Two}\nChapter two.\n\nThe end of the paper.")
    folder = _unpacked(tmp_path / "unpacked", files)
    assert next(TextFileReader().read(str(folder / "main.tex")))["text"] == text


def test_a_paper_submitted_as_html_is_a_page_for_extraction_not_latex(tmp_path: Path) -> None:
    """arXiv also holds papers submitted as HTML: one page gzipped on its own, or a tar of pages and figures. Read
    as LaTeX, the markup was the document's text; now each page is a saved page, and extraction reads it."""
    from sciloom.curation.extract import ExtractStep

    page = (b"<!DOCTYPE html>\n<html><head><title>A paper in HTML</title></head><body><nav>Home | Papers</nav>"
            b"<h1>A paper in HTML</h1><p>" + b"Its first paragraph reports a measurement of the growth rate. " * 6 +
            b"</p><p>" + b"Its second paragraph discusses what the measurement means. " * 6 + b"</p></body></html>")
    bulk = tmp_path / "arXiv_src_9901_001.tar"
    bulk.write_bytes(_tar({"9901/cs9901001.gz": gzip.compress(page),
                           "9901/cs9901002.gz": gzip.compress(_tar({"index.html": page, "fig1.gif": b"GIF89a\x00",
                                                                     "notes.htm": b"<html><body>Notes</body></html>"}))}))
    reader = ArchiveReader()
    docs = list(reader.read(str(bulk)))
    assert [doc["html"] is not None and doc["text"] is None for doc in docs] == [True, True, True]
    assert docs[2]["id"] == document_id("arXiv_src_9901_001", f"{bulk}:9901/cs9901002.gz/notes.htm")
    assert reader.stats.notes["html_submission"] == 2 and reader.stats.docs_in == reader.stats.docs_out == 3
    extract = ExtractStep()
    assert extract.apply(docs[0]) is None and "Its second paragraph" in docs[0]["text"]
    assert "<p>" not in docs[0]["text"] and "Home | Papers" not in docs[0]["text"]


def test_the_submitters_00readme_names_the_paper_and_the_files_to_ignore(tmp_path: Path) -> None:
    """arXiv's `00README.XXX` (`main.tex toplevelfile`, `draft.tex ignore`) and `00README.json` tell its compiler which
    file is the paper: a longer draft with a document of its own no longer takes the paper's place, nor is one."""
    draft = MAIN.replace(b"Two Files", b"An Old Draft").replace(b"\\end{document}",
                                                               b"Old text. " * 300 + b"\n\\end{document}")
    readme_xxx = b"main.tex toplevelfile\ndraft.tex ignore\nnostamp\n"
    readme_json = json.dumps({"process": {"compiler": "pdflatex"},
                              "sources": [{"filename": "main.tex", "usage": "toplevel"},
                                          {"filename": "draft.tex", "usage": "ignore"}]}).encode()
    own = tmp_path / "paper.tar.gz"
    for readme_name, readme in (("00README.XXX", readme_xxx), ("00README.json", readme_json)):
        files = {"main.tex": MAIN, "sections/intro.tex": INTRO, "results.tex": RESULTS, "draft.tex": draft,
                 readme_name: readme}
        bulk = tmp_path / "arXiv_src_2301_001.tar"
        bulk.write_bytes(_tar({"2301/2301.00005.gz": gzip.compress(_tar(files))}))
        own.write_bytes(gzip.compress(_tar(files)))
        for archive in (bulk, own):
            docs = list(ArchiveReader().read(str(archive)))
            assert len(docs) == 1 and "Two Files" in docs[0]["text"] and "Old text" not in docs[0]["text"], archive
    # Unpacked into a folder, the 00README leaves the draft out as a document too.
    texts, reader = _read_folder(_unpacked(tmp_path / "unpacked", files))
    assert list(texts) == ["main.tex"] and "Two Files" in texts["main.tex"] and "Old text" not in texts["main.tex"]
    assert reader.stats.skipped == {"part_of_a_paper": 2, "left_out_by_00readme": 1}
    # A file it ignores in a folder below the paper's is left out too.
    texts, reader = _read_folder(_unpacked(tmp_path / "unpacked_notes", {
        **files, "sections/notes.tex": b"Notes to the coauthors, never compiled.\n",
        "00README.XXX": readme_xxx + b"sections/notes.tex ignore\n"}))
    assert list(texts) == ["main.tex"]
    assert reader.stats.skipped == {"part_of_a_paper": 2, "left_out_by_00readme": 2}
    # A main file in a folder of the archive finds a file beside that folder (`../`) as LaTeX does.
    nested = {"paper/main.tex": MAIN.replace(b"\\input{sections/intro}", b"\\input{../shared/intro}"),
              "shared/intro.tex": INTRO, "paper/results.tex": RESULTS}
    own.write_bytes(gzip.compress(_tar(nested)))
    assert "The introduction" in next(ArchiveReader().read(str(own)))["text"]
    # Without a 00README the draft, the longer, would be taken as the paper.
    del files[readme_name]
    own.write_bytes(gzip.compress(_tar(files)))
    assert "Old text" in next(ArchiveReader().read(str(own)))["text"]
