"""Accuracy, macro-F1 and the confusion matrix, computed by hand (no scikit-learn)."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.sentiment.base import LABELS


@dataclass(frozen=True)
class Evaluation:
    n: int
    accuracy: float
    macro_f1: float
    per_label_f1: dict[str, float]
    confusion: dict[str, dict[str, int]]  # confusion[true][predicted]

    def last_line(self) -> str:
        return f"macro_f1={self.macro_f1:.4f} accuracy={self.accuracy:.4f} n={self.n}"


def evaluate(truth: list[str], predicted: list[str]) -> Evaluation:
    if len(truth) != len(predicted) or not truth:
        raise ValueError("need as many predictions as labels, and at least one")
    confusion = {t: {p: 0 for p in LABELS} for t in LABELS}
    for t, p in zip(truth, predicted):
        confusion[t][p] += 1
    f1 = {}
    for label in LABELS:
        tp = confusion[label][label]
        fp = sum(confusion[t][label] for t in LABELS if t != label)
        fn = sum(confusion[label][p] for p in LABELS if p != label)
        f1[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    present = [label for label in LABELS if any(confusion[label].values()) or any(confusion[t][label] for t in LABELS)]
    macro = sum(f1[label] for label in present) / len(present)
    accuracy = sum(confusion[label][label] for label in LABELS) / len(truth)
    return Evaluation(len(truth), accuracy, macro, f1, confusion)
