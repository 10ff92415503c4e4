"""Held-out evaluation of a classifier: accuracy, macro-F1, confusion matrix and calibration (ECE)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    if not y_true:
        raise ValueError("accuracy of an empty evaluation set is undefined")
    return sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / len(y_true)


def per_label_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    scores = {}
    for label in labels:
        tp = sum(t == label and p == label for t, p in zip(y_true, y_pred, strict=True))
        fp = sum(t != label and p == label for t, p in zip(y_true, y_pred))
        fn = sum(t == label and p != label for t, p in zip(y_true, y_pred))
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return scores


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], min_support: int = 1) -> float:
    """Mean F1 over the labels that occur at least `min_support` times in the truth (a label never true and
    never predicted is not scored; one predicted but never true counts through the false positives it costs
    the true labels). A label with one or two test examples makes macro-F1 jump by 1/labels on one guess:
    `min_support` leaves such labels out; NaN when no label has that support."""
    support = Counter(y_true)
    labels = sorted(label for label, n in support.items() if n >= min_support)
    if not labels:
        return float("nan")
    scores = per_label_f1(y_true, y_pred, labels)
    return float(np.mean([scores[label] for label in labels]))


def confusion_matrix(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """rows = true label, columns = predicted label, in `labels` order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        matrix[index[t], index[p]] += 1
    return matrix.tolist()


def expected_calibration_error(confidence_N: np.ndarray, correct_N: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE: per equal-width confidence bin, |accuracy - mean confidence|, weighted by bin size."""
    confidence_N = np.asarray(confidence_N, dtype=np.float64)
    correct_N = np.asarray(correct_N, dtype=np.float64)
    if len(confidence_N) == 0:
        raise ValueError("ECE of an empty evaluation set is undefined")
    which_N = np.minimum((confidence_N * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = which_N == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct_N[in_bin].mean() - confidence_N[in_bin].mean())
    return float(ece)


def evaluation_report(y_true: Sequence[str], probs_NL: np.ndarray, labels: Sequence[str],
                      general_label: str | None = None, min_support: int = 10) -> dict[str, Any]:
    """The full report for predictions given as probabilities over `labels`: macro-F1 over every label present
    in the truth (`macro_f1`) and over the labels with at least `min_support` test examples
    (`macro_f1_supported`, with the labels it covers)."""
    predicted_N = probs_NL.argmax(axis=1)
    y_pred = [labels[i] for i in predicted_N]
    confidence_N = probs_NL.max(axis=1)
    correct_N = np.array([t == p for t, p in zip(y_true, y_pred)])
    report: dict[str, Any] = {
        "examples": len(y_true),
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred),
        "macro_f1_supported": macro_f1(y_true, y_pred, min_support),
        "supported_labels": sorted(label for label, n in Counter(y_true).items() if n >= min_support),
        "min_support": min_support,
        "per_label_f1": per_label_f1(y_true, y_pred, sorted(set(y_true))),
        "support": {label: sum(t == label for t in y_true) for label in labels},
        "labels": list(labels),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels),
        "ece": expected_calibration_error(confidence_N, correct_N),
    }
    if general_label is not None:
        report["science_vs_general_accuracy"] = accuracy(
            [t == general_label for t in y_true], [p == general_label for p in y_pred])
    return report
