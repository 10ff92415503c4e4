from __future__ import annotations

import numpy as np
import pytest

from sciloom.classifiers.metrics import (
    accuracy,
    confusion_matrix,
    evaluation_report,
    expected_calibration_error,
    macro_f1,
    per_label_f1,
)

TRUE = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]


def test_against_hand_computed_values():
    # a: tp2 fp0 fn1 -> 4/5; b: tp1 fp1 fn1 -> 1/2; c: tp1 fp1 fn0 -> 2/3
    assert per_label_f1(TRUE, PRED, ["a", "b", "c"]) == pytest.approx({"a": 0.8, "b": 0.5, "c": 2 / 3})
    assert macro_f1(TRUE, PRED) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert accuracy(TRUE, PRED) == pytest.approx(4 / 6)
    assert confusion_matrix(TRUE, PRED, ["a", "b", "c"]) == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_ece_matches_a_direct_bin_computation():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.2, 1.0, 500)
    correct = rng.uniform(size=500) < confidence ** 2
    bins = np.clip((confidence * 10).astype(int), 0, 9)
    expected = sum(abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).sum() / 500
                   for b in range(10) if (bins == b).any())
    assert expected_calibration_error(confidence, correct) == pytest.approx(expected)
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([True, True])) == 0.0


def test_report_science_vs_general():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    report = evaluation_report(["physics", "general", "general"], probs, ["physics", "general"], general_label="general")
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["science_vs_general_accuracy"] == pytest.approx(2 / 3)
    assert report["confusion_matrix"] == [[1, 0], [1, 1]]
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])


def test_macro_f1_over_supported_labels_leaves_rare_labels_out():
    # TRUE/PRED supports: a 3, b 2, c 1; with min_support 2 only a (4/5) and b (1/2) count
    assert macro_f1(TRUE, PRED, min_support=2) == pytest.approx((0.8 + 0.5) / 2)
    assert np.isnan(macro_f1(TRUE, PRED, min_support=4))
    probs = np.eye(3)[[0, 0, 1, 1, 2, 2]]  # predictions == PRED
    report = evaluation_report(TRUE, probs, ["a", "b", "c"], min_support=3)
    assert report["macro_f1_supported"] == pytest.approx(0.8) and report["supported_labels"] == ["a"]
    assert report["macro_f1"] == pytest.approx(macro_f1(TRUE, PRED))
