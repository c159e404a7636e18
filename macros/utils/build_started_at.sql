{#- The start of this dbt invocation as a timestamp literal (UTC, microseconds): the same
    value for every model of one build, so a model can tell which rows an upstream model
    wrote in the same build from those of earlier builds. -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
