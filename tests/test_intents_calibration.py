"""Platt scaling of the crisis probabilities, and how `evaluate --calibration` picks a
threshold (synthetic numbers, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from intents.calibration import Calibration, Platt, fit_calibration, fit_platt
from intents.evaluation import Rate, ThresholdRow, choose_threshold


def _overconfident(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose log-odds are twice what the outcomes support."""
    rng = np.random.default_rng(seed)
    true_log_odds = rng.normal(0.0, 1.5, 4000)
    outcome = rng.random(4000) < 1.0 / (1.0 + np.exp(-true_log_odds))
    return 1.0 / (1.0 + np.exp(-2.0 * true_log_odds)), outcome


def test_platt_scaling_tempers_an_overconfident_score() -> None:
    scores, outcome = _overconfident()
    platt = fit_platt(scores, outcome)
    assert 0.35 < platt.slope < 0.65  # about 1/2: the scores were twice too sure
    high = scores > 0.9
    # Among scores above 0.9 the outcome is rarer than the score says; calibrated, it is not.
    assert outcome[high].mean() < scores[high].mean() - 0.03
    calibrated = np.array([platt(p) for p in scores[high]])
    assert abs(outcome[high].mean() - calibrated.mean()) < 0.03


def test_platt_is_monotone_and_bounded() -> None:
    platt = Platt(0.8, -0.2)
    values = [platt(p) for p in (0.0, 1e-12, 0.1, 0.5, 0.9, 1.0)]
    assert values == sorted(values)
    assert all(0.0 < value < 1.0 for value in values)


def test_examples_of_one_kind_only_give_the_identity() -> None:
    assert fit_platt(np.array([0.2, 0.7]), np.array([False, False])) == Platt()
    assert Platt()(0.37) == pytest.approx(0.37)


def test_fit_calibration_scales_only_the_crisis_intents() -> None:
    rng = np.random.default_rng(1)
    classes = ("crisis_suicide", "greet", "thanks")
    labels = list(rng.choice(classes, 600))
    logits = rng.normal(0.0, 1.0, (600, 3))
    for row, label in enumerate(labels):
        logits[row, classes.index(label)] += 2.0
    calibration = fit_calibration(
        logits, labels, classes, ["crisis_suicide", "crisis_violence"], [0.2, 5.0]
    )
    assert set(calibration.crisis) == {"crisis_suicide"}  # no violence class to scale
    scaled = calibration.crisis_probabilities({"crisis_suicide": 0.6, "greet": 0.4})
    assert set(scaled) == {"crisis_suicide"} and 0.0 < scaled["crisis_suicide"] < 1.0


def test_calibration_round_trips_through_meta_json() -> None:
    calibration = Calibration(0.81, {"crisis_suicide": Platt(0.84, -0.24)})
    assert Calibration.from_dict(calibration.to_dict()) == calibration
    assert Calibration.from_dict({"temperature": 0.7}) == Calibration(0.7)


def _row(threshold: float | None, recall: int, alarms: int) -> ThresholdRow:
    return ThresholdRow(threshold, Rate(recall, 1000), Rate(alarms, 3000), Rate(0, 100))


def test_the_chosen_threshold_weighs_a_miss_as_ten_false_alarms() -> None:
    rows = [_row(None, 970, 130), _row(0.3, 975, 160), _row(0.4, 972, 110), _row(0.5, 965, 90)]
    # Costs 0.3: 25·10 + 160 = 410; 0.4: 28·10 + 110 = 390; 0.5: 35·10 + 90 = 440.
    assert choose_threshold(rows) == 0.4
    # Were misses cheap, fewer false alarms would win: the cost is what decides.
    assert choose_threshold(rows, miss_cost=1.0) == 0.5


def test_a_tie_goes_to_the_lower_threshold() -> None:
    rows = [_row(None, 990, 130), _row(0.3, 980, 100), _row(0.4, 979, 90)]
    assert choose_threshold(rows) == 0.3
