"""One row per experiment per arm per metric read out: the arm's n and rate or mean and, for
every treatment arm, its lifts against the control with 95% intervals, the test and its
p-value, the CUPED-adjusted lift, and the experiment's sample-ratio-mismatch check.

A dbt Python model: the statistics are those of scripts/experiment_stats.py (on the
adapter's module path, profiles.yml `module_paths`), applied to the sufficient statistics
that int_experiment_arm_moments computes in SQL, so the readout mart and
scripts/experiment_readout.py share one implementation. Control rows carry no lift or test.
"""

import math

import pandas as pd

import experiment_stats as st

COLUMNS = {
    "experiment_key": "string", "arm_key": "string", "arm_order": "Int64", "metric_key": "string",
    "metric_role": "string", "metric_type": "string", "is_control_arm": "boolean",
    "arm_weight_percent": "Int64", "unit_count": "Int64", "metric_value": "Float64",
    "absolute_lift": "Float64", "absolute_lift_lower": "Float64", "absolute_lift_upper": "Float64",
    "relative_lift": "Float64", "relative_lift_lower": "Float64", "relative_lift_upper": "Float64",
    "test_used": "string", "test_statistic": "Float64", "p_value": "Float64",
    "cuped_theta": "Float64", "cuped_absolute_lift": "Float64", "cuped_absolute_lift_lower": "Float64",
    "cuped_absolute_lift_upper": "Float64", "cuped_p_value": "Float64",
    "srm_p_value": "Float64", "is_sample_ratio_mismatch": "boolean",
}


def _value(number):
    return None if number is None or not math.isfinite(number) else float(number)


def _moments(row) -> st.ArmMoments:
    return st.ArmMoments(
        n=int(row.unit_count), sum_y=float(row.sum_y), sum_y2=float(row.sum_y_squared),
        sum_x=float(row.sum_x), sum_x2=float(row.sum_x_squared), sum_xy=float(row.sum_x_y),
    )


def readout_rows(moments: pd.DataFrame) -> list[dict]:
    rows = []
    for experiment_key, experiment in moments.groupby("experiment_key", sort=True):
        first_metric = experiment[experiment["metric_key"] == experiment["metric_key"].iloc[0]]
        counts = {row.arm_key: int(row.unit_count) for row in first_metric.itertuples()}
        srm = (st.sample_ratio_mismatch(counts, {row.arm_key: float(row.arm_weight_percent)
                                                 for row in first_metric.itertuples()})
               if sum(counts.values()) else None)
        for metric_key, metric in experiment.groupby("metric_key", sort=True):
            arms = {row.arm_key: (row, _moments(row)) for row in metric.itertuples()}
            control = next((moments_ for row, moments_ in arms.values() if row.is_control_arm), None)
            pooled_arms = [moments_ for _, moments_ in arms.values() if moments_.n > 0]
            theta = st.cuped_theta(pooled_arms) if pooled_arms else math.nan
            mean_x = st.pool(pooled_arms).mean_x if pooled_arms else math.nan
            for row, arm in arms.values():
                record = {name: None for name in COLUMNS}
                record.update({
                    "experiment_key": experiment_key, "arm_key": row.arm_key, "arm_order": int(row.arm_order),
                    "metric_key": metric_key, "metric_role": row.metric_role, "metric_type": row.metric_type,
                    "is_control_arm": bool(row.is_control_arm), "arm_weight_percent": int(row.arm_weight_percent),
                    "unit_count": arm.n, "metric_value": _value(arm.mean),
                    "srm_p_value": _value(srm.p_value) if srm else None,
                    "is_sample_ratio_mismatch": srm.is_mismatch if srm else None,
                })
                if not row.is_control_arm and control is not None and control.n >= 2 and arm.n >= 2:
                    comparison = st.compare_arms(control, arm, row.metric_type)
                    cuped = st.cuped_difference(control, arm, theta, mean_x)
                    record.update({
                        "absolute_lift": _value(comparison.absolute_lift.estimate),
                        "absolute_lift_lower": _value(comparison.absolute_lift.lower),
                        "absolute_lift_upper": _value(comparison.absolute_lift.upper),
                        "relative_lift": _value(comparison.relative_lift.estimate),
                        "relative_lift_lower": _value(comparison.relative_lift.lower),
                        "relative_lift_upper": _value(comparison.relative_lift.upper),
                        "test_used": comparison.test.test,
                        "test_statistic": _value(comparison.test.statistic),
                        "p_value": _value(comparison.test.p_value),
                        "cuped_theta": _value(cuped.theta),
                        "cuped_absolute_lift": _value(cuped.absolute_lift.estimate),
                        "cuped_absolute_lift_lower": _value(cuped.absolute_lift.lower),
                        "cuped_absolute_lift_upper": _value(cuped.absolute_lift.upper),
                        "cuped_p_value": _value(cuped.test.p_value),
                    })
                rows.append(record)
    return rows


def model(dbt, session):
    dbt.config(materialized="table")
    moments = dbt.ref("int_experiment_arm_moments").df()
    return pd.DataFrame(readout_rows(moments), columns=list(COLUMNS)).astype(COLUMNS)
