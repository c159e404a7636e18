"""Tests of scripts/ml_metrics.py on planted data with answers worked out by hand:
ROC AUC, PR AUC (average precision) and Brier score, the calibration table, the promotion
rule and the score band edges."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import ml_metrics  # noqa: E402

# Positives scored 0.35 and 0.8, negatives 0.1 and 0.4.
# ROC AUC: of the 4 (positive, negative) pairs, 3 rank the positive higher -> 0.75.
# Average precision: by descending score 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-): precision
# 1 at recall 1/2 and 2/3 at recall 1 -> (1 + 2/3) / 2 = 0.8333.
# Brier: ((0.1)^2 + (0.4)^2 + (0.65)^2 + (0.2)^2) / 4 = 0.6325 / 4 = 0.158125.
LABELS = [0, 0, 1, 1]
SCORES = [0.1, 0.4, 0.35, 0.8]


def test_metrics_match_hand_computed_values():
    result = ml_metrics.evaluate(LABELS, SCORES)
    assert result.rows == 4
    assert result.positive_rate == 0.5
    assert result.roc_auc == pytest.approx(0.75)
    assert result.pr_auc == pytest.approx(5 / 6)
    assert result.brier_score == pytest.approx(0.158125)


def test_ranking_scores_get_aucs_but_no_brier_and_one_class_gets_no_auc():
    ranking = ml_metrics.evaluate(LABELS, [10, 40, 35, 80], probabilities=False)
    assert ranking.roc_auc == pytest.approx(0.75) and math.isnan(ranking.brier_score)
    one_class = ml_metrics.evaluate([1, 1, 1], [0.2, 0.5, 0.9])
    assert math.isnan(one_class.roc_auc) and math.isnan(one_class.pr_auc)
    assert one_class.brier_score == pytest.approx((0.64 + 0.25 + 0.01) / 3)


def test_calibration_table_has_ten_equal_deciles_with_their_rates():
    # 100 customers scored 0.00 .. 0.99; exactly the 10 of decile d (scores (d-1)/10 ..)
    # hold d - 1 positives, so the observed rate of decile d is (d - 1) / 10.
    scores = np.arange(100) / 100
    labels = np.zeros(100)
    for decile in range(10):
        labels[decile * 10: decile * 10 + decile] = 1
    table = ml_metrics.calibration_table(labels, scores)
    assert table["decile"].tolist() == list(range(1, 11))
    assert table["customers"].tolist() == [10] * 10
    assert table["observed_rate"].tolist() == pytest.approx([d / 10 for d in range(10)])
    assert table["mean_score"].tolist() == pytest.approx([d / 10 + 0.045 for d in range(10)])


@pytest.mark.parametrize(("candidate", "baseline", "previous", "promoted"), [
    (0.80, 0.70, None, True),      # first model beats the baseline
    (0.70, 0.70, None, False),     # equal to the baseline is not better
    (0.65, 0.70, None, False),
    (0.80, 0.70, 0.78, True),      # beats both
    (0.78, 0.70, 0.78, True),      # ties the promoted model: the newer one wins
    (0.77, 0.70, 0.78, False),     # below the promoted model
    (0.80, 0.85, 0.60, False),     # beats the old model but not the baseline
    (float("nan"), 0.70, None, False),
])
def test_promotion_rule(candidate, baseline, previous, promoted):
    decision, reason = ml_metrics.should_promote(candidate, baseline, previous)
    assert decision is promoted
    assert reason


def test_band_edges_belong_to_the_higher_band():
    churn = ml_metrics.score_bands("churn", [0.0, 0.2999, 0.3, 0.5999, 0.6, 1.0])
    assert churn.tolist() == ["low", "low", "medium", "medium", "high", "high"]
    propensity = ml_metrics.score_bands("purchase_propensity", [0.1999, 0.2, 0.4999, 0.5])
    assert propensity.tolist() == ["low", "medium", "medium", "high"]
