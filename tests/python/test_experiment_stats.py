"""Tests of scripts/experiment_stats.py and scripts/experiment_readout.py.

Every statistic is checked on hand-made data against values computed independently with
scipy (and statsmodels when it is installed; it is not in requirements.lock, so those checks
skip without it). The readout CLI is run on a synthetic CSV generated here and, when
$HILLSTROM_CSV names a copy of Kevin Hillstrom's MineThatData E-Mail Analytics challenge
file (64,000 customers; not part of the project), against the published figures kept below.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import experiment_readout  # noqa: E402
import experiment_stats as st  # noqa: E402

READOUT = PROJECT_DIR / "scripts" / "experiment_readout.py"

CONTROL_CONVERSIONS = [1] * 12 + [0] * 188          # 6.0% of 200
TREATMENT_CONVERSIONS = [1] * 25 + [0] * 215        # 10.4% of 240
CONTROL_SPEND = [0, 0, 12.5, 3.0, 0, 40.0, 7.25, 0, 0, 19.0, 2.5, 0]
TREATMENT_SPEND = [5.0, 0, 22.0, 0, 61.5, 9.0, 0, 14.0, 3.5, 0, 0, 28.0, 11.0, 0.5]
CONTROL_HISTORY = [10, 0, 35, 8, 3, 90, 20, 1, 0, 44, 6, 2]
TREATMENT_HISTORY = [12, 1, 50, 0, 120, 25, 4, 30, 9, 2, 0, 70, 26, 5]


def moments(y, x=None) -> st.ArmMoments:
    return st.ArmMoments.from_values(y, x)


def test_arm_moments_give_n_rate_mean_and_sample_variance():
    arm = moments(CONTROL_SPEND, CONTROL_HISTORY)
    assert arm.n == len(CONTROL_SPEND)
    assert st.arm_mean(arm) == pytest.approx(np.mean(CONTROL_SPEND))
    assert arm.variance() == pytest.approx(np.var(CONTROL_SPEND, ddof=1))
    assert arm.covariance_xy() == pytest.approx(np.cov(CONTROL_HISTORY, CONTROL_SPEND, ddof=1)[0, 1])
    assert st.arm_rate(moments(CONTROL_CONVERSIONS)) == pytest.approx(0.06)


def test_pearson_chi_squared_equals_scipy_without_continuity_correction():
    result = st.pearson_chi_squared(moments(CONTROL_CONVERSIONS), moments(TREATMENT_CONVERSIONS))
    table = [[12, 188], [25, 215]]
    expected = stats.chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(expected[0], rel=1e-12)
    assert result.p_value == pytest.approx(expected[1], rel=1e-12)
    corrected = stats.chi2_contingency(table, correction=True)
    assert result.p_value != pytest.approx(corrected[1], rel=1e-3)


def test_pearson_chi_squared_equals_statsmodels_two_proportion_z_test():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    z, p_value = proportion.proportions_ztest([25, 12], [240, 200])
    result = st.pearson_chi_squared(moments(CONTROL_CONVERSIONS), moments(TREATMENT_CONVERSIONS))
    assert result.statistic == pytest.approx(z**2, rel=1e-10)
    assert result.p_value == pytest.approx(p_value, rel=1e-10)


def test_welch_t_test_equals_scipy():
    result = st.welch_t_test(moments(CONTROL_SPEND), moments(TREATMENT_SPEND))
    expected = stats.ttest_ind(TREATMENT_SPEND, CONTROL_SPEND, equal_var=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)
    assert result.degrees_of_freedom == pytest.approx(expected.df, rel=1e-10)
    pooled = stats.ttest_ind(TREATMENT_SPEND, CONTROL_SPEND, equal_var=True)
    assert result.p_value != pytest.approx(pooled.pvalue, rel=1e-4)


def test_welch_t_test_equals_statsmodels():
    weightstats = pytest.importorskip("statsmodels.stats.weightstats")
    statistic, p_value, df = weightstats.ttest_ind(TREATMENT_SPEND, CONTROL_SPEND, usevar="unequal")
    result = st.welch_t_test(moments(CONTROL_SPEND), moments(TREATMENT_SPEND))
    assert (result.statistic, result.p_value, result.degrees_of_freedom) == pytest.approx((statistic, p_value, df))


def test_mean_difference_interval_equals_scipy_welch_confidence_interval():
    interval = st.mean_difference(moments(CONTROL_SPEND), moments(TREATMENT_SPEND))
    expected = stats.ttest_ind(TREATMENT_SPEND, CONTROL_SPEND, equal_var=False).confidence_interval(0.95)
    assert interval.estimate == pytest.approx(np.mean(TREATMENT_SPEND) - np.mean(CONTROL_SPEND))
    assert (interval.lower, interval.upper) == pytest.approx((expected.low, expected.high), rel=1e-10)


def test_rate_difference_interval_is_the_unpooled_wald_interval():
    interval = st.rate_difference(moments(CONTROL_CONVERSIONS), moments(TREATMENT_CONVERSIONS))
    p_c, p_t = 12 / 200, 25 / 240
    se = math.sqrt(p_c * (1 - p_c) / 200 + p_t * (1 - p_t) / 240)
    z = stats.norm.ppf(0.975)
    assert (interval.estimate, interval.lower, interval.upper) == pytest.approx(
        (p_t - p_c, p_t - p_c - z * se, p_t - p_c + z * se), rel=1e-12)


def test_rate_difference_interval_equals_statsmodels_wald():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    lower, upper = proportion.confint_proportions_2indep(25, 240, 12, 200, method="wald", compare="diff")
    interval = st.rate_difference(moments(CONTROL_CONVERSIONS), moments(TREATMENT_CONVERSIONS))
    assert (interval.lower, interval.upper) == pytest.approx((lower, upper), rel=1e-10)


def test_relative_lift_delta_method_matches_simulation_of_the_ratio():
    # Independent check of the delta-method standard error: the spread of the ratio of
    # means over many bootstrap resamples of large arms.
    rng = np.random.default_rng(7)
    control = rng.gamma(2.0, 5.0, 4000)
    treatment = rng.gamma(2.0, 5.5, 4000)
    interval = st.relative_lift(moments(control), moments(treatment), "numeric")
    assert interval.estimate == pytest.approx(treatment.mean() / control.mean() - 1)
    resampled = [rng.choice(treatment, treatment.size).mean() / rng.choice(control, control.size).mean() - 1
                 for _ in range(2000)]
    bootstrap_se = np.std(resampled, ddof=1)
    delta_se = (interval.upper - interval.lower) / (2 * stats.norm.ppf(0.975))
    assert delta_se == pytest.approx(bootstrap_se, rel=0.08)


def test_relative_lift_of_a_rate_uses_the_binary_variance():
    interval = st.relative_lift(moments(CONTROL_CONVERSIONS), moments(TREATMENT_CONVERSIONS), "binary")
    p_c, p_t = 12 / 200, 25 / 240
    se = math.sqrt(p_t * (1 - p_t) / (240 * p_c**2) + p_t**2 * p_c * (1 - p_c) / (200 * p_c**4))
    assert interval.estimate == pytest.approx(p_t / p_c - 1)
    assert interval.upper - interval.estimate == pytest.approx(stats.norm.ppf(0.975) * se)


def test_relative_lift_is_undefined_for_a_zero_control():
    interval = st.relative_lift(moments([0, 0, 0]), moments([1, 0, 1]), "binary")
    assert math.isnan(interval.estimate)


def test_sample_ratio_mismatch_equals_scipy_chisquare_and_flags_below_0_001():
    observed = {"control": 5200, "treatment": 4800}
    result = st.sample_ratio_mismatch(observed, {"control": 50, "treatment": 50})
    expected = stats.chisquare([5200, 4800], [5000, 5000])
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.is_mismatch  # p = 6.3e-5
    balanced = st.sample_ratio_mismatch({"a": 3050, "b": 2950, "c": 4000}, {"a": 30, "b": 30, "c": 40})
    expected = stats.chisquare([3050, 2950, 4000], [3000, 3000, 4000])
    assert balanced.p_value == pytest.approx(expected.pvalue)
    assert not balanced.is_mismatch


def test_sample_ratio_mismatch_rejects_arms_without_weights():
    with pytest.raises(ValueError, match="do not match"):
        st.sample_ratio_mismatch({"a": 1, "b": 2}, {"a": 1})


def test_cuped_theta_is_the_pooled_regression_slope():
    x = CONTROL_HISTORY + TREATMENT_HISTORY
    y = CONTROL_SPEND + TREATMENT_SPEND
    theta = st.cuped_theta([moments(CONTROL_SPEND, CONTROL_HISTORY), moments(TREATMENT_SPEND, TREATMENT_HISTORY)])
    assert theta == pytest.approx(stats.linregress(x, y).slope, rel=1e-10)


def test_cuped_difference_equals_welch_on_the_adjusted_values():
    control, treatment = moments(CONTROL_SPEND, CONTROL_HISTORY), moments(TREATMENT_SPEND, TREATMENT_HISTORY)
    result = st.cuped_difference(control, treatment)
    x = np.array(CONTROL_HISTORY + TREATMENT_HISTORY, dtype=float)
    theta = stats.linregress(x, CONTROL_SPEND + TREATMENT_SPEND).slope
    adjusted_control = np.array(CONTROL_SPEND) - theta * (np.array(CONTROL_HISTORY) - x.mean())
    adjusted_treatment = np.array(TREATMENT_SPEND) - theta * (np.array(TREATMENT_HISTORY) - x.mean())
    welch = stats.ttest_ind(adjusted_treatment, adjusted_control, equal_var=False)
    interval = welch.confidence_interval(0.95)
    assert result.control_mean == pytest.approx(adjusted_control.mean())
    assert result.absolute_lift.estimate == pytest.approx(adjusted_treatment.mean() - adjusted_control.mean())
    assert (result.absolute_lift.lower, result.absolute_lift.upper) == pytest.approx((interval.low, interval.high))
    assert result.test.p_value == pytest.approx(welch.pvalue)
    # The covariate explains part of the spend: the adjusted interval is narrower.
    plain = st.mean_difference(control, treatment)
    assert result.absolute_lift.upper - result.absolute_lift.lower < plain.upper - plain.lower


def test_cuped_difference_is_close_to_the_ols_treatment_effect():
    linalg = np.linalg
    x = np.array(CONTROL_HISTORY + TREATMENT_HISTORY, dtype=float)
    y = np.array(CONTROL_SPEND + TREATMENT_SPEND, dtype=float)
    is_treated = np.array([0] * len(CONTROL_SPEND) + [1] * len(TREATMENT_SPEND), dtype=float)
    coefficients = linalg.lstsq(np.column_stack([np.ones_like(x), is_treated, x]), y, rcond=None)[0]
    result = st.cuped_difference(moments(CONTROL_SPEND, CONTROL_HISTORY), moments(TREATMENT_SPEND, TREATMENT_HISTORY))
    # ANCOVA uses the within-arm slope, CUPED the pooled one: close, not equal.
    assert result.absolute_lift.estimate == pytest.approx(coefficients[1], abs=1.5)


def test_compare_arms_picks_the_test_by_metric_type():
    binary = st.compare_arms(moments(CONTROL_CONVERSIONS), moments(TREATMENT_CONVERSIONS), "binary")
    numeric = st.compare_arms(moments(CONTROL_SPEND), moments(TREATMENT_SPEND), "numeric")
    assert binary.test.test == "pearson_chi_squared"
    assert numeric.test.test == "welch_t_test"
    with pytest.raises(ValueError, match="metric type"):
        st.compare_arms(moments(CONTROL_SPEND), moments(TREATMENT_SPEND), "ratio")


# ---- the readout CLI ----------------------------------------------------------------------

def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture()
def synthetic_csv(tmp_path: Path) -> Path:
    """3,000 units in three arms with a true conversion and spend effect for arm B."""
    rng = np.random.default_rng(28)
    rows = []
    for unit in range(3000):
        arm = ("control", "A", "B")[unit % 3]
        history = float(rng.gamma(2.0, 50.0))
        converted = int(rng.random() < (0.05 if arm != "B" else 0.09))
        spend = round(converted * (20 + 0.2 * history + rng.normal(0, 5)), 2) if converted else 0.0
        rows.append({"customer": f"c{unit}", "arm": arm, "converted": converted, "spend": spend,
                     "history": round(history, 2)})
    return write_csv(tmp_path / "units.csv", rows)


def run_readout(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(READOUT), *args], capture_output=True, text=True, check=False)


def test_readout_compares_every_treatment_with_the_control(synthetic_csv: Path):
    result = run_readout("--csv", str(synthetic_csv), "--arm-column", "arm", "--control", "control",
                         "--unit-column", "customer", "--binary", "converted", "--numeric", "spend",
                         "--covariate", "history", "--weights", "control=1,A=1,B=1")
    assert result.returncode == 0, result.stderr
    readout = json.loads(result.stdout)
    with synthetic_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    by_arm = {arm: [row for row in rows if row["arm"] == arm] for arm in ("control", "A", "B")}
    assert readout["units"] == 3000
    assert not readout["sample_ratio_mismatch"]["is_mismatch"]
    conversion, spend = readout["metrics"]
    assert [comparison["treatment"] for comparison in conversion["comparisons"]] == ["A", "B"]
    for comparison in conversion["comparisons"]:
        treated = by_arm[comparison["treatment"]]
        table = [[sum(int(row["converted"]) for row in arm), len(arm) - sum(int(row["converted"]) for row in arm)]
                 for arm in (treated, by_arm["control"])]
        assert comparison["p_value"] == pytest.approx(stats.chi2_contingency(table, correction=False)[1])
    for comparison in spend["comparisons"]:
        welch = stats.ttest_ind([float(row["spend"]) for row in by_arm[comparison["treatment"]]],
                                [float(row["spend"]) for row in by_arm["control"]], equal_var=False)
        assert comparison["p_value"] == pytest.approx(welch.pvalue)
        assert comparison["cuped"]["theta"] == pytest.approx(
            stats.linregress([float(row["history"]) for row in rows], [float(row["spend"]) for row in rows]).slope)
    assert conversion["comparisons"][1]["p_value"] < 0.01  # arm B's true effect is found


def test_readout_flags_a_sample_ratio_mismatch(synthetic_csv: Path):
    result = run_readout("--csv", str(synthetic_csv), "--arm-column", "arm", "--control", "control",
                         "--binary", "converted", "--weights", "control=50,A=25,B=25")
    srm = json.loads(result.stdout)["sample_ratio_mismatch"]
    assert srm["is_mismatch"]
    assert srm["p_value"] == pytest.approx(stats.chisquare([1000, 1000, 1000], [750, 750, 1500]).pvalue)


@pytest.mark.parametrize(("rows", "args", "message"), [
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 2, "arm": "t", "y": 0}], ["--binary", "visits"],
     "column 'visits' is not in"),
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 2, "arm": "t", "y": 0}], ["--binary", "y", "--control", "ctrl"],
     "control 'ctrl' is not an arm"),
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 2, "arm": "t", "y": "yes"}], ["--numeric", "y"],
     "'y' on line 3: 'yes' is not a number"),
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 2, "arm": "t", "y": ""}], ["--numeric", "y"],
     "'y' on line 3: '' is not a number"),
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 2, "arm": "t", "y": 2}], ["--binary", "y"],
     "'y' on line 3: '2' is not 0 or 1"),
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 1, "arm": "t", "y": 0}], ["--binary", "y", "--unit-column", "id"],
     "unit '1' of 'id' appears on lines 2 and 3"),
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 2, "arm": "t", "y": 0}], ["--binary", "y", "--weights", "c=1,x=1"],
     "--weights names arms c, x but the data has c, t"),
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 2, "arm": "t", "y": 0}], ["--binary", "y", "--weights", "c=1,t=-1"],
     "weight of arm 't' must be a positive number"),
    ([{"id": 1, "arm": "c", "y": 1}, {"id": 2, "arm": "t", "y": 0}], [],
     "name at least one metric column"),
])
def test_readout_rejects_bad_input_with_one_line_and_exit_2(tmp_path: Path, rows, args, message):
    path = write_csv(tmp_path / "bad.csv", rows + [dict(row, id=f"{row['id']}b") for row in rows])
    base = ["--csv", str(path), "--arm-column", "arm"]
    if "--control" not in args:
        base += ["--control", "c"]
    result = run_readout(*base, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_readout_rejects_a_missing_file(tmp_path: Path):
    assert experiment_readout.main(["--csv", str(tmp_path / "none.csv"), "--arm-column", "arm",
                                    "--control", "c", "--binary", "y"]) == 2


# Kevin Hillstrom's MineThatData E-Mail Analytics and Data Mining Challenge (2008): 64,000
# customers randomised in thirds to a Mens e-mail, a Womens e-mail or no e-mail; visit,
# conversion and spend over the two following weeks. Figures verified with scipy on the
# 64,000-row file (sha256 ff9e5928...02979c). Per arm: n, visits, conversions, spend.
HILLSTROM_ARMS = {
    "Mens E-Mail": (21307, 3894, 267, 30311.69),
    "No E-Mail": (21306, 2262, 122, 13908.33),
    "Womens E-Mail": (21387, 3238, 189, 23038.11),
}
HILLSTROM_CONVERSION_CHI2 = {"Mens E-Mail": (54.539915, 1.5232235e-13), "Womens E-Mail": (14.285081, 1.5710513e-4)}
HILLSTROM_SPEND_WELCH = {"Mens E-Mail": (5.3001404, 1.1638150e-07), "Womens E-Mail": (3.2563716, 1.1293972e-3)}


def test_readout_reproduces_the_hillstrom_email_experiment():
    path = os.environ.get("HILLSTROM_CSV")
    if not path or not Path(path).is_file():
        pytest.skip("set HILLSTROM_CSV to the MineThatData challenge CSV to run this check")
    result = run_readout("--csv", path, "--arm-column", "segment", "--control", "No E-Mail",
                         "--binary", "visit,conversion", "--numeric", "spend", "--covariate", "history")
    assert result.returncode == 0, result.stderr
    readout = json.loads(result.stdout)
    assert readout["units"] == 64000
    assert not readout["sample_ratio_mismatch"]["is_mismatch"]
    visit, conversion, spend = readout["metrics"]
    for arm in conversion["arms"]:
        n, visits, conversions, spend_total = HILLSTROM_ARMS[arm["arm"]]
        assert arm["n"] == n
        assert arm["rate"] == pytest.approx(conversions / n)
    assert {arm["arm"]: arm["rate"] for arm in visit["arms"]} == pytest.approx(
        {arm: figures[1] / figures[0] for arm, figures in HILLSTROM_ARMS.items()})
    assert {arm["arm"]: arm["mean"] for arm in spend["arms"]} == pytest.approx(
        {arm: figures[3] / figures[0] for arm, figures in HILLSTROM_ARMS.items()})
    for comparison in conversion["comparisons"]:
        assert (comparison["statistic"], comparison["p_value"]) == pytest.approx(
            HILLSTROM_CONVERSION_CHI2[comparison["treatment"]], rel=1e-6)
    for comparison in spend["comparisons"]:
        assert (comparison["statistic"], comparison["p_value"]) == pytest.approx(
            HILLSTROM_SPEND_WELCH[comparison["treatment"]], rel=1e-6)


# ---- the readout model (dbt Python model over SQL sufficient statistics) ------------------

def load_readout_model():
    import importlib.util
    path = PROJECT_DIR / "models" / "intermediate" / "measurement" / "int_experiment_readout_statistics.py"
    spec = importlib.util.spec_from_file_location("int_experiment_readout_statistics", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readout_model_rows_equal_scipy_on_sufficient_statistics():
    import pandas as pd
    model = load_readout_model()

    def moment_row(arm_key, order, is_control, metric_key, metric_type, y, x):
        arm = moments(y, x)
        return {"experiment_key": "e", "arm_key": arm_key, "arm_order": order, "arm_weight_percent": 50,
                "is_control_arm": is_control, "metric_key": metric_key, "metric_role": "primary",
                "metric_type": metric_type, "unit_count": arm.n, "sum_y": arm.sum_y, "sum_y_squared": arm.sum_y2,
                "sum_x": arm.sum_x, "sum_x_squared": arm.sum_x2, "sum_x_y": arm.sum_xy}

    frame = pd.DataFrame([
        moment_row("control", 1, True, "revenue_per_unit", "numeric", CONTROL_SPEND, CONTROL_HISTORY),
        moment_row("variant", 2, False, "revenue_per_unit", "numeric", TREATMENT_SPEND, TREATMENT_HISTORY),
    ])
    rows = {row["arm_key"]: row for row in model.readout_rows(frame)}
    assert rows["control"]["p_value"] is None and rows["control"]["absolute_lift"] is None
    welch = stats.ttest_ind(TREATMENT_SPEND, CONTROL_SPEND, equal_var=False)
    assert rows["variant"]["test_used"] == "welch_t_test"
    assert rows["variant"]["p_value"] == pytest.approx(welch.pvalue)
    assert rows["variant"]["srm_p_value"] == pytest.approx(stats.chisquare([12, 14]).pvalue)
    assert rows["variant"]["cuped_theta"] == pytest.approx(
        stats.linregress(CONTROL_HISTORY + TREATMENT_HISTORY, CONTROL_SPEND + TREATMENT_SPEND).slope)
    assert set(model.COLUMNS) == set(rows["variant"])
