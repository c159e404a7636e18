-- One row per experiment per arm per metric read out (primary and guardrail metrics of
-- the experiment registry): n, rate or mean and, for treatment arms, the lifts against
-- the control with 95% intervals, the test and its p-value, the CUPED-adjusted lift and
-- the experiment's sample-ratio-mismatch check (int_experiment_readout_statistics).
with

int_experiment_readout_statistics as (
    select * from {{ ref('int_experiment_readout_statistics') }}
),

final as (
    select
        cast(experiment_key as {{ dbt.type_string() }}) as experiment_key,
        cast(arm_key as {{ dbt.type_string() }}) as arm_key,
        cast(metric_key as {{ dbt.type_string() }}) as metric_key,
        cast(metric_role as {{ dbt.type_string() }}) as metric_role,
        cast(metric_type as {{ dbt.type_string() }}) as metric_type,
        cast(arm_order as {{ dbt.type_int() }}) as arm_order,
        cast(is_control_arm as {{ dbt.type_boolean() }}) as is_control_arm,
        cast(arm_weight_percent as {{ dbt.type_int() }}) as arm_weight_percent,
        cast(unit_count as {{ dbt.type_int() }}) as unit_count,
        cast(metric_value as {{ type_double() }}) as metric_value,
        cast(absolute_lift as {{ type_double() }}) as absolute_lift,
        cast(absolute_lift_lower as {{ type_double() }}) as absolute_lift_lower,
        cast(absolute_lift_upper as {{ type_double() }}) as absolute_lift_upper,
        cast(relative_lift as {{ type_double() }}) as relative_lift,
        cast(relative_lift_lower as {{ type_double() }}) as relative_lift_lower,
        cast(relative_lift_upper as {{ type_double() }}) as relative_lift_upper,
        cast(test_used as {{ dbt.type_string() }}) as test_used,
        cast(test_statistic as {{ type_double() }}) as test_statistic,
        cast(p_value as {{ type_double() }}) as p_value,
        cast(cuped_theta as {{ type_double() }}) as cuped_theta,
        cast(cuped_absolute_lift as {{ type_double() }}) as cuped_absolute_lift,
        cast(cuped_absolute_lift_lower as {{ type_double() }}) as cuped_absolute_lift_lower,
        cast(cuped_absolute_lift_upper as {{ type_double() }}) as cuped_absolute_lift_upper,
        cast(cuped_p_value as {{ type_double() }}) as cuped_p_value,
        cast(srm_p_value as {{ type_double() }}) as srm_p_value,
        cast(is_sample_ratio_mismatch as {{ dbt.type_boolean() }}) as is_sample_ratio_mismatch
    from int_experiment_readout_statistics
)

select * from final
