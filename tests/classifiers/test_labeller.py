"""Labeller.score: both models' predictions, each text turned into its input line once when the models read alike."""
from __future__ import annotations

import numpy as np
import pytest
from label_corpus import make_documents

from sciloom.classifiers.fasttext_model import LabelModel
from sciloom.classifiers.label_step import Labeller


def test_score_gives_each_models_own_predictions_and_reads_each_text_once(bootstrapped_models, small_config,
                                                                        monkeypatch):
    labeller = Labeller(bootstrapped_models, small_config)
    assert labeller.quality.reads_like(labeller.discipline)
    texts = [d["text"] for d in make_documents(2, seed=5)]
    # references first, each model on its own (predict_proba makes its own input lines)
    disciplines_NL = labeller.discipline.predict_proba(texts)
    quality_N = labeller.quality.predict_proba(texts)[:, labeller.quality.labels.index("high")]
    calls: list[str] = []
    line_tokens = LabelModel.line_tokens
    monkeypatch.setattr(LabelModel, "line_tokens", lambda self, text: calls.append(text) or line_tokens(self, text))

    scores = labeller.score(texts)

    assert len(calls) == len(texts)
    np.testing.assert_allclose(scores.disciplines_NL, disciplines_NL, atol=1e-6)
    np.testing.assert_allclose(scores.quality_N, quality_N, atol=1e-6)
    assert labeller.discipline_names(scores.disciplines_NL) == [
        labeller.discipline.labels[i] for i in np.argmax(disciplines_NL, axis=1)]
    quality_only = labeller.score(texts, disciplines=False)
    assert quality_only.disciplines_NL is None
    np.testing.assert_array_equal(quality_only.quality_N, scores.quality_N)


def test_a_text_without_a_known_word_scores_zero_quality_and_general(bootstrapped_models, small_config):
    labeller = Labeller(bootstrapped_models, small_config)
    scores = labeller.score(["xqzv wvxq", "The enzyme binds the substrate in the active site of the protein."])
    assert scores.unread_quality == [True, False] and scores.unread_discipline == [True, False]
    assert scores.quality_N[0] == 0.0 and scores.quality_N[1] > 0.0
    assert labeller.discipline_names(scores.disciplines_NL)[0] == small_config.taxonomy.general_label
    assert scores.disciplines_NL[0].max() == pytest.approx(1.0)
