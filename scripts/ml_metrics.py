"""Evaluation, promotion and banding of the churn and purchase-propensity models.

Small pure functions that scripts/ml_train.py applies and tests/python/test_ml_metrics.py
checks on planted data: ROC AUC, PR AUC (average precision) and Brier score from
sklearn.metrics, a calibration table by score decile, the promotion rule and the score
bands documented in docs/models.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics

# Score bands: a score at or above a threshold is in that band (docs/models.md#bands).
# Probabilities, so they keep their meaning across retrains of a calibrated model.
BANDS = {
    "churn": (("high", 0.6), ("medium", 0.3), ("low", 0.0)),
    "purchase_propensity": (("high", 0.5), ("medium", 0.2), ("low", 0.0)),
}


@dataclass(frozen=True)
class Evaluation:
    rows: int
    positive_rate: float
    roc_auc: float
    pr_auc: float
    brier_score: float


def evaluate(labels, scores, probabilities: bool = True) -> Evaluation:
    """ROC AUC, PR AUC (average precision, the step-wise area) and Brier score.
    Both AUCs are NaN when the labels hold a single class; the Brier score is NaN for
    scores that only rank (probabilities=False, e.g. the recency baseline)."""
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    both_classes = len(np.unique(labels)) == 2
    return Evaluation(
        rows=len(labels),
        positive_rate=float(labels.mean()) if len(labels) else float("nan"),
        roc_auc=float(metrics.roc_auc_score(labels, scores)) if both_classes else float("nan"),
        pr_auc=float(metrics.average_precision_score(labels, scores)) if both_classes else float("nan"),
        brier_score=float(metrics.brier_score_loss(labels, scores)) if len(labels) and probabilities else float("nan"),
    )


def calibration_table(labels, scores, bins: int = 10) -> pd.DataFrame:
    """One row per score decile (1 = lowest scores): customers, mean score, observed rate.
    Deciles are cut on the rank, so tied scores may share a decile boundary but every
    decile holds len/bins customers (+-1)."""
    frame = pd.DataFrame({"label": np.asarray(labels, dtype=float), "score": np.asarray(scores, dtype=float)})
    ranks = frame["score"].rank(method="first")
    frame["decile"] = np.ceil(ranks * bins / len(frame)).astype(int)
    table = frame.groupby("decile").agg(customers=("label", "size"), mean_score=("score", "mean"),
                                         observed_rate=("label", "mean")).reset_index()
    return table


def should_promote(candidate_auc: float, baseline_auc: float, previous_auc: float | None) -> tuple[bool, str]:
    """A candidate is promoted only if its ROC AUC on the evaluation cutoff is higher than
    the recency baseline's and, when a model is already promoted, at least that model's
    on the same evaluation cutoff (a tie keeps the newer model, trained on newer data)."""
    if not np.isfinite(candidate_auc):
        return False, "no ROC AUC on the evaluation cutoff (one class only)"
    if np.isfinite(baseline_auc) and candidate_auc <= baseline_auc:
        return False, f"ROC AUC {candidate_auc:.4f} does not beat the recency baseline {baseline_auc:.4f}"
    if previous_auc is not None and np.isfinite(previous_auc) and candidate_auc < previous_auc:
        return False, f"ROC AUC {candidate_auc:.4f} is below the promoted model's {previous_auc:.4f}"
    if previous_auc is None:
        return True, f"ROC AUC {candidate_auc:.4f} beats the recency baseline {baseline_auc:.4f}; no model promoted before"
    return True, (f"ROC AUC {candidate_auc:.4f} beats the recency baseline {baseline_auc:.4f} "
                  f"and matches or beats the promoted model's {previous_auc:.4f}")


def score_bands(target: str, scores) -> np.ndarray:
    """The band of each score: the first band whose threshold the score reaches."""
    scores = np.asarray(scores, dtype=float)
    bands = np.full(len(scores), BANDS[target][-1][0], dtype=object)
    for name, threshold in reversed(BANDS[target][:-1]):
        bands[scores >= threshold] = name
    return bands
