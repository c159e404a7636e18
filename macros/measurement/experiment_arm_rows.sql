{#- The arms of every experiment that is running or stopped, as SQL rows (select ...
    union all select ...): the experiment's definition repeated on each of its arms, with
    the arm's bucket range of the arm hash. Arms take consecutive ranges of the 10,000
    buckets in registry order: an arm of weight w covers w * 100 buckets, from
    arm_bucket_from (inclusive) to arm_bucket_to (exclusive). Draft and archived
    experiments have no rows; an empty, typed result when none qualifies. -#}
{% macro experiment_arm_rows() -%}
    {%- set global_control = experiment_registry('global_control') -%}
    {%- set global_control_percent = (global_control.percent | int) if global_control.enabled else 0 -%}
    {%- set rows = [] -%}
    {%- for experiment in experiment_registry('experiments') if experiment.status in ('running', 'stopped') -%}
        {%- set bucket_from = namespace(value=0) -%}
        {%- for arm in experiment.arms -%}
            {%- do rows.append({'experiment': experiment, 'arm': arm, 'arm_order': loop.index, 'from': bucket_from.value}) -%}
            {%- set bucket_from.value = bucket_from.value + (arm.weight | int) * 100 -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if rows | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as experiment_key,
        cast(null as {{ dbt.type_string() }}) as experiment_status,
        cast(null as {{ dbt.type_string() }}) as audience_key,
        cast(null as {{ dbt.type_string() }}) as segment_key,
        cast(null as date) as start_date,
        cast(null as date) as end_date,
        cast(null as {{ dbt.type_int() }}) as attribution_days,
        cast(null as {{ dbt.type_int() }}) as coverage_percent,
        cast(null as {{ dbt.type_int() }}) as global_control_percent,
        cast(null as {{ dbt.type_string() }}) as arm_key,
        cast(null as {{ dbt.type_int() }}) as arm_order,
        cast(null as {{ dbt.type_int() }}) as arm_weight_percent,
        cast(null as {{ dbt.type_boolean() }}) as is_control_arm,
        cast(null as {{ dbt.type_int() }}) as arm_bucket_from,
        cast(null as {{ dbt.type_int() }}) as arm_bucket_to
    where 1 = 0
    {%- endif -%}
    {%- for row in rows %}
    select
        {{ segment_sql_string(row.experiment.key) }} as experiment_key,
        {{ segment_sql_string(row.experiment.status) }} as experiment_status,
        {{ segment_sql_string(row.experiment.audience) if row.experiment.audience else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as audience_key,
        {{ segment_sql_string(row.experiment.segment) if row.experiment.segment else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as segment_key,
        cast('{{ row.experiment.start_date }}' as date) as start_date,
        cast('{{ row.experiment.end_date }}' as date) as end_date,
        cast({{ row.experiment.attribution_days | int }} as {{ dbt.type_int() }}) as attribution_days,
        cast({{ row.experiment.coverage_percent | int }} as {{ dbt.type_int() }}) as coverage_percent,
        cast({{ global_control_percent if row.experiment.global_control else 0 }} as {{ dbt.type_int() }}) as global_control_percent,
        {{ segment_sql_string(row.arm.key) }} as arm_key,
        cast({{ row.arm_order }} as {{ dbt.type_int() }}) as arm_order,
        cast({{ row.arm.weight | int }} as {{ dbt.type_int() }}) as arm_weight_percent,
        {{ 'true' if row.arm.key == row.experiment.control_arm else 'false' }} as is_control_arm,
        cast({{ row.from }} as {{ dbt.type_int() }}) as arm_bucket_from,
        cast({{ row.from + (row.arm.weight | int) * 100 }} as {{ dbt.type_int() }}) as arm_bucket_to
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
{%- endmacro %}
