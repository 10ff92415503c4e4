from __future__ import annotations

import json

import numpy as np
import pytest
from label_corpus import make_documents

from sciloom.classifiers.bootstrap import REPORT_FILE, bootstrap_models, default_models_dir, ensure_default_models
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, LabelModel
from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY, Taxonomy
from sciloom.classifiers.weak_labels import SeedKnowledge, heuristic_quality, weak_discipline


@pytest.fixture(scope="module")
def seeds() -> SeedKnowledge:
    return SeedKnowledge.load(DEFAULT_TAXONOMY)


def _accuracy(model: LabelModel, docs: list[dict]) -> float:
    probs_NL = model.predict_proba([d["text"] for d in docs])
    return float(np.mean([model.labels[i] == d["truth"] for i, d in zip(probs_NL.argmax(axis=1), docs)]))


def test_seed_labeller_is_right_where_it_is_confident(seeds, small_config):
    docs = make_documents(6, seed=4)
    labels = [weak_discipline(d["text"], seeds, small_config.bootstrap, 300) for d in docs]
    answered = [(label, d["truth"]) for label, d in zip(labels, docs) if label is not None]
    assert len(answered) >= 0.8 * len(docs)
    assert np.mean([label == truth for label, truth in answered]) >= 0.95
    assert weak_discipline("Too short to judge.", seeds, small_config.bootstrap, 300) is None


def test_heuristic_quality_ranks_prose_above_boilerplate(seeds):
    prose = make_documents(3, seed=2)
    junk = make_documents(0, seed=2, with_boilerplate=5)
    prose_q = [heuristic_quality(d["text"], seeds, 300) for d in prose]
    junk_q = [heuristic_quality(d["text"], seeds, 300) for d in junk]
    assert min(prose_q) > max(junk_q)
    text = prose[0]["text"]
    assert heuristic_quality(text, seeds, 300, l1_score=0.2) < heuristic_quality(text, seeds, 300, l1_score=1.0)
    assert all(0.0 <= q <= 1.0 for q in prose_q + junk_q)


def test_a_taxonomy_without_seeds_is_a_clear_error():
    custom = Taxonomy(disciplines=("astrobiology", "general"), arxiv={}, mag={}, mmlu={})
    with pytest.raises(FileNotFoundError, match="no seed vocabulary for discipline 'astrobiology'"):
        SeedKnowledge.load(custom)


def test_bootstrapped_models_generalise_to_unseen_documents(bootstrapped_models, small_config):
    report = json.loads((bootstrapped_models / REPORT_FILE).read_text())
    assert report["corpus_documents"] == 9 * 12 + 15
    assert report["taxonomy_hash"] == DEFAULT_TAXONOMY.content_hash
    discipline = LabelModel.load(bootstrapped_models, DISCIPLINE, small_config.taxonomy)
    quality = LabelModel.load(bootstrapped_models, QUALITY, small_config.taxonomy)
    unseen = make_documents(3, seed=42)  # other sentence combinations than the bootstrap corpus
    assert _accuracy(discipline, unseen) >= 0.85
    high = quality.labels.index("high")
    junk = make_documents(0, seed=42, with_boilerplate=5)
    assert quality.predict_proba([d["text"] for d in junk])[:, high].max() < \
        np.median(quality.predict_proba([d["text"] for d in unseen])[:, high])


def _invented_documents(count: int, seed: int) -> list[dict]:
    """Documents of a made-up register whose words are in no seed vocabulary: only given labels can name them."""
    words = ["zorblat", "quindle", "fennix", "grommet", "vashti", "plimber", "orrix", "tavlin", "wexford", "brum"]
    rng = np.random.default_rng(seed)
    return [{"id": f"invented-{seed}-{i}", "text": " ".join(rng.choice(words, size=40)) + "."} for i in range(count)]


def test_known_labels_replace_the_seed_labellers(tmp_path, small_config, bootstrapped_models):
    docs = [{"id": d["id"], "text": d["text"]} for d in make_documents(12, seed=1, with_boilerplate=15)]
    invented = _invented_documents(30, seed=0)
    known = {d["id"]: "chemistry" for d in invented} | {"not-in-corpus": "physics", docs[0]["id"]: "astrology"}
    report = bootstrap_models(docs + invented, small_config, tmp_path, known)
    assert report["known_labels"] == {"given": 32, "used": 30, "not_in_taxonomy": 1, "not_in_corpus": 1}
    unseen = [d["text"] for d in _invented_documents(5, seed=1)]
    chemistry = DEFAULT_TAXONOMY.index("chemistry")
    with_known = LabelModel.load(tmp_path, DISCIPLINE, small_config.taxonomy).predict_proba(unseen)
    without = LabelModel.load(bootstrapped_models, DISCIPLINE, small_config.taxonomy).predict_proba(unseen)
    assert np.all(with_known.argmax(axis=1) == chemistry) and not np.any(without.argmax(axis=1) == chemistry)
    # the known labels did not cost the seed-labelled disciplines their accuracy
    assert _accuracy(LabelModel.load(tmp_path, DISCIPLINE, small_config.taxonomy), make_documents(3, seed=42)) >= 0.85


def test_default_models_are_built_from_seeds_once_and_cached(tmp_path, monkeypatch, small_config, no_packaged_models):
    monkeypatch.delenv("SCILOOM_MODELS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    small_config = small_config.model_copy(update={"fasttext": small_config.fasttext.model_copy(update={"max_epoch": 8})})
    folder = ensure_default_models(small_config)
    assert folder == default_models_dir(small_config) == tmp_path / "sciloom" / "models" / DEFAULT_TAXONOMY.content_hash
    stamp = (folder / "discipline.bin").stat().st_mtime_ns
    assert ensure_default_models(small_config) == folder
    assert (folder / "discipline.bin").stat().st_mtime_ns == stamp  # not retrained
    model = LabelModel.load(folder, DISCIPLINE, small_config.taxonomy)
    # trained on synthetic seed documents only, yet real sentences of each discipline mostly land right
    accuracy = _accuracy(model, make_documents(3, seed=8))
    assert accuracy >= 0.6
    monkeypatch.setenv("SCILOOM_MODELS", str(tmp_path / "elsewhere"))
    assert default_models_dir(small_config) == tmp_path / "elsewhere"
