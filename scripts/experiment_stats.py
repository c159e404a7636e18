"""The statistics of an experiment readout: one function per statistic.

Every function works from per-arm sufficient statistics (`ArmMoments`: n, sum and sum of
squares of the metric, and the same for a pre-period covariate plus their cross product),
so the same code reads a CSV of units (scripts/experiment_readout.py) or sums computed
in SQL. Imported, not run:

    from experiment_stats import ArmMoments, compare_arms, sample_ratio_mismatch
    control = ArmMoments.from_values(conversions_of_control)
    comparison = compare_arms(control, treatment, metric_type="binary")

The statistics (docs/measurement.md explains each with a worked readout):
- per-arm n and rate (binary metric) or mean (numeric metric);
- absolute lift (treatment - control) with a 95% interval: normal, unpooled variances for
  rates; Welch-Satterthwaite t for means;
- relative lift (treatment / control - 1) with a 95% interval by the delta method on the
  ratio of two independent means (first-order Taylor expansion, normal quantile);
- Pearson's chi-squared test of independence on the 2x2 table, without continuity
  correction, for rates; Welch's unequal-variance t-test for means;
- the sample-ratio-mismatch (SRM) chi-squared goodness-of-fit of the observed arm counts
  against the configured weights, flagged below p = 0.001;
- CUPED: theta = cov(y, x) / var(x) of a pre-period covariate x, pooled over the units of
  every arm compared; each arm's mean becomes mean(y) - theta * (mean_arm(x) - mean(x)),
  its variance var(y) + theta^2 var(x) - 2 theta cov(x, y) (within the arm), and the
  adjusted difference gets a Welch interval and p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
SRM_ALPHA = 0.001
METRIC_TYPES = ("binary", "numeric")


@dataclass(frozen=True)
class ArmMoments:
    """Sufficient statistics of one arm: metric y and, optionally, covariate x."""

    n: int
    sum_y: float
    sum_y2: float
    sum_x: float = 0.0
    sum_x2: float = 0.0
    sum_xy: float = 0.0

    @classmethod
    def from_values(cls, y: Sequence[float], x: Sequence[float] | None = None) -> "ArmMoments":
        """Moments of the values of one arm (x, when given, pairs with y unit by unit)."""
        y_array = np.asarray(y, dtype=float)
        x_array = np.zeros_like(y_array) if x is None else np.asarray(x, dtype=float)
        if x_array.shape != y_array.shape:
            raise ValueError("the covariate and the metric have different lengths")
        return cls(
            n=int(y_array.size), sum_y=float(y_array.sum()), sum_y2=float((y_array**2).sum()),
            sum_x=float(x_array.sum()), sum_x2=float((x_array**2).sum()),
            sum_xy=float((x_array * y_array).sum()),
        )

    @property
    def mean(self) -> float:
        return self.sum_y / self.n if self.n else math.nan

    @property
    def mean_x(self) -> float:
        return self.sum_x / self.n if self.n else math.nan

    def variance(self) -> float:
        """Sample variance of y (n - 1 denominator)."""
        return _sample_variance(self.n, self.sum_y, self.sum_y2)

    def variance_x(self) -> float:
        return _sample_variance(self.n, self.sum_x, self.sum_x2)

    def covariance_xy(self) -> float:
        if self.n < 2:
            return math.nan
        return (self.sum_xy - self.sum_x * self.sum_y / self.n) / (self.n - 1)


@dataclass(frozen=True)
class Interval:
    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True)
class TestResult:
    test: str
    statistic: float
    p_value: float
    degrees_of_freedom: float


@dataclass(frozen=True)
class SrmResult:
    observed: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float
    is_mismatch: bool


@dataclass(frozen=True)
class CupedResult:
    theta: float
    control_mean: float
    treatment_mean: float
    absolute_lift: Interval
    test: TestResult


@dataclass(frozen=True)
class Comparison:
    metric_type: str
    control: ArmMoments
    treatment: ArmMoments
    absolute_lift: Interval
    relative_lift: Interval
    test: TestResult


def _sample_variance(n: int, total: float, total_of_squares: float) -> float:
    if n < 2:
        return math.nan
    return max((total_of_squares - total * total / n) / (n - 1), 0.0)


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def arm_rate(arm: ArmMoments) -> float:
    """Share of units with the event (the mean of a 0/1 metric)."""
    return arm.mean


def arm_mean(arm: ArmMoments) -> float:
    """Mean of a numeric metric per unit."""
    return arm.mean


def _binary_variance(arm: ArmMoments) -> float:
    """Variance of a 0/1 metric per unit: p (1 - p), the maximum-likelihood estimate."""
    rate = arm.mean
    return rate * (1 - rate)


def rate_difference(control: ArmMoments, treatment: ArmMoments, confidence: float = CONFIDENCE) -> Interval:
    """Absolute lift of a rate with a normal (Wald) interval on unpooled variances."""
    difference = treatment.mean - control.mean
    se = math.sqrt(_binary_variance(treatment) / treatment.n + _binary_variance(control) / control.n)
    half = _z(confidence) * se
    return Interval(difference, difference - half, difference + half)


def _welch_parts(control_variance: float, control_n: int, treatment_variance: float,
                 treatment_n: int) -> tuple[float, float]:
    """Standard error of the difference and Welch-Satterthwaite degrees of freedom."""
    control_part = control_variance / control_n
    treatment_part = treatment_variance / treatment_n
    se = math.sqrt(control_part + treatment_part)
    denominator = control_part**2 / (control_n - 1) + treatment_part**2 / (treatment_n - 1)
    df = (control_part + treatment_part) ** 2 / denominator if denominator > 0 else math.nan
    return se, df


def mean_difference(control: ArmMoments, treatment: ArmMoments, confidence: float = CONFIDENCE) -> Interval:
    """Absolute lift of a mean with a Welch-Satterthwaite t interval."""
    difference = treatment.mean - control.mean
    se, df = _welch_parts(control.variance(), control.n, treatment.variance(), treatment.n)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    return Interval(difference, difference - half, difference + half)


def relative_lift(control: ArmMoments, treatment: ArmMoments, metric_type: str,
                  confidence: float = CONFIDENCE) -> Interval:
    """treatment / control - 1 with a delta-method normal interval.

    Var(mean_t / mean_c) ~= var_t / (n_t mean_c^2) + mean_t^2 var_c / (n_c mean_c^4), the
    first-order expansion for independent arms. NaN when the control mean is 0.
    """
    variance = _binary_variance if metric_type == "binary" else ArmMoments.variance
    mean_c, mean_t = control.mean, treatment.mean
    if mean_c == 0:
        return Interval(math.nan, math.nan, math.nan)
    lift = mean_t / mean_c - 1
    se = math.sqrt(variance(treatment) / (treatment.n * mean_c**2)
                   + mean_t**2 * variance(control) / (control.n * mean_c**4))
    half = _z(confidence) * se
    return Interval(lift, lift - half, lift + half)


def pearson_chi_squared(control: ArmMoments, treatment: ArmMoments) -> TestResult:
    """Pearson chi-squared test (no continuity correction) of a 2x2 table arm x event."""
    observed = np.array([
        [control.sum_y, control.n - control.sum_y],
        [treatment.sum_y, treatment.n - treatment.sum_y],
    ], dtype=float)
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / observed.sum()
    if (expected == 0).any():
        return TestResult("pearson_chi_squared", math.nan, math.nan, 1.0)
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return TestResult("pearson_chi_squared", statistic, float(stats.chi2.sf(statistic, 1)), 1.0)


def welch_t_test(control: ArmMoments, treatment: ArmMoments) -> TestResult:
    """Welch's two-sided t-test (unequal variances) of treatment mean - control mean."""
    return _welch_test(treatment.mean - control.mean, control.variance(), control.n,
                       treatment.variance(), treatment.n)


def _welch_test(difference: float, control_variance: float, control_n: int,
                treatment_variance: float, treatment_n: int) -> TestResult:
    se, df = _welch_parts(control_variance, control_n, treatment_variance, treatment_n)
    if not se > 0:
        return TestResult("welch_t_test", math.nan, math.nan, df)
    statistic = difference / se
    return TestResult("welch_t_test", statistic, float(2 * stats.t.sf(abs(statistic), df)), df)


def sample_ratio_mismatch(observed: Mapping[str, int], weights: Mapping[str, float],
                          alpha: float = SRM_ALPHA) -> SrmResult:
    """Chi-squared goodness-of-fit of the arm counts against the configured weights.

    Weights are relative (any positive scale); an arm missing from either side is an error.
    `is_mismatch` when p < alpha (0.001 by default, Kohavi, Tang and Xu).
    """
    if set(observed) != set(weights):
        raise ValueError(f"arms {sorted(observed)} do not match the weighted arms {sorted(weights)}")
    if any(weight <= 0 for weight in weights.values()):
        raise ValueError("every arm weight must be positive")
    arms = sorted(observed)
    total = sum(observed.values())
    weight_total = sum(weights.values())
    expected = {arm: total * weights[arm] / weight_total for arm in arms}
    statistic = float(sum((observed[arm] - expected[arm]) ** 2 / expected[arm] for arm in arms)) if total else math.nan
    p_value = float(stats.chi2.sf(statistic, len(arms) - 1)) if total else math.nan
    return SrmResult(
        observed={arm: int(observed[arm]) for arm in arms}, expected=expected,
        statistic=statistic, p_value=p_value, is_mismatch=bool(p_value < alpha),
    )


def cuped_theta(arms: Iterable[ArmMoments]) -> float:
    """theta = cov(x, y) / var(x), pooled over the units of all the given arms."""
    pooled = pool(arms)
    variance_x = pooled.variance_x()
    return pooled.covariance_xy() / variance_x if variance_x > 0 else 0.0


def pool(arms: Iterable[ArmMoments]) -> ArmMoments:
    """The moments of the union of several arms."""
    arm_list = list(arms)
    return ArmMoments(*(sum(getattr(arm, field) for arm in arm_list)
                        for field in ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")))


def cuped_difference(control: ArmMoments, treatment: ArmMoments, theta: float | None = None,
                     overall_mean_x: float | None = None, confidence: float = CONFIDENCE) -> CupedResult:
    """CUPED-adjusted difference of means with its Welch interval and p-value.

    theta and the covariate mean default to those pooled over the two arms; pass the ones
    pooled over every arm of the experiment to share them across comparisons.
    """
    pooled = pool((control, treatment))
    theta = cuped_theta((control, treatment)) if theta is None else theta
    mean_x = pooled.mean_x if overall_mean_x is None else overall_mean_x

    def adjusted(arm: ArmMoments) -> tuple[float, float]:
        mean = arm.mean - theta * (arm.mean_x - mean_x)
        variance = arm.variance() + theta**2 * arm.variance_x() - 2 * theta * arm.covariance_xy()
        return mean, max(variance, 0.0)

    control_mean, control_variance = adjusted(control)
    treatment_mean, treatment_variance = adjusted(treatment)
    difference = treatment_mean - control_mean
    se, df = _welch_parts(control_variance, control.n, treatment_variance, treatment.n)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se if se > 0 else math.nan
    return CupedResult(
        theta=theta, control_mean=control_mean, treatment_mean=treatment_mean,
        absolute_lift=Interval(difference, difference - half, difference + half),
        test=_welch_test(difference, control_variance, control.n, treatment_variance, treatment.n),
    )


def compare_arms(control: ArmMoments, treatment: ArmMoments, metric_type: str,
                 confidence: float = CONFIDENCE) -> Comparison:
    """Lifts and test of one treatment arm against the control for one metric."""
    if metric_type not in METRIC_TYPES:
        raise ValueError(f"metric type must be one of {', '.join(METRIC_TYPES)}, not {metric_type!r}")
    if metric_type == "binary":
        absolute = rate_difference(control, treatment, confidence)
        test = pearson_chi_squared(control, treatment)
    else:
        absolute = mean_difference(control, treatment, confidence)
        test = welch_t_test(control, treatment)
    return Comparison(
        metric_type=metric_type, control=control, treatment=treatment, absolute_lift=absolute,
        relative_lift=relative_lift(control, treatment, metric_type, confidence), test=test,
    )
