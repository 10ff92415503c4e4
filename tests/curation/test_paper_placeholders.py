"""unarXive's placeholders in papers' full texts: formulas back as LaTeX, citations numbered, floats dropped."""
from __future__ import annotations

import json
from pathlib import Path

from sciloom.curation.langid import LangIdConfig, LanguageIdStep
from sciloom.curation.read_jsonl import field_text
from sciloom.curation.rules import RulesConfig, RulesStep

FORMULAS = {"f1": {"type": "formula", "latex": " \\mu "}, "f2": {"type": "formula", "latex": "P_n(z)=0"},
            "t1": {"type": "table", "caption": "Results."}}


def _paper(paragraphs: list[str], entries: dict | None = FORMULAS) -> dict:
    record = {"paper_id": "2212.0001", "body_text": [{"section": "1", "text": text} for text in paragraphs]}
    return {**record, "ref_entries": entries} if entries is not None else record


def test_formulas_citations_and_floats() -> None:
    paper = _paper(["Let {{formula:f1}}  be a measure, and define\n{{formula:f2}} \nas in {{cite:a}}, {{cite:b}}.",
                    "Kabluchko {{cite:c}} and later {{cite:b}} ;{{cite:d}} showed it.{{table:t1}}{{figure:g1}}",
                    "An unknown {{formula:f9}} keeps its mark."])
    assert field_text(paper, "body_text") == (
        "Let $\\mu$  be a measure, and define\n$$P_n(z)=0$$\nas in [1, 2].\n\n"
        "Kabluchko [3] and later [2, 4] showed it.\n\n"
        "An unknown {{formula:f9}} keeps its mark.")
    # Without unarXive's entries, a text is read as it is (braces are LaTeX's and code's too).
    assert field_text(_paper(["As in {{cite:a}}, {{x}}."], entries=None), "body_text") == "As in {{cite:a}}, {{x}}."


def test_unarxive_papers_keep_their_words(shared_data: Path) -> None:
    """The 49 papers of unarXive's sample: with the placeholders as they were, language identification and the
    science rules kept 29 (alpha_words 13, low_confidence 5, dup_5_gram 2); resolved, 43."""
    path = shared_data / "disciplines" / "unarxive-sample" / "unarXive_data_sample" / "arXiv_src_2212_086.jsonl"
    papers = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    texts = [field_text(paper, "body_text") for paper in papers]
    assert len(texts) == 49 and not any("{{formula:" in t or "{{cite:" in t for t in texts)
    formulas = sum(paper["body_text"][i]["text"].count("{{formula:") for paper in papers
                   for i in range(len(paper["body_text"])))
    assert sum(t.count("$") for t in texts) >= 2 * formulas  # each formula fenced, none dropped

    def kept(texts: list[str]) -> int:
        docs = [{"id": str(i), "text": text, "source": "unarxive", "url": None} for i, text in enumerate(texts)]
        steps = [LanguageIdStep(LangIdConfig()), RulesStep(RulesConfig(profile="science"))]
        for step in steps:
            docs = step.run(docs)
        return len(list(docs))

    raw = [paper_text(paper) for paper in papers]
    assert kept(raw) <= 32 and kept(texts) >= 42, (kept(raw), kept(texts))


def paper_text(paper: dict) -> str:
    """The paragraphs as unarXive stores them, placeholders and all."""
    return "\n\n".join(paragraph["text"] for paragraph in paper["body_text"] if paragraph["text"].strip())
