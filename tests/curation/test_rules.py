"""RulesStep: stock rules agree with datatrove's filters; the science profile keeps science, junk still goes."""
from __future__ import annotations

import copy
import gzip
import importlib.util
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from sciloom.curation.rules import RulesConfig, RulesStep

REPO = Path(__file__).resolve().parents[2]


def _eval_module():
    spec = importlib.util.spec_from_file_location("eval_science_rules", REPO / "benchmarks" / "eval_science_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EQUATION_AND_TABLE_TEXT = "\n".join([
    "Results for the harmonic oscillator",
    "The energy levels of the quantum harmonic oscillator are equally spaced, and we measured them for three "
    "trapped ions in the same potential. The Hamiltonian is",
    "$$H = \\frac{p^2}{2m} + \\frac{1}{2} m \\omega^2 x^2$$",
    "with eigenvalues $E_n = \\hbar \\omega (n + \\frac{1}{2})$ for $n = 0, 1, 2, \\ldots$ and the ground state "
    "$\\psi_0(x) = (\\frac{m\\omega}{\\pi\\hbar})^{1/4} e^{-m\\omega x^2 / 2\\hbar}$.",
    "| Ion | $\\omega / 2\\pi$ (MHz) | $E_1 - E_0$ (neV) | error |",
    "|---|---|---|---|",
    "| 1 | 1.02 | 4.22 | 0.03 |",
    "| 2 | 1.05 | 4.34 | 0.02 |",
    "| 3 | 0.98 | 4.05 | 0.04 |",
    "$$\\Delta E = \\hbar \\omega$$",
    "The measured spacings agree with $\\hbar\\omega$ within the errors of the table, which confirms that the trap "
    "is harmonic to the precision of this experiment. The anharmonic correction $\\lambda x^4$ is below "
    "$10^{-3}$ of the level spacing, and the heating rate of the ions is small on the time scale of the "
    "measurement. We conclude that the ions behave like ideal oscillators at these frequencies.",
])


def test_stock_profile_agrees_with_datatrove_filters(shared_data: Path) -> None:
    from datatrove.data import Document as DatatroveDocument
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    path = shared_data / "warc" / "dolma-tests" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    # spaCy (inside datatrove) is slow: 30 documents, cut at 4000 characters, keep this test short.
    texts = [json.loads(line)["text"][:4000] for line in gzip.open(path, "rt")][:30]
    ours = RulesStep(RulesConfig(profile="stock"))
    groups = {"gopher_quality": GopherQualityFilter(), "gopher_repetition": GopherRepetitionFilter(),
              "c4": C4QualityFilter(), "fineweb": FineWebQualityFilter()}
    for group, reference in groups.items():
        agree = 0
        for i, text in enumerate(texts):
            verdict = reference.filter(DatatroveDocument(text=copy.copy(text), id=str(i)))
            theirs_reject = verdict is not True and not (isinstance(verdict, tuple) and verdict[0])
            fired, _ = ours.evaluate(text)
            agree += theirs_reject == any(check.startswith(f"{group}:") for check in fired)
        assert agree / len(texts) >= 0.9, f"{group}: agreement {agree}/{len(texts)}"


def test_science_profile_keeps_far_more_science(shared_data: Path) -> None:
    module = _eval_module()
    science_texts = list(module.unarxive_papers(limit=6)) + list(module.s2orc_abstracts(limit=40))
    stock_rate, _ = module.rejection_rate(RulesStep(RulesConfig(profile="stock")), science_texts)
    science_rate, _ = module.rejection_rate(RulesStep(RulesConfig(profile="science")), science_texts)
    assert science_rate <= 0.2
    assert stock_rate >= 3 * science_rate and stock_rate >= 0.3


def test_science_profile_keeps_complete_short_abstracts(shared_data: Path) -> None:
    """Real S2ORC abstracts of 20-50 words that end their last sentence: whole documents, not fragments."""
    module = _eval_module()
    short = [text for text in module.s2orc_abstracts(1)
             if 20 <= len(text.split("\n\n", 1)[1].split()) < 50 and text.rstrip().endswith(".")]
    assert len(short) >= 20
    rate, reasons = module.rejection_rate(RulesStep(RulesConfig(profile="science")), short)
    assert rate <= 0.1, reasons


@pytest.mark.parametrize("profile", ["stock", "science"])
def test_junk_is_rejected_by_both_profiles(profile: str) -> None:
    step = RulesStep(RulesConfig(profile=profile))
    docs = [{"id": kind, "text": text} for kind, text in _eval_module().junk_documents(variants=2, seed=7)]
    assert list(step.run(docs)) == []
    assert step.stats.docs_in == len(docs) == sum(step.stats.rejected.values())
    assert all(doc["reject_reason"].startswith("rules:") for doc in step.rejected)


def test_equation_and_table_heavy_text_passes_science_only() -> None:
    stock, science = RulesStep(RulesConfig(profile="stock")), RulesStep(RulesConfig(profile="science"))
    assert list(stock.run([{"id": "s", "text": EQUATION_AND_TABLE_TEXT}])) == []
    kept = list(science.run([{"id": "s", "text": EQUATION_AND_TABLE_TEXT}]))
    assert len(kept) == 1 and 0.0 <= kept[0]["l1_score"] <= 1.0


def test_flags_and_score() -> None:
    step = RulesStep(RulesConfig(profile="science", flag_only=["c4:too_few_sentences"]))
    text = "We use \\cite{knuth} as in the book. " + EQUATION_AND_TABLE_TEXT
    fired, score = step.evaluate(text)
    doc = {"id": "f", "text": text}
    assert list(step.run([doc])) == [doc]
    assert doc["l1_flags"] == [c for c in fired if c in step.flag_only] and "c4:curly_bracket" in doc["l1_flags"]
    assert doc["l1_score"] == pytest.approx(score) and score < 1.0
    empty = RulesStep(RulesConfig(profile="science"))
    assert list(empty.run([{"id": "e", "text": ""}])) == [] and empty.rejected[0]["l1_score"] < score


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="profile"):
        RulesConfig(profile="lenient")
    with pytest.raises(ValidationError, match="extra"):
        RulesConfig(profle="stock")
