"""JATS XML (PubMed Central's articles): the text a reader keeps, standalone files and packages of them."""
from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from sciloom.curation.document import STRUCTURED, document_id
from sciloom.curation.inputs import InputReader, InputsConfig, format_of
from sciloom.curation.line_cleaning import LineCleaningStep
from sciloom.curation.read_archives import ArchiveReader
from sciloom.curation.read_jats import MALFORMED, NOT_AN_ARTICLE, JatsFileReader, article_documents, article_texts

# An article written for these tests, in the shape of PubMed Central's files: a DOCTYPE naming a DTD on the web, an
# entity that DTD defines, MathML and TeX formulas, a structured abstract, a figure, a table, a list, footnotes,
# acknowledgements, references.
ARTICLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.2 20190208//EN"
  "https://jats.nlm.nih.gov/archiving/1.2/JATS-archivearticle1.dtd">
<article xmlns:mml="http://www.w3.org/1998/Math/MathML" xmlns:xlink="http://www.w3.org/1999/xlink"
         article-type="research-article">
  <front>
    <journal-meta><journal-title-group><journal-title>Journal of Tests</journal-title></journal-title-group>
    </journal-meta>
    <article-meta>
      <article-id pub-id-type="pmc">PMC0000001</article-id>
      <title-group><article-title>Growth of <italic>Escherichia coli</italic> at low temperature</article-title>
      </title-group>
      <contrib-group><contrib><name><surname>Author</surname><given-names>A.</given-names></name></contrib>
      </contrib-group>
      <author-notes><corresp>Correspondence to a.author@example.org</corresp></author-notes>
      <abstract>
        <sec><title>Background</title><p>Bacterial growth slows down as the temperature drops.</p></sec>
        <sec><title>Results</title>
          <p>The doubling time rose from 20 to 90 minutes between 37 &ndash; 15 degrees.</p></sec>
      </abstract>
      <abstract abstract-type="graphical"><p>A picture of the growth curves.</p></abstract>
    </article-meta>
  </front>
  <body>
    <sec id="s1">
      <title>Introduction</title>
      <p>The growth rate <inline-formula><mml:math><mml:mi>&#x3bc;</mml:mi></mml:math></inline-formula> of a culture
        depends on the temperature <xref ref-type="bibr" rid="r1">[1]</xref>.<fn id="fn1"><p>A footnote.</p></fn>
        We model it as</p>
      <disp-formula id="e1"><label>(1)</label><alternatives>
        <tex-math id="t1"><![CDATA[\\documentclass[12pt]{minimal}\\usepackage{amsmath}
\\begin{document}$$\\mu(T) = \\mu_0 e^{-E/RT}$$\\end{document}]]></tex-math>
        <mml:math><mml:mi>x</mml:mi></mml:math></alternatives></disp-formula>
      <p>Three conditions were compared:</p>
      <list list-type="bullet">
        <list-item><p>a rich medium,</p></list-item>
        <list-item><p>a minimal medium, and</p></list-item>
        <list-item><p>a minimal medium with glucose.</p></list-item>
      </list>
    </sec>
    <sec id="s2">
      <title>Results</title>
      <fig id="f1"><label>Figure 1</label><caption><title>Growth curves.</title>
        <p>Optical density against time at four temperatures.</p></caption>
        <graphic xlink:href="f1.jpg"/></fig>
      <table-wrap id="t1"><label>Table 1</label><caption><p>Doubling times.</p></caption>
        <table><thead><tr><th>Temperature</th><th>Doubling time</th></tr></thead>
          <tbody><tr><td>37</td><td>20</td></tr><tr><td>15</td><td>90</td></tr></tbody></table>
      </table-wrap>
      <p>The fitted activation energy was <inline-formula><tex-math>$E = 55$</tex-math></inline-formula>
        kJ per mole.</p>
    </sec>
  </body>
  <back>
    <ack><p>We thank the funding agency.</p></ack>
    <app-group><app><title>Appendix A</title><p>The fitting procedure used least squares.</p></app></app-group>
    <ref-list><ref id="r1"><mixed-citation>Ratkowsky et al. 1982.</mixed-citation></ref></ref-list>
  </back>
  <floats-group><fig id="f2"><caption><p>Cell length at each temperature.</p></caption></fig></floats-group>
</article>
"""

EXPECTED = """Growth of Escherichia coli at low temperature

Background

Bacterial growth slows down as the temperature drops.

Results

The doubling time rose from 20 to 90 minutes between 37 – 15 degrees.

Introduction

The growth rate $\\mu$ of a culture depends on the temperature [1]. We model it as

$$\\mu(T) = \\mu_0 e^{-E/RT}$$

Three conditions were compared:

- a rich medium,
- a minimal medium, and
- a minimal medium with glucose.

Results

Growth curves.

Optical density against time at four temperatures.

Doubling times.

| Temperature | Doubling time |
|---|---|
| 37 | 20 |
| 15 | 90 |

The fitted activation energy was $E = 55$ kJ per mole.

Appendix A

The fitting procedure used least squares.

Cell length at each temperature."""


def test_an_article_is_its_title_abstract_body_and_appendices_with_math_as_latex() -> None:
    texts, problem = article_texts(ARTICLE)
    assert problem is None and texts == [("", EXPECTED)]
    text = texts[0][1]
    for gone in ("Journal of Tests", "Author", "a.author@example.org", "A footnote", "funding agency", "Ratkowsky",
                 "A picture of the growth curves", "Figure 1", "Table 1", "(1)"):
        assert gone not in text, gone


def test_what_is_not_a_jats_article_is_counted(tmp_path: Path) -> None:
    assert article_texts(b"<html><body><p>A page.</p></body></html>") == ([], NOT_AN_ARTICLE)
    assert article_texts(b"\x00\x01 not xml at all") == ([], MALFORMED)
    (tmp_path / "PMC0000001.nxml").write_bytes(ARTICLE)
    (tmp_path / "PMC0000002.xml.gz").write_bytes(gzip.compress(ARTICLE))
    (tmp_path / "sitemap.xml").write_bytes(b'<urlset><url><loc>https://example.org/</loc></url></urlset>')
    assert format_of("a.nxml") == format_of("a.xml.gz") == "jats"
    reader = InputReader(InputsConfig(paths=[str(tmp_path)]))
    docs = [doc for name in sorted(p.name for p in tmp_path.iterdir()) for doc in reader.read(str(tmp_path / name))]
    assert [doc["text"] for doc in docs] == [EXPECTED, EXPECTED]
    assert reader.stats.skipped == {NOT_AN_ARTICLE: 1} and reader.stats.docs_in == 3


def test_a_pubmed_central_package_gives_a_document_per_article(tmp_path: Path) -> None:
    """PubMed Central's bulk packages are .tar.gz files of one XML file per article."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, body in (("PMC000xxxxxx/PMC0000001.xml", ARTICLE), ("PMC000xxxxxx/PMC0000002.xml", ARTICLE[:900]),
                           ("PMC000xxxxxx/PMC0000003.xml.gz",
                            gzip.compress(ARTICLE.replace(b"low temperature", b"high pressure"))),
                           ("PMC000xxxxxx/filelist.txt", b"PMC0000001\nPMC0000002\n")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    path = tmp_path / "oa_comm_xml.PMC000xxxxxx.baseline.2026-01-01.tar.gz"
    path.write_bytes(out.getvalue())
    reader = ArchiveReader()
    docs = list(reader.read(str(path)))
    assert [doc["text"].split("\n")[0] for doc in docs] == ["Growth of Escherichia coli at low temperature",
                                                            "Growth of Escherichia coli at high pressure"]
    assert reader.stats.docs_in == 3 and reader.stats.skipped == {MALFORMED: 1}
    assert reader.stats.notes["archive_members_passed_over"] == 1
    assert docs[0]["id"] != docs[1]["id"] and {doc["source"] for doc in docs} == {
        "oa_comm_xml.PMC000xxxxxx.baseline.2026-01-01"}


def test_a_reader_counts_every_article() -> None:
    reader = JatsFileReader()
    assert len(list(article_documents(reader, ARTICLE, "pmc", "a", len(ARTICLE)))) == 1
    assert list(article_documents(reader, b"<x/>", "pmc", "b", len(ARTICLE))) == []
    assert list(article_documents(reader, ARTICLE + b" ", "pmc", "c", len(ARTICLE))) == []
    assert reader.stats.docs_out == 1 and reader.stats.skipped == {NOT_AN_ARTICLE: 1, "record_too_large": 1}


def test_line_cleaning_leaves_an_articles_headings_and_lists_and_consumes_the_flag() -> None:
    """Judged as web text, "Introduction", "Appendix A" and the list's items are stray short lines and a menu."""
    doc, = article_documents(JatsFileReader(), ARTICLE, "pmc", "a")
    step = LineCleaningStep()
    assert list(step.run([doc])) == [{**doc}] and doc["text"] == EXPECTED and STRUCTURED not in doc
    assert step.stats.notes == {"structured_text_kept": 1}
    plain = {"id": "b", "text": EXPECTED, "html": None}
    list(step.run([plain]))
    assert "- a rich medium," not in plain["text"] and "Appendix A" not in plain["text"]


def test_lay_summaries_follow_the_abstract_and_nested_lists_keep_their_levels() -> None:
    """PLOS's author summary and eLife's digest are text written for readers outside the field: kept after the
    abstract, under their titles; a graphical abstract and a translated one are not. A list inside a list item
    keeps its items on their own lines, indented."""
    article = b"""<article><front><article-meta>
      <title-group><article-title>A Title</article-title></title-group>
      <trans-abstract xml:lang="de"><p>Eine Zusammenfassung.</p></trans-abstract>
      <abstract abstract-type="graphical"><p>A picture.</p></abstract>
      <abstract><title>Abstract</title><p>The abstract.</p></abstract>
      <abstract abstract-type="summary"><title>Author summary</title><p>What we found, plainly.</p></abstract>
      <abstract abstract-type="executive-summary"><title>eLife digest</title><p>The digest.</p></abstract>
    </article-meta></front>
    <body><p>Steps:</p><list>
      <list-item><p>first,</p><list><list-item><p>first a,</p></list-item>
        <list-item><p>first b,</p><list><list-item><p>deeper.</p></list-item></list></list-item></list></list-item>
      <list-item><p>second.</p></list-item>
    </list></body></article>"""
    texts, problem = article_texts(article)
    assert problem is None
    assert texts[0][1] == ("A Title\n\nThe abstract.\n\nAuthor summary\n\nWhat we found, plainly.\n\neLife digest\n\n"
                    "The digest.\n\nSteps:\n\n- first,\n  - first a,\n  - first b,\n    - deeper.\n- second.")
    # Without an abstract of its own, an article's summary stands in for it (its title is not a heading then).
    summary_only = article.replace(b"<abstract><title>Abstract</title><p>The abstract.</p></abstract>", b"")
    assert article_texts(summary_only)[0][0][1].startswith("A Title\n\nWhat we found, plainly.\n\neLife digest\n\nThe digest.")


def test_sub_articles_peer_review_and_responses_are_documents_of_their_own(tmp_path: Path) -> None:
    """eLife's articles carry the decision letter and the authors' response as sub-articles: text that was
    dropped; each is now a document of its own, named after the article, counted as an input of its own."""
    article = ARTICLE.replace(b"</article>", b"""<sub-article article-type="decision-letter" id="sa1">
      <front-stub><title-group><article-title>Decision letter</article-title></title-group>
        <contrib-group><contrib><name><surname>Editor</surname></name></contrib></contrib-group></front-stub>
      <body><p>The reviewers found the temperature series convincing but asked for a second strain.</p></body>
    </sub-article>
    <sub-article article-type="reply" id="sa2">
      <front-stub><title-group><article-title>Author response</article-title></title-group></front-stub>
      <body><p>We added a second strain, which grows alike.</p></body>
    </sub-article>
    </article>""")
    path = tmp_path / "PMC0000001.nxml"
    path.write_bytes(article)
    reader = JatsFileReader()
    docs = list(reader.read(str(path)))
    assert [doc["text"] for doc in docs] == [
        EXPECTED, "Decision letter\n\nThe reviewers found the temperature series convincing but asked for a second "
        "strain.", "Author response\n\nWe added a second strain, which grows alike."]
    assert docs[1]["id"] == document_id(docs[1]["source"], f"{path}/sub-article/sa1") != docs[0]["id"]
    assert reader.stats.docs_in == reader.stats.docs_out == 3
