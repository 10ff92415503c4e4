from __future__ import annotations

import json

import numpy as np
import pytest
from label_corpus import make_documents

from sciloom.classifiers.config import FastTextParams
from sciloom.classifiers.fasttext_model import DISCIPLINE, QUALITY, LabelModel, TaxonomyMismatch
from sciloom.classifiers.taxonomy import DEFAULT_TAXONOMY, Taxonomy

PARAMS = FastTextParams(dim=16, max_epoch=60, bucket=20_000, max_tokens=300)


@pytest.fixture(scope="module")
def trained() -> LabelModel:
    # earth_environment is left out of training on purpose: the model must give it probability 0
    docs = [d for d in make_documents(10, seed=11) if d["truth"] != "earth_environment"]
    return LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [(d["text"], d["truth"]) for d in docs],
                            PARAMS, DEFAULT_TAXONOMY)


def test_predicts_unseen_documents_with_probabilities_over_the_taxonomy(trained):
    held_out = [d for d in make_documents(4, seed=99) if d["truth"] != "earth_environment"]
    probs_NL = trained.predict_proba([d["text"] for d in held_out])
    assert probs_NL.shape == (len(held_out), DEFAULT_TAXONOMY.size) and probs_NL.dtype == np.float32
    np.testing.assert_allclose(probs_NL.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(probs_NL[:, DEFAULT_TAXONOMY.index("earth_environment")] == 0.0)
    predicted = [DEFAULT_TAXONOMY.disciplines[i] for i in probs_NL.argmax(axis=1)]
    accuracy = np.mean([p == d["truth"] for p, d in zip(predicted, held_out)])
    assert accuracy >= 0.9
    assert trained.predict_proba([]).shape == (0, DEFAULT_TAXONOMY.size)


def test_the_end_of_line_token_carries_no_bias(trained):
    # fastText averages its end-of-line embedding into every line: left as trained it is the labels' bias, and an
    # empty line (or a short one) is read from it. Zeroed, an empty line prefers no trained label.
    assert not trained.model.get_input_matrix()[trained.model.get_word_id("</s>")].any()
    probs_L = trained.predict_proba([""])[0]
    trained_labels = probs_L[np.arange(len(probs_L)) != DEFAULT_TAXONOMY.index("earth_environment")]
    np.testing.assert_allclose(trained_labels, 1.0 / len(trained_labels), rtol=1e-6)
    assert trained.reads_any_word(trained.line(make_documents(1, seed=3)[0]["text"]).split())
    assert not trained.reads_any_word(trained.line("zzqx blorf").split()) and not trained.reads_any_word([])


def _fasttext_probabilities(model: LabelModel, texts: list[str]) -> np.ndarray:
    """fastText's own `predict` (its softmax, or its sigmoids read from a 512-entry table), normalised as ours are."""
    names, values = model.model.predict([model.line(text) for text in texts], k=-1, threshold=0.0)
    probs_NL = np.zeros((len(texts), len(model.labels)))
    for row, (row_names, row_values) in enumerate(zip(names, values)):
        for name, value in zip(row_names, row_values):
            probs_NL[row, model.labels.index(name.removeprefix("__label__"))] = value
    return probs_NL / probs_NL.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("loss", ["ova", "softmax"])
def test_probabilities_are_fasttexts_own_computed_exactly(loss, tmp_path):
    """Against fastText's predict: the same probabilities for the softmax loss (exact there), and within its sigmoid
    table's step for one-vs-all, with the same top label wherever fastText's table does not tie it; the same after
    quantisation, and after saving and loading the quantised model (its output layer read from the file)."""
    docs = make_documents(10, seed=11)
    model = LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [(d["text"], d["truth"]) for d in docs],
                             PARAMS.model_copy(update={"loss": loss, "lr": 0.1 if loss == "softmax" else 0.5,
                                                       "min_epoch": 60}), DEFAULT_TAXONOMY)
    texts = [d["text"] for d in make_documents(4, seed=99)] + ["", "the", "energy of a photon"]
    tolerance = 1e-5 if loss == "softmax" else 0.01  # the table's step: 16 / 512 in the logit, times sigmoid' <= 1/4
    for stage in ("trained", "quantised", "loaded"):
        if stage == "quantised":
            model.quantize()
        elif stage == "loaded":
            in_memory = model.predict_proba(texts)
            model.save(tmp_path)
            model = LabelModel.load(tmp_path, DISCIPLINE, DEFAULT_TAXONOMY)
            np.testing.assert_array_equal(model.predict_proba(texts), in_memory)
        ours_NL, theirs_NL = model.predict_proba(texts).astype(np.float64), _fasttext_probabilities(model, texts)
        assert np.abs(ours_NL - theirs_NL).max() <= tolerance, stage
        top_two_NL = np.sort(theirs_NL, axis=1)[:, -2:]
        untied = top_two_NL[:, 1] - top_two_NL[:, 0] > 2 * tolerance
        assert untied.sum() >= len(texts) // 2, stage
        np.testing.assert_array_equal(ours_NL.argmax(axis=1)[untied], theirs_NL.argmax(axis=1)[untied])


def test_quantising_with_a_cutoff_keeps_the_rows_of_largest_norm(tmp_path):
    """`quantize_cutoff` keeps the input rows (words and n-gram buckets) of largest norm, computed here from the
    unquantised matrix, and fastText's end-of-line row; the pruned model still labels held-out documents, and reads
    the same after saving and loading. Without a cutoff every word stays."""
    docs = [d for d in make_documents(10, seed=11) if d["truth"] != "earth_environment"]
    cutoff = 400
    model = LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [(d["text"], d["truth"]) for d in docs],
                             PARAMS.model_copy(update={"quantize_cutoff": cutoff}), DEFAULT_TAXONOMY)
    words = model.model.get_words()
    norms_R = np.linalg.norm(model.model.get_input_matrix().astype(np.float64), axis=1)
    end_of_line = model.model.get_word_id("</s>")
    ranked = [row for row in np.argsort(-norms_R, kind="stable").tolist() if row != end_of_line][:cutoff - 1]
    expected = {words[row] for row in ranked if row < len(words)} | {"</s>"}
    assert 0 < len(expected) < len(words)  # the cutoff prunes words and keeps some
    model.quantize()
    assert set(model.model.get_words()) == expected
    held_out = [d for d in make_documents(4, seed=99) if d["truth"] != "earth_environment"]
    probs_NL = model.predict_proba([d["text"] for d in held_out])
    np.testing.assert_allclose(probs_NL.sum(axis=1), 1.0, atol=1e-5)
    predicted = [DEFAULT_TAXONOMY.disciplines[i] for i in probs_NL.argmax(axis=1)]
    accuracy = np.mean([p == d["truth"] for p, d in zip(predicted, held_out)])
    assert accuracy >= 0.9
    model.save(tmp_path)
    np.testing.assert_array_equal(LabelModel.load(tmp_path, DISCIPLINE, DEFAULT_TAXONOMY).predict_proba(
        [d["text"] for d in held_out]), probs_NL)
    unpruned = LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [(d["text"], d["truth"]) for d in docs],
                                PARAMS, DEFAULT_TAXONOMY)
    unpruned.quantize()
    assert unpruned.model.get_words() == words


def test_a_quantised_model_file_without_its_output_layer_at_the_end_is_refused(tmp_path):
    docs = make_documents(3, seed=11)
    model = LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [(d["text"], d["truth"]) for d in docs],
                             PARAMS, DEFAULT_TAXONOMY)
    model.quantize()
    model.save(tmp_path)
    with open(tmp_path / "discipline.bin", "ab") as file:
        file.write(b"\0" * 12)  # not what fastText writes: the matrix's shape is no longer where it should be
    with pytest.raises(ValueError, match="cannot read its output layer"):
        LabelModel.load(tmp_path, DISCIPLINE, DEFAULT_TAXONOMY)


def test_training_is_deterministic(trained):
    docs = [d for d in make_documents(10, seed=11) if d["truth"] != "earth_environment"]
    again = LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [(d["text"], d["truth"]) for d in docs],
                             PARAMS, DEFAULT_TAXONOMY)
    texts = [d["text"] for d in make_documents(2, seed=5)]
    np.testing.assert_array_equal(again.predict_proba(texts), trained.predict_proba(texts))


def test_temperature_minimises_held_out_nll_against_a_float64_reference(trained):
    docs = [d for d in make_documents(5, seed=21) if d["truth"] != "earth_environment"]
    assert trained.calibrate([d["text"] for d in docs[:29]], [d["truth"] for d in docs[:29]]) == 1.0  # too few
    # Every 6th held-out label is another trained discipline: with all labels right, a separable held-out set
    # has its least NLL at T -> 0 (no interior minimum to check); the wrong ones make a finite optimum.
    trained_labels = sorted({d["truth"] for d in docs})
    texts = [d["text"] for d in docs]
    labels = [trained_labels[(trained_labels.index(d["truth"]) + 1) % len(trained_labels)] if i % 6 == 0
              else d["truth"] for i, d in enumerate(docs)]
    raw_NL = trained.predict_proba(texts).astype(np.float64)  # temperature 1 before calibration
    target_N = np.array([DEFAULT_TAXONOMY.index(label) for label in labels])

    def reference_nll(temperature: float) -> float:
        with np.errstate(divide="ignore"):
            logits = np.log(raw_NL) / temperature
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1))
        return float(-(logits[np.arange(len(target_N)), target_N] - log_norm).mean())

    temperature = trained.calibrate(texts, labels)
    assert reference_nll(temperature) <= reference_nll(1.0) + 1e-6
    assert reference_nll(temperature) <= min(reference_nll(temperature * 1.2), reference_nll(temperature / 1.2)) + 1e-6
    calibrated_NL = trained.predict_proba(texts)
    nll = -np.log(calibrated_NL[np.arange(len(target_N)), target_N].astype(np.float64)).mean()
    assert nll == pytest.approx(reference_nll(temperature), rel=1e-4)


def test_save_load_round_trip_and_taxonomy_guard(trained, tmp_path):
    trained.save(tmp_path)
    meta = json.loads((tmp_path / "discipline.json").read_text())
    assert meta["taxonomy_hash"] == DEFAULT_TAXONOMY.content_hash
    loaded = LabelModel.load(tmp_path, DISCIPLINE, DEFAULT_TAXONOMY)
    texts = [d["text"] for d in make_documents(1, seed=3)]
    np.testing.assert_array_equal(loaded.predict_proba(texts), trained.predict_proba(texts))

    reordered = Taxonomy(disciplines=tuple(reversed(DEFAULT_TAXONOMY.disciplines)))
    with pytest.raises(TaxonomyMismatch, match=r"trained for taxonomy .* retrain or bootstrap"):
        LabelModel.load(tmp_path, DISCIPLINE, reordered)
    with pytest.raises(FileNotFoundError, match="no quality model"):
        LabelModel.load(tmp_path, QUALITY, DEFAULT_TAXONOMY)


def test_unknown_training_label_is_a_clear_error():
    with pytest.raises(ValueError, match="not in the model's labels"):
        LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [("some text", "astrology")], PARAMS, DEFAULT_TAXONOMY)


def test_seed_features_bind_the_model_to_its_seeds(tmp_path):
    import shutil

    from sciloom.classifiers.weak_labels import SeedKnowledge, packaged_seeds_dir

    seeds = SeedKnowledge.load(DEFAULT_TAXONOMY)
    docs = make_documents(3, seed=12)
    model = LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [(d["text"], d["truth"]) for d in docs],
                             PARAMS, DEFAULT_TAXONOMY, seeds)
    model.save(tmp_path / "model")
    loaded = LabelModel.load(tmp_path / "model", DISCIPLINE, DEFAULT_TAXONOMY)
    texts = [d["text"] for d in make_documents(1, seed=4)]
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    edited = tmp_path / "seeds"
    shutil.copytree(packaged_seeds_dir(), edited)
    with open(edited / "vocabulary" / "physics.txt", "a") as f:
        f.write("tachyon\n")
    with pytest.raises(ValueError, match="use the seeds it was trained with"):
        LabelModel.load(tmp_path / "model", DISCIPLINE, DEFAULT_TAXONOMY, edited)


def test_class_balance_oversamples_rare_labels_in_a_shuffled_deterministic_order():
    from collections import Counter

    from sciloom.classifiers.fasttext_model import _balanced_and_shuffled

    lines = [(f"common document {i}", "general") for i in range(40)] + [(f"rare {i}", "physics") for i in range(4)]
    as_given = _balanced_and_shuffled(lines, 0.0)
    assert sorted(as_given) == sorted(lines)
    assert [label for _, label in as_given] != [label for _, label in lines]  # not in corpus order
    assert Counter(label for _, label in _balanced_and_shuffled(lines, 1.0)) == {"general": 40, "physics": 40}
    copies = Counter(line for line, label in _balanced_and_shuffled(lines, 0.5) if label == "physics")
    assert set(copies.values()) <= {3, 4} and len(copies) == 4  # (40 / 4) ** 0.5 = 3.16 copies each
    assert _balanced_and_shuffled(lines, 0.5) == _balanced_and_shuffled(lines, 0.5)


def test_a_words_only_model_reads_no_punctuation_and_keeps_that_when_loaded(tmp_path):
    docs = make_documents(10, seed=11)
    model = LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines, [(d["text"], d["truth"]) for d in docs],
                             PARAMS.model_copy(update={"words_only": True}), DEFAULT_TAXONOMY)
    text = "Newton's second law, F = m a: the net force (in newtons) equals mass times acceleration!"
    assert model.line(text) == "newton's second law f m a the net force in newtons equals mass times acceleration"
    assert not any(word in model.model.get_words() for word in ",.:;()!?")  # training never saw a punctuation mark
    model.save(tmp_path)
    loaded = LabelModel.load(tmp_path, DISCIPLINE, DEFAULT_TAXONOMY)
    assert loaded.line(text) == model.line(text)
    texts = [d["text"] for d in make_documents(1, seed=3)]
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    with_punctuation = LabelModel.train(DISCIPLINE, DEFAULT_TAXONOMY.disciplines,
                                        [(d["text"], d["truth"]) for d in docs[:40]], PARAMS, DEFAULT_TAXONOMY)
    assert "," in with_punctuation.line(text) and not loaded.reads_like(with_punctuation)
