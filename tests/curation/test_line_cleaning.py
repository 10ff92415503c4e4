"""LineCleaningStep: boilerplate lines of text inputs go, counted per reason; real articles keep their text."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from sciloom.curation.config import CurationConfig
from sciloom.curation.executor import Task
from sciloom.curation.inputs import InputsConfig, reader_for
from sciloom.curation.line_cleaning import REASONS, LineCleaner, LineCleaningConfig, LineCleaningStep
from sciloom.curation.map_stage import map_documents
from sciloom.curation.pipeline import build_extraction_chain

WET = Path("warc") / "commoncrawl-whirlwind" / "whirlwind.warc.wet.gz"
DOLMA = Path("warc") / "dolma-tests" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
REPAIR_GUIDE_ID = "hlkhfijbkaugco3wm5qegnhhbp47bn6k"  # "Skip to main content / Help / Editing Step 12 — ..."


def _removed_share(texts: list[str]) -> float:
    cleaner = LineCleaner()
    before = sum(map(len, texts))
    return (before - sum(len(cleaner.clean(text)[0]) for text in texts)) / before


def test_real_articles_keep_their_text(shared_data: Path) -> None:
    """Every BBC article (2,225) and every S2ORC title + abstract (488): at most 1% of the characters removed."""
    bbc = [path.read_text(encoding="utf-8", errors="replace")
           for path in sorted((shared_data / "general" / "bbc-news").glob("*/*.txt"))]
    s2orc = [f"{paper['title']}\n\n{paper['abstract']}" for paper in map(json.loads, (
        shared_data / "disciplines" / "s2orc-metadata-sample" / "metadata_sample_v2020-07-05.jsonl").open())
        if paper.get("abstract")]
    assert len(bbc) == 2225 and len(s2orc) == 488
    bbc_share, s2orc_share = _removed_share(bbc), _removed_share(s2orc)
    print(f"characters removed: BBC {bbc_share:.3%}, S2ORC {s2orc_share:.3%}")
    assert bbc_share <= 0.01 and s2orc_share <= 0.01


def test_hard_wrapped_text_loses_the_words_it_loses_unwrapped(shared_data: Path, benchmark) -> None:
    """Real abstracts and articles cut at 60-80 columns (as pdftotext and plain-text archives write them): the
    wrapper's fragments are short unpunctuated lines, and judged one by one they went as menus and short lines.
    Judged as paragraphs, each text loses exactly the words it loses unwrapped, and what stays keeps its wrapping."""
    module = benchmark("eval_science_rules")
    articles = [path.read_text(encoding="utf-8", errors="replace")
                for path in sorted((shared_data / "general" / "bbc-news").glob("*/*.txt"))[::10]][:150]
    texts = list(module.s2orc_abstracts(80))[:150] + articles
    cleaner = LineCleaner()

    def words_removed(text: str) -> int:
        return len(text.split()) - len(cleaner.clean(text)[0].split())

    assert sum(map(words_removed, texts)) > 0  # some articles do lose lines
    for width in (60, 72, 80):
        wrapped = [module.hard_wrapped(text, width) for text in texts]
        differing = [text[:60] for text, lines in zip(texts, wrapped) if words_removed(lines) != words_removed(text)]
        assert not differing, (width, differing[:3])
        kept_lines = [line for text in wrapped for line in cleaner.clean(text)[0].split("\n")]
        assert max(map(len, kept_lines)) <= width


def test_common_crawl_wet_loses_its_navigation(shared_data: Path) -> None:
    """Common Crawl's own WET text of a Wikipedia page, read by the WARC reader: menus and the language list go,
    the article stays, and the removed lines are counted per reason."""
    path = str(shared_data / WET)
    docs = list(reader_for(InputsConfig(paths=[path])).read(path))
    assert len(docs) == 1 and docs[0]["html"] is None
    before = docs[0]["text"]
    step = LineCleaningStep()
    [doc] = list(step.run(docs))
    after = doc["text"]
    for boilerplate in ("Ir al contenido", "Menú principal", "mover a la barra lateral", "Creyar cuenta",
                        "Dentrar-ie", "Asturianu", "Brezhoneg", "Alternar subsección Administración"):
        assert boilerplate in before and f"\n{boilerplate}\n" not in f"\n{after}\n", boilerplate
    for content in ("Escopete ye un municipio d'a provincia de Guadalachara",
                    "A suya población ye de 84 habitants (2007)", "Ilesia parroquial de l'Asunción"):
        assert content in after
    removed_lines = len([l for l in before.split("\n") if l.strip()]) - len([l for l in after.split("\n") if l.strip()])
    lines_counted = {k: v for k, v in step.stats.notes.items() if k.startswith("lines_removed:")}
    assert sum(lines_counted.values()) == removed_lines >= 100
    assert step.stats.notes["chars_removed"] == len(before) - len(after)


def test_jsonl_crawl_text_loses_the_editor_chrome(shared_data: Path) -> None:
    """The repair guide of issue 11: its editor chrome goes, every instruction stays."""
    path = str(shared_data / DOLMA)
    docs = [doc for doc in reader_for(InputsConfig(paths=[path])).read(path)]
    [guide] = [doc for doc in docs if doc["text"].startswith("Skip to main content\nHelp\nEditing Step 12")]
    text = LineCleaner().clean(guide["text"])[0]
    for chrome in ("Skip to main content", "Help", "Editing Step 12 —", "Step Type:", "Drag to rearrange"):
        assert f"\n{chrome}\n" not in f"\n{text}\n"
    assert text.startswith("Pull off the black rubber stopper from your bottle of adhesive remover.")
    assert "If you skip this step, the adhesive remover may spray out unexpectedly when the tip is cut." in text


def test_each_rule_names_its_lines() -> None:
    text = "\n".join([
        "Skip to main content",                                       # navigation
        "We use cookies to improve your experience on our site.",     # cookie_or_policy
        "Please enable JavaScript in your browser to see comments.",  # javascript_notice
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",   # lorem_ipsum
        "12 comments",                                                # counter
        "* * * * *",                                                  # no_letters
        "Introduction",                                               # heading: a prose line follows
        "The heat equation describes how the temperature of a rod changes with time, and we solve it here.",
        "It was first written down by Fourier, who studied how heat moves through solid bodies.",
        "| a | b |",                                                  # a table row stays
        "$$u_t = u_{xx}$$",                                           # display math stays
        "Home", "News", "Sport", "Weather",                           # menu_run (Home alone would be navigation)
        "JavaScript, the language of web pages, has a new release with faster startup and better tools.",
        "Share",                                                      # navigation
        "Tags",                                                       # short_line: nothing follows
    ])
    reasons = LineCleaner().reasons(text.split("\n"))
    assert reasons == {0: "navigation", 1: "cookie_or_policy", 2: "javascript_notice", 3: "lorem_ipsum",
                       4: "counter", 5: "no_letters", 11: "navigation", 12: "menu_run", 13: "menu_run",
                       14: "menu_run", 16: "navigation", 17: "short_line"}
    assert set(reasons.values()) == set(REASONS)


def test_html_documents_pass_untouched_and_empty_results_are_rejected() -> None:
    step = LineCleaningStep()
    html = {"id": "h", "html": "<p>x</p>", "text": "Home\nMenu\nSearch"}
    nav_only = {"id": "n", "text": "Home\nMenu\nSearch\nLog in"}
    prose = {"id": "p", "text": "A sentence that is plainly part of an article and ends well."}
    assert list(step.run([html, nav_only, prose])) == [html, prose]
    assert html["text"] == "Home\nMenu\nSearch" and prose["text"].endswith("ends well.")
    assert nav_only["reject_reason"] == "line_cleaning:no_text_left"
    assert step.stats.docs_in == 3 == step.stats.docs_out + sum(step.stats.rejected.values())
    off = LineCleaningStep(LineCleaningConfig(enabled=False))
    doc = {"id": "n", "text": "Home\nMenu\nSearch\nLog in"}
    assert list(off.run([doc])) == [doc] and doc["text"] == "Home\nMenu\nSearch\nLog in"


def test_windows_line_breaks_become_lf_and_the_same_lines_go() -> None:
    text = "Home\nMenu\nSearch\n\nA sentence that is plainly part of an article and ends well.\n\nAnother one, also fine."
    step = LineCleaningStep()
    lf, crlf = {"id": "a", "text": text}, {"id": "b", "text": text.replace("\n", "\r\n")}
    assert list(step.run([lf, crlf])) == [lf, crlf]
    assert crlf["text"] == lf["text"] and "\r" not in crlf["text"] and lf["text"].startswith("A sentence")
    removed = sum(count for note, count in step.stats.notes.items() if note.startswith("lines_removed:"))
    assert step.stats.notes["line_endings_to_lf"] == 1 and removed == 6  # Home, Menu, Search in each


def test_config_validation_and_skipping_rules() -> None:
    with pytest.raises(ValidationError, match="unknown line rules"):
        LineCleaningConfig(skip=["menus"])
    with pytest.raises(ValidationError, match="menu_run"):
        LineCleaningConfig(menu_run=1)
    with pytest.raises(ValidationError, match="extra"):
        LineCleaningConfig(enable=True)
    lines = ["Home", "News", "Sport", "Weather"]
    assert LineCleaner(LineCleaningConfig(skip=["menu_run", "navigation"])).reasons(lines) == dict.fromkeys(
        range(4), "short_line")  # without menus, one-word lines that head nothing are still stray
    assert LineCleaner(LineCleaningConfig(skip=["menu_run", "navigation", "short_line"])).reasons(lines) == {}
    assert CurationConfig(inputs=[{"paths": ["x.jsonl"]}]).line_cleaning.enabled


def test_the_curation_chain_cleans_wet_text_and_counts_it(shared_data: Path, tmp_path: Path) -> None:
    """The extraction stage's own task function over a real WET file: cleaning runs first and its notes are saved."""
    path = str(shared_data / WET)
    config = CurationConfig(inputs=[{"paths": [path]}], langid={"languages": None, "threshold": 0.0},
                            rules={"profile": "science"})
    reader, steps = build_extraction_chain(config, 0)
    assert [step.name for step in steps] == ["line_cleaning", "prefilter", "extract", "langid", "rules"]
    stats = map_documents(lambda: build_extraction_chain(config, 0))(Task("wet", (path,)), tmp_path)
    cleaning = next(s for s in stats if s.name == "line_cleaning")
    assert cleaning.docs_in == 1 and cleaning.notes["lines_removed:menu_run"] >= 100
