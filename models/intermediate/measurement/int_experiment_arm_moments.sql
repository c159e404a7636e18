{#-
    One row per experiment per arm per metric read out (experiment_metric_rows): the
    sufficient statistics the readout's tests need, over the units of
    int_experiment_unit_outcomes. y is the metric per unit (converted, revenue_usd or
    clicked_campaign), x the pre-period revenue (the CUPED covariate): n, sum of y, of y
    squared, of x, of x squared and of x * y. Arms without a unit yet have n = 0.
-#}
{%- set metric_columns = {
    'conversion': 'converted',
    'revenue_per_unit': 'revenue_usd',
    'email_click': 'clicked_campaign',
} %}

with

int_experiment_unit_outcomes as (
    select * from {{ ref('int_experiment_unit_outcomes') }}
),

experiment_arms as (
    {{ experiment_arm_rows() }}
),

experiment_metrics as (
    {{ experiment_metric_rows() }}
),

unit_metric_values as (
    {%- for metric_key, column in metric_columns.items() %}
        select
            experiment_key,
            arm_key,
            '{{ metric_key }}' as metric_key,
            cast({{ column }} as {{ type_double() }}) as metric_value,
            cast(pre_period_revenue_usd as {{ type_double() }}) as covariate_value
        from int_experiment_unit_outcomes
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

arm_metrics as (
    select
        experiment_arms.experiment_key,
        experiment_arms.arm_key,
        experiment_arms.arm_order,
        experiment_arms.arm_weight_percent,
        experiment_arms.is_control_arm,
        experiment_metrics.metric_key,
        experiment_metrics.metric_role,
        case when experiment_metrics.metric_key = 'revenue_per_unit' then 'numeric' else 'binary' end as metric_type
    from experiment_arms
    inner join experiment_metrics
        on experiment_arms.experiment_key = experiment_metrics.experiment_key
),

final as (
    select
        arm_metrics.experiment_key,
        arm_metrics.arm_key,
        arm_metrics.arm_order,
        arm_metrics.arm_weight_percent,
        arm_metrics.is_control_arm,
        arm_metrics.metric_key,
        arm_metrics.metric_role,
        arm_metrics.metric_type,
        count(unit_metric_values.metric_value) as unit_count,
        coalesce(sum(unit_metric_values.metric_value), 0) as sum_y,
        coalesce(sum(unit_metric_values.metric_value * unit_metric_values.metric_value), 0) as sum_y_squared,
        coalesce(sum(unit_metric_values.covariate_value), 0) as sum_x,
        coalesce(sum(unit_metric_values.covariate_value * unit_metric_values.covariate_value), 0) as sum_x_squared,
        coalesce(sum(unit_metric_values.covariate_value * unit_metric_values.metric_value), 0) as sum_x_y
    from arm_metrics
    left join unit_metric_values
        on arm_metrics.experiment_key = unit_metric_values.experiment_key
            and arm_metrics.arm_key = unit_metric_values.arm_key
            and arm_metrics.metric_key = unit_metric_values.metric_key
    group by
        arm_metrics.experiment_key,
        arm_metrics.arm_key,
        arm_metrics.arm_order,
        arm_metrics.arm_weight_percent,
        arm_metrics.is_control_arm,
        arm_metrics.metric_key,
        arm_metrics.metric_role,
        arm_metrics.metric_type
)

select * from final
