"""The packaged default models (trained on real labelled text) and the long-document windows they read."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sciloom.classifiers.bootstrap import ensure_default_models
from sciloom.classifiers.config import ClassifiersConfig
from sciloom.classifiers.default_models import MODEL_CARD, PACKAGED_DIR, capped, packaged_models
from sciloom.classifiers.label_step import LabelStep, Labeller
from sciloom.classifiers.taxonomy import Taxonomy
from sciloom.classifiers.text import tokens, window_tokens
from sciloom.classifiers.weak_labels import packaged_seeds_dir

needs_models = pytest.mark.skipif(packaged_models(ClassifiersConfig().taxonomy) is None,
                                  reason="no packaged models: build them with "
                                         "`python -m sciloom.classifiers.default_models --data ../shared/data`")

PHYSICS = ("A block of mass 2 kg slides down a frictionless incline. Using Newton's second law, the net force along "
           "the incline equals the component of gravity, so the acceleration is g sin(theta); the kinetic energy at "
           "the bottom equals the loss of potential energy, and momentum is conserved in the collision that follows.")
BIOLOGY = ("Mitochondria are membrane-bound organelles that generate most of the cell's supply of ATP. The inner "
           "membrane is folded into cristae, and the enzymes of the citric acid cycle sit in the matrix. Genes in "
           "the nucleus encode most mitochondrial proteins, which are imported after translation.")
SPORT = ("Arsenal beat Chelsea 2-1 on Saturday after a late goal from the striker, who said after the match that "
         "the team had shown great spirit. The manager praised the fans and said the title race was far from over.")
SPAM = ("cheap viagra buy now click here best price casino bonus free spins win big click here buy now cheap pills "
        "online pharmacy discount cheap viagra buy now best casino free money click here")
BOILERPLATE = "Home | About us | Contact | Privacy policy | Terms of use | Cookie settings | Login | Register | Sitemap"


def test_window_tokens_reads_beginning_middle_and_end_of_a_long_document():
    words = [f"w{i}" for i in range(20_000)]
    text = " ".join(words)
    read = window_tokens(text, max_tokens=400, windows=4)
    assert len(read) <= 400
    positions = [int(w[1:]) for w in read]
    assert positions == sorted(positions)
    # one stretch near each quarter: the first word, something near the end, and two in between
    assert positions[0] == 0 and positions[-1] > 19_000
    assert any(5_000 < p < 10_000 for p in positions) and any(10_000 < p < 15_000 for p in positions)
    assert all(w in words for w in read)  # no word cut in half


def test_window_tokens_on_a_short_document_is_its_tokens():
    text = "An exam question: what is the derivative of x squared? (A) x (B) 2x (C) x^2 (D) 2"
    assert window_tokens(text, 400, 4) == tokens(text, 400)
    assert window_tokens("", 400, 4) == []


def test_words_only_windows_are_the_tokens_without_punctuation():
    text = "An exam question: what is the derivative of x squared? (A) x (B) 2x (C) x^2 (D) 2"
    assert window_tokens(text, 400, 4, words_only=True) == [t for t in tokens(text, 400) if t[0].isalnum()]
    long_text = " ".join(f"w{i}, (x{i})." for i in range(20_000))
    read = window_tokens(long_text, 400, 4, words_only=True)
    assert len(read) == 400 and all(t[0] in "wx" and t[1:].isdigit() for t in read)
    assert int(read[-1][1:]) > 19_000  # the last window still reaches the end


def test_words_only_leaves_latex_command_names_out_in_every_window():
    text = r"The field $\mathbf{E} = -\nabla \phi$ is {\em conservative}; \cite{x} and \frac{a}{b}."
    # Greek letters are commands too: \phi is a potential in physics, an angle in geometry, a function in logic.
    assert tokens(text, 400, words_only=True) == ["the", "field", "e", "is", "conservative", "x", "and", "a", "b"]
    assert "mathbf" in tokens(text, 400)  # with punctuation, the text is read as it is written
    long_text = " ".join(rf"w{i} \mathrm{{x{i}}}" for i in range(20_000))
    read = window_tokens(long_text, 400, 4, words_only=True)
    assert read and not any("mathrm" in t for t in read) and int(read[-1][1:]) > 19_000


def test_reference_corpus_reads_papers_and_articles_as_a_run_does(shared_data: Path) -> None:
    """unarXive's papers with their placeholders resolved (a run never shows a model `{{formula:<id>}}`), WikiText's
    articles split by the reader's `split_before`."""
    from sciloom.classifiers.reference_corpus import UNARXIVE_FIELDS, WIKITEXT_TITLE, unarxive, wikitext
    from sciloom.curation.read_jsonl import JsonlReader

    taxonomy = ClassifiersConfig().taxonomy
    papers = unarxive(shared_data, taxonomy)
    assert len(papers) == 47 and not any("{{formula:" in text or "{{cite:" in text for _, text, _ in papers)
    path = shared_data / "disciplines/unarxive-sample/unarXive_data_sample/arXiv_src_2212_086.jsonl"
    read = {doc["text"] for doc in JsonlReader(text_field=UNARXIVE_FIELDS).read(str(path))}
    assert {text for _, text, _ in papers} <= read
    assert sum("$" in text for _, text, _ in papers) > 20  # formulas as LaTeX
    first = json.loads(path.read_text().splitlines()[0])
    assert "{{formula:" in "".join(section["text"] for section in first["body_text"])  # the raw text has them
    articles = wikitext(shared_data, taxonomy)
    titles = sum(1 for name in ("valid.txt", "test.txt") for line in
                 (shared_data / "general/wikitext-2" / name).read_text(encoding="utf-8").splitlines()
                 if re.match(WIKITEXT_TITLE, line))
    assert len(articles) == titles == 122


def test_capped_keeps_at_most_cap_per_source_and_label_whatever_the_order():
    records = [("a", f"text {i}", "physics") for i in range(10)] + [("b", f"other {i}", "physics") for i in range(3)]
    kept = capped(records, 4)
    assert sum(s == "a" for s, _, _ in kept) == 4 and sum(s == "b" for s, _, _ in kept) == 3
    assert sorted(capped(list(reversed(records)), 4)) == sorted(kept)


@needs_models
def test_packaged_models_label_real_looking_text_sensibly():
    config = ClassifiersConfig()
    labeller = Labeller(PACKAGED_DIR, config)
    docs = [{"id": str(i), "text": t} for i, t in enumerate([PHYSICS, BIOLOGY, SPORT, SPAM, BOILERPLATE])]
    labeller.annotate(docs)
    physics, biology, sport, spam, boilerplate = docs
    assert physics["discipline"] == "physics"
    # biology/medicine is the taxonomy's weakest boundary (cell biology reads like medical textbooks): biology must
    # be among the two best labels, and the text science.
    top_two = sorted(biology["discipline_scores"], key=biology["discipline_scores"].get)[-2:]
    assert "biology" in top_two and biology["science_score"] > 0.9
    assert sport["discipline"] == config.taxonomy.general_label
    assert sport["science_score"] < 0.5 < physics["science_score"]
    assert min(physics["quality_score"], biology["quality_score"]) > max(spam["quality_score"],
                                                                         boilerplate["quality_score"])


@needs_models
def test_the_packaged_quality_score_ranks_curated_articles_without_ties(shared_data: Path):
    """2,000 BBC articles, all curated text: fastText's predict reads its sigmoid from a table and gave them a few
    hundred distinct quality scores (276), 157 of them the same top score; the exact scores tell the articles apart."""
    import numpy as np

    from sciloom.classifiers.fasttext_model import QUALITY, LabelModel

    texts = sorted({path.read_text(errors="replace") for path in (shared_data / "general" / "bbc-news").rglob("*.txt")
                    if path.name[0].isdigit()})[:2000]
    assert len(texts) == 2000
    model = LabelModel.load(PACKAGED_DIR, QUALITY, ClassifiersConfig().taxonomy)
    high = model.labels.index("high")
    scores = model.predict_proba(texts)[:, high]
    assert len(set(scores.tolist())) >= 0.99 * len(texts)
    _, table_scores = model.model.predict([model.line(text) for text in texts], k=1)  # fastText's own: its table
    assert len({float(score[0]) for score in table_scores}) < 0.3 * len(texts)  # the coarseness this replaced
    assert float(np.median(scores)) > 0.9  # curated articles stay high quality


@needs_models
def test_text_without_a_word_the_models_know_is_general_and_low_quality():
    config = ClassifiersConfig()
    labeller = Labeller(PACKAGED_DIR, config)
    docs = [{"id": str(i), "text": t} for i, t in enumerate(["x" * 100, "zzqx blorf vrrp", "☃ ☃ ☃ ☃", PHYSICS])]
    assert labeller.annotate(docs) == {"no_known_word:discipline": 3, "no_known_word:quality": 3}
    *unreadable, physics = docs
    for doc in unreadable:
        assert doc["discipline"] == config.taxonomy.general_label and doc["science_score"] == 0.0
        assert doc["quality_score"] == 0.0 and doc["quality_tier"] == "low"
    assert physics["discipline"] == "physics" and physics["quality_score"] > 0.5
    step = LabelStep(labeller)  # in a run, the classify stage counts them in its notes
    assert len(list(step.run([{"id": "u", "text": "x" * 100}, {"id": "p", "text": PHYSICS}]))) == 2
    assert step.stats.notes == {"no_known_word:discipline": 1, "no_known_word:quality": 1}


@needs_models
def test_packaged_models_are_small_and_carry_a_model_card():
    assert (PACKAGED_DIR / MODEL_CARD).exists()
    card = (PACKAGED_DIR / MODEL_CARD).read_text()
    assert ClassifiersConfig().taxonomy.content_hash in card and "licence" in card
    for kind in ("discipline", "quality"):
        assert (PACKAGED_DIR / f"{kind}.bin").stat().st_size < 8_000_000


@needs_models
def test_label_defaults_to_the_packaged_models_and_a_custom_taxonomy_does_not(tmp_path, monkeypatch):
    monkeypatch.delenv("SCILOOM_MODELS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    config = ClassifiersConfig()
    assert ensure_default_models(config) == PACKAGED_DIR
    custom = Taxonomy(disciplines=("astronomy", "general"), general_label="general", arxiv={}, mag={}, mmlu={})
    assert packaged_models(custom) is None


@needs_models
def test_packaged_models_serve_only_the_seed_vocabularies_whose_lexicon_they_read(tmp_path):
    taxonomy = ClassifiersConfig().taxonomy
    same, edited = tmp_path / "same", tmp_path / "edited"
    shutil.copytree(packaged_seeds_dir(), same)
    shutil.copytree(packaged_seeds_dir(), edited)
    with open(edited / "vocabulary" / "physics.txt", "a", encoding="utf-8") as vocabulary:
        vocabulary.write("quasar\n")
    assert packaged_models(taxonomy, same) == PACKAGED_DIR
    assert packaged_models(taxonomy, edited) is None  # its models would read other lexicon features: bootstrap
    config = ClassifiersConfig.model_validate({"bootstrap": {"seeds_dir": str(edited)}})
    with pytest.raises(ValueError, match="reads seed-lexicon features of seeds"):
        Labeller(PACKAGED_DIR, config)  # forcing them on other seeds is refused, not silently wrong


def test_packaged_dir_is_inside_the_package():
    assert PACKAGED_DIR.parent == Path(__file__).resolve().parents[2] / "classifiers"
