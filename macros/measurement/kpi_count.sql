{#- A KPI count column: the expression as a bigint, 0 when null (a group without activity). -#}
{% macro kpi_count(expression) -%}
    cast(coalesce({{ expression }}, 0) as {{ dbt.type_bigint() }})
{%- endmacro %}
