{#- The metrics read out for every experiment that is running or stopped, as SQL rows:
    experiment_key, metric_key, metric_role ('primary' or 'guardrail'). An empty, typed
    result when none qualifies. -#}
{% macro experiment_metric_rows() -%}
    {%- set rows = [] -%}
    {%- for experiment in experiment_registry('experiments') if experiment.status in ('running', 'stopped') -%}
        {%- do rows.append({'experiment_key': experiment.key, 'metric_key': experiment.primary_metric, 'role': 'primary'}) -%}
        {%- for metric in experiment.guardrail_metrics or [] -%}
            {%- do rows.append({'experiment_key': experiment.key, 'metric_key': metric, 'role': 'guardrail'}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if rows | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as experiment_key,
        cast(null as {{ dbt.type_string() }}) as metric_key,
        cast(null as {{ dbt.type_string() }}) as metric_role
    where 1 = 0
    {%- endif -%}
    {%- for row in rows %}
    select
        {{ segment_sql_string(row.experiment_key) }} as experiment_key,
        {{ segment_sql_string(row.metric_key) }} as metric_key,
        '{{ row.role }}' as metric_role
    {% if not loop.last %}union all{% endif %}
    {%- endfor -%}
{%- endmacro %}
