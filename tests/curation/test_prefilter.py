"""The cascade's cheap half (PrefilterStep) and extraction's reuse of repeated payloads.

The language decision before extraction is checked against the full chain itself on real pages: a page the
prefilter drops must be one that extraction + language id would have dropped too.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from sciloom.curation import extract as extract_module
from sciloom.curation.config import CurationConfig
from sciloom.curation.extract import ExtractStep
from sciloom.curation.inputs import InputsConfig
from sciloom.curation.langid import LangIdConfig, LanguageIdStep
from sciloom.curation.pipeline import build_extraction_chain
from sciloom.curation.prefilter import PrefilterConfig, PrefilterStep

ENGLISH = ("<html><body><article><h1>Photosynthesis</h1><p>Photosynthesis is the process by which green plants and "
           "some other organisms use sunlight to synthesize foods from carbon dioxide and water. It generally "
           "involves the green pigment chlorophyll and generates oxygen as a byproduct.</p></article></body></html>")
GERMAN = ("<html><body><article><h1>Photosynthese</h1><p>Die Photosynthese ist die Erzeugung von energiereichen "
          "Biomolekülen aus energieärmeren Stoffen mithilfe von Lichtenergie. Sie wird von Pflanzen, Algen und "
          "einigen Bakterien betrieben und liefert den Sauerstoff der Atmosphäre.</p></article></body></html>")


def _doc(html: str | None = None, url: str | None = None, text: str | None = None) -> dict:
    return {"id": "d", "url": url, "html": html, "text": text, "source": "t", "lang": None}


def _verdicts(step, docs: list[dict]) -> list[str | None]:
    kept = {id(doc) for doc in step.run(docs)}
    return [None if id(doc) in kept else doc["reject_reason"] for doc in docs]


def test_blocked_domains_cover_subdomains_only() -> None:
    step = PrefilterStep(PrefilterConfig(blocked_domains=["Spam.example", "bad.org."], early_language_score=None))
    urls = ["http://spam.example/a", "https://www.spam.example:8080/x?y=1", "http://notspam.example/",
            "http://bad.org", "http://bad.org.good.net/", "http://[::1/broken", None]
    assert _verdicts(step, [_doc(ENGLISH, url) for url in urls]) == [
        "prefilter:blocked_domain", "prefilter:blocked_domain", None, "prefilter:blocked_domain", None, None, None]
    assert step.stats.rejected == {"blocked_domain": 3}


def test_blocked_url_words_match_whole_tokens(tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# adult sites\ncasino.test  # a comment after the domain\n\n")
    step = PrefilterStep(PrefilterConfig(blocked_url_words=["porn"], blocked_domains_file=listing,
                                         early_language_score=None))
    docs = [_doc(ENGLISH, "http://site.test/free-PORN/videos"), _doc(ENGLISH, "http://site.test/pornography-law"),
            _doc(None, "http://casino.test/news", text="Text inputs are judged by their URL too.")]
    assert _verdicts(step, docs) == ["prefilter:blocked_url_word", None, "prefilter:blocked_domain"]


def test_a_missing_domains_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"blocked_domains_file\n.*nope.txt is not a readable file"):
        CurationConfig(inputs=[{"paths": ["x.warc.gz"]}], prefilter={"blocked_domains_file": str(tmp_path / "nope.txt")})


def test_clearly_foreign_pages_go_before_extraction() -> None:
    step = PrefilterStep(PrefilterConfig(), LangIdConfig(languages=["en"]))
    assert _verdicts(step, [_doc(ENGLISH), _doc(GERMAN), _doc("<html><body></body></html>")]) == [
        None, "prefilter:language_de", None]
    # German kept by the run: nothing to decide early.
    assert _verdicts(PrefilterStep(PrefilterConfig(), LangIdConfig(languages=["en", "de"])), [_doc(GERMAN)]) == [None]
    # Every language kept, or the early decision switched off: no model is even loaded.
    assert PrefilterStep(PrefilterConfig(), LangIdConfig(languages=None)).model is None
    assert PrefilterStep(PrefilterConfig(early_language_score=None)).model is None


def test_a_page_declaring_a_kept_language_goes_to_extraction_unrendered() -> None:
    """The declaration only spares the rendering: language id decides the page after extraction, as without the
    prefilter. A page declaring another language is still rendered, and an attribute that merely ends in 'lang'
    declares nothing."""
    step = PrefilterStep(PrefilterConfig(), LangIdConfig(languages=["en"]))
    declared_english = GERMAN.replace("<html>", '<!DOCTYPE html>\n<html class="no-js" lang="en-GB">')
    declared_german = ENGLISH.replace("<html>", '<html xml:lang="de" lang="de">')
    not_a_declaration = GERMAN.replace("<html>", '<html data-lang="en">')
    assert _verdicts(step, [_doc(declared_english), _doc(declared_german), _doc(not_a_declaration)]) == [
        None, None, "prefilter:language_de"]
    assert step.stats.notes == {"declared_kept_language": 1}
    # The German page declared English is dropped after extraction, by language id, as the full chain drops it.
    assert list(LanguageIdStep(LangIdConfig(languages=["en"])).run(ExtractStep().run([_doc(declared_english)]))) == []


def test_pages_over_the_size_cap_are_left_to_extraction() -> None:
    step = PrefilterStep(PrefilterConfig(), LangIdConfig(), max_page_bytes=100)
    assert _verdicts(step, [_doc(GERMAN)]) == [None]


def test_chain_has_the_prefilter_unless_disabled(tmp_path: Path) -> None:
    inputs = [InputsConfig(paths=[str(tmp_path / "x.warc.gz")])]
    _, steps = build_extraction_chain(CurationConfig(inputs=inputs), 0)
    assert [step.name for step in steps] == ["line_cleaning", "prefilter", "extract", "langid", "rules"]
    _, steps = build_extraction_chain(CurationConfig(inputs=inputs, prefilter={"enabled": False}), 0)
    assert "prefilter" not in [step.name for step in steps]


def _evaluation_pages(shared_data: Path, limit: int) -> list[tuple[str, str]]:
    root = shared_data / "extraction" / "trafilatura-evaldata"
    annotations = json.loads((root / "evaldata.json").read_text())
    pages = []
    for url, item in sorted(annotations.items())[:limit]:
        raw = gzip.decompress((root / "html" / f"{item['file']}.gz").read_bytes())
        pages.append((url, bytes_to_str(raw, detect_encoding(raw))))
    return pages


def test_early_language_decisions_agree_with_the_full_chain(shared_data: Path) -> None:
    """On real pages in many languages: every page dropped early is one extraction + language id drop."""
    pages = _evaluation_pages(shared_data, 200)
    langid = LangIdConfig(languages=["en"])
    early = _verdicts(PrefilterStep(PrefilterConfig(), langid), [_doc(html, url) for url, html in pages])
    dropped_early = {url for (url, _), reason in zip(pages, early) if reason is not None}
    full_chain = LanguageIdStep(langid).run(ExtractStep().run(_doc(html, url) for url, html in pages))
    kept_by_full = {doc["url"] for doc in full_chain}
    assert len(dropped_early) > 100  # most evaluation pages are not English: the cascade must save their extraction
    assert kept_by_full and not dropped_early & kept_by_full


def test_a_repeated_payload_is_extracted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    step = ExtractStep()
    calls: list[str] = []
    extract_text = step.extract_text
    monkeypatch.setattr(step, "extract_text", lambda html, url=None: calls.append(html) or extract_text(html, url))
    docs = [_doc(ENGLISH, "http://a.test/1"), _doc(GERMAN), _doc(ENGLISH, "http://mirror.test/1")]
    kept = list(step.run(docs))
    assert len(kept) == 3 and len(calls) == 2
    assert kept[2]["text"] == kept[0]["text"] == ExtractStep().extract_text(ENGLISH)[0]
    assert step.stats.notes == {"payload_seen_before": 1}


def test_repeated_payload_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module, "RECENT_PAYLOADS", 2)
    step = ExtractStep()
    pages = [ENGLISH.replace("Photosynthesis is", f"Photosynthesis ({n}) is") for n in range(3)]
    list(step.run([_doc(html) for html in [*pages, pages[0]]]))
    assert len(step._recent) == 2
    assert step.stats.notes == {}  # the first page had left the window when it came again
