"""Honest probabilities, fitted on out-of-fold predictions of the training data.

Two steps. A temperature for the whole ranking (softmax(logits / T)): the confidence the
fallback threshold reads. Then, for each crisis intent, Platt scaling of that intent's
tempered probability against "is this example that crisis" — what scikit-learn's
``CalibratedClassifierCV(method="sigmoid")`` does, here on the predictions the temperature fit
already made, so no extra model is trained. The crisis layer reads the second: a temperature
tunes the top answer's confidence over fifteen intents, not how often "crisis_suicide at 0.5"
is a crisis (out of fold it is one less often than that: the scaled slope is below 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression

# Probabilities are clipped before their log-odds are taken: 0 and 1 have none.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Platt:
    """p ↦ sigmoid(slope · logit(p) + intercept); the identity by default."""

    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, probability: float) -> float:
        p = min(max(probability, _EPSILON), 1.0 - _EPSILON)
        z = self.slope * math.log(p / (1.0 - p)) + self.intercept
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    crisis: Mapping[str, Platt] = field(default_factory=dict)  # per crisis intent

    def crisis_probabilities(self, probabilities: Mapping[str, float]) -> dict[str, float]:
        """The calibrated probability of each crisis intent the calibration knows."""
        return {
            intent: platt(probabilities.get(intent, 0.0)) for intent, platt in self.crisis.items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "temperature": round(self.temperature, 4),
            "crisis": {
                intent: {"slope": round(p.slope, 4), "intercept": round(p.intercept, 4)}
                for intent, p in self.crisis.items()
            },
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Calibration:
        crisis = {
            intent: Platt(float(item["slope"]), float(item["intercept"]))
            for intent, item in (raw.get("crisis") or {}).items()
        }
        return cls(float(raw.get("temperature", 1.0)), crisis)


def fit_temperature(logits: np.ndarray, truth: np.ndarray, bounds: Sequence[float]) -> float:
    """The temperature that minimises the log-loss of ``logits`` (rows) for ``truth`` (the
    right column of each row)."""

    def log_loss(temperature: float) -> float:
        scaled = logits / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_norm - scaled[np.arange(len(truth)), truth]))

    low, high = bounds
    return float(minimize_scalar(log_loss, bounds=(low, high), method="bounded").x)


def fit_platt(probabilities: np.ndarray, positive: np.ndarray) -> Platt:
    """Platt scaling of one intent's probabilities against whether each example is it; the
    identity when the examples hold only one of the two."""
    if positive.all() or not positive.any():
        return Platt()
    p = np.clip(probabilities, _EPSILON, 1.0 - _EPSILON)
    log_odds = np.log(p / (1.0 - p)).reshape(-1, 1)
    # A large C: two parameters on thousands of examples need no shrinking.
    model = LogisticRegression(C=1e4).fit(log_odds, positive)
    return Platt(float(model.coef_[0, 0]), float(model.intercept_[0]))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def fit_calibration(
    logits: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    crisis_intents: Sequence[str],
    bounds: Sequence[float],
) -> Calibration:
    """Temperature and crisis Platt scalings from out-of-fold ``logits`` (columns in the order
    of ``classes``) and the examples' gold ``labels``."""
    truth = np.asarray([list(classes).index(label) for label in labels])
    temperature = fit_temperature(logits, truth, bounds)
    tempered = softmax(logits / temperature)
    gold = np.asarray(labels)
    crisis = {
        intent: fit_platt(tempered[:, list(classes).index(intent)], gold == intent)
        for intent in crisis_intents
        if intent in classes
    }
    return Calibration(temperature, crisis)
